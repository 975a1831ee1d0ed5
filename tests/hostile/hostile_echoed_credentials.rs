//! An app that echoes the credentials it received into its JSON (a field named
//! `credentials.bearer`, free text, an error's `detail`): the token appears nowhere we
//! show or keep the app's text (`user sync`, the pair's message, `/activity`, the file).

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::app::spawn_detached;
use crate::support::browser::Browser;
use crate::support::env::{BOSS_EMAIL, BOSS_PASSWORD, TestEnv, stderr, stdout};
use crate::support::settings::{scim_app, scim_app_auth};

const STATIC_TOKEN: &str = "echoed-Static-Token-4711";
const JWT_SECRET: &str = "echoed-jwt-Secret-0815";

/// Answers with what the request carried in `Authorization`, in every way an app might.
struct Echo {
    status: u16,
}

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let header = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let raw = header.split_once(' ').map_or("", |(_, t)| t).to_owned();
        let body = if self.status < 300 {
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": 0, "Resources": [],
                "meta": {"credentials": {"bearer": header}},
                "note": format!("you signed in with {raw}"),
                "seen": header,
            })
        } else {
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400",
                "detail": format!("refused {raw} (Authorization: {header})"),
            })
        };
        ResponseTemplate::new(self.status).set_body_json(body)
    }
}

/// The raw tokens the app received: the static one and every JWT signed.
async fn tokens_seen(mock: &MockServer) -> Vec<String> {
    let mut seen: Vec<String> = mock
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            r.headers
                .get("authorization")?
                .to_str()
                .ok()
                .map(str::to_owned)
        })
        .filter_map(|h| h.split_once(' ').map(|(_, t)| t.to_owned()))
        .collect();
    seen.sort();
    seen.dedup();
    seen
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} shows {s}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_an_app_echoes_are_shown_and_kept_nowhere() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(Echo { status: 200 })
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(Echo { status: 400 })
        .mount(&mock)
        .await;
    let jwt = format!("jwt_secret = \"{JWT_SECRET}\"\njwt_claims = {{ user = \"admin\" }}\n");
    let apps = scim_app("files", &mock.uri(), STATIC_TOKEN, "")
        + &scim_app_auth("docs", &mock.uri(), &jwt).replace("auth = \"bearer\"", "auth = \"jwt\"");
    let env = TestEnv::new(&apps);
    env.install("files");
    env.install("docs");
    env.create_boss();
    env.create_person("ann@example.org", "Ann", &["files=user", "docs=user"]);

    let out = env
        .cli_off_thread(&["user", "sync", "ann@example.org"])
        .await;
    let printed = format!("{}{}", stdout(&out), stderr(&out));
    let mut secrets = tokens_seen(&mock).await;
    assert!(secrets.len() >= 2, "both apps were asked: {secrets:?}");
    assert!(secrets.iter().any(|s| s == STATIC_TOKEN));
    secrets.push(JWT_SECRET.into());
    assert!(
        printed.contains("GET /Users"),
        "the trace is printed: {printed}"
    );
    assert!(printed.contains("[redacted]"), "{printed}");
    assert_clean("`user sync`", &printed, &secrets);

    for app in ["files", "docs"] {
        let pair = env.pair("ann@example.org", app);
        let message = pair["last_message"].as_str().unwrap_or_default();
        assert!(message.contains("refused"), "{app}: {message}");
        assert_clean("the pair's message", message, &secrets);
    }

    let (port, server) = spawn_detached(env.settings());
    let base = format!("http://127.0.0.1:{port}");
    let b = Browser::sign_in(&base, BOSS_EMAIL, BOSS_PASSWORD).await;
    let activity = b.get("/activity").await;
    assert!(activity.body.contains("refused"), "{}", activity.body);
    assert_clean("/activity", &activity.body, &secrets);
    let users: Vec<Value> = env.users();
    let ann = users.iter().find(|u| u["email"] == "ann@example.org");
    let id = ann.and_then(|u| u["id"].as_str()).unwrap_or_default();
    let page = b.get(&format!("/users/{id}")).await;
    assert_clean("the person page", &page.body, &secrets);
    server.stop(false).await;

    // Nor the database (and so no backup) holds them.
    let db = env.db_path();
    let mut bytes = std::fs::read(&db).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", db.display())) {
        bytes.extend(wal);
    }
    for s in &secrets {
        assert!(
            !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
            "the database file holds {s}"
        );
    }
}
