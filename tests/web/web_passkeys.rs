//! Passkeys as the second factor, with a software authenticator built here: one
//! registered by name, the code step offering it, and each refusal the server makes
//! (a challenge used twice, an answer to another challenge, a replayed assertion, a
//! counter that goes backwards, another person's passkey), each audited; removal
//! asks for re-authentication; `user reset-2fa` removes passkeys too.

use accessboard::domain::Email;
use reqwest::StatusCode;

use crate::support::app::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};
use crate::support::browser::Browser;
use crate::support::passkey::{SoftKey, challenge_of};

/// The in-process dashboard's public URL is http://dash.example.org/.
fn soft_key(seed: u8) -> SoftKey {
    SoftKey::new(seed, "dash.example.org", "http://dash.example.org")
}

/// Registers `key` as `name` for the person signed in on `b`.
async fn register(b: &Browser, key: &SoftKey, name: &str) {
    assert_eq!(b.get("/account/two-factor").await.status, StatusCode::OK);
    let options = b.post("/account/passkeys/options", &[("name", name)]).await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let r = b
        .post(
            "/account/passkeys",
            &[("credential", &key.registration(&options.body))],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

/// The password step in a new browser; the challenge of the passkey step.
async fn half_signed_in(dash: &TestApp) -> (Browser, String) {
    let b = dash.browser();
    let r = b.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.header("location"), "/login/code");
    let page = b.get("/login/code").await;
    assert!(page.body.contains("Use a passkey"), "{}", page.body);
    let options = b.post("/login/passkey/options", &[]).await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let challenge = challenge_of(&options.body);
    (b, challenge)
}

fn refusals(dash: &TestApp, reason: &str) -> i64 {
    dash.sql_i64(&format!(
        "SELECT count(*) FROM audit_log WHERE action = 'sign_in.failed' AND after LIKE '%{reason}%'"
    ))
}

#[actix_web::test]
async fn a_passkey_signs_in_after_the_password_and_refusals_are_audited() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let key = soft_key(1);
    register(&b, &key, "YubiKey").await;
    let page = b.get("/account/two-factor").await;
    assert!(
        page.body.contains("Passkey \u{201c}YubiKey\u{201d} added"),
        "{}",
        page.body
    );
    assert!(page.body.contains("last used never"), "{}", page.body);

    // A registration challenge is used once.
    let options = b
        .post("/account/passkeys/options", &[("name", "Again")])
        .await;
    let answer = soft_key(2).registration(&options.body);
    let first = b
        .post("/account/passkeys", &[("credential", &answer)])
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let again = b
        .post("/account/passkeys", &[("credential", &answer)])
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again.body.contains("no passkey challenge waiting"),
        "{}",
        again.body
    );

    // An answer to another challenge is refused, and audited.
    let (other, _) = half_signed_in(&dash).await;
    let r = other
        .post(
            "/login/passkey",
            &[("credential", &key.assertion("AAAAAAAAAAAAAAAAAAAAAA", 1))],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(
        r.body.contains("That passkey did not sign you in"),
        "{}",
        r.body
    );
    assert_eq!(refusals(&dash, "did not verify"), 1);

    // The right answer signs in.
    let (ok, challenge) = half_signed_in(&dash).await;
    let signed = key.assertion(&challenge, 5);
    let r = ok.post("/login/passkey", &[("credential", &signed)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/");
    assert_eq!(ok.get("/users").await.status, StatusCode::OK);
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'sign_in.ok' AND after LIKE '%\"passkey\"%'"),
        1
    );

    // The same assertion again, in another browser with a challenge of its own.
    let (replay, _) = half_signed_in(&dash).await;
    let r = replay
        .post("/login/passkey", &[("credential", &signed)])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(replay.get("/users").await.status, StatusCode::SEE_OTHER);

    // A counter that does not go up (a cloned authenticator) is refused and audited.
    let (clone, challenge) = half_signed_in(&dash).await;
    let r = clone
        .post(
            "/login/passkey",
            &[("credential", &key.assertion(&challenge, 3))],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(refusals(&dash, "counter went backwards"), 1);

    // Another person's passkey is not the admin's.
    let viewer = dash.signed_in_viewer().await;
    let theirs = soft_key(9);
    register(&viewer, &theirs, "Vic's key").await;
    let (stranger, challenge) = half_signed_in(&dash).await;
    let r = stranger
        .post(
            "/login/passkey",
            &[("credential", &theirs.assertion(&challenge, 1))],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(refusals(&dash, "not one of their passkeys"), 1);
}

#[actix_web::test]
async fn removing_a_passkey_asks_for_the_password_and_reset_2fa_removes_them_all() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    register(&b, &soft_key(1), "YubiKey").await;
    register(&b, &soft_key(2), "Laptop").await;
    let id = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(soft_key(2).id)
    };
    b.get("/account/two-factor").await;
    let r = b
        .post(
            "/account/passkeys/remove",
            &[("id", &id), ("current_password", "wrong")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Nothing was removed"), "{}", r.body);
    let r = b
        .post(
            "/account/passkeys/remove",
            &[("id", &id), ("current_password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get("/account/two-factor").await;
    assert!(
        page.body
            .contains("Passkey \u{201c}Laptop\u{201d} removed."),
        "{}",
        page.body
    );
    assert!(page.body.contains("YubiKey"), "{}", page.body);
    assert_eq!(dash.sql_i64("SELECT count(*) FROM passkeys"), 1);

    let was = dash
        .ctx
        .service
        .reset_second_factor(&Email::parse(ADMIN_EMAIL).unwrap())
        .await
        .unwrap();
    assert!(was.any(), "a passkey counts as a second factor");
    assert_eq!((was.totp, was.passkeys), (false, 1));
    assert_eq!(dash.sql_i64("SELECT count(*) FROM passkeys"), 0);
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'second_factor.reset' AND after LIKE '%\"passkeys_removed\":1%'"),
        1
    );
    // The password alone signs in again.
    let r = dash.browser().login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.header("location"), "/");
}

#[actix_web::test]
async fn a_passkey_confirms_it_is_you_for_sensitive_changes() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let key = soft_key(1);
    register(&b, &key, "YubiKey").await;
    let form = b.get("/users/new").await;
    assert!(
        form.body.contains("current-password"),
        "asked before: {}",
        form.body
    );

    // An answer to no challenge of this browser confirms nothing.
    b.get("/account/two-factor").await;
    let r = b
        .post(
            "/account/reauth/passkey",
            &[("credential", &key.assertion("AAAAAAAAAAAAAAAAAAAAAA", 1))],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get("/account/two-factor").await;
    assert!(
        page.body
            .contains("Not confirmed: the passkey did not confirm it."),
        "{}",
        page.body
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'reauth.failed'"),
        1
    );

    let options = b.post("/account/passkeys/reauth-options", &[]).await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let answer = key.assertion(&challenge_of(&options.body), 1);
    let r = b
        .post("/account/reauth/passkey", &[("credential", &answer)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get("/account/two-factor").await;
    assert!(
        page.body.contains("Confirmed: for five minutes"),
        "{}",
        page.body
    );
    let form = b.get("/users/new").await;
    assert!(
        !form.body.contains("current-password"),
        "not asked again: {}",
        form.body
    );
}
