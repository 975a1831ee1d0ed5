//! Reconcile and the app's admin group: only our member is touched, and the
//! group is made only when an admin needs it.

use accessboard::domain::DesiredAccess;
use accessboard::provisioning::reconcile::Desired;
use serde_json::json;

use super::{admin_group, client_for, ops, person, run, scim_id};
use crate::support::scim_server::ScimServer;

pub(super) async fn admin_group_membership_touches_only_our_member(server: ScimServer) {
    let root = server.create_user(json!({"userName": "root"}));
    let root_id = root["id"].as_str().unwrap().to_owned();
    server.create_group("admins", &[&root_id]);
    let client = client_for(&server);
    let fay = Desired {
        access: DesiredAccess::Active { admin: true },
        roles: admin_group("admins"),
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

pub(super) async fn a_missing_admin_group_is_created_only_for_an_admin(server: ScimServer) {
    let client = client_for(&server);
    let gus = Desired {
        roles: admin_group("staff"),
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
