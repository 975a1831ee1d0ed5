//! Passkeys in Chromium with its virtual authenticator (WebDriver's WebAuthn
//! extension): one registered by name on /account/two-factor, then asked after the
//! password at the next sign-in ("Use a passkey"), then removed after confirming with
//! it; each page passes axe at both widths. WebAuthn needs a domain name, so the
//! dashboard's public URL is http://localhost here.

use super::dash::SETTLE;
use crate::support::axe;
use crate::support::env::{BOSS_EMAIL, BOSS_PASSWORD, TestEnv};
use crate::support::net::free_port;
use crate::support::serve::Serve;
use crate::support::webdriver::WebDriver;

#[test]
#[ignore = "needs Debian's chromium and chromium-driver"]
fn a_passkey_is_registered_asked_at_sign_in_and_removed() {
    let env = TestEnv::new("");
    env.create_boss();
    let port = free_port();
    let base = format!("http://localhost:{port}");
    let _serve = Serve::builder(&env)
        .port(port)
        .env("ACCESSBOARD_SERVER__PUBLIC_URL", &base)
        .start();
    let b = WebDriver::start();
    let authenticator = b.add_virtual_authenticator();
    let axe_js = axe::source();
    let mut problems = Vec::new();
    let sign_in_password = |b: &WebDriver| {
        b.goto(&format!("{base}/login"));
        b.fill("#email", BOSS_EMAIL);
        b.fill("#password", BOSS_PASSWORD);
        b.click(&b.find("form[action='/login'] button[type=submit]"));
    };
    sign_in_password(&b);
    b.wait_for_url(|u| u == format!("{base}/"), SETTLE);

    b.goto(&format!("{base}/account/two-factor"));
    b.wait_for("#passkeys-h", |t| t == "Passkeys", SETTLE);
    problems.extend(axe::check_page(&b, &axe_js, "passkeys-none"));
    b.fill("#passkey-name", "YubiKey");
    b.click(&b.find("button[data-passkey=create]"));
    b.wait_for(
        "p.flash",
        |t| t.starts_with("Passkey \u{201c}YubiKey\u{201d} added"),
        SETTLE,
    );
    assert_eq!(b.authenticator_credentials(&authenticator).len(), 1);
    let row = b.wait_for("ul.passkeys li", |t| t.contains("YubiKey"), SETTLE);
    assert!(row.contains("never"), "not used yet: {row}");
    problems.extend(axe::check_page(&b, &axe_js, "passkeys-one"));

    // Signed out, the password alone is not enough: the passkey is asked for.
    b.click(&b.find("form.signout button"));
    b.wait_for_url(|u| u.ends_with("/login"), SETTLE);
    sign_in_password(&b);
    b.wait_for_url(|u| u.ends_with("/login/code"), SETTLE);
    b.wait_for("h1", |t| t == "Use your passkey", SETTLE);
    assert!(
        b.find_all("#code").is_empty(),
        "no code field without an authenticator app"
    );
    problems.extend(axe::check_page(&b, &axe_js, "login-passkey"));
    b.click(&b.find("button[data-passkey=get]"));
    b.wait_for_url(|u| u == format!("{base}/"), SETTLE);

    // Its use is listed; removing it asks for a confirmation, given with the passkey.
    b.goto(&format!("{base}/account/two-factor"));
    let row = b.wait_for("ul.passkeys li", |t| t.contains("YubiKey"), SETTLE);
    assert!(!row.contains("never"), "used once: {row}");
    b.click(&b.find("form[action='/account/passkeys/remove'] button[data-passkey=get]"));
    b.wait_for(
        "p.flash",
        |t| t == "Passkey \u{201c}YubiKey\u{201d} removed.",
        SETTLE,
    );
    assert!(b.find_all("ul.passkeys").is_empty(), "no passkey listed");
    problems.extend(axe::check_page(&b, &axe_js, "passkeys-removed"));

    // The next sign-in is by password alone again.
    b.click(&b.find("form.signout button"));
    b.wait_for_url(|u| u.ends_with("/login"), SETTLE);
    sign_in_password(&b);
    b.wait_for_url(|u| u == format!("{base}/"), SETTLE);
    assert!(problems.is_empty(), "{problems:#?}");
}
