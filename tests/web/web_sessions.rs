//! Sessions that end when they must: a new password, lost admin rights, "sign out
//! everywhere"; and session ids that a copy of the database cannot replay.

use accessboard::domain::{DashboardAccess, Email, UserUpdate};
use reqwest::StatusCode;

use crate::support::app::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};
use crate::support::browser::Browser;

const BOB: &str = "bob@example.org";
const BOB_PASSWORD: &str = "bobs long password";

async fn signed_in_as(dash: &TestApp, email: &str, password: &str) -> Browser {
    let b = dash.browser();
    let r = b.login(email, password).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    b
}

fn signed_out(r: &crate::support::browser::Resp) -> bool {
    r.status == StatusCode::SEE_OTHER && r.header("location").starts_with("/login")
}

#[actix_web::test]
async fn a_new_password_ends_every_other_session_but_the_changers() {
    let dash = TestApp::spawn().await;
    let id = dash.admin().await;
    let here = signed_in_as(&dash, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let elsewhere = signed_in_as(&dash, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    here.get(&format!("/users/{id}")).await;
    let r = here
        .post(
            &format!("/users/{id}"),
            &[
                ("name", "Ada Admin"),
                ("email", ADMIN_EMAIL),
                ("admin", "on"),
                ("password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        here.get("/users").await.status,
        StatusCode::OK,
        "the changer stays"
    );
    assert!(
        signed_out(&elsewhere.get("/users").await),
        "the other browser is out"
    );
}

/// A lower level holds at once: admin to viewer ends the sessions (the next one is a
/// viewer's), a raise counts from the next request, and none ends the viewer's too.
#[actix_web::test]
async fn a_lower_dashboard_level_holds_at_once() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    dash.person(BOB, "Bob", true, &[]).await;
    dash.set_password(BOB, BOB_PASSWORD).await;
    let email = Email::parse(BOB).unwrap();
    let bob = signed_in_as(&dash, BOB, BOB_PASSWORD).await;
    assert_eq!(bob.get("/users/new").await.status, StatusCode::OK);
    let set = |level| {
        let (service, email) = (dash.ctx.service.clone(), email.clone());
        async move { service.set_dashboard(&email, level).await.unwrap() }
    };
    let change = set(DashboardAccess::Viewer).await;
    assert_eq!(
        change.text(),
        "bob@example.org: dashboard access viewer (was admin); their 1 session ended"
    );
    assert!(signed_out(&bob.get("/users/new").await));
    let bob = signed_in_as(&dash, BOB, BOB_PASSWORD).await;
    assert_eq!(bob.get("/users").await.status, StatusCode::OK);
    assert_eq!(bob.get("/users/new").await.status, StatusCode::FORBIDDEN);
    // a raise needs no new sign-in: the level is read with the session
    set(DashboardAccess::Admin).await;
    assert_eq!(bob.get("/users/new").await.status, StatusCode::OK);
    set(DashboardAccess::Viewer).await;
    let bob = signed_in_as(&dash, BOB, BOB_PASSWORD).await;
    set(DashboardAccess::None).await;
    assert!(signed_out(&bob.get("/users").await));
    let r = bob.login(BOB, BOB_PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "no level, no sign-in");
    let same = set(DashboardAccess::None).await;
    assert_eq!(
        same.text(),
        "bob@example.org already has dashboard access none; nothing changed"
    );
}

#[actix_web::test]
async fn lost_admin_rights_end_sessions_for_good() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    dash.person(BOB, "Bob", true, &[]).await;
    dash.set_password(BOB, BOB_PASSWORD).await;
    let bob = signed_in_as(&dash, BOB, BOB_PASSWORD).await;
    let cookie = bob.cookie.lock().unwrap().clone();
    let email = Email::parse(BOB).unwrap();
    let flag = |admin: bool| UserUpdate {
        name: None,
        email: None,
        dashboard: Some(if admin {
            DashboardAccess::Admin
        } else {
            DashboardAccess::None
        }),
    };
    dash.ctx
        .service
        .update_user(&email, flag(false))
        .await
        .unwrap();
    assert!(signed_out(&bob.get("/users").await));
    dash.ctx
        .service
        .update_user(&email, flag(true))
        .await
        .unwrap();
    let old = dash.browser();
    *old.cookie.lock().unwrap() = cookie;
    assert!(
        signed_out(&old.get("/users").await),
        "the old cookie stays worthless after re-promotion"
    );
}

#[actix_web::test]
async fn sign_out_everywhere_on_the_page_and_on_the_command_line_side() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let bob_id = dash.person(BOB, "Bob", true, &[]).await;
    dash.set_password(BOB, BOB_PASSWORD).await;
    let bob = signed_in_as(&dash, BOB, BOB_PASSWORD).await;
    let ada = dash.signed_in().await;
    let page = ada.get(&format!("/users/{bob_id}")).await;
    assert!(page.body.contains("Sign out everywhere"));
    let r = ada.post(&format!("/users/{bob_id}/sign-out"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(signed_out(&bob.get("/users").await));
    assert_eq!(ada.get("/users").await.status, StatusCode::OK);
    // What the command line calls.
    let bob = signed_in_as(&dash, BOB, BOB_PASSWORD).await;
    let n = dash
        .ctx
        .service
        .sign_out_everywhere_by_email(&Email::parse(BOB).unwrap())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(signed_out(&bob.get("/users").await));
}

#[actix_web::test]
async fn the_database_holds_no_session_id_a_cookie_carries() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let cookie = b.cookie.lock().unwrap().clone().unwrap_or_default();
    let conn = crate::support::db::connect(&dash.dir.path().join("ab.db"));
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM web_sessions")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!ids.is_empty());
    for id in ids {
        assert_eq!(id.len(), 64, "a SHA-256 in hex");
        assert!(!cookie.contains(&id), "the stored id is in the cookie");
    }
}
