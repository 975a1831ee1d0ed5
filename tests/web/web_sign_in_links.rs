//! One-time sign-in links (invitations, resets): made by an admin for someone who may
//! sign in, shown once, stored hashed; they set the password once and end with a new
//! password, a change of access, or their time.

use accessboard::domain::{DashboardAccess, Email};
use reqwest::StatusCode;

use crate::support::app::TestApp;
use crate::support::totp::text_of;

const BOB: &str = "bob@example.org";
const BOB_PASSWORD: &str = "bobs new long password";

async fn level(dash: &TestApp, to: DashboardAccess) {
    dash.ctx
        .service
        .set_dashboard(&Email::parse(BOB).unwrap(), to)
        .await
        .unwrap();
}

#[actix_web::test]
async fn an_invitation_sets_the_password_once() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let bob = dash.person(BOB, "Bob", false, &[]).await;
    b.get(&format!("/users/{bob}")).await;
    let r = b.post(&format!("/users/{bob}/invite"), &[]).await;
    assert_ne!(r.status, StatusCode::OK);
    assert!(r.body.contains("may not sign in here"), "{}", r.body);

    level(&dash, DashboardAccess::Viewer).await;
    let page = b.get(&format!("/users/{bob}")).await;
    assert!(page.body.contains("Make a sign-in link"), "{}", page.body);
    let r = b.post(&format!("/users/{bob}/invite"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link = text_of(&r.body, "sign-in-link").expect("the link is shown");
    let path = link
        .strip_prefix("http://dash.example.org")
        .expect("the public URL")
        .replace("&amp;", "&");
    let token = path.split("token=").nth(1).unwrap().to_owned();
    assert_eq!(token.len(), 64);
    for table in [
        "audit_log WHERE coalesce(after, '')",
        "sign_in_links WHERE token_hash",
    ] {
        assert_eq!(
            dash.sql_i64(&format!("SELECT count(*) FROM {table} LIKE '%{token}%'")),
            0,
            "the token is not stored in {table}"
        );
    }
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'sign_in_link.create'"),
        1
    );

    let bobs = dash.browser();
    let form = bobs.get(&path).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("bob@example.org"), "{}", form.body);
    let short = bobs
        .post("/login/link", &[("token", &token), ("password", "short")])
        .await;
    assert_eq!(
        short.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        short.body
    );
    assert!(
        short.body.contains("at least 10 characters"),
        "{}",
        short.body
    );
    let r = bobs
        .post(
            "/login/link",
            &[("token", &token), ("password", BOB_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Your password is set"), "{}", r.body);
    let r = bobs.login(BOB, BOB_PASSWORD).await;
    assert_eq!(r.header("location"), "/", "{}", r.body);
    assert_eq!(bobs.get("/users").await.status, StatusCode::OK);

    // Used once: gone for everybody after.
    let again = dash.browser();
    assert_eq!(again.get(&path).await.status, StatusCode::GONE);
    again.get("/login").await; // a CSRF token, as any page of the site gives
    let r = again
        .post(
            "/login/link",
            &[("token", &token), ("password", "another long password")],
        )
        .await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(r.body.contains("no longer works"), "{}", r.body);
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM audit_log WHERE action = 'password.set' AND actor LIKE '%bob@example.org%'"
        ),
        1
    );
}

#[actix_web::test]
async fn a_link_ends_with_a_new_password_a_change_of_access_or_its_time() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let bob = dash.person(BOB, "Bob", true, &[]).await;
    let link = || async { dash.ctx.service.create_sign_in_link(bob).await.unwrap() };
    let b = dash.browser();
    let open = |token: String| {
        let b = &b;
        async move { b.get(&format!("/login/link?token={token}")).await.status }
    };
    let first = link().await;
    assert_eq!(open(first.token.clone()).await, StatusCode::OK);
    dash.set_password(BOB, BOB_PASSWORD).await;
    assert_eq!(
        open(first.token).await,
        StatusCode::GONE,
        "a new password ends it"
    );

    let second = link().await;
    level(&dash, DashboardAccess::Viewer).await;
    assert_eq!(
        open(second.token).await,
        StatusCode::GONE,
        "a change of access ends it"
    );

    let third = link().await;
    dash.sql("UPDATE sign_in_links SET expires_at = 1");
    assert_eq!(
        open(third.token).await,
        StatusCode::GONE,
        "its time ends it"
    );
    assert_eq!(open("not-a-token".into()).await, StatusCode::GONE);
}
