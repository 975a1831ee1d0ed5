//! Sign-in links by email, to a real SMTP server (aiosmtpd, as a local relay): an
//! admin's invitation, and the sign-in page's "Forgot your password?". Each link is
//! followed as the person would, and works once.

use accessboard::domain::{DashboardAccess, Email};
use reqwest::StatusCode;

use crate::support::app::TestApp;
use crate::support::browser::Browser;
use crate::support::net::free_port;
use crate::support::smtp::{SmtpServer, link_path};
use crate::support::totp::text_of;

const BOB: &str = "bob@example.org";
const BOB_PASSWORD: &str = "bobs new long password";
const PUBLIC: &str = "http://dash.example.org";

/// Bob, who may sign in as a viewer and has no password yet.
async fn bob(dash: &TestApp) -> uuid::Uuid {
    let id = dash.person(BOB, "Bob Builder", false, &[]).await;
    dash.ctx
        .service
        .set_dashboard(&Email::parse(BOB).unwrap(), DashboardAccess::Viewer)
        .await
        .unwrap();
    id
}

/// Follows a link's path in a fresh browser and sets `password` with it; the status.
async fn use_link(dash: &TestApp, path: &str, password: &str) -> (Browser, StatusCode) {
    let b = dash.browser();
    let form = b.get(path).await;
    if form.status != StatusCode::OK {
        return (b, form.status);
    }
    let token = path.split("token=").nth(1).unwrap().to_owned();
    let r = b
        .post("/login/link", &[("token", &token), ("password", password)])
        .await;
    (b, r.status)
}

#[actix_web::test]
async fn an_invitation_arrives_by_email_and_its_link_signs_them_in_once() {
    let smtp = SmtpServer::start_plain();
    let dash = TestApp::spawn_with_mail(&smtp, "").await;
    let admin = dash.signed_in().await;
    let bob = bob(&dash).await;

    let page = admin.get(&format!("/users/{bob}")).await;
    assert!(page.body.contains("Email a sign-in link"), "{}", page.body);
    let r = admin.post(&format!("/users/{bob}/invite"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = admin.get(&format!("/users/{bob}")).await;
    assert!(
        page.body
            .contains("Invitation sent to bob@example.org (valid 48 hours)"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("token="), "the link is not shown");

    let mails = smtp.received();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["to"][0], BOB);
    let text = mails[0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{mails:?}"));
    assert!(
        text.contains("Ada Admin (admin@example.org) invited you"),
        "the inviter is named: {text}"
    );
    assert!(text.contains("within 48 hours"), "{text}");
    let path = link_path(text, PUBLIC);
    let token = path.split("token=").nth(1).unwrap().to_owned();
    assert_eq!(token.len(), 64);
    assert_eq!(
        dash.sql_i64(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'sign_in_link.create' AND after LIKE '%\"email\"%' AND after NOT LIKE '%{token}%'"
        )),
        1,
        "the invitation is audited, without its token"
    );

    let (bobs, status) = use_link(&dash, &path, BOB_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let r = bobs.login(BOB, BOB_PASSWORD).await;
    assert_eq!(r.header("location"), "/", "{}", r.body);
    assert_eq!(bobs.get("/users").await.status, StatusCode::OK);

    let (_, again) = use_link(&dash, &path, "another long password").await;
    assert_eq!(again, StatusCode::GONE, "a link works once");
}

#[actix_web::test]
async fn show_a_link_instead_shows_it_and_sends_nothing() {
    let smtp = SmtpServer::start_plain();
    let dash = TestApp::spawn_with_mail(&smtp, "").await;
    let admin = dash.signed_in().await;
    let bob = bob(&dash).await;
    admin.get(&format!("/users/{bob}")).await;
    let r = admin
        .post(&format!("/users/{bob}/invite"), &[("show", "1")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link = text_of(&r.body, "sign-in-link").expect("the link is shown");
    assert!(link.starts_with(PUBLIC), "{link}");
    assert!(smtp.received().is_empty());
}

#[actix_web::test]
async fn an_invitation_that_cannot_be_sent_says_so_and_leaves_no_link() {
    // Nothing listens on this port: the SMTP server is down.
    let down = free_port();
    let dir = tempfile::tempdir().unwrap();
    let toml = crate::support::app::settings(&dir.path().join("ab.db"), "").lines(
        "alerts",
        &format!(
            "smtp_url = \"smtp://127.0.0.1:{down}\"\nsmtp_tls = \"none\"\nfrom = \"board@example.org\"\nto = \"ops@example.org\"\n"
        ),
    );
    let dash = TestApp::spawn_toml(dir, true, toml).await;
    let admin = dash.signed_in().await;
    let bob = bob(&dash).await;
    admin.get(&format!("/users/{bob}")).await;
    let r = admin.post(&format!("/users/{bob}/invite"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = admin.get(&format!("/users/{bob}")).await;
    assert!(
        page.body
            .contains("The invitation to bob@example.org could not be sent"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("its link was withdrawn"),
        "{}",
        page.body
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM sign_in_links"),
        0,
        "no link is left valid"
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'sign_in_link.withdraw'"),
        1
    );
}
