//! What the SCIM client sends, against scripted servers: bodies and their
//! content type, filters, paging where filters are missing or ignored,
//! discovery, and group changes without PATCH.

use accessboard::scim::{ScimAuth, ScimClient, ScimConfig, UserKey};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::{client, mount_spc, user_json};

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
async fn a_failing_discovery_falls_back_once_and_refused_credentials_still_fail() {
    // scim-server-php 1.0.0: /ServiceProviderConfig fails, /Users works.
    let mock = MockServer::start().await;
    Mock::given(path("/ServiceProviderConfig"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&mock)
        .await;
    Mock::given(path("/ResourceTypes"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(paged(five_users()))
        .mount(&mock)
        .await;
    let session = client(&mock.uri()).session();
    for key in ["target.old", "decoy1"] {
        let found = session.find_user(UserKey::UserName(key)).await.unwrap();
        assert!(found.is_some(), "{key} found by listing");
    }
    assert_eq!(session.group_resource().await.unwrap(), None, "not said");
    let requests = mock.received_requests().await.unwrap();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.url.path() == "/ServiceProviderConfig")
            .count(),
        1,
        "a failing discovery is remembered, not asked per lookup"
    );
    assert!(
        requests
            .iter()
            .all(|r| !r.url.query().unwrap_or("").contains("filter")),
        "conservative: no filter"
    );

    let mock = MockServer::start().await;
    Mock::given(path("/ServiceProviderConfig"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&mock)
        .await;
    let e = client(&mock.uri())
        .session()
        .find_user(UserKey::UserName("a"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
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
    Mock::given(method("GET"))
        .and(path("/Groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 1,
            "Resources": [{"id": "g1", "displayName": "admins",
                "members": [{"value": "a"}, {"value": "b"}]}]})))
        .mount(&mock)
        .await;
    let session = client(&mock.uri()).session();
    session
        .set_membership("admins", "me", "me", true)
        .await
        .unwrap();
    session
        .set_membership("admins", "a", "ann", false)
        .await
        .unwrap();
    session
        .set_membership("admins", "not-a-member", "nobody", false)
        .await
        .unwrap();
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

#[tokio::test]
async fn an_app_that_keeps_an_account_active_is_never_reported_disabled() {
    let mock = MockServer::start().await;
    mount_spc(&mock, json!({"patch": {"supported": true}})).await;
    // 200 to PATCH and PUT alike, and the account stays active whatever was sent.
    let active = user_json("u1", "kay@example.org");
    Mock::given(method("GET"))
        .and(path("/Users/u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(active.clone()))
        .mount(&mock)
        .await;
    for verb in ["PATCH", "PUT"] {
        Mock::given(method(verb))
            .and(path("/Users/u1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(active.clone()))
            .mount(&mock)
            .await;
    }
    let e = client(&mock.uri())
        .session()
        .deactivate_user("u1")
        .await
        .unwrap_err();
    assert!(!e.is_transient());
    assert!(
        e.to_string()
            .contains("the app kept account u1 active after PATCH and PUT"),
        "{e}"
    );
}
