//! ID tokens a real provider will not make (expired, for another audience, signed with
//! another key, with another nonce), from a small discovery + token endpoint in
//! wiremock: each refused with one sentence; a well-made one signs in, so the refusals
//! are the token's, not the harness's.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::app::TestApp;

pub(super) const SECRET: &str = "forged-client-s3cr3t";

/// The token endpoint's answer: whatever ID token the test put there last.
struct NextToken(Arc<Mutex<String>>);

impl Respond for NextToken {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let id_token = self.0.lock().unwrap().clone();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": id_token,
        }))
    }
}

/// An HS256 JWT of `claims` signed with `key` (HS256 keys an ID token with the client secret).
fn hs256(claims: &serde_json::Value, key: &str) -> String {
    let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{head}.{body}").as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{head}.{body}.{sig}")
}

pub(super) fn param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} in {url}"))
}

/// A discovery, empty keys and a token endpoint answering whatever ID token the test
/// put in the returned slot last.
pub(super) async fn mock_provider() -> (MockServer, Arc<Mutex<String>>) {
    let provider = MockServer::start().await;
    let issuer = provider.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "end_session_endpoint": format!("{issuer}/logout"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256"],
        })))
        .mount(&provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"keys": []})))
        .mount(&provider)
        .await;
    let next = Arc::new(Mutex::new(String::new()));
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(NextToken(next.clone()))
        .mount(&provider)
        .await;

    (provider, next)
}

#[actix_web::test]
async fn forged_id_tokens_are_refused_and_a_good_one_signs_in() {
    let (provider, next) = mock_provider().await;
    let issuer = provider.uri();
    let lines = format!(
        "issuer = \"{issuer}\"\nclient_id = \"accessboard\"\nclient_secret = \"{SECRET}\"\nlabel = \"Mock\""
    );
    let dash = TestApp::spawn_with_sso(&lines).await;
    dash.person("ada@example.org", "Ada", true, &[]).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let good = |nonce: &str| {
        serde_json::json!({
            "iss": issuer, "aud": "accessboard", "sub": "ada", "iat": now, "exp": now + 300,
            "nonce": nonce, "email": "ada@example.org", "email_verified": true,
        })
    };
    type Forge = Box<dyn Fn(serde_json::Value) -> String>;
    let cases: Vec<(&str, Forge)> = vec![
        (
            "expired",
            Box::new(move |mut c| {
                c["iat"] = (now - 1200).into();
                c["exp"] = (now - 600).into();
                hs256(&c, SECRET)
            }),
        ),
        (
            "another audience",
            Box::new(|mut c| {
                c["aud"] = "someone-else".into();
                hs256(&c, SECRET)
            }),
        ),
        (
            "another issuer",
            Box::new(|mut c| {
                c["iss"] = "https://evil.example".into();
                hs256(&c, SECRET)
            }),
        ),
        ("another key", Box::new(|c| hs256(&c, "not-the-secret"))),
        (
            "another nonce",
            Box::new(|mut c| {
                c["nonce"] = "replayed-nonce".into();
                hs256(&c, SECRET)
            }),
        ),
    ];
    for (case, forge) in cases {
        let b = dash.browser();
        let start = b.get("/login/sso").await;
        assert_eq!(
            start.status,
            StatusCode::SEE_OTHER,
            "{case}: {}",
            start.body
        );
        let to = start.header("location").to_owned();
        *next.lock().unwrap() = forge(good(&param(&to, "nonce")));
        let state = param(&to, "state");
        let r = b
            .get(&format!("/login/sso/callback?code=c0de&state={state}"))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{case}: {}", r.body);
        assert!(
            r.body.contains("did not pass verification"),
            "{case}: {}",
            r.body
        );
        assert_eq!(
            b.get("/users").await.status,
            StatusCode::SEE_OTHER,
            "{case}"
        );
    }

    let b = dash.browser();
    let to = b.get("/login/sso").await.header("location").to_owned();
    *next.lock().unwrap() = hs256(&good(&param(&to, "nonce")), SECRET);
    let r = b
        .get(&format!(
            "/login/sso/callback?code=c0de&state={}",
            param(&to, "state")
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(b.get("/users").await.status, StatusCode::OK);
    // The PKCE verifier went with the code.
    let token_requests = provider.received_requests().await.unwrap_or_default();
    let last = token_requests
        .iter()
        .rev()
        .find(|r| r.url.path() == "/token")
        .unwrap();
    let body = String::from_utf8_lossy(&last.body);
    assert!(body.contains("code_verifier="), "{body}");

    // After a restart (nothing discovered yet), signing out still goes on to the provider.
    let dir = dash.stop().await;
    let dash = TestApp::spawn_with_sso_in(dir, false, &lines).await;
    let again = crate::support::browser::Browser::new(&dash.base);
    *again.cookie.lock().unwrap() = b.cookie.lock().unwrap().clone();
    again.get("/users").await;
    let out = again.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert!(
        out.header("refresh").contains(&format!("{issuer}/logout?")),
        "{}",
        out.header("refresh")
    );
}

pub(super) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// One round through the mock provider from `start` (a sign-in or a confirmation): the
/// ID token is `claims` with the flow's nonce, signed with the client secret; the
/// callback's answer.
pub(super) async fn round(
    b: &crate::support::browser::Browser,
    next: &Arc<Mutex<String>>,
    start: &str,
    mut claims: serde_json::Value,
) -> crate::support::browser::Resp {
    let s = b.get(start).await;
    assert_eq!(s.status, StatusCode::SEE_OTHER, "{}", s.body);
    let to = s.header("location").to_owned();
    claims["nonce"] = param(&to, "nonce").into();
    *next.lock().unwrap() = hs256(&claims, SECRET);
    b.get(&format!(
        "/login/sso/callback?code=c0de&state={}",
        param(&to, "state")
    ))
    .await
}

pub(super) fn ada_claims(issuer: &str) -> serde_json::Value {
    let now = unix_now();
    serde_json::json!({
        "iss": issuer, "aud": "accessboard", "sub": "ada", "iat": now, "exp": now + 300,
        "email": "ada@example.org", "email_verified": true,
    })
}
