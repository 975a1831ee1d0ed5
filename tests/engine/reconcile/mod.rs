//! Reconcile of one pair against a real scim2-server, with and without filter and
//! PATCH: an account's life here, adopting accounts in `adoption`, the admin
//! group in `groups`.

use accessboard::domain::{Deprovision, DesiredAccess};
use accessboard::provisioning::reconcile::{Desired, Reconciled, reconcile};
use accessboard::scim::{ScimAuth, ScimCall, ScimClient, ScimConfig, Secret};
use accessboard::settings::{RoleMap, RoleTarget};
use serde_json::json;

use crate::support::scim_server::ScimServer;

mod adoption;
mod groups;

use adoption::{
    an_account_found_by_user_name_is_adopted,
    an_account_made_before_provisioning_is_adopted_by_email_ignoring_case,
    concurrent_creates_end_with_one_account_via_409,
};
use groups::{
    a_missing_admin_group_is_created_only_for_an_admin,
    admin_group_membership_touches_only_our_member,
};

fn client_for(server: &ScimServer) -> ScimClient {
    let url = server.base_url().parse().unwrap();
    ScimClient::new(ScimConfig::new(
        url,
        ScimAuth::Bearer(Secret::new(server.token().to_owned())),
    ))
    .unwrap()
}

/// Admin rights through membership of `group`, as `admin_group = "…"` says.
fn admin_group(group: &str) -> RoleMap {
    RoleMap {
        admin: Some(RoleTarget {
            group: Some(group.to_owned()),
            attribute: None,
            value: None,
        }),
        user: None,
    }
}

fn person(external_id: &str, email: &str, name: &str) -> Desired {
    Desired {
        external_id: external_id.to_owned(),
        user_name: email.to_owned(),
        email: email.to_owned(),
        display_name: name.to_owned(),
        known_scim_id: None,
        previous_user_name: None,
        access: DesiredAccess::Active { admin: false },
        roles: RoleMap::default(),
        previous_role: None,
        read_roles: false,
        on_deprovision: Deprovision::Disable,
        manage_names: true,
        pushed: Vec::new(),
    }
}

async fn run(client: &ScimClient, desired: &Desired) -> (Reconciled, Vec<ScimCall>) {
    let session = client.session();
    let result = reconcile(&session, desired, None).await;
    let calls = session.into_calls();
    match result {
        Ok(r) => (r, calls),
        Err(e) => panic!("reconcile failed: {e}\ncalls: {calls:#?}"),
    }
}

fn scim_id(r: &Reconciled) -> String {
    match r {
        Reconciled::Provisioned { scim_id, .. } => scim_id.clone(),
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
            scim_id: Some(id.clone()),
            user_name: Some("cy@example.org".into()),
            only_deactivated: false,
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
            scim_id: Some(id.clone()),
            user_name: Some("cy@example.org".into()),
            only_deactivated: false,
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
        on_deprovision: Deprovision::Delete,
        known_scim_id: Some(id),
        ..di
    };
    let (r, calls) = run(&client, &gone).await;
    assert_eq!(
        r,
        Reconciled::Deprovisioned {
            scim_id: None,
            user_name: None,
            only_deactivated: false
        }
    );
    assert!(ops(&calls).contains(&"delete_user"));
    assert!(server.users().is_empty());
    let (r, _) = run(&client, &gone).await;
    assert_eq!(
        r,
        Reconciled::NothingToDo,
        "a stale id and no account: nothing left to do"
    );
}

async fn absent_without_an_account_is_nothing_to_do(server: ScimServer) {
    let client = client_for(&server);
    let hal = Desired {
        access: DesiredAccess::Absent,
        roles: admin_group("admins"),
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
        roles: admin_group("admins"),
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
