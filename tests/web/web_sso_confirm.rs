//! Confirming a sensitive change by signing in again at Canaille (a real OpenID Connect
//! provider, `prompt=login`), for an admin who has no password here.

use reqwest::StatusCode;

use super::web_sso::{PEOPLE, SECRET, sso_lines, through_provider};
use super::web_sso_forged::{ada_claims, mock_provider, param, round, unix_now};
use crate::support::app::TestApp;
use crate::support::standins::Canaille;

#[actix_web::test]
async fn an_admin_without_a_password_confirms_a_change_by_signing_in_again_at_canaille() {
    let canaille =
        Canaille::start_sign_in("accessboard", SECRET, "http://dash.example.org/", &PEOPLE);
    let dash = TestApp::spawn_with_sso(&sso_lines(&canaille, SECRET)).await;
    dash.person("ada@example.org", "Ada", true, &[]).await;
    dash.person("bob@example.org", "Bob", false, &[]).await;
    let ada = dash.browser();
    let (r, _) = through_provider(&ada, &canaille, "ada", "ada-password").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // Ada has no password here: the form offers the provider instead.
    let form = ada.get("/users/new").await;
    assert!(
        form.body
            .contains("href=\"/account/confirm-sso?next=%2Fusers%2Fnew\""),
        "{}",
        form.body
    );
    assert!(form.body.contains("Confirm with Canaille"), "{}", form.body);
    let make_cy = [
        ("name", "Cy"),
        ("email", "cy@example.org"),
        ("admin", "admin"),
        ("current_password", "a guess at nothing"),
    ];
    let r = ada.post("/users/new", &make_cy).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body
            .contains("you have no password here; confirm with Canaille instead"),
        "{}",
        r.body
    );

    // Signing in again as someone else confirms nothing.
    let start = ada.get("/account/confirm-sso?next=/users/new").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let to = start.header("location").to_owned();
    assert!(
        to.contains("prompt=login") && to.contains("max_age=120"),
        "{to}"
    );
    let back = canaille.sign_in(&to, "bob", "bob-password").await;
    let r = ada
        .get(
            back.strip_prefix("http://dash.example.org")
                .unwrap_or_else(|| panic!("{back}")),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/users/new");
    let page = ada.get("/users/new").await;
    assert!(
        page.body
            .contains("You signed in at the provider as someone else, so nothing was confirmed."),
        "{}",
        page.body
    );
    assert_eq!(
        ada.post("/users/new", &make_cy[..3]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Ada herself, asked her password again by Canaille: confirmed for five minutes.
    let start = ada.get("/account/confirm-sso?next=/users/new").await;
    let back = canaille
        .sign_in(start.header("location"), "ada", "ada-password")
        .await;
    let r = ada
        .get(back.strip_prefix("http://dash.example.org").unwrap())
        .await;
    assert_eq!(r.header("location"), "/users/new", "{}", r.body);
    let page = ada.get("/users/new").await;
    assert!(
        page.body.contains("Confirmed with Canaille"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("name=\"current_password\""),
        "{}",
        page.body
    );
    let r = ada.post("/users/new", &make_cy[..3]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM users WHERE email = 'cy@example.org' AND dashboard = 'admin'"
        ),
        1
    );
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM audit_log WHERE action = 'reauth.ok' AND after LIKE '%sso%'"
        ),
        1
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'reauth.failed' AND after LIKE '%someone else%'"),
        1
    );
}

#[actix_web::test]
async fn a_confirmation_needs_a_fresh_sign_in_at_the_provider_by_the_same_person() {
    let (provider, next) = mock_provider().await;
    let issuer = provider.uri();
    let dash = TestApp::spawn_with_sso(&format!(
        "issuer = \"{issuer}\"\nclient_id = \"accessboard\"\nclient_secret = \"{}\"\nlabel = \"Mock\"",
        super::web_sso_forged::SECRET
    ))
    .await;
    dash.person("ada@example.org", "Ada", true, &[]).await;
    let b = dash.browser();
    let r = round(&b, &next, "/login/sso", ada_claims(&issuer)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let confirm = "/account/confirm-sso?next=/users/new";
    let now = unix_now();
    let stale = "did not ask for your password again just now, so nothing was confirmed";
    let cases = [
        ("no auth_time", None, "ada", stale),
        ("signed in ten minutes ago", Some(now - 600), "ada", stale),
        (
            "another subject with the same email",
            Some(now),
            "not-ada",
            "as someone else, so nothing was confirmed",
        ),
    ];
    for (case, auth_time, sub, sentence) in cases {
        let mut claims = ada_claims(&issuer);
        claims["sub"] = sub.into();
        if let Some(t) = auth_time {
            claims["auth_time"] = t.into();
        }
        let r = round(&b, &next, confirm, claims).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{case}: {}", r.body);
        assert_eq!(r.header("location"), "/users/new", "{case}");
        let page = b.get("/users/new").await;
        assert!(page.body.contains(sentence), "{case}: {}", page.body);
        assert!(
            page.body.contains("Confirm with Mock"),
            "{case}: {}",
            page.body
        );
    }
    let mut claims = ada_claims(&issuer);
    claims["auth_time"] = now.into();
    round(&b, &next, confirm, claims).await;
    let page = b.get("/users/new").await;
    assert!(page.body.contains("Confirmed with Mock"), "{}", page.body);
    assert!(!page.body.contains("Confirm with Mock"), "{}", page.body);
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'reauth.failed'"),
        3
    );
    // The provider was asked to sign her in again.
    let asked = b.get(confirm).await;
    let to = asked.header("location");
    assert_eq!(param(to, "prompt"), "login", "{to}");
}
