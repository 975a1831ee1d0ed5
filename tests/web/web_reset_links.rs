//! "Forgot your password?" on the sign-in page, with email set up (a real aiosmtpd
//! relay): the same answer whatever the email, a reset link only to someone who may
//! sign in, sent after the answer; the link works once and ends with its time or a new
//! password; requests are throttled per email and per client.

use std::time::Duration;

use accessboard::domain::{DashboardAccess, Email};
use reqwest::StatusCode;

use crate::support::app::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};
use crate::support::browser::Browser;
use crate::support::smtp::{SmtpServer, link_path};

const ANSWER: &str =
    "If that address belongs to someone who can sign in here, a link is on its way.";
const PUBLIC: &str = "http://dash.example.org";
const NEW_PASSWORD: &str = "a brand new long password";

/// Asks a reset link for `email` from a fresh browser, as the form does.
async fn ask(dash: &TestApp, email: &str) -> crate::support::browser::Resp {
    ask_from(&dash.browser(), email).await
}

async fn ask_from(b: &Browser, email: &str) -> crate::support::browser::Resp {
    let form = b.get("/login/forgot").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    b.post("/login/forgot", &[("email", email)]).await
}

/// Waits (up to a minute) until the background sends have recorded `n` audit entries
/// of `action`.
async fn audited(dash: &TestApp, action: &str, n: i64) {
    let sql = format!("SELECT count(*) FROM audit_log WHERE action = '{action}'");
    for _ in 0..1200 {
        if dash.sql_i64(&sql) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{n} × {action} expected in the audit trail");
}

/// The path of the link in the `i`-th email.
fn link_of(mails: &[serde_json::Value], i: usize) -> String {
    link_path(mails[i]["text"].as_str().unwrap(), PUBLIC)
}

/// Follows a link in a fresh browser and sets `password`; the final status.
async fn use_link(dash: &TestApp, path: &str, password: &str) -> StatusCode {
    let b = dash.browser();
    let form = b.get(path).await;
    if form.status != StatusCode::OK {
        return form.status;
    }
    let token = path.split("token=").nth(1).unwrap();
    b.post("/login/link", &[("token", token), ("password", password)])
        .await
        .status
}

#[actix_web::test]
async fn forgot_is_offered_only_when_email_is_set_up() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let b = dash.browser();
    let login = b.get("/login").await;
    assert!(!login.body.contains("/login/forgot"), "{}", login.body);
    assert!(login.body.contains("user set-password"), "{}", login.body);
    assert_eq!(b.get("/login/forgot").await.status, StatusCode::NOT_FOUND);

    let smtp = SmtpServer::start_plain();
    let dash = TestApp::spawn_with_mail(&smtp, "").await;
    dash.admin().await;
    let login = dash.browser().get("/login").await;
    assert!(
        login.body.contains("Forgot your password?"),
        "{}",
        login.body
    );
    assert!(
        login.body.contains("href=\"/login/forgot\""),
        "{}",
        login.body
    );
    // A form like the others: refused without its CSRF token.
    let r = dash
        .browser()
        .post_raw("/login/forgot", &[("email", ADMIN_EMAIL)], &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

#[actix_web::test]
async fn a_reset_link_arrives_and_sets_a_new_password_once() {
    let smtp = SmtpServer::start_plain();
    let dash = TestApp::spawn_with_mail(&smtp, "").await;
    dash.admin().await;
    let r = ask(&dash, "Admin@Example.org").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(ANSWER), "{}", r.body);

    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0]["to"][0], ADMIN_EMAIL);
    let text = mails[0]["text"].as_str().unwrap();
    assert!(text.contains("within 1 hour"), "{text}");
    assert!(text.contains("your password stays as it is"), "{text}");
    let path = link_of(&mails, 0);
    let token = path.split("token=").nth(1).unwrap().to_owned();
    assert_eq!(
        dash.sql_i64(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'sign_in_link.create' AND after LIKE '%reset%' AND after NOT LIKE '%{token}%'"
        )),
        1,
        "audited, without the token"
    );

    assert_eq!(use_link(&dash, &path, NEW_PASSWORD).await, StatusCode::OK);
    let b = dash.browser();
    assert_eq!(
        b.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
    let r = dash.browser().login(ADMIN_EMAIL, NEW_PASSWORD).await;
    assert_eq!(r.header("location"), "/", "{}", r.body);
    assert_eq!(
        use_link(&dash, &path, "yet another long password").await,
        StatusCode::GONE,
        "a link works once"
    );
}

#[actix_web::test]
async fn unknown_emails_and_people_who_may_not_sign_in_get_the_same_answer_and_no_mail() {
    let smtp = SmtpServer::start_plain();
    let dash = TestApp::spawn_with_mail(&smtp, "").await;
    dash.admin().await;
    dash.person("carl@example.org", "Carl", false, &[]).await;
    let mut answers = Vec::new();
    for email in ["nobody@example.org", "carl@example.org", "not an email"] {
        let r = ask(&dash, email).await;
        assert_eq!(r.status, StatusCode::OK, "{email}: {}", r.body);
        assert!(r.body.contains(ANSWER), "{email}: {}", r.body);
        assert!(!r.body.contains(email), "the email is not repeated");
        answers.push(
            r.body
                .replace(&crate::support::browser::csrf_in(&r.body).unwrap(), ""),
        );
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "one answer");
    audited(&dash, "sign_in_link.reset_refused", 3).await;
    assert!(smtp.received().is_empty(), "{:?}", smtp.received());
    assert_eq!(dash.sql_i64("SELECT count(*) FROM sign_in_links"), 0);

    // Carl may sign in now: the same request gets him a link.
    dash.ctx
        .service
        .set_dashboard(
            &Email::parse("carl@example.org").unwrap(),
            DashboardAccess::Viewer,
        )
        .await
        .unwrap();
    ask(&dash, "carl@example.org").await;
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["to"][0], "carl@example.org");
}

#[actix_web::test]
async fn a_reset_link_ends_with_its_time_and_with_a_new_password() {
    let smtp = SmtpServer::start_plain();
    let dash = TestApp::spawn_with_mail(&smtp, "").await;
    dash.admin().await;
    ask(&dash, ADMIN_EMAIL).await;
    let first = link_of(&smtp.wait_for(1).await, 0);
    dash.sql("UPDATE sign_in_links SET expires_at = 1");
    assert_eq!(
        use_link(&dash, &first, NEW_PASSWORD).await,
        StatusCode::GONE
    );

    ask(&dash, ADMIN_EMAIL).await;
    let second = link_of(&smtp.wait_for(2).await, 1);
    assert_ne!(first, second);
    dash.set_password(ADMIN_EMAIL, "changed by the operator")
        .await;
    assert_eq!(
        use_link(&dash, &second, NEW_PASSWORD).await,
        StatusCode::GONE,
        "a new password ends it"
    );
}

#[actix_web::test]
async fn requests_are_throttled_per_email_and_per_client() {
    let smtp = SmtpServer::start_plain();
    let dir = tempfile::tempdir().unwrap();
    let toml = crate::support::app::settings(&dir.path().join("ab.db"), "")
        .lines("server", "trusted_proxies = [\"127.0.0.1/32\"]")
        .lines("alerts", &smtp.plain_settings());
    let dash = TestApp::spawn_toml(dir, true, toml).await;
    dash.admin().await;

    // One email: five free requests and the one that locks it, then refused.
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(ask(&dash, ADMIN_EMAIL).await.status);
    }
    assert_eq!(statuses[..6], [StatusCode::OK; 6], "{statuses:?}");
    assert_eq!(statuses[6], StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        smtp.wait_for(6).await.len(),
        6,
        "no mail for the refused one"
    );

    // One client behind the proxy, many emails: twenty and the one that locks it.
    let flood = [("X-Forwarded-For", "203.0.113.5")];
    let asking = |email: String| {
        let dash = &dash;
        async move {
            let b = dash.browser();
            b.get("/login/forgot").await;
            let token = b.csrf.lock().unwrap().clone().unwrap();
            b.post_raw(
                "/login/forgot",
                &[("email", &email), ("csrf", &token)],
                &flood,
            )
            .await
        }
    };
    for i in 0..21 {
        let r = asking(format!("nobody{i}@example.org")).await;
        assert_eq!(r.status, StatusCode::OK, "request {i}: {}", r.body);
    }
    let r = asking("someone.else@example.org".into()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.body.contains("Too many requests for a link"),
        "{}",
        r.body
    );
    // Another client is not held up by that one.
    let other = [("X-Forwarded-For", "198.51.100.7")];
    let b = dash.browser();
    b.get("/login/forgot").await;
    let token = b.csrf.lock().unwrap().clone().unwrap();
    let r = b
        .post_raw(
            "/login/forgot",
            &[("email", "someone.else@example.org"), ("csrf", &token)],
            &other,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
