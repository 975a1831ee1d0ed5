//! Groups through UserService: a group's grant reaches exactly its members, the
//! highest role wins, bad input stores nothing, and each change is in the audit trail.

use accessboard::db::read::{self, AccessQuery};
use accessboard::domain::{GroupName, ProvisionStatus, Role, Via};
use accessboard::users::{GroupChange, GroupKey, ServiceError};

use super::{email, new_user, pairs, queued_jobs, setup, slug};
use crate::support::api::Context;

fn key(name: &str) -> GroupKey {
    GroupKey::Name(GroupName::parse(name).unwrap())
}

async fn role_and_via(ctx: &Context, e: &str, app: &str) -> (Role, Option<Via>) {
    let q = AccessQuery {
        app: Some(app.into()),
        email_norm: Some(e.to_lowercase()),
        ..AccessQuery::default()
    };
    let rows = ctx
        .service
        .db()
        .run(move |c| read::access(c, &q))
        .await
        .unwrap();
    (rows[0].role, rows[0].via.clone())
}

async fn change(ctx: &Context, group: &str, c: GroupChange) -> accessboard::users::GroupOutcome {
    ctx.service.change_group(key(group), c).await.unwrap()
}

#[tokio::test]
async fn a_grant_reaches_exactly_the_members_and_the_highest_role_wins() {
    let (_env, ctx) = setup().await;
    for e in ["ann@example.org", "bob@example.org", "cy@example.org"] {
        ctx.service.create_user(new_user(e, &[])).await.unwrap();
    }
    ctx.service
        .set_access(&email("bob@example.org"), &slug("files"), Role::Admin)
        .await
        .unwrap();
    let group = GroupName::parse("Design").unwrap();
    ctx.service
        .create_group(group, String::new())
        .await
        .unwrap();
    let added = change(
        &ctx,
        "design",
        GroupChange::Add(vec![email("ann@example.org"), email("BOB@example.org")]),
    )
    .await;
    assert_eq!(added.members_changed, 2);
    assert_eq!(added.pairs_marked, 0, "the group grants nothing yet");
    let jobs_before = queued_jobs(&ctx).await;

    let preview = ctx
        .service
        .preview_group_change(key("DESIGN"), GroupChange::Grant(slug("files"), Role::User))
        .await
        .unwrap();
    assert_eq!(preview.gain_access, 1, "ann gains; bob already has more");
    assert_eq!(
        role_and_via(&ctx, "ann@example.org", "files").await.0,
        Role::None,
        "a preview changes nothing"
    );

    let granted = change(
        &ctx,
        "design",
        GroupChange::Grant(slug("files"), Role::User),
    )
    .await;
    assert_eq!(granted, preview);
    assert_eq!(
        role_and_via(&ctx, "ann@example.org", "files").await,
        (Role::User, Some(Via::Groups(vec!["Design".into()])))
    );
    assert_eq!(
        role_and_via(&ctx, "bob@example.org", "files").await,
        (Role::Admin, Some(Via::Direct)),
        "his own admin beats the group's user"
    );
    assert_eq!(
        role_and_via(&ctx, "cy@example.org", "files").await.0,
        Role::None
    );
    assert_eq!(
        queued_jobs(&ctx).await,
        jobs_before + 1,
        "one job: ann's files pair"
    );
    let ann = pairs(&ctx, "ann@example.org").await;
    assert_eq!(ann[1].1, ProvisionStatus::SyncNeeded);

    // Bob's own role goes; the group still gives him user, so he keeps access.
    ctx.service
        .set_access(&email("bob@example.org"), &slug("files"), Role::None)
        .await
        .unwrap();
    assert_eq!(
        role_and_via(&ctx, "bob@example.org", "files").await,
        (Role::User, Some(Via::Groups(vec!["Design".into()])))
    );

    // Removing ann revokes hers; deleting the group revokes bob's.
    let removed = change(
        &ctx,
        "design",
        GroupChange::Remove(vec![email("ann@example.org")]),
    )
    .await;
    assert_eq!((removed.members_changed, removed.lose_access), (1, 1));
    assert_eq!(
        role_and_via(&ctx, "ann@example.org", "files").await,
        (Role::None, None)
    );
    let deleted = change(&ctx, "design", GroupChange::Delete).await;
    assert_eq!(deleted.lose_access, 1);
    assert_eq!(
        role_and_via(&ctx, "bob@example.org", "files").await.0,
        Role::None
    );

    let audit = ctx
        .service
        .db()
        .run(|c| {
            let mut s =
                c.prepare("SELECT action FROM audit_log WHERE action LIKE 'group.%' ORDER BY id")?;
            let rows = s
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, accessboard::db::DbError>(rows)
        })
        .await
        .unwrap();
    assert_eq!(
        audit,
        [
            "group.create",
            "group.add",
            "group.grant",
            "group.remove",
            "group.delete"
        ]
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_stores_nothing() {
    let (_env, ctx) = setup().await;
    ctx.service
        .create_user(new_user("ann@example.org", &[]))
        .await
        .unwrap();
    let name = |s: &str| GroupName::parse(s).unwrap();
    ctx.service
        .create_group(name("Board"), String::new())
        .await
        .unwrap();
    assert!(matches!(
        ctx.service.create_group(name("BOARD"), String::new()).await,
        Err(ServiceError::GroupNameTaken(_))
    ));
    let unknown_email = ctx
        .service
        .change_group(
            key("board"),
            GroupChange::Add(vec![email("ann@example.org"), email("nobody@example.org")]),
        )
        .await;
    assert!(matches!(unknown_email, Err(ServiceError::UnknownUser(_))));
    assert!(matches!(
        ctx.service
            .change_group(key("board"), GroupChange::Grant(slug("nope"), Role::User))
            .await,
        Err(ServiceError::UnknownApp(_))
    ));
    assert!(matches!(
        ctx.service
            .change_group(key("nobody"), GroupChange::Delete)
            .await,
        Err(ServiceError::UnknownGroup(_))
    ));
    let groups = ctx
        .service
        .db()
        .run(|c| accessboard::db::groups::groups(c))
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].members, 0, "ann was not added without nobody");
}

#[tokio::test]
async fn deleting_a_member_takes_them_out_of_their_groups() {
    let (_env, ctx) = setup().await;
    ctx.service
        .create_user(new_user("ann@example.org", &[]))
        .await
        .unwrap();
    ctx.service
        .create_group(GroupName::parse("Board").unwrap(), String::new())
        .await
        .unwrap();
    change(
        &ctx,
        "board",
        GroupChange::Add(vec![email("ann@example.org")]),
    )
    .await;
    change(&ctx, "board", GroupChange::Grant(slug("files"), Role::User)).await;
    ctx.service
        .delete_user(&email("ann@example.org"))
        .await
        .unwrap();
    let groups = ctx
        .service
        .db()
        .run(|c| accessboard::db::groups::groups(c))
        .await
        .unwrap();
    assert_eq!(groups[0].members, 0);
}
