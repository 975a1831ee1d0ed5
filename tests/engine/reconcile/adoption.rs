//! Reconcile adopts an account the app already has (by email, by userName,
//! after a 409) instead of making a second one.

use accessboard::provisioning::reconcile::{Desired, Reconciled};
use accessboard::scim::{ScimAuth, ScimClient, ScimConfig};
use serde_json::{Value, json};

use super::{client_for, ops, person, run, scim_id};
use crate::support::scim_server::ScimServer;

pub(super) async fn an_account_made_before_provisioning_is_adopted_by_email_ignoring_case(
    server: ScimServer,
) {
    // Decoys first, so that without filters the account sits on a later page.
    for i in 0..4 {
        server.create_user(json!({"userName": format!("decoy{i}"), "emails": [{"value": format!("decoy{i}@example.org")}]}));
    }
    let old = server.create_user(json!({
        "userName": "dee.old",
        "emails": [{"value": "dee@example.org", "primary": true}],
        "nickName": "dd",
        "active": true
    }));
    let client = client_for(&server);
    let dee = person(
        "7f1c0000-0000-4000-8000-000000000005",
        "Dee@Example.ORG",
        "Dee",
    );
    let (r, calls) = run(&client, &dee).await;
    assert_eq!(scim_id(&r), old["id"].as_str().unwrap());
    assert!(!ops(&calls).contains(&"create_user"), "{calls:#?}");
    let accounts = server.accounts_with_email("dee@example.org");
    assert_eq!(accounts.len(), 1, "adopted, not duplicated: {accounts:#?}");
    assert_eq!(
        accounts[0]["externalId"],
        dee.external_id.as_str(),
        "externalId stamped"
    );
    assert_eq!(accounts[0]["nickName"], "dd");
    assert_eq!(server.users().len(), 5);

    // Next time the stamped externalId finds it directly.
    let (r, calls) = run(&client, &dee).await;
    assert_eq!(scim_id(&r), old["id"].as_str().unwrap());
    assert!(!ops(&calls).contains(&"replace_user"), "{calls:#?}");
}

pub(super) async fn an_account_found_by_user_name_is_adopted(server: ScimServer) {
    let old = server.create_user(json!({"userName": "EVE@example.org", "active": false}));
    let client = client_for(&server);
    let eve = person(
        "7f1c0000-0000-4000-8000-000000000006",
        "eve@example.org",
        "Eve",
    );
    let (r, _) = run(
        &client,
        &Desired {
            known_scim_id: Some("no-such-id".into()),
            ..eve.clone()
        },
    )
    .await;
    assert_eq!(scim_id(&r), old["id"].as_str().unwrap());
    let users = server.users();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["externalId"], eve.external_id.as_str());
    assert_eq!(
        users[0]["active"], true,
        "granted access reactivates the account"
    );
    assert_eq!(users[0]["emails"][0]["value"], "eve@example.org");
}

pub(super) async fn concurrent_creates_end_with_one_account_via_409(server: ScimServer) {
    let client = client_for(&server);
    let ivy = person(
        "7f1c0000-0000-4000-8000-00000000000a",
        "ivy@example.org",
        "Ivy",
    );
    client.session().capabilities().await.unwrap();
    // Two jobs for the same pair at once: both miss in the lookup, one POST loses with 409.
    let (a, b) = tokio::join!(run(&client, &ivy), run(&client, &ivy));
    assert_eq!(scim_id(&a.0), scim_id(&b.0));
    assert_eq!(server.users().len(), 1);
    let conflicts =
        a.1.iter()
            .chain(&b.1)
            .filter(|c| c.operation == "create_user" && c.status == Some(409))
            .count();
    let creates =
        a.1.iter()
            .chain(&b.1)
            .filter(|c| c.operation == "create_user")
            .count();
    // Either the race happened and the loser adopted the account, or the second saw the first's account.
    assert!(
        creates == 1 || conflicts == 1,
        "one POST wins, no POST loop: {a:#?} {b:#?}"
    );
    assert!(creates <= 2);
}

/// A 409 whose account only the second lookup sees (deterministic, with a scripted server).
#[tokio::test]
async fn conflict_on_post_is_adopted_and_put_once() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let mock = MockServer::start().await;
    let spc =
        json!({"filter": {"supported": true, "maxResults": 50}, "patch": {"supported": true}});
    Mock::given(method("GET"))
        .and(path("/ServiceProviderConfig"))
        .respond_with(ResponseTemplate::new(200).set_body_json(spc))
        .mount(&mock)
        .await;
    let empty = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "Resources": []});
    let existing = json!({"id": "u9", "userName": "kim@example.org", "emails": [{"value": "KIM@example.org"}], "active": true});
    let found = json!({"totalResults": 1, "Resources": [existing.clone()]});
    // A lookup that asks for this userName, alone or among other keys.
    let by_name = |req: &wiremock::Request| {
        req.url
            .query_pairs()
            .any(|(k, v)| k == "filter" && v.contains(r#"userName eq "kim@example.org""#))
    };
    Mock::given(method("GET"))
        .and(path("/Users"))
        .and(by_name)
        .respond_with(ResponseTemplate::new(200).set_body_json(empty.clone()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .and(by_name)
        .respond_with(ResponseTemplate::new(200).set_body_json(found))
        .with_priority(2)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty))
        .with_priority(3)
        .mount(&mock)
        .await;
    let conflict = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409", "scimType": "uniqueness", "detail": "userName taken"});
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(409).set_body_json(conflict))
        .mount(&mock)
        .await;
    Mock::given(method("PUT"))
        .and(path("/Users/u9"))
        .respond_with(|req: &wiremock::Request| {
            ResponseTemplate::new(200).set_body_raw(req.body.clone(), "application/scim+json")
        })
        .mount(&mock)
        .await;

    let client =
        ScimClient::new(ScimConfig::new(mock.uri().parse().unwrap(), ScimAuth::None)).unwrap();
    let kim = person(
        "7f1c0000-0000-4000-8000-00000000000c",
        "kim@example.org",
        "Kim",
    );
    let (r, calls) = run(&client, &kim).await;
    assert_eq!(
        r,
        Reconciled::Provisioned {
            scim_id: "u9".into(),
            user_name: "kim@example.org".into(),
        }
    );
    let requests = mock.received_requests().await.unwrap();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .count(),
        1,
        "never loops on POST"
    );
    let puts: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() == "PUT")
        .collect();
    assert_eq!(puts.len(), 1);
    let body: Value = serde_json::from_slice(&puts[0].body).unwrap();
    assert_eq!(body["externalId"], kim.external_id.as_str());
    assert_eq!(body["active"], true);
    // Same address ignoring case: kept as the app stores it rather than rewritten every time.
    assert_eq!(body["emails"][0]["value"], "KIM@example.org");
    assert!(
        calls
            .iter()
            .any(|c| c.operation == "create_user" && c.status == Some(409) && c.error.is_some())
    );
}
