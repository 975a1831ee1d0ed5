//! The SCIM client's handling of faults, against scripted servers.

use std::time::Duration;

use accessboard::scim::{
    ErrorKind, ScimAuth, ScimClient, ScimConfig, ScimError, ScimUser, Secret, UserKey,
};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::net::free_port;

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
async fn a_429_carries_retry_after_in_seconds_and_a_503_as_a_date() {
    let mock = MockServer::start().await;
    Mock::given(path("/Users/a"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .mount(&mock)
        .await;
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
    let e = session.get_user("a").await.unwrap_err();
    assert!(e.is_transient());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    assert!(e.to_string().contains("429"), "{e}");
    let e = session.get_user("b").await.unwrap_err();
    assert!(e.is_transient());
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

#[tokio::test]
async fn bodies_use_the_configured_content_type_and_patch_carries_no_id() {
    let mock = MockServer::start().await;
    mount_spc(
        &mock,
        json!({"patch": {"supported": true}, "filter": {"supported": true}}),
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path("/Users/u1"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&mock)
        .await;
    let mut config = ScimConfig::new(mock.uri().parse().unwrap(), ScimAuth::None);
    config.content_type = "application/json".into();
    ScimClient::new(config)
        .unwrap()
        .session()
        .deactivate_user("u1")
        .await
        .unwrap();
    let requests = mock.received_requests().await.unwrap();
    let patch = requests
        .iter()
        .find(|r| r.method.as_str() == "PATCH")
        .unwrap();
    assert_eq!(
        patch.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert!(
        patch
            .headers
            .get("accept")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("application/scim+json")
    );
    let body: Value = serde_json::from_slice(&patch.body).unwrap();
    assert_eq!(
        body,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "active", "value": false}]})
    );
}

#[tokio::test]
async fn filters_are_quoted_escaped_and_encoded() {
    let mock = MockServer::start().await;
    mount_spc(
        &mock,
        json!({"filter": {"supported": true, "maxResults": 50}}),
    )
    .await;
    let tricky = r#"o"brien\x y+z@example.org"#;
    let found = json!({"totalResults": 1, "Resources": [user_json("u7", tricky)]});
    Mock::given(method("GET"))
        .and(path("/Users"))
        .and(query_param(
            "filter",
            r#"userName eq "o\"brien\\x y+z@example.org""#,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(found))
        .mount(&mock)
        .await;
    let user = client(&mock.uri())
        .session()
        .find_user(UserKey::UserName(tricky))
        .await
        .unwrap();
    assert_eq!(user.unwrap().id.as_deref(), Some("u7"));
    let requests = mock.received_requests().await.unwrap();
    let query = requests
        .iter()
        .find(|r| r.url.path() == "/Users")
        .unwrap()
        .url
        .query()
        .unwrap()
        .to_owned();
    assert!(
        !query.contains('+') || query.contains("%2B"),
        "spaces must not become '+': {query}"
    );
}

/// A page of users out of `all`, as a server honouring startIndex/count would answer.
fn paged(all: Vec<Value>) -> impl Fn(&Request) -> ResponseTemplate {
    move |req: &Request| {
        let get = |k: &str| {
            req.url
                .query_pairs()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.parse::<usize>().ok())
        };
        let start = get("startIndex").unwrap_or(1).max(1);
        let count = get("count").unwrap_or(100).min(2);
        let page: Vec<Value> = all.iter().skip(start - 1).take(count).cloned().collect();
        ResponseTemplate::new(200).set_body_json(json!({"totalResults": all.len(), "startIndex": start, "itemsPerPage": page.len(), "Resources": page}))
    }
}

fn five_users() -> Vec<Value> {
    let mut all: Vec<Value> = (0..4)
        .map(|i| user_json(&format!("d{i}"), &format!("decoy{i}")))
        .collect();
    let mut target = user_json("t", "target.old");
    target["emails"] = json!([{"value": "Target@Example.org"}]);
    all.push(target);
    all
}

#[tokio::test]
async fn without_discovery_or_filters_lookups_page_and_match_email_ignoring_case() {
    let mock = MockServer::start().await;
    Mock::given(path("/ServiceProviderConfig"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(paged(five_users()))
        .mount(&mock)
        .await;
    let session = client(&mock.uri()).session();
    let found = session
        .find_user(UserKey::Email("target@EXAMPLE.org"))
        .await
        .unwrap();
    assert_eq!(found.unwrap().id.as_deref(), Some("t"));
    assert_eq!(session.list_users().await.unwrap().len(), 5);
    let requests = mock.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| !r.url.query().unwrap_or("").contains("filter")),
        "no filter without announcement"
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.url.path() == "/ServiceProviderConfig")
            .count(),
        1,
        "discovery is cached"
    );
}

#[tokio::test]
async fn a_server_ignoring_the_filter_or_answering_501_is_paged_instead() {
    // Canaille-like: announces filters, then lists everyone regardless.
    let mock = MockServer::start().await;
    mount_spc(
        &mock,
        json!({"filter": {"supported": true, "maxResults": 2}}),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(paged(five_users()))
        .mount(&mock)
        .await;
    let found = client(&mock.uri())
        .session()
        .find_user(UserKey::Email("target@example.org"))
        .await
        .unwrap();
    assert_eq!(found.unwrap().id.as_deref(), Some("t"));
    // A 501 to the filter.
    let mock = MockServer::start().await;
    mount_spc(&mock, json!({"filter": {"supported": true}})).await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .and(wiremock::matchers::query_param_contains("filter", "eq"))
        .respond_with(ResponseTemplate::new(501))
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(paged(five_users()))
        .with_priority(2)
        .mount(&mock)
        .await;
    let session = client(&mock.uri()).session();
    let found = session
        .find_user(UserKey::UserName("TARGET.OLD"))
        .await
        .unwrap();
    assert_eq!(found.unwrap().id.as_deref(), Some("t"));
    assert!(
        session.into_calls().iter().all(|c| c.error.is_none()),
        "a handled 501 is not an error"
    );
}

#[tokio::test]
async fn discovery_failures_other_than_404_propagate() {
    let mock = MockServer::start().await;
    Mock::given(path("/ServiceProviderConfig"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&mock)
        .await;
    let e = client(&mock.uri())
        .session()
        .find_user(UserKey::UserName("a"))
        .await
        .unwrap_err();
    assert!(e.is_transient());
    assert_eq!(e.path(), "/ServiceProviderConfig");
}

#[tokio::test]
async fn without_patch_group_changes_put_the_group_keeping_other_members() {
    let mock = MockServer::start().await;
    mount_spc(&mock, json!({"patch": {"supported": false}})).await;
    let group = json!({"id": "g1", "displayName": "admins", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "members": [{"value": "a", "display": "Ann"}, {"value": "b", "$ref": "http://x/Users/b"}], "owner": "kept"});
    Mock::given(method("GET"))
        .and(path("/Groups/g1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group))
        .mount(&mock)
        .await;
    Mock::given(method("PUT"))
        .and(path("/Groups/g1"))
        .respond_with(|r: &Request| {
            ResponseTemplate::new(200).set_body_raw(r.body.clone(), "application/scim+json")
        })
        .mount(&mock)
        .await;
    let session = client(&mock.uri()).session();
    session.add_member("g1", "me").await.unwrap();
    session.remove_member("g1", "a").await.unwrap();
    session.remove_member("g1", "not-a-member").await.unwrap();
    let requests = mock.received_requests().await.unwrap();
    let puts: Vec<Value> = requests
        .iter()
        .filter(|r| r.method.as_str() == "PUT")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(puts.len(), 2, "no PUT when nothing changes");
    let values = |v: &Value| {
        v["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(values(&puts[0]), ["a", "b", "me"]);
    // The scripted GET always answers [a, b]: removing `a` leaves `b` alone.
    assert_eq!(values(&puts[1]), ["b"]);
    assert_eq!(puts[0]["owner"], "kept");
    assert_eq!(puts[0]["members"][1]["$ref"], "http://x/Users/b");
    assert!(requests.iter().all(|r| r.method.as_str() != "PATCH"));
}
