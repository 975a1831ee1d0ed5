//! Faults a real SCIM server will not make, through the whole engine: what the
//! admin sees in `provision status`, and how often the app is called.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::env::{TestEnv, stderr};
use crate::support::settings::scim_app;

const TOKEN: &str = "faults-token-Zq81";

/// A server with filters and PATCH, no accounts, and POST /Users scripted by the caller.
async fn scim_peer() -> MockServer {
    let mock = MockServer::start().await;
    mount_discovery_and_lookups(&mock).await;
    mock
}

async fn mount_discovery_and_lookups(mock: &MockServer) {
    // The account made, read back by its id (a create's answer without every attribute).
    Mock::given(method("GET"))
        .and(path("/Users/acct-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(account()))
        .mount(mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ServiceProviderConfig"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": 100},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": []
        })))
        .mount(mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []
        })))
        .mount(mock)
        .await;
}

fn account() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "acct-1", "userName": "ann@example.org", "active": true
    })
}

fn created() -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(account())
}

/// An installed app pointing at `mock`, and one user granted access to it.
fn env_with_ann(mock: &MockServer, provisioning: &str) -> TestEnv {
    let env = TestEnv::with_provisioning(&scim_app("chat", &mock.uri(), TOKEN, ""), provisioning);
    env.install("chat");
    env.create_person("ann@example.org", "Ann", &["chat=user"]);
    env
}

/// Ann's pair in chat, as `provision status` shows it.
fn status(env: &TestEnv) -> Value {
    env.pair("ann@example.org", "chat")
}

async fn posts(mock: &MockServer) -> usize {
    mock.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_500s_are_retried_with_backoff_then_the_account_is_made_once() {
    let mock = scim_peer().await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream database is down"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(created())
        .mount(&mock)
        .await;
    let env = env_with_ann(&mock, "");

    let out = env
        .cli_off_thread(&["provision", "run", "--wait", "--timeout", "60"])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let s = status(&env);
    assert_eq!(s["status"], "provisioned", "{s}");
    assert_eq!(s["scim_id"], "acct-1", "{s}");
    assert_eq!(posts(&mock).await, 3, "two failures, then one success");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_400_fails_at_once_with_the_apps_detail_for_the_admin() {
    let mock = scim_peer().await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "400",
            "scimType": "invalidValue",
            "detail": "displayName may not contain commas"
        })))
        .mount(&mock)
        .await;
    let env = env_with_ann(&mock, "");

    let out = env
        .cli_off_thread(&["provision", "run", "--wait", "--timeout", "60"])
        .await;
    assert_eq!(out.status.code(), Some(1), "a failed pair fails the run");
    let s = status(&env);
    assert_eq!(s["status"], "failed", "{s}");
    let message = s["last_message"].as_str().unwrap_or_default();
    assert!(
        message.contains("displayName may not contain commas"),
        "{message}"
    );
    assert_eq!(posts(&mock).await, 1, "a permanent error is not retried");

    // Once the app is fixed, `provision retry` puts it back in the queue.
    mock.reset().await;
    mount_discovery_and_lookups(&mock).await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(created())
        .mount(&mock)
        .await;
    let out = env
        .cli_off_thread(&["provision", "retry", "--app", "chat"])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(&env)["status"], "sync_needed");
    let out = env
        .cli_off_thread(&["provision", "run", "--wait", "--timeout", "60"])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(&env)["status"], "provisioned");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_waits_as_long_as_retry_after_says() {
    let mock = scim_peer().await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(created())
        .mount(&mock)
        .await;
    // Our own backoff would retry after a second; the app asked for thirty.
    let env = env_with_ann(&mock, "");

    let out = env.cli_off_thread(&["provision", "run"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let s = status(&env);
    assert_eq!(s["status"], "error", "{s}");
    let conn = rusqlite::Connection::open(env.dir.path().join("data/accessboard.db")).unwrap();
    let (last, next): (i64, i64) = conn
        .query_row(
            "SELECT last_attempt_at, next_attempt_at FROM app_access",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(next - last >= 29, "retry after {}s", next - last);

    // A second run before then does not call the app again.
    let _ = env.cli_off_thread(&["provision", "run"]).await;
    assert_eq!(posts(&mock).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_app_times_out_into_error_with_a_message() {
    let mock = scim_peer().await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(created().set_delay(Duration::from_secs(20)))
        .mount(&mock)
        .await;
    let env = env_with_ann(&mock, "request_timeout_secs = 1");

    let started = std::time::Instant::now();
    let out = env.cli_off_thread(&["provision", "run"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the run does not wait for the hanging app"
    );
    let s = status(&env);
    assert_eq!(s["status"], "error", "{s}");
    let message = s["last_message"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(message.contains("time"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_body_fails_the_pair_with_a_message() {
    let mock = scim_peer().await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("content-type", "application/scim+json")
                .set_body_string("{\"id\": \"acct-1\", \"userName\": "),
        )
        .mount(&mock)
        .await;
    let env = env_with_ann(&mock, "");

    let out = env
        .cli_off_thread(&["provision", "run", "--wait", "--timeout", "60"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let s = status(&env);
    assert_eq!(s["status"], "failed", "{s}");
    assert!(
        !s["last_message"].as_str().unwrap_or_default().is_empty(),
        "{s}"
    );
    let all = String::from_utf8_lossy(&out.stdout).to_string() + &stderr(&out);
    assert!(!all.contains(TOKEN));
}
