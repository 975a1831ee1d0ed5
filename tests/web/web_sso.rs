//! Single sign-on through Canaille (a real OpenID Connect provider, as pytest-iam starts
//! it): the code flow with PKCE signs in a viewer or admin whose email the provider
//! verified; every refusal is one sentence on the sign-in page, never a 500 or a secret.

use accessboard::domain::{DashboardAccess, Email};
use reqwest::StatusCode;

use crate::support::app::TestApp;
use crate::support::browser::Browser;
use crate::support::standins::Canaille;

pub(super) const SECRET: &str = "sso-client-s3cr3t";
/// People at Canaille: Ada (verified, an admin here), Eve (unverified, an admin here),
/// Bob (verified, nobody who may sign in here).
pub(super) const PEOPLE: [&str; 3] = [
    "ada:Ada@Example.org:ada-password:verified",
    "eve:eve@example.org:eve-password:unverified",
    "bob:bob@example.org:bob-password:verified",
];

pub(super) fn sso_lines(canaille: &Canaille, secret: &str) -> String {
    format!(
        "issuer = \"{}\"\nclient_id = \"accessboard\"\nclient_secret = \"{secret}\"\nlabel = \"Canaille\"",
        canaille.issuer()
    )
}

/// Starts at the dashboard's button, signs `name` in at Canaille, and brings the
/// browser back to the callback; the callback's answer and its path.
pub(super) async fn through_provider(
    b: &Browser,
    canaille: &Canaille,
    name: &str,
    password: &str,
) -> (crate::support::browser::Resp, String) {
    let start = b.get("/login/sso?next=/users").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let authorize = start.header("location").to_owned();
    assert!(authorize.contains("code_challenge="), "{authorize}");
    let back = canaille.sign_in(&authorize, name, password).await;
    let path = back
        .strip_prefix("http://dash.example.org")
        .unwrap_or_else(|| panic!("back to the public URL: {back}"))
        .to_owned();
    (b.get(&path).await, path)
}

pub(super) fn refused_with(r: &crate::support::browser::Resp, status: StatusCode, sentence: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.body.contains(sentence), "{}", r.body);
    assert!(r.body.contains("Sign in with Canaille"), "{}", r.body);
    assert!(!r.body.contains(SECRET), "{}", r.body);
}

#[actix_web::test]
async fn a_verified_admin_signs_in_through_canaille_and_others_are_refused() {
    let canaille =
        Canaille::start_sign_in("accessboard", SECRET, "http://dash.example.org/", &PEOPLE);
    let dash = TestApp::spawn_with_sso(&sso_lines(&canaille, SECRET)).await;
    dash.person("ada@example.org", "Ada", true, &[]).await;
    dash.person("eve@example.org", "Eve", true, &[]).await;
    dash.person("bob@example.org", "Bob", false, &[]).await;

    let ada = dash.browser();
    let page = ada.get("/login").await;
    assert!(page.body.contains("Sign in with Canaille"), "{}", page.body);
    assert!(page.body.contains("type=\"password\""), "{}", page.body);
    // Nobody here has a password, yet Ada can sign in: no "nobody can sign in" note.
    assert!(
        !page.body.contains("Nobody can sign in yet"),
        "{}",
        page.body
    );
    let (r, callback) = through_provider(&ada, &canaille, "ada", "ada-password").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/users");
    let people = ada.get("/users").await;
    assert_eq!(people.status, StatusCode::OK, "{}", people.body);
    assert!(people.body.contains("Sign out"), "{}", people.body);
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'sign_in.sso' AND actor LIKE '%ada@example.org%'"),
        1
    );
    // The same answer again: its state was taken once.
    let again = dash.browser();
    refused_with(
        &again.get(&callback).await,
        StatusCode::BAD_REQUEST,
        "was not started in this browser, was already used",
    );

    // Its code, brought back in a sign-in of its own (right state, this browser):
    // Canaille refuses a code it already gave up, and so does the page.
    let replay = dash.browser();
    let start = replay.get("/login/sso").await;
    let state = url::Url::parse(start.header("location"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let code = callback
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    refused_with(
        &replay
            .get(&format!("/login/sso/callback?code={code}&state={state}"))
            .await,
        StatusCode::BAD_REQUEST,
        "did not accept this sign-in",
    );

    let eve = dash.browser();
    let (r, _) = through_provider(&eve, &canaille, "eve", "eve-password").await;
    refused_with(
        &r,
        StatusCode::UNAUTHORIZED,
        "has not verified your email address",
    );
    assert_eq!(eve.get("/users").await.status, StatusCode::SEE_OTHER);

    let bob = dash.browser();
    let (r, _) = through_provider(&bob, &canaille, "bob", "bob-password").await;
    refused_with(
        &r,
        StatusCode::UNAUTHORIZED,
        "Nobody with your email may sign in",
    );
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM audit_log WHERE action = 'sign_in.failed' \
             AND actor LIKE '%bob@example.org%' AND after LIKE '%unknown person%'"
        ),
        1
    );
    // A viewer may sign in too, with a viewer's session.
    dash.ctx
        .service
        .set_dashboard(
            &Email::parse("bob@example.org").unwrap(),
            DashboardAccess::Viewer,
        )
        .await
        .unwrap();
    let (r, _) = through_provider(&bob, &canaille, "bob", "bob-password").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(bob.get("/users/new").await.status, StatusCode::FORBIDDEN);

    // A callback carried to another browser (a login CSRF) finds no sign-in there.
    let starter = dash.browser();
    let start = starter.get("/login/sso").await;
    let back = canaille
        .sign_in(start.header("location"), "ada", "ada-password")
        .await;
    let other = dash.browser();
    refused_with(
        &other
            .get(back.strip_prefix("http://dash.example.org").unwrap())
            .await,
        StatusCode::BAD_REQUEST,
        "was not started in this browser",
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'sign_in.failed' AND after LIKE '%sso: %'"),
        5
    );

    // Signing out here goes on to Canaille's end-session endpoint, with the ID token as hint.
    ada.get("/users").await;
    let out = ada.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    let refresh = out.header("refresh");
    assert!(
        refresh.contains(&format!("{}/oauth/end_session?", canaille.issuer()))
            && refresh.contains("id_token_hint=")
            && refresh.contains("client_id=accessboard"),
        "{refresh}"
    );
    assert_eq!(ada.get("/users").await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_wrong_client_secret_and_the_provider_down_are_one_sentence() {
    let mut canaille =
        Canaille::start_sign_in("accessboard", SECRET, "http://dash.example.org/", &PEOPLE);
    let dash = TestApp::spawn_with_sso(&sso_lines(&canaille, "not-the-s3cr3t")).await;
    dash.person("ada@example.org", "Ada", true, &[]).await;
    let ada = dash.browser();
    let (r, _) = through_provider(&ada, &canaille, "ada", "ada-password").await;
    refused_with(
        &r,
        StatusCode::BAD_GATEWAY,
        "refused this dashboard's credentials",
    );
    assert!(!r.body.contains("not-the-s3cr3t"), "{}", r.body);
    // The provider's own refusal (the person declined) is a sentence too.
    let start = ada.get("/login/sso").await;
    let state = start
        .header("location")
        .split("state=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .unwrap()
        .to_owned();
    let r = ada
        .get(&format!(
            "/login/sso/callback?error=access_denied&state={state}"
        ))
        .await;
    refused_with(&r, StatusCode::BAD_REQUEST, "did not sign you in");

    canaille.stop();
    // A dashboard started while the provider is down starts, and says so at the button.
    let later = TestApp::spawn_with_sso(&sso_lines(&canaille, SECRET)).await;
    let b = later.browser();
    assert_eq!(b.get("/login").await.status, StatusCode::OK);
    refused_with(
        &b.get("/login/sso").await,
        StatusCode::BAD_GATEWAY,
        "cannot be reached right now",
    );
}

#[actix_web::test]
async fn sso_only_hides_the_password_form_and_refuses_passwords() {
    let dash = TestApp::spawn_with_sso(
        "issuer = \"http://127.0.0.1:9\"\nclient_id = \"accessboard\"\nclient_secret = \"x-s3cr3t\"\nlabel = \"Canaille\"\nsso_only = true",
    )
    .await;
    dash.admin().await;
    let b = dash.browser();
    let page = b.get("/login").await;
    assert!(page.body.contains("Sign in with Canaille"), "{}", page.body);
    assert!(!page.body.contains("type=\"password\""), "{}", page.body);
    // No form, so no CSRF field: the token is read from the (signed, not secret) cookie,
    // as a script would, to prove the password is refused, not just the form.
    let cookie = b.cookie.lock().unwrap().clone().expect("a session cookie");
    let decoded = percent_encoding::percent_decode_str(&cookie)
        .decode_utf8_lossy()
        .into_owned();
    let at = decoded.find("csrf").expect("the token in the cookie");
    let token: String = decoded[at + 4..]
        .chars()
        .skip_while(|c| !c.is_ascii_hexdigit())
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64, "{decoded}");
    *b.csrf.lock().unwrap() = Some(token);
    let r = b
        .post(
            "/login",
            &[
                ("email", crate::support::app::ADMIN_EMAIL),
                ("password", crate::support::app::ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body.contains("Passwords are turned off here"),
        "{}",
        r.body
    );
    assert_eq!(b.get("/users").await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_provider_that_never_says_verified_signs_in_only_with_trust_unverified_email() {
    // Cy's claims are Canaille 0.3.6's own: no email_verified at all.
    let people = [
        "cy:cy@example.org:cy-password:unmarked",
        "eve:eve@example.org:eve-password:unverified",
    ];
    let canaille =
        Canaille::start_sign_in("accessboard", SECRET, "http://dash.example.org/", &people);
    let strict = TestApp::spawn_with_sso(&sso_lines(&canaille, SECRET)).await;
    strict.person("cy@example.org", "Cy", true, &[]).await;
    let b = strict.browser();
    let (r, _) = through_provider(&b, &canaille, "cy", "cy-password").await;
    refused_with(
        &r,
        StatusCode::UNAUTHORIZED,
        "has not verified your email address",
    );

    let trusting = TestApp::spawn_with_sso(&format!(
        "{}\ntrust_unverified_email = true",
        sso_lines(&canaille, SECRET)
    ))
    .await;
    trusting.person("cy@example.org", "Cy", true, &[]).await;
    trusting.person("eve@example.org", "Eve", true, &[]).await;
    let cy = trusting.browser();
    let (r, _) = through_provider(&cy, &canaille, "cy", "cy-password").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(cy.get("/users").await.status, StatusCode::OK);
    // An email the provider says is not verified stays refused.
    let eve = trusting.browser();
    let (r, _) = through_provider(&eve, &canaille, "eve", "eve-password").await;
    refused_with(
        &r,
        StatusCode::UNAUTHORIZED,
        "has not verified your email address",
    );
}
