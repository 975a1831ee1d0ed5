//! UserService: every change marks exactly the right pairs, in one transaction;
//! CSV imports in `import`.

use accessboard::db::read::{self, AccessQuery, UserQuery};
use accessboard::domain::{
    DashboardAccess, Email, NewUser, PersonName, ProvisionStatus, Role, Slug, UserUpdate,
};

use crate::support::api::{Context, done, job, pairs};
use crate::support::env::TestEnv;
use crate::support::settings::{plain_app, scim_app};

mod groups;
mod import;

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}
fn slug(s: &str) -> Slug {
    Slug::parse(s).unwrap()
}
fn new_user(e: &str, access: &[(&str, Role)]) -> NewUser {
    NewUser {
        email: email(e),
        name: PersonName::parse("Test Person").unwrap(),
        dashboard: DashboardAccess::None,
        access: access.iter().map(|(s, r)| (slug(s), *r)).collect(),
    }
}

/// Two SCIM apps (files installed, chat not) and one app without SCIM (wiki, installed).
async fn setup() -> (TestEnv, Context) {
    let apps = format!(
        "{}{}{}",
        scim_app("files", "http://127.0.0.1:9/scim", "t", ""),
        scim_app("chat", "http://127.0.0.1:9/scim", "t", ""),
        plain_app("wiki")
    );
    let env = TestEnv::new(&apps);
    let ctx = env.open().await;
    ctx.service.install_app(&slug("files")).await.unwrap();
    ctx.service.install_app(&slug("wiki")).await.unwrap();
    (env, ctx)
}

/// (status, desired_gen) of every pair of a user, by app.
async fn pairs(ctx: &Context, e: &str) -> Vec<(String, ProvisionStatus, i64)> {
    let e = e.to_lowercase();
    ctx.service
        .db()
        .run(move |c| {
            let mut stmt = c.prepare(
                "SELECT a.app_slug, a.status, a.desired_gen FROM app_access a JOIN users u ON u.id = a.user_id
                 WHERE u.email_norm = ?1 ORDER BY a.app_slug",
            )?;
            let rows = stmt
                .query_map([e], |r| {
                    Ok((r.get::<_, String>(0)?, ProvisionStatus::parse(&r.get::<_, String>(1)?).unwrap(), r.get(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, accessboard::db::DbError>(rows)
        })
        .await
        .unwrap()
}

async fn queued_jobs(ctx: &Context) -> i64 {
    ctx.queue.counts().await.unwrap().0
}

#[tokio::test]
async fn create_marks_only_granted_pairs_of_installed_scim_apps() {
    let (_env, ctx) = setup().await;
    ctx.service
        .create_user(new_user(
            "ann@example.org",
            &[
                ("files", Role::User),
                ("chat", Role::Admin),
                ("wiki", Role::User),
            ],
        ))
        .await
        .unwrap();
    let p = pairs(&ctx, "ann@example.org").await;
    assert_eq!(
        p,
        vec![
            ("chat".into(), ProvisionStatus::NotProvisioned, 0), // not installed
            ("files".into(), ProvisionStatus::SyncNeeded, 1),
            ("wiki".into(), ProvisionStatus::NotProvisioned, 0), // no SCIM
        ]
    );
    assert_eq!(
        queued_jobs(&ctx).await,
        1,
        "one job for the one marked pair"
    );
}

#[tokio::test]
async fn rename_marks_pairs_with_access_and_admin_flag_marks_none() {
    let (_env, ctx) = setup().await;
    ctx.service
        .create_user(new_user("bob@example.org", &[("files", Role::User)]))
        .await
        .unwrap();
    let before = pairs(&ctx, "bob@example.org").await;
    ctx.service
        .update_user(
            &email("bob@example.org"),
            UserUpdate {
                dashboard: Some(DashboardAccess::Admin),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        pairs(&ctx, "bob@example.org").await,
        before,
        "dashboard admin flag grants nothing in apps"
    );

    ctx.service
        .update_user(
            &email("bob@example.org"),
            UserUpdate {
                name: Some(PersonName::parse("Robert").unwrap()),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    let after = pairs(&ctx, "bob@example.org").await;
    assert_eq!(
        after[1],
        ("files".into(), ProvisionStatus::SyncNeeded, 2),
        "generation bumped"
    );
    assert_eq!(after[0].2, 0, "no access in chat: untouched");

    ctx.service
        .update_user(
            &email("BOB@example.org"),
            UserUpdate {
                email: Some(email("rob@example.org")),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        pairs(&ctx, "rob@example.org").await[1].2,
        3,
        "email change bumps again"
    );
}

#[tokio::test]
async fn access_change_marks_one_pair_and_same_role_is_a_no_op() {
    let (_env, ctx) = setup().await;
    ctx.service
        .create_user(new_user("cy@example.org", &[]))
        .await
        .unwrap();
    assert!(
        pairs(&ctx, "cy@example.org")
            .await
            .iter()
            .all(|p| p.1 == ProvisionStatus::NotProvisioned)
    );

    ctx.service
        .set_access(&email("cy@example.org"), &slug("files"), Role::Admin)
        .await
        .unwrap();
    ctx.service
        .set_access(&email("cy@example.org"), &slug("files"), Role::Admin)
        .await
        .unwrap();
    let p = pairs(&ctx, "cy@example.org").await;
    assert_eq!(
        p[1],
        ("files".into(), ProvisionStatus::SyncNeeded, 1),
        "second identical call changed nothing"
    );
    assert_eq!(p[0].2, 0);

    let err = ctx
        .service
        .set_access(&email("cy@example.org"), &slug("nope"), Role::User)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no app \"nope\" in the catalogue; the apps are listed in settings.toml"
    );
    let err = ctx
        .service
        .set_access(&email("zz@example.org"), &slug("files"), Role::User)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "no user with email zz@example.org");
}

#[tokio::test]
async fn emails_are_unique_whatever_their_case() {
    let (_env, ctx) = setup().await;
    ctx.service
        .create_user(new_user("Dee@Example.org", &[]))
        .await
        .unwrap();
    let err = ctx
        .service
        .create_user(new_user("dee@example.ORG", &[]))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "a user with email dee@example.ORG already exists"
    );
    let (rows, _) = ctx
        .service
        .db()
        .run(|c| read::users(c, &UserQuery::default()))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].email, "Dee@Example.org", "displayed as entered");
}

#[tokio::test]
async fn delete_keeps_the_rows_until_every_app_is_told_then_purges() {
    let (_env, ctx) = setup().await;
    let user = ctx
        .service
        .create_user(new_user("eve@example.org", &[("files", Role::User)]))
        .await
        .unwrap();
    // The app got the account.
    let db = ctx.service.db().clone();
    let j = job(user.id, "files", 1);
    db.run(move |c| {
        let claim = pairs::claim(c, &j, "test", 100)?.expect("due");
        pairs::finish(
            c,
            &claim,
            "test",
            done(ProvisionStatus::Provisioned, Some("42"), "ok"),
            101,
        )
    })
    .await
    .unwrap();

    ctx.service
        .delete_user(&email("eve@example.org"))
        .await
        .unwrap();
    let (listed, _) = db
        .run(|c| read::users(c, &UserQuery::default()))
        .await
        .unwrap();
    assert!(
        listed.is_empty(),
        "a deleted user disappears from lists at once"
    );
    let p = pairs(&ctx, "eve@example.org").await;
    assert_eq!(
        p[1].1,
        ProvisionStatus::SyncNeeded,
        "the app must still be told"
    );
    assert_eq!(p.len(), 3, "rows kept until deprovisioned");

    let err = ctx
        .service
        .delete_user(&email("eve@example.org"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "no user with email eve@example.org");
    let err = ctx
        .service
        .create_user(new_user("EVE@example.org", &[]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("still being removed"), "{err}");

    let j = job(user.id, "files", 2);
    db.run(move |c| {
        let claim = pairs::claim(c, &j, "test", 200)?.expect("due");
        assert!(claim.user_deleted);
        pairs::finish(
            c,
            &claim,
            "test",
            done(ProvisionStatus::Deprovisioned, Some("42"), "ok"),
            201,
        )
    })
    .await
    .unwrap();
    assert!(
        pairs(&ctx, "eve@example.org").await.is_empty(),
        "purged once deprovisioned"
    );
}

#[tokio::test]
async fn deleting_a_user_no_app_knows_purges_at_once() {
    let (_env, ctx) = setup().await;
    ctx.service
        .create_user(new_user("fay@example.org", &[("wiki", Role::User)]))
        .await
        .unwrap();
    assert_eq!(
        ctx.service
            .delete_user(&email("fay@example.org"))
            .await
            .unwrap()
            .told
            .len(),
        0
    );
    assert!(pairs(&ctx, "fay@example.org").await.is_empty());
}

#[tokio::test]
async fn install_marks_everyone_with_access_and_uninstall_stops_provisioning() {
    let (_env, ctx) = setup().await;
    for i in 0..3 {
        ctx.service
            .create_user(new_user(
                &format!("u{i}@example.org"),
                &[("chat", Role::User)],
            ))
            .await
            .unwrap();
    }
    ctx.service
        .create_user(new_user("none@example.org", &[]))
        .await
        .unwrap();
    assert_eq!(ctx.service.install_app(&slug("chat")).await.unwrap(), 3);
    let q = AccessQuery {
        app: Some("chat".into()),
        status: Some(ProvisionStatus::SyncNeeded),
        ..Default::default()
    };
    let marked = ctx
        .service
        .db()
        .run(move |c| read::access(c, &q))
        .await
        .unwrap();
    assert_eq!(marked.len(), 3);

    ctx.service.uninstall_app(&slug("chat")).await.unwrap();
    let q = AccessQuery {
        app: Some("chat".into()),
        ..Default::default()
    };
    let all = ctx
        .service
        .db()
        .run(move |c| read::access(c, &q))
        .await
        .unwrap();
    assert!(
        all.iter()
            .all(|a| a.status == ProvisionStatus::NotProvisioned)
    );
}

#[tokio::test]
async fn a_save_decided_on_a_stale_admin_flag_is_refused_and_changes_nothing() {
    let (_env, ctx) = setup().await;
    let bob = ctx
        .service
        .create_user(new_user("bob@example.org", &[("files", Role::User)]))
        .await
        .unwrap();
    // The form was shown while Bob could sign in; he no longer can when it is saved,
    // so making him an admin again would skip the password the form did not ask for.
    let refused = ctx
        .service
        .save_user_as_seen(
            bob.id,
            UserUpdate {
                name: Some(PersonName::parse("Robert").unwrap()),
                dashboard: Some(DashboardAccess::Admin),
                ..UserUpdate::default()
            },
            Vec::new(),
            Some(DashboardAccess::Admin),
        )
        .await;
    let err = refused.expect_err("a stale decision is refused");
    assert!(
        err.to_string()
            .contains("changed by someone else meanwhile"),
        "{err}"
    );
    let id = bob.id;
    let now = ctx
        .service
        .db()
        .run(move |c| read::user(c, id))
        .await
        .unwrap()
        .unwrap();
    assert!(!now.admin, "nothing saved");
    assert_eq!(now.name, bob.name.as_str());
}
