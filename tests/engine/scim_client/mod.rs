//! The SCIM client's handling of faults, against scripted servers; what it
//! sends is in `requests`.

use std::time::Duration;

use accessboard::scim::{ErrorKind, ScimAuth, ScimClient, ScimConfig, ScimError, ScimUser, Secret};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::net::free_port;

mod pushed;
mod requests;

const TOKEN: &str = "tok-VERY-secret-123";

fn client_with(uri: &str, timeout: Duration) -> ScimClient {
    let mut config = ScimConfig::new(
        uri.parse().unwrap(),
        ScimAuth::Bearer(Secret::new(TOKEN.to_owned())),
    );
    config.timeout = timeout;
    ScimClient::new(config).unwrap()
}

fn client(uri: &str) -> ScimClient {
    client_with(uri, Duration::from_secs(5))
}

fn user_json(id: &str, user_name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id, "userName": user_name, "active": true})
}

fn assert_no_secret(e: &ScimError) {
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(
            !text.contains(TOKEN) && !text.contains("secret"),
            "leaks a credential: {text}"
        );
    }
}

async fn mount_spc(mock: &MockServer, spc: Value) {
    Mock::given(method("GET"))
        .and(path("/ServiceProviderConfig"))
        .respond_with(ResponseTemplate::new(200).set_body_json(spc))
        .mount(mock)
        .await;
}

#[tokio::test]
async fn a_500_is_transient_and_the_next_call_succeeds() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/Users/u1"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users/u1"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json("u1", "ann")))
        .mount(&mock)
        .await;
    let session = client(&mock.uri()).session();
    let err = session.get_user("u1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(err.status(), Some(500));
    assert_eq!(
        err.to_string(),
        "GET /Users/u1 answered 500 (Internal Server Error)"
    );
    let user = session.get_user("u1").await.unwrap().unwrap();
    assert_eq!(user.user_name, "ann");
    let calls = session.into_calls();
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.operation, c.status))
            .collect::<Vec<_>>(),
        [("get_user", Some(500)), ("get_user", Some(200))]
    );
    assert!(calls[0].error.is_some() && calls[1].error.is_none());
    assert_eq!(calls[0].path, "/Users/u1");
}

#[tokio::test]
async fn a_404_on_get_is_none_and_on_delete_is_fine() {
    let mock = MockServer::start().await;
    Mock::given(path("/Users/gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&mock)
        .await;
    let session = client(&mock.uri()).session();
    assert_eq!(session.get_user("gone").await.unwrap(), None);
    session.delete_user("gone").await.unwrap();
    assert!(
        session
            .into_calls()
            .iter()
            .all(|c| c.error.is_none() && c.status == Some(404))
    );
}

#[tokio::test]
async fn a_429_is_waited_out_as_x_retry_after_says_and_sent_again() {
    let mock = MockServer::start().await;
    Mock::given(path("/Users/a"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-Retry-After", "1")
                .set_body_string("<html>slow down</html>"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(path("/Users/a"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json("a", "ann")))
        .mount(&mock)
        .await;
    let session = client(&mock.uri()).session();
    let started = std::time::Instant::now();
    let user = session.get_user("a").await.unwrap().expect("found");
    assert_eq!(user.id.as_deref(), Some("a"));
    assert!(started.elapsed() >= Duration::from_secs(1));
    // Both exchanges are journaled: the 429 and the answer.
    let statuses: Vec<_> = session.into_calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [Some(429), Some(200)]);
}

#[tokio::test]
async fn a_429_longer_than_the_timeout_comes_back_at_once_and_holds_the_next_request() {
    let mock = MockServer::start().await;
    Mock::given(path("/Users/a"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "60"))
        .mount(&mock)
        .await;
    let session = client(&mock.uri()).session();
    let started = std::time::Instant::now();
    let e = session.get_user("a").await.unwrap_err();
    assert!(e.is_transient() && e.is_rate_limited(), "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(60)));
    assert!(e.to_string().contains("429"), "{e}");
    // The whole app is paused: the next request is not even sent.
    let e = session.get_user("b").await.unwrap_err();
    assert!(e.was_held_back() && e.is_rate_limited(), "{e}");
    assert!(e.retry_after().unwrap() > Duration::from_secs(55), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(mock.received_requests().await.unwrap().len(), 1);
    assert_eq!(
        session.into_calls().len(),
        1,
        "a request not sent is not journaled"
    );
}

#[tokio::test]
async fn a_503_carries_retry_after_as_a_date() {
    let mock = MockServer::start().await;
    let in_a_minute = time::OffsetDateTime::now_utc() + time::Duration::seconds(60);
    let date = in_a_minute
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
        .unwrap();
    Mock::given(path("/Users/b"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", date.as_str()))
        .mount(&mock)
        .await;
    let session = client(&mock.uri()).session();
    let e = session.get_user("b").await.unwrap_err();
    assert!(e.is_transient() && !e.is_rate_limited());
    let wait = e.retry_after().unwrap().as_secs();
    assert!((55..=60).contains(&wait), "{wait}");
}

#[tokio::test]
async fn a_hanging_server_times_out_as_transient() {
    let mock = MockServer::start().await;
    Mock::given(path("/Users/slow"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(user_json("slow", "s"))
                .set_delay(Duration::from_secs(10)),
        )
        .mount(&mock)
        .await;
    let session = client_with(&mock.uri(), Duration::from_millis(300)).session();
    let started = std::time::Instant::now();
    let e = session.get_user("slow").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert_eq!(e.status(), None);
    assert!(e.to_string().contains("timed out"), "{e}");
    assert_no_secret(&e);
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let port = free_port();
    let e = client(&format!("http://127.0.0.1:{port}"))
        .session()
        .get_user("x")
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(
        e.to_string()
            .starts_with("GET /Users/x failed: could not connect"),
        "{e}"
    );
}

#[tokio::test]
async fn a_scim_error_body_is_permanent_and_its_detail_is_shown() {
    let mock = MockServer::start().await;
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType": "invalidValue", "detail": "userName is required"});
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(400).set_body_json(body))
        .mount(&mock)
        .await;
    let e = client(&mock.uri())
        .session()
        .create_user(&ScimUser::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert_eq!(e.scim_type(), Some("invalidValue"));
    assert_eq!(e.detail(), Some("userName is required"));
    assert_eq!(
        e.to_string(),
        "POST /Users answered 400 (invalidValue): userName is required"
    );
    assert_no_secret(&e);
}

#[tokio::test]
async fn a_409_is_a_conflict() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(
            ResponseTemplate::new(409).set_body_json(json!({"status": "409", "detail": "exists"})),
        )
        .mount(&mock)
        .await;
    let e = client(&mock.uri())
        .session()
        .create_user(&ScimUser::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(!e.is_transient());
}

#[tokio::test]
async fn malformed_json_is_permanent() {
    let mock = MockServer::start().await;
    Mock::given(path("/Users/x"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{\"id\": ", "application/scim+json"))
        .mount(&mock)
        .await;
    let e = client(&mock.uri())
        .session()
        .get_user("x")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert!(
        e.to_string()
            .starts_with("GET /Users/x answered 200: the answer is not the expected SCIM JSON"),
        "{e}"
    );
}

#[tokio::test]
async fn a_huge_body_is_refused() {
    let mock = MockServer::start().await;
    let huge = format!(
        "{{\"id\":\"x\",\"userName\":\"{}\"}}",
        "a".repeat(3 * 1024 * 1024)
    );
    Mock::given(path("/Users/x"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, "application/scim+json"))
        .mount(&mock)
        .await;
    let e = client(&mock.uri())
        .session()
        .get_user("x")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert!(e.to_string().contains("response too large"), "{e}");
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_target_never_sees_the_token() {
    let elsewhere = MockServer::start().await;
    Mock::given(path("/Users/x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json("x", "x")))
        .mount(&elsewhere)
        .await;
    let mock = MockServer::start().await;
    Mock::given(path("/Users/x"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/Users/x", elsewhere.uri()).as_str()),
        )
        .mount(&mock)
        .await;
    let e = client(&mock.uri())
        .session()
        .get_user("x")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert_eq!(e.status(), Some(302));
    assert!(e.to_string().contains("redirect"), "{e}");
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "the redirect target was contacted"
    );
}

#[tokio::test]
async fn credentials_never_show_in_errors_debug_or_the_journal() {
    let mock = MockServer::start().await;
    Mock::given(path("/Users/x"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"status": "401", "detail": "bad token"})),
        )
        .mount(&mock)
        .await;
    let c = client(&mock.uri());
    let session = c.session();
    let e = session.get_user("x").await.unwrap_err();
    assert_no_secret(&e);
    assert!(!format!("{c:?} {session:?}").contains(TOKEN));
    let calls = session.into_calls();
    assert!(!format!("{calls:?}").contains(TOKEN));

    let basic = ScimConfig::new(
        mock.uri().parse().unwrap(),
        ScimAuth::Basic {
            username: "admin".into(),
            password: Secret::new("pa55-VERY-secret".into()),
        },
    );
    assert!(!format!("{basic:?}").contains("pa55"));
    let e = ScimClient::new(basic)
        .unwrap()
        .session()
        .get_user("x")
        .await
        .unwrap_err();
    assert!(!format!("{e} {e:?}").contains("pa55"));

    let with_userinfo = ScimConfig::new(
        "https://admin:pa55@example.org/scim".parse().unwrap(),
        ScimAuth::None,
    );
    let e = ScimClient::new(with_userinfo).unwrap_err();
    assert!(!format!("{e} {e:?}").contains("pa55"), "{e}");
}
