//! Where sign-in sends the browser afterwards: a local path, never another site.

use reqwest::StatusCode;

use crate::support::app::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

#[actix_web::test]
async fn sign_in_never_sends_the_browser_to_another_site() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    for next in [
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/\n/",
    ] {
        let b = dash.browser();
        b.get("/login").await;
        let r = b
            .post(
                "/login",
                &[
                    ("email", ADMIN_EMAIL),
                    ("password", ADMIN_PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.body);
        assert_eq!(r.header("location"), "/users", "{next:?}");
    }
}

#[actix_web::test]
async fn over_https_the_session_cookie_is_secure_and_host_only() {
    let dir = tempfile::tempdir().unwrap();
    let dash = TestApp::spawn_with(dir, true, "public_url = \"https://board.example.org\"").await;
    let r = dash.browser().get("/login").await;
    let set = r.header("set-cookie");
    assert!(set.starts_with("__Host-accessboard_session="), "{set}");
    assert!(set.contains("Secure") && set.contains("Path=/"), "{set}");
    assert!(!set.contains("Domain"), "{set}");
}

#[actix_web::test]
async fn parallel_guesses_never_get_more_checks_than_the_allowance() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let mut browsers = Vec::new();
    for _ in 0..40 {
        let b = dash.browser();
        b.get("/login").await;
        browsers.push(b);
    }
    let guesses = browsers.iter().map(|b| {
        b.post(
            "/login",
            &[("email", ADMIN_EMAIL), ("password", "guess guess guess")],
        )
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let refused = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    // Five free failures, and the one that locks the account.
    assert!(
        checked <= 6,
        "{checked} of 40 parallel guesses were checked"
    );
    assert_eq!(checked + refused, 40);
}

#[actix_web::test]
async fn sign_ins_are_in_the_audit_trail_without_the_password() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let b = dash.browser();
    b.get("/login").await;
    let r = b
        .post(
            "/login",
            &[
                ("email", ADMIN_EMAIL),
                ("password", "not-the-password-xyzzy"),
                ("next", "/users"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        dash.sql_i64(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'sign_in.failed' AND actor = '{ADMIN_EMAIL}'"
        )),
        1
    );
    let b = dash.signed_in().await;
    assert_eq!(
        dash.sql_i64(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'sign_in.ok' AND actor = '{ADMIN_EMAIL}'"
        )),
        1
    );
    let page = b.get("/audit?action=sign_in.failed").await;
    assert!(page.body.contains("sign_in.failed"), "{}", page.body);
    assert!(!page.body.contains("xyzzy"));
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM audit_log WHERE actor || coalesce(target,'') || coalesce(before,'') || coalesce(after,'') LIKE '%xyzzy%'
               OR actor || coalesce(target,'') || coalesce(before,'') || coalesce(after,'') LIKE '%correct horse%'
               OR coalesce(after,'') LIKE '%argon2%'"
        ),
        0
    );
}

#[actix_web::test]
async fn after_a_wrong_password_the_cursor_waits_in_the_password_field() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let b = dash.browser();
    let first = b.get("/login").await.body;
    assert!(
        first.contains(r#"id="email" type="email""#)
            && first.contains("autocomplete=\"username\" required autofocus"),
        "{first}"
    );
    let r = b
        .post("/login", &[("email", ADMIN_EMAIL), ("password", "not it")])
        .await;
    assert!(
        r.body.contains("do not match anyone who can sign in here"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#"value="admin@example.org""#),
        "the email is kept"
    );
    assert!(
        r.body
            .contains(r#"autocomplete="current-password" required autofocus"#),
        "{}",
        r.body
    );
    assert!(
        !r.body
            .contains(r#"autocomplete="username" required autofocus"#)
    );
}
