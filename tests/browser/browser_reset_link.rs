//! "Forgot your password?" in Chromium, with email to a real SMTP relay: from the
//! sign-in page to the answer, the emailed link's page, the new password and signing
//! in with it; each page passes axe at both widths.

use super::dash::SETTLE;
use crate::support::axe;
use crate::support::env::{BOSS_EMAIL, TestEnv};
use crate::support::serve::Serve;
use crate::support::smtp::{SmtpServer, link_path};
use crate::support::webdriver::WebDriver;

#[test]
#[ignore = "needs Debian's chromium and chromium-driver"]
fn a_forgotten_password_is_set_again_by_the_emailed_link() {
    let smtp = SmtpServer::start_plain();
    let env = TestEnv::build(|s| s.lines("alerts", &smtp.plain_settings()));
    env.create_boss();
    let serve = Serve::start(&env);
    let base = serve.base();
    let b = WebDriver::start();
    let axe_js = axe::source();
    let mut problems = Vec::new();

    b.goto(&format!("{base}/login"));
    b.click(&b.find("a[href='/login/forgot']"));
    b.wait_for("h1", |t| t == "Forgot your password?", SETTLE);
    problems.extend(axe::check_page(&b, &axe_js, "login-forgot"));
    b.fill("#email", BOSS_EMAIL);
    b.click(&b.find("form[action='/login/forgot'] button[type=submit]"));
    b.wait_for(
        "p[role=status]",
        |t| t.starts_with("If that address belongs to someone who can sign in here"),
        SETTLE,
    );
    problems.extend(axe::check_page(&b, &axe_js, "login-forgot-answer"));

    let mails = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(smtp.wait_for(1));
    let path = link_path(mails[0]["text"].as_str().unwrap(), &base);
    b.goto(&format!("{base}{path}"));
    b.wait_for("h1", |t| t == "Set your password", SETTLE);
    problems.extend(axe::check_page(&b, &axe_js, "login-link"));
    b.fill("#password", "the boss's brand new password");
    b.click(&b.find("form[action='/login/link'] button[type=submit]"));
    b.wait_for("h1", |t| t == "Your password is set", SETTLE);

    b.click(&b.find("a[href='/login']"));
    b.wait_for_url(|u| u.ends_with("/login"), SETTLE);
    b.fill("#email", BOSS_EMAIL);
    b.fill("#password", "the boss's brand new password");
    b.click(&b.find("form[action='/login'] button[type=submit]"));
    b.wait_for_url(|u| u == format!("{base}/"), SETTLE);
    assert!(problems.is_empty(), "{problems:#?}");
}
