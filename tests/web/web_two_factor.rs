//! The TOTP second factor: enrolment by key (QR code beside it), the code asked after
//! the password and before any session, a code never taken twice, recovery codes
//! single-use, the code step throttled, and the reset on the server.

use accessboard::domain::Email;
use reqwest::StatusCode;

use crate::support::app::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};
use crate::support::browser::Browser;
use crate::support::totp::{code, now, text_of};

/// Turns on the admin's second factor through the pages: the key, the recovery codes
/// and the code that confirmed it.
async fn enrol(b: &Browser) -> (String, Vec<String>, String) {
    let off = b.get("/account/two-factor").await;
    assert!(
        off.body.contains("Off: your password alone"),
        "{}",
        off.body
    );
    let page = b.post("/account/two-factor", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("src=\"data:image/svg+xml;base64,"),
        "a QR code"
    );
    let key = text_of(&page.body, "totp-key").expect("the key is shown");
    let wrong = code(&key, now() + 3600);
    let r = b
        .post("/account/two-factor/confirm", &[("code", &wrong)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("nothing was turned on"), "{}", r.body);
    let confirmed = code(&key, now());
    let r = b
        .post("/account/two-factor/confirm", &[("code", &confirmed)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Two-factor sign-in is on."), "{}", r.body);
    let codes: Vec<String> = r
        .body
        .split("<li><code>")
        .skip(1)
        .filter_map(|s| s.split('<').next().map(str::to_owned))
        .collect();
    assert_eq!(codes.len(), 10, "{}", r.body);
    (key, codes, confirmed)
}

/// The password step in a new browser, then the code form (its CSRF token).
async fn half_signed_in(dash: &TestApp) -> Browser {
    let b = dash.browser();
    let r = b.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.header("location"), "/login/code");
    assert_eq!(b.get("/login/code").await.status, StatusCode::OK);
    b
}

#[actix_web::test]
async fn a_code_is_asked_after_the_password_and_never_taken_twice() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let (key, codes, confirmed) = enrol(&b).await;
    let on = b.get("/account/two-factor").await;
    assert!(
        on.body.contains("10 unused recovery codes left"),
        "{}",
        on.body
    );
    assert!(
        !on.body.contains(&key),
        "the key is not shown after enrolment"
    );

    // The password alone is half a sign-in: no session yet.
    let other = dash.browser();
    let r = other.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/login/code");
    let users = other.get("/users").await;
    assert!(
        users.header("location").starts_with("/login"),
        "no session before the code"
    );
    let form = other.get("/login/code").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("autocomplete=\"one-time-code\""));
    // The code that confirmed the enrolment was taken: the same step is refused.
    let r = other.post("/login/code", &[("code", &confirmed)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(r.body.contains("already used"), "{}", r.body);
    // The next step's code (clocks drift a step either way) signs in.
    let next = code(&key, now() + 30);
    let r = other.post("/login/code", &[("code", &next)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/");
    assert_eq!(other.get("/users").await.status, StatusCode::OK);
    // A copy of that code in another browser is refused.
    let thief = half_signed_in(&dash).await;
    let r = thief.post("/login/code", &[("code", &next)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);

    // A recovery code signs in once.
    let lost = half_signed_in(&dash).await;
    let r = lost
        .post("/login/code", &[("code", &codes[3].to_uppercase())])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let again = half_signed_in(&dash).await;
    let r = again.post("/login/code", &[("code", &codes[3])]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "single use: {}", r.body);
    let left = lost.get("/account/two-factor").await;
    assert!(
        left.body.contains("9 unused recovery codes left"),
        "{}",
        left.body
    );

    // The audit trail says how each sign-in was proved, and never a secret.
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM audit_log WHERE action = 'sign_in.ok' AND after LIKE '%recovery_code%'"
        ),
        1
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'second_factor.on'"),
        1
    );
    for secret in codes.iter().chain([&key, &next]) {
        assert_eq!(
            dash.sql_i64(&format!(
                "SELECT count(*) FROM audit_log WHERE coalesce(after, '') LIKE '%{secret}%'"
            )),
            0,
            "{secret} is in the audit trail"
        );
        assert_eq!(
            dash.sql_i64(&format!(
                "SELECT count(*) FROM recovery_codes WHERE code_hash LIKE '%{secret}%'"
            )),
            0
        );
    }

    // The server's reset (a lost device): the password alone signs in again.
    let was = dash
        .ctx
        .service
        .reset_second_factor(&Email::parse(ADMIN_EMAIL).unwrap())
        .await
        .unwrap();
    assert!(was.any());
    let plain = dash.browser();
    let r = plain.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.header("location"), "/");
}

#[actix_web::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let (key, _, _) = enrol(&b).await;
    let other = half_signed_in(&dash).await;
    let mut locked = false;
    for _ in 0..10 {
        let r = other.post("/login/code", &[("code", "000000")]).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.body.contains("Too many failed sign-ins"), "{}", r.body);
            locked = true;
            break;
        }
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    }
    assert!(locked, "wrong codes lock the account like wrong passwords");
    // Locked means locked: even the right code waits.
    let r = other
        .post("/login/code", &[("code", &code(&key, now() + 30))])
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        other
            .get("/users")
            .await
            .header("location")
            .starts_with("/login")
    );
    assert!(
        dash.sql_i64(
            "SELECT count(*) FROM audit_log WHERE action = 'sign_in.failed' AND after LIKE '%second_factor%'"
        ) >= 5
    );
}

#[actix_web::test]
async fn the_code_page_without_a_password_first_sends_to_sign_in() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let b = dash.browser();
    let r = b.get("/login/code").await;
    assert_eq!(r.header("location"), "/login");
    b.get("/login").await;
    let r = b.post("/login/code", &[("code", "123456")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/login");
}

/// `[auth] require_second_factor = true`: someone without a second factor sees only
/// its setup page until it is on; then everything, with the code at each sign-in.
#[actix_web::test]
async fn a_required_second_factor_is_set_up_before_anything_else() {
    let dash = TestApp::spawn_with_auth("require_second_factor = true").await;
    let b = dash.signed_in().await;
    let r = b.get("/users").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/account/two-factor");
    assert_eq!(
        b.post(
            "/users/new",
            &[("name", "Eve"), ("email", "eve@example.org")]
        )
        .await
        .header("location"),
        "/account/two-factor",
        "no change either"
    );
    let page = b.get("/account/two-factor").await;
    assert!(
        page.body.contains("requires two-factor sign-in"),
        "{}",
        page.body
    );
    let (key, _, _) = enrol(&b).await;
    assert_eq!(b.get("/users").await.status, StatusCode::OK);
    let other = half_signed_in(&dash).await;
    let r = other
        .post("/login/code", &[("code", &code(&key, now() + 30))])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(other.get("/users").await.status, StatusCode::OK);
}

/// Re-authentication (making someone an admin) takes a code of the app as well as
/// the password; a code already taken does not count.
#[actix_web::test]
async fn re_authentication_accepts_a_code() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let (key, _, confirmed) = enrol(&b).await;
    let bob = dash.person("bob@example.org", "Bob", false, &[]).await;
    let save = |current: String| {
        let b = &b;
        async move {
            b.get(&format!("/users/{bob}")).await;
            b.post(
                &format!("/users/{bob}"),
                &[
                    ("name", "Bob"),
                    ("email", "bob@example.org"),
                    ("admin", "admin"),
                    ("current_password", &current),
                ],
            )
            .await
        }
    };
    let r = save(confirmed).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("already used"), "{}", r.body);
    let r = save(code(&key, now() + 30)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        dash.sql_i64("SELECT dashboard = 'admin' FROM users WHERE email = 'bob@example.org'"),
        1
    );
}
