//! The rules of `[sso]` around the code flow, on the wiremock provider (ID tokens made
//! to order): a required second factor (`acr_values`/`amr`) and the throttle on starts.

use reqwest::StatusCode;

use super::web_sso_forged::{SECRET, ada_claims, mock_provider, param, round};
use crate::support::app::TestApp;

/// With `acr_values`/`amr`, the ID token must show the provider's second factor; such a
/// sign-in then stands for `[auth] require_second_factor` (no local setup asked).
#[actix_web::test]
async fn required_acr_or_amr_refuses_a_sign_in_without_the_providers_second_factor() {
    let (provider, next) = mock_provider().await;
    let issuer = provider.uri();
    let dir = tempfile::tempdir().unwrap();
    let toml = crate::support::app::settings(&dir.path().join("ab.db"), "")
        .lines(
            "sso",
            &format!(
                "issuer = \"{issuer}\"\nclient_id = \"accessboard\"\nclient_secret = \"{SECRET}\"\nlabel = \"Mock\"\nacr_values = \"gold\"\namr = \"otp hwk\""
            ),
        )
        .lines("auth", "require_second_factor = true");
    let dash = TestApp::spawn_toml(dir, true, toml).await;
    dash.person("ada@example.org", "Ada", true, &[]).await;
    let b = dash.browser();
    let asked = b.get("/login/sso").await;
    assert_eq!(param(asked.header("location"), "acr_values"), "gold");
    let refused =
        "The sign-in provider did not confirm a second factor, so it cannot sign you in here.";
    let cases = [
        ("neither acr nor amr", None, None),
        (
            "another acr, a password only",
            Some("bronze"),
            Some(vec!["pwd"]),
        ),
    ];
    for (case, acr, amr) in cases {
        let mut claims = ada_claims(&issuer);
        if let Some(a) = acr {
            claims["acr"] = a.into();
        }
        if let Some(m) = amr {
            claims["amr"] = m.into();
        }
        let r = round(&b, &next, "/login/sso", claims).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{case}: {}", r.body);
        assert!(r.body.contains(refused), "{case}: {}", r.body);
        assert_eq!(
            b.get("/users").await.status,
            StatusCode::SEE_OTHER,
            "{case}"
        );
    }
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'sign_in.failed' AND after LIKE '%no second factor%'"),
        2
    );
    for (case, key, value) in [
        ("the accepted acr", "acr", serde_json::json!("gold")),
        ("a listed amr", "amr", serde_json::json!(["pwd", "otp"])),
    ] {
        let b = dash.browser();
        let mut claims = ada_claims(&issuer);
        claims[key] = value;
        let r = round(&b, &next, "/login/sso", claims).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{case}: {}", r.body);
        // The provider's factor counts: no setup of one here first.
        let people = b.get("/users").await;
        assert_eq!(people.status, StatusCode::OK, "{case}: {}", people.body);
    }
}

/// Each start holds a flow in memory: starts are counted per client address, 429 past
/// the allowance, and another address is not held up.
#[actix_web::test]
async fn sign_in_starts_are_throttled_per_client_address() {
    let (provider, _next) = mock_provider().await;
    let issuer = provider.uri();
    let dir = tempfile::tempdir().unwrap();
    let toml = crate::support::app::settings(&dir.path().join("ab.db"), "")
        .lines(
            "sso",
            &format!(
                "issuer = \"{issuer}\"\nclient_id = \"accessboard\"\nclient_secret = \"{SECRET}\"\nlabel = \"Mock\""
            ),
        )
        .lines("server", "trusted_proxies = [\"127.0.0.1/32\"]");
    let dash = TestApp::spawn_toml(dir, true, toml).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = |from: &'static str| {
        http.get(format!("{}/login/sso", dash.base))
            .header("X-Forwarded-For", from)
            .send()
    };
    // Twenty free starts and the one that locks the address.
    for i in 0..21 {
        let r = start("203.0.113.5").await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "start {i}");
    }
    let r = start("203.0.113.5").await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Too many sign-ins were started from your network; wait"),
        "{body}"
    );
    assert!(body.contains("Sign in with Mock"), "{body}");
    let other = start("198.51.100.7").await.unwrap();
    assert_eq!(other.status(), StatusCode::SEE_OTHER);
}

/// Without `acr_values`/`amr` nothing proves the provider asked for a second factor:
/// `[auth] require_second_factor` sends someone signed in through it to set one up here.
#[actix_web::test]
async fn a_sign_in_through_the_provider_counts_as_the_required_second_factor() {
    let (provider, next) = mock_provider().await;
    let issuer = provider.uri();
    let dir = tempfile::tempdir().unwrap();
    let toml = crate::support::app::settings(&dir.path().join("ab.db"), "")
        .lines(
            "sso",
            &format!(
                "issuer = \"{issuer}\"\nclient_id = \"accessboard\"\nclient_secret = \"{SECRET}\"\nlabel = \"Mock\""
            ),
        )
        .lines("auth", "require_second_factor = true");
    let dash = TestApp::spawn_toml(dir, true, toml).await;
    dash.person("ada@example.org", "Ada", true, &[]).await;
    let b = dash.browser();
    let mut claims = ada_claims(&issuer);
    claims["amr"] = serde_json::json!(["pwd", "otp"]);
    let r = round(&b, &next, "/login/sso", claims).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The provider's own sign-in is trusted for it (the rule): nothing to set up here.
    let people = b.get("/users").await;
    assert_eq!(people.status, StatusCode::OK, "{}", people.body);
    assert!(people.body.contains("People"), "{}", people.body);
}
