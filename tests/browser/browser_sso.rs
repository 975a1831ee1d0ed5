//! Single sign-on in Chromium against Canaille: "Sign in with Canaille", Canaille's own
//! forms, back on the overview as the admin made on the command line (who has no
//! password here); a sensitive change confirmed by signing in again at Canaille;
//! signing out ends Canaille's session too. Pages pass axe.

use crate::support::axe;
use crate::support::env::TestEnv;
use crate::support::net::free_port;
use crate::support::serve::Serve;
use crate::support::standins::Canaille;
use crate::support::webdriver::WebDriver;

use super::dash::SETTLE;

#[test]
#[ignore = "needs Debian's chromium and chromium-driver"]
fn an_admin_signs_in_through_canaille_and_out_of_both() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let canaille = Canaille::start_sign_in(
        "accessboard",
        "sso-s3cr3t",
        &base,
        &["ada:ada@example.org:ada-password:verified"],
    );
    let sso = format!(
        "issuer = \"{}\"\nclient_id = \"accessboard\"\nclient_secret = \"sso-s3cr3t\"\nlabel = \"Canaille\"",
        canaille.issuer()
    );
    let env = TestEnv::build(|s| {
        s.server("public_url", &format!("\"{base}\""))
            .lines("sso", &sso)
    });
    env.create_admin("ada@example.org", "Ada", &[]);
    let _serve = Serve::builder(&env).port(port).start();
    let b = WebDriver::start();
    let axe_js = axe::source();
    let mut problems = Vec::new();

    b.goto(&format!("{base}/login"));
    let button = b.wait_for("#sso", |t| t == "Sign in with Canaille", SETTLE);
    assert_eq!(button, "Sign in with Canaille");
    problems.extend(axe::check_page(&b, &axe_js, "login-with-sso"));
    b.click(&b.find("#sso"));
    let issuer = canaille.issuer();
    b.wait_for_url(|u| u.starts_with(&format!("{issuer}/login")), SETTLE);
    b.fill("input[name=login]", "ada");
    b.execute(
        "document.querySelector('input[name=login]').form.submit()",
        serde_json::json!([]),
    );
    b.wait_for_url(
        |u| u.starts_with(&format!("{issuer}/auth/password")),
        SETTLE,
    );
    b.fill("input[name=password]", "ada-password");
    b.execute(
        "document.querySelector('input[name=password]').form.submit()",
        serde_json::json!([]),
    );
    b.wait_for_url(|u| u == format!("{base}/"), SETTLE);
    assert!(b.source().contains("Sign out"), "{}", b.source());

    // No password here: a sensitive change is confirmed at Canaille, which asks again.
    b.goto(&format!("{base}/users/new"));
    b.wait_for("#confirm-sso", |t| t == "Confirm with Canaille", SETTLE);
    problems.extend(axe::check_page(&b, &axe_js, "person-form-confirm-with-sso"));
    b.click(&b.find("#confirm-sso"));
    b.wait_for_url(
        |u| u.starts_with(&format!("{issuer}/auth/password")),
        SETTLE,
    );
    b.fill("input[name=password]", "ada-password");
    b.execute(
        "document.querySelector('input[name=password]').form.submit()",
        serde_json::json!([]),
    );
    b.wait_for_url(|u| u == format!("{base}/users/new"), SETTLE);
    let said = b.wait_for(".flash", |t| t.contains("Confirmed with Canaille"), SETTLE);
    assert!(said.contains("for five minutes"), "{said}");
    assert!(
        !b.source().contains("name=\"current_password\""),
        "{}",
        b.source()
    );
    problems.extend(axe::check_page(&b, &axe_js, "person-form-confirmed"));

    // Out of both: the dashboard, then Canaille's end-session and back to /login.
    b.click(&b.find("form.signout button"));
    b.wait_for_url(|u| u == format!("{base}/login"), SETTLE);
    // Canaille's session ended: the button leads to its sign-in form again.
    b.click(&b.find("#sso"));
    b.wait_for_url(|u| u.starts_with(&format!("{issuer}/login")), SETTLE);
    assert!(problems.is_empty(), "{problems:#?}");
}
