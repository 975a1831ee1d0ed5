//! Sensitive changes ask for the admin's own password again (like GitHub's sudo mode):
//! making someone a dashboard admin, setting another admin's password.

use reqwest::StatusCode;

use crate::support::app::{ADMIN_PASSWORD, TestApp};
use crate::support::browser::Browser;

const BOB: &str = "bob@example.org";

async fn save(
    b: &Browser,
    id: uuid::Uuid,
    extra: &[(&str, &str)],
) -> crate::support::browser::Resp {
    b.get(&format!("/users/{id}")).await;
    let mut fields = vec![("name", "Bob Builder"), ("email", BOB)];
    fields.extend_from_slice(extra);
    b.post(&format!("/users/{id}"), &fields).await
}

fn is_admin(dash: &TestApp, email: &str) -> i64 {
    dash.sql_i64(&format!(
        "SELECT dashboard = 'admin' FROM users WHERE email = '{email}'"
    ))
}

#[actix_web::test]
async fn making_someone_an_admin_asks_for_your_own_password_first() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let bob = dash.person(BOB, "Bob Builder", false, &[]).await;
    let page = b.get(&format!("/users/{bob}")).await;
    assert!(
        page.body.contains("name=\"current_password\""),
        "{}",
        page.body
    );

    let r = save(&b, bob, &[("admin", "on")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("enter your own password"), "{}", r.body);
    assert_eq!(is_admin(&dash, BOB), 0, "nothing saved");

    let r = save(
        &b,
        bob,
        &[
            ("admin", "on"),
            ("current_password", "not my password at all"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("that is not your password"), "{}", r.body);
    assert!(
        !r.body.contains("not my password at all"),
        "the password typed is not echoed"
    );
    assert_eq!(is_admin(&dash, BOB), 0);

    let r = save(
        &b,
        bob,
        &[("admin", "on"), ("current_password", ADMIN_PASSWORD)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(is_admin(&dash, BOB), 1);
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'reauth.failed'"),
        1
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'reauth.ok'"),
        1
    );

    // For a few minutes the confirmation holds: no more asking.
    let page = b.get("/users/new").await;
    assert!(!page.body.contains("name=\"current_password\""));
    let r = b
        .post(
            "/users/new",
            &[("name", "Cy"), ("email", "cy@example.org"), ("admin", "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(is_admin(&dash, "cy@example.org"), 1);
}

#[actix_web::test]
async fn adding_a_new_admin_is_asked_too_and_stores_nothing_until_confirmed() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/users/new").await;
    let r = b
        .post(
            "/users/new",
            &[("name", "Cy"), ("email", "cy@example.org"), ("admin", "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("value=\"cy@example.org\""),
        "what was typed is kept"
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM users WHERE email = 'cy@example.org'"),
        0
    );
    // Someone who is not an admin needs no confirmation.
    let r = b
        .post("/users/new", &[("name", "Di"), ("email", "di@example.org")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[actix_web::test]
async fn setting_another_admins_password_asks_but_your_own_does_not() {
    let dash = TestApp::spawn().await;
    let ada = dash.admin().await;
    let b = dash.signed_in().await;
    let bob = dash.person(BOB, "Bob Builder", true, &[]).await;
    dash.set_password(BOB, "bobs old password").await;
    let hash = || {
        dash.ctx
            .service
            .db()
            .conn()
            .unwrap()
            .query_row(
                "SELECT password_hash FROM users WHERE email = ?1",
                [BOB],
                |r| r.get::<_, String>(0),
            )
            .unwrap()
    };
    let before = hash();
    let r = save(
        &b,
        bob,
        &[("admin", "on"), ("password", "bobs new password")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(hash(), before, "Bob's password is unchanged");
    // A plain edit of another admin is not sensitive.
    let r = save(&b, bob, &[("admin", "on")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Nor is a new password of one's own.
    b.get(&format!("/users/{ada}")).await;
    let r = b
        .post(
            &format!("/users/{ada}"),
            &[
                ("name", "Ada Admin"),
                ("email", crate::support::app::ADMIN_EMAIL),
                ("admin", "on"),
                ("password", "adas new password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[actix_web::test]
async fn wrong_confirmations_are_throttled_like_sign_ins() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let bob = dash.person(BOB, "Bob Builder", false, &[]).await;
    let mut wrong = 0;
    for _ in 0..7 {
        let r = save(
            &b,
            bob,
            &[("admin", "on"), ("current_password", "guess guess guess")],
        )
        .await;
        if r.body.contains("that is not your password") {
            wrong += 1;
        } else {
            assert!(r.body.contains("too many wrong passwords"), "{}", r.body);
        }
    }
    // Five free guesses and the one that locks.
    assert_eq!(wrong, 6);
    // Locked: even the right password is not checked now.
    let r = save(
        &b,
        bob,
        &[("admin", "on"), ("current_password", ADMIN_PASSWORD)],
    )
    .await;
    assert!(r.body.contains("too many wrong passwords"), "{}", r.body);
    assert_eq!(is_admin(&dash, BOB), 0);
}

#[actix_web::test]
async fn an_import_that_makes_admins_asks_for_your_own_password() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let csv = "email,name,admin\nana@example.org,Ana,true\nbo@example.org,Bo,false\n";
    b.get("/users/import").await;
    let preview = b.post("/users/import/preview", &[("csv", csv)]).await;
    assert!(
        preview.body.contains("name=\"current_password\""),
        "{}",
        preview.body
    );
    let r = b.post("/users/import", &[("csv", csv)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("enter your own password"), "{}", r.body);
    assert!(
        r.body.contains("bo@example.org"),
        "the preview is still there"
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM users"),
        1,
        "nobody imported"
    );
    let r = b
        .post(
            "/users/import",
            &[("csv", csv), ("current_password", ADMIN_PASSWORD)],
        )
        .await;
    assert!(r.body.contains("Created 2 people"), "{}", r.body);
    assert_eq!(is_admin(&dash, "ana@example.org"), 1);
    // Rows without admins are not asked about.
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/users/import").await;
    let preview = b
        .post(
            "/users/import/preview",
            &[("csv", "email,name\ncy@example.org,Cy\n")],
        )
        .await;
    assert!(!preview.body.contains("name=\"current_password\""));
}

/// The person form offers the three levels; making someone a viewer asks for your own
/// password as making them an admin does, and lowering them does not.
#[actix_web::test]
async fn the_form_sets_a_viewer_asking_your_own_password_and_lowers_without() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let bob = dash.person(BOB, "Bob Builder", false, &[]).await;
    let page = b.get(&format!("/users/{bob}")).await;
    for level in ["none", "viewer", "admin"] {
        assert!(
            page.body.contains(&format!("<option value=\"{level}\"")),
            "{}",
            page.body
        );
    }
    let level = |dash: &TestApp| -> String {
        dash.ctx
            .service
            .db()
            .conn()
            .unwrap()
            .query_row("SELECT dashboard FROM users WHERE email = ?1", [BOB], |r| {
                r.get(0)
            })
            .unwrap()
    };
    let r = save(&b, bob, &[("admin", "viewer")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("enter your own password"), "{}", r.body);
    assert_eq!(level(&dash), "none", "nothing saved");
    let r = save(
        &b,
        bob,
        &[("admin", "viewer"), ("current_password", ADMIN_PASSWORD)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(level(&dash), "viewer");
    let list = b.get("/users").await;
    assert!(list.body.contains(">viewer<"), "{}", list.body);
    // Lowering needs no password (the session is fresh anyway, so test from a new one).
    let other = dash.signed_in().await;
    let r = save(&other, bob, &[("admin", "none")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(level(&dash), "none");
}
