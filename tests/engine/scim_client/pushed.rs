//! A pushed group whose id is not stored, on a server whose filters answer nothing for
//! quoted values (audriga/scim-server-php 1.0.0): found by our externalId in a listing,
//! renamed there, never made a second time.

use accessboard::scim::{MemberChange, PushedGroup};
use serde_json::json;
use wiremock::matchers::{method, path, query_param_contains};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{client, mount_spc};

#[tokio::test]
async fn a_filter_that_finds_nothing_is_checked_by_a_listing_before_a_group_is_made() {
    let mock = MockServer::start().await;
    mount_spc(
        &mock,
        json!({"filter": {"supported": true}, "patch": {"supported": true}}),
    )
    .await;
    let ours = json!({"id": "g7", "displayName": "ab-Old", "externalId": "ours"});
    Mock::given(method("GET"))
        .and(path("/Groups"))
        .and(query_param_contains("filter", "externalId"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"totalResults": 0, "Resources": []})),
        )
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Groups"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"totalResults": 2, "Resources": [
            {"id": "g1", "displayName": "staff", "externalId": "someone-else"}, ours]})),
        )
        .with_priority(2)
        .mount(&mock)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/Groups/g7"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Groups/g7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "g7",
            "displayName": "ab-New", "externalId": "ours", "members": [{"value": "u1"}]})))
        .mount(&mock)
        .await;
    let group = PushedGroup {
        name: "ab-New",
        external_id: "ours",
        scim_id: None,
    };
    let change = MemberChange {
        account: "u1",
        who: "ann@example.org",
        member: true,
        known: true,
    };
    let (written, found) = client(&mock.uri())
        .session()
        .set_pushed_memberships(&group, &[change])
        .await;
    assert!(written[0].is_ok(), "{written:?}");
    assert_eq!(
        found.as_deref(),
        Some("g7"),
        "its id, for the caller to store"
    );
    let requests = mock.received_requests().await.unwrap();
    assert!(
        requests.iter().all(|r| r.method.as_str() != "POST"),
        "no second group"
    );
    let renamed = requests.iter().any(|r| {
        r.method.as_str() == "PATCH"
            && String::from_utf8_lossy(&r.body).contains(r#""value":"ab-New""#)
    });
    assert!(renamed, "the old name is replaced");
}
