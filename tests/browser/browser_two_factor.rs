//! Two-factor sign-in in Chromium: set up by the key beside its QR code, confirmed by
//! a code computed here, the recovery codes shown once, then asked after the password
//! at the next sign-in; each page passes axe at both widths.

use serde_json::json;

use super::dash::{Dash, SETTLE};
use crate::support::axe;
use crate::support::env::{BOSS_EMAIL, BOSS_PASSWORD};
use crate::support::totp::{code, now};

#[test]
#[ignore = "needs Debian's chromium and chromium-driver"]
fn two_factor_is_set_up_and_then_asked_at_sign_in() {
    // Nothing listens for the app: this test is about signing in.
    let dash = Dash::start("http://127.0.0.1:9/scim", "s3cr3t", "");
    let b = &dash.b;
    let axe_js = axe::source();
    let mut problems = Vec::new();

    dash.open("/account/two-factor");
    b.wait_for("h1", |t| t == "Two-factor sign-in", SETTLE);
    problems.extend(axe::check_page(b, &axe_js, "two-factor-off"));
    b.click(&b.find("form[action='/account/two-factor'] button[type=submit]"));
    let key = b.wait_for("#totp-key", |t| !t.is_empty(), SETTLE);
    // The QR code is an image drawn on the server, which the CSP lets through.
    let width = b.execute(
        "return document.querySelector('img.qr').naturalWidth",
        json!([]),
    );
    assert!(
        width.as_i64().unwrap_or(0) > 0,
        "the QR code shows: {width}"
    );
    problems.extend(axe::check_page(b, &axe_js, "two-factor-enrol"));
    b.fill("#code", &code(&key, now()));
    b.click(&b.find("form[action='/account/two-factor/confirm'] button[type=submit]"));
    b.wait_for("p.saved", |t| t == "Two-factor sign-in is on.", SETTLE);
    assert_eq!(b.find_all("ul.recovery-codes li").len(), 10);
    problems.extend(axe::check_page(b, &axe_js, "two-factor-codes"));

    // Signed out, the password alone is not enough.
    b.click(&b.find("form.signout button"));
    b.wait_for_url(|u| u.ends_with("/login"), SETTLE);
    b.fill("#email", BOSS_EMAIL);
    b.fill("#password", BOSS_PASSWORD);
    b.click(&b.find("form[action='/login'] button[type=submit]"));
    b.wait_for_url(|u| u.ends_with("/login/code"), SETTLE);
    problems.extend(axe::check_page(b, &axe_js, "login-code"));
    // The step after the one that confirmed it: never a code taken before.
    b.fill("#code", &code(&key, now() + 30));
    b.click(&b.find("form[action='/login/code'] button[type=submit]"));
    let base = dash.base.clone();
    b.wait_for_url(|u| u == format!("{base}/"), SETTLE);
    assert!(problems.is_empty(), "{problems:#?}");
}
