//! Reconcile of one pair against a real scim2-server, with and without filter and PATCH.

use crate::support::scim_server::ScimServer;
use accessboard::provisioning::reconcile::{
    Desired, DesiredAccess, OnDeprovision, Reconciled, reconcile,
};
use accessboard::scim::{ScimAuth, ScimCall, ScimClient, ScimConfig, Secret};
use serde_json::{Value, json};

fn client_for(server: &ScimServer) -> ScimClient {
    let url = server.base_url().parse().unwrap();
    ScimClient::new(ScimConfig::new(
        url,
        ScimAuth::Bearer(Secret::new(server.token().to_owned())),
    ))
    .unwrap()
}

fn person(external_id: &str, email: &str, name: &str) -> Desired {
    Desired {
        external_id: external_id.to_owned(),
        user_name: email.to_owned(),
        email: email.to_owned(),
        display_name: name.to_owned(),
        known_scim_id: None,
        access: DesiredAccess::Active { admin: false },
        admin_group: None,
        on_deprovision: OnDeprovision::Disable,
        manage_names: true,
    }
}

async fn run(client: &ScimClient, desired: &Desired) -> (Reconciled, Vec<ScimCall>) {
    let session = client.session();
    let result = reconcile(&session, desired).await;
    let calls = session.into_calls();
    match result {
        Ok(r) => (r, calls),
        Err(e) => panic!("reconcile failed: {e}\ncalls: {calls:#?}"),
    }
}

fn scim_id(r: &Reconciled) -> String {
    match r {
        Reconciled::Provisioned { scim_id } => scim_id.clone(),
        other => panic!("expected Provisioned, got {other:?}"),
    }
}

fn ops(calls: &[ScimCall]) -> Vec<&'static str> {
    calls.iter().map(|c| c.operation).collect()
}

async fn creates_one_active_account(server: ScimServer) {
    let client = client_for(&server);
    let ann = person(
        "7f1c0000-0000-4000-8000-000000000001",
        "ann@example.org",
        "Ann Lee",
    );
    let (first, calls) = run(&client, &ann).await;
    let id = scim_id(&first);
    assert!(ops(&calls).contains(&"create_user"), "{calls:#?}");
    assert!(
        calls
            .iter()
            .any(|c| c.operation == "create_user" && c.status == Some(201))
    );

    let users = server.users();
    assert_eq!(users.len(), 1);
    let u = &users[0];
    assert_eq!(u["id"], id.as_str());
    assert_eq!(u["externalId"], ann.external_id.as_str());
    assert_eq!(u["userName"], "ann@example.org");
    assert_eq!(u["displayName"], "Ann Lee");
    assert_eq!(u["name"]["formatted"], "Ann Lee");
    assert_eq!(u["emails"][0]["value"], "ann@example.org");
    assert_eq!(u["emails"][0]["primary"], true);
    assert_eq!(u["active"], true);

    // Again, with or without the stored id: the same account, and nothing written.
    for known in [None, Some(id.clone())] {
        let (again, calls) = run(
            &client,
            &Desired {
                known_scim_id: known,
                ..ann.clone()
            },
        )
        .await;
        assert_eq!(scim_id(&again), id);
        assert!(
            !ops(&calls)
                .iter()
                .any(|o| *o == "create_user" || *o == "replace_user"),
            "{calls:#?}"
        );
    }
    assert_eq!(server.users().len(), 1);
}

async fn rename_and_re_email_update_the_account_and_keep_foreign_attributes(server: ScimServer) {
    let client = client_for(&server);
    let bo = person(
        "7f1c0000-0000-4000-8000-000000000002",
        "bo@example.org",
        "Bo Berg",
    );
    let id = scim_id(&run(&client, &bo).await.0);
    // The app sets an attribute accessboard does not manage.
    let mut remote = server.user(&id).unwrap();
    remote["nickName"] = json!("bobo");
    remote["title"] = json!("Engineer");
    server.replace_user(&id, &remote);

    let moved = Desired {
        known_scim_id: Some(id.clone()),
        user_name: "bo.berg@example.org".into(),
        email: "bo.berg@example.org".into(),
        display_name: "Bo Berglund".into(),
        ..bo.clone()
    };
    let (r, calls) = run(&client, &moved).await;
    assert_eq!(scim_id(&r), id);
    assert!(ops(&calls).contains(&"replace_user"), "{calls:#?}");
    let u = server.user(&id).unwrap();
    assert_eq!(u["userName"], "bo.berg@example.org");
    assert_eq!(u["emails"].as_array().unwrap().len(), 1);
    assert_eq!(u["emails"][0]["value"], "bo.berg@example.org");
    assert_eq!(u["displayName"], "Bo Berglund");
    assert_eq!(u["name"]["givenName"], "Bo");
    assert_eq!(u["name"]["familyName"], "Berglund");
    assert_eq!(
        u["nickName"], "bobo",
        "an attribute we do not manage survives the PUT"
    );
    assert_eq!(u["title"], "Engineer");
    assert_eq!(u["active"], true);
    assert_eq!(server.users().len(), 1);

    // With names unmanaged (Zulip), a name changed inside the app stays.
    let mut remote = server.user(&id).unwrap();
    remote["displayName"] = json!("Bobby");
    server.replace_user(&id, &remote);
    let unmanaged = Desired {
        manage_names: false,
        email: "bo@example.org".into(),
        display_name: "Bo Berg".into(),
        ..moved
    };
    run(&client, &unmanaged).await;
    let u = server.user(&id).unwrap();
    assert_eq!(u["displayName"], "Bobby");
    assert_eq!(u["emails"][0]["value"], "bo@example.org");
}

async fn revoke_disables_and_grant_reactivates(server: ScimServer) {
    let client = client_for(&server);
    let cy = person(
        "7f1c0000-0000-4000-8000-000000000003",
        "cy@example.org",
        "Cy",
    );
    let id = scim_id(&run(&client, &cy).await.0);
    let gone = Desired {
        access: DesiredAccess::Absent,
        known_scim_id: Some(id.clone()),
        ..cy.clone()
    };
    let (r, calls) = run(&client, &gone).await;
    assert_eq!(
        r,
        Reconciled::Deprovisioned {
            scim_id: Some(id.clone())
        }
    );
    assert!(ops(&calls).contains(&"deactivate_user"), "{calls:#?}");
    let users = server.users();
    assert_eq!(users.len(), 1, "disabled, not deleted");
    assert_eq!(users[0]["active"], false);
    assert_eq!(
        users[0]["userName"], "cy@example.org",
        "the rest of the account is intact"
    );

    // Already disabled: no further write.
    let (r, calls) = run(&client, &gone).await;
    assert_eq!(
        r,
        Reconciled::Deprovisioned {
            scim_id: Some(id.clone())
        }
    );
    assert!(!ops(&calls).contains(&"deactivate_user"), "{calls:#?}");

    let (r, _) = run(
        &client,
        &Desired {
            known_scim_id: Some(id.clone()),
            ..cy
        },
    )
    .await;
    assert_eq!(scim_id(&r), id);
    assert_eq!(server.user(&id).unwrap()["active"], true);
}

async fn delete_mode_deletes_the_account(server: ScimServer) {
    let client = client_for(&server);
    let di = person(
        "7f1c0000-0000-4000-8000-000000000004",
        "di@example.org",
        "Di",
    );
    let id = scim_id(&run(&client, &di).await.0);
    let gone = Desired {
        access: DesiredAccess::Absent,
        on_deprovision: OnDeprovision::Delete,
        known_scim_id: Some(id),
        ..di
    };
    let (r, calls) = run(&client, &gone).await;
    assert_eq!(r, Reconciled::Deprovisioned { scim_id: None });
    assert!(ops(&calls).contains(&"delete_user"));
    assert!(server.users().is_empty());
    let (r, _) = run(&client, &gone).await;
    assert_eq!(
        r,
        Reconciled::NothingToDo,
        "a stale id and no account: nothing left to do"
    );
}

async fn an_account_made_before_provisioning_is_adopted_by_email_ignoring_case(server: ScimServer) {
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

async fn an_account_found_by_user_name_is_adopted(server: ScimServer) {
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

async fn admin_group_membership_touches_only_our_member(server: ScimServer) {
    let root = server.create_user(json!({"userName": "root"}));
    let root_id = root["id"].as_str().unwrap().to_owned();
    server.create_group("admins", &[&root_id]);
    let client = client_for(&server);
    let fay = Desired {
        access: DesiredAccess::Active { admin: true },
        admin_group: Some("admins".into()),
        ..person(
            "7f1c0000-0000-4000-8000-000000000007",
            "fay@example.org",
            "Fay",
        )
    };
    let id = scim_id(&run(&client, &fay).await.0);
    let mut members = server.group_members("admins");
    members.sort();
    let mut expected = vec![root_id.clone(), id.clone()];
    expected.sort();
    assert_eq!(members, expected);

    // Again: still one membership each.
    let (_, calls) = run(&client, &fay).await;
    assert!(!ops(&calls).contains(&"add_member"), "{calls:#?}");
    assert_eq!(server.group_members("admins").len(), 2);

    let demoted = Desired {
        access: DesiredAccess::Active { admin: false },
        ..fay.clone()
    };
    run(&client, &demoted).await;
    assert_eq!(server.group_members("admins"), vec![root_id.clone()]);
    assert_eq!(server.user(&id).unwrap()["active"], true);

    // Promoted again, then revoked: out of the group and disabled, root untouched.
    run(&client, &fay).await;
    assert_eq!(server.group_members("admins").len(), 2);
    run(
        &client,
        &Desired {
            access: DesiredAccess::Absent,
            ..fay
        },
    )
    .await;
    assert_eq!(server.group_members("admins"), vec![root_id]);
    assert_eq!(server.user(&id).unwrap()["active"], false);
    assert_eq!(server.groups().len(), 1);
}

async fn a_missing_admin_group_is_created_only_for_an_admin(server: ScimServer) {
    let client = client_for(&server);
    let gus = Desired {
        admin_group: Some("staff".into()),
        ..person(
            "7f1c0000-0000-4000-8000-000000000008",
            "gus@example.org",
            "Gus",
        )
    };
    run(&client, &gus).await;
    assert!(server.groups().is_empty(), "no group made for a non-admin");
    let id = scim_id(
        &run(
            &client,
            &Desired {
                access: DesiredAccess::Active { admin: true },
                ..gus
            },
        )
        .await
        .0,
    );
    assert_eq!(server.group_members("staff"), vec![id]);
}

async fn absent_without_an_account_is_nothing_to_do(server: ScimServer) {
    let client = client_for(&server);
    let hal = Desired {
        access: DesiredAccess::Absent,
        admin_group: Some("admins".into()),
        ..person(
            "7f1c0000-0000-4000-8000-000000000009",
            "hal@example.org",
            "Hal",
        )
    };
    let (r, calls) = run(&client, &hal).await;
    assert_eq!(r, Reconciled::NothingToDo);
    assert!(calls.iter().all(|c| c.method == "GET"), "{calls:#?}");
    assert!(server.users().is_empty() && server.groups().is_empty());
}

async fn concurrent_creates_end_with_one_account_via_409(server: ScimServer) {
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

macro_rules! on_both_servers {
    ($($scenario:ident),* $(,)?) => {
        mod full_server {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(super::ScimServer::start()).await
            })*
        }
        /// A server announcing no filter and no PATCH, with pages of two.
        mod bare_server {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(super::ScimServer::start_bare()).await
            })*
        }
    };
}

on_both_servers!(
    creates_one_active_account,
    rename_and_re_email_update_the_account_and_keep_foreign_attributes,
    revoke_disables_and_grant_reactivates,
    delete_mode_deletes_the_account,
    an_account_made_before_provisioning_is_adopted_by_email_ignoring_case,
    an_account_found_by_user_name_is_adopted,
    admin_group_membership_touches_only_our_member,
    a_missing_admin_group_is_created_only_for_an_admin,
    absent_without_an_account_is_nothing_to_do,
    concurrent_creates_end_with_one_account_via_409,
);

#[tokio::test]
async fn bare_server_is_never_sent_a_filter_or_a_patch() {
    let server = ScimServer::start_bare();
    let client = client_for(&server);
    let jo = Desired {
        access: DesiredAccess::Active { admin: true },
        admin_group: Some("admins".into()),
        ..person(
            "7f1c0000-0000-4000-8000-00000000000b",
            "jo@example.org",
            "Jo",
        )
    };
    let mut all = run(&client, &jo).await.1;
    all.extend(
        run(
            &client,
            &Desired {
                access: DesiredAccess::Absent,
                ..jo
            },
        )
        .await
        .1,
    );
    assert!(
        all.iter()
            .all(|c| c.method != "PATCH" && c.status != Some(501)),
        "{all:#?}"
    );
    assert_eq!(server.users()[0]["active"], false);
    assert!(server.group_members("admins").is_empty());
}

/// A 409 whose account only the second lookup sees (deterministic, with a scripted server).
#[tokio::test]
async fn conflict_on_post_is_adopted_and_put_once() {
    use wiremock::matchers::{method, path, query_param};
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
    let by_name = r#"userName eq "kim@example.org""#;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .and(query_param("filter", by_name))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty.clone()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .and(query_param("filter", by_name))
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
            scim_id: "u9".into()
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
