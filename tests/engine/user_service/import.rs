//! UserService's CSV import: good rows created, each bad one reported by line.

use accessboard::db::read::{self, UserQuery};
use accessboard::domain::ProvisionStatus;

use super::{new_user, pairs, setup};

#[tokio::test]
async fn import_creates_good_rows_and_reports_each_bad_one() {
    let (_env, ctx) = setup().await;
    ctx.service
        .create_user(new_user("taken@example.org", &[]))
        .await
        .unwrap();
    let csv = "email,name,admin,files\n\
               a@example.org,Ann,yes,user\n\
               not-an-email,Bad,,\n\
               A@EXAMPLE.org,Dup,,\n\
               TAKEN@example.org,Taken,,\n\
               b@example.org,Bob,,owner\n\
               c@example.org,\"Cee, Jr.\",no,admin\n";
    let plan = ctx
        .service
        .plan_import(csv.as_bytes().to_vec())
        .await
        .unwrap();
    assert_eq!(plan.valid(), 2);
    let report = ctx.service.import(plan).await.unwrap();
    assert_eq!(report.created, 2);
    let lines: Vec<usize> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![3, 4, 5, 6]);
    assert!(
        report.errors[1].reason.contains("already on line 2"),
        "{:?}",
        report.errors[1]
    );
    assert!(
        report.errors[3].reason.contains("owner"),
        "{:?}",
        report.errors[3]
    );
    let p = pairs(&ctx, "c@example.org").await;
    assert_eq!(p[1], ("files".into(), ProvisionStatus::SyncNeeded, 1));
    let (rows, _) = ctx
        .service
        .db()
        .run(|c| read::users(c, &UserQuery::default()))
        .await
        .unwrap();
    assert!(rows.iter().any(|u| u.name == "Cee, Jr." && !u.admin));
    assert!(rows.iter().any(|u| u.email == "a@example.org" && u.admin));
}

#[tokio::test]
async fn import_refuses_unknown_columns_and_oversized_files() {
    let (_env, ctx) = setup().await;
    let err = ctx
        .service
        .plan_import(b"email,name,gitlab\n".to_vec())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("\"gitlab\""), "{err}");
    let big = vec![b'a'; accessboard::users::MAX_IMPORT_BYTES + 1];
    let err = ctx.service.plan_import(big).await.unwrap_err();
    assert!(err.to_string().contains("limited to 16 MiB"), "{err}");
}

#[tokio::test]
async fn the_groups_column_joins_groups_and_creates_the_unknown_ones() {
    use accessboard::domain::{GroupName, Role};
    use accessboard::users::{GroupChange, GroupKey};
    let (_env, ctx) = setup().await;
    ctx.service
        .create_group(GroupName::parse("Design").unwrap(), String::new())
        .await
        .unwrap();
    ctx.service
        .change_group(
            GroupKey::Name(GroupName::parse("design").unwrap()),
            GroupChange::Grant(super::slug("files"), Role::User),
        )
        .await
        .unwrap();
    let csv = "email,name,groups\n\
               a@example.org,Ann,DESIGN; Board\n\
               b@example.org,Bob,board;board\n\
               c@example.org,Cy,\"bad\u{7}name\"\n";
    let plan = ctx
        .service
        .plan_import(csv.as_bytes().to_vec())
        .await
        .unwrap();
    let new: Vec<&str> = plan.new_groups.iter().map(GroupName::as_str).collect();
    assert_eq!(
        new,
        ["Board"],
        "the preview names the group the import creates"
    );
    assert!(plan.errors()[0].reason.contains("control character"));
    let report = ctx.service.import(plan).await.unwrap();
    assert_eq!(report.created, 2);
    assert_eq!(report.groups_created, ["Board"]);
    let p = pairs(&ctx, "a@example.org").await;
    assert_eq!(
        p[1].1,
        ProvisionStatus::SyncNeeded,
        "Design gives Ann files"
    );
    assert_eq!(
        pairs(&ctx, "b@example.org").await[1].1,
        ProvisionStatus::NotProvisioned
    );
    let (rows, _) = ctx
        .service
        .db()
        .run(|c| read::users(c, &UserQuery::default()))
        .await
        .unwrap();
    let ann = rows.iter().find(|u| u.email == "a@example.org").unwrap();
    assert_eq!(ann.groups, ["Board", "Design"]);
    let bob = rows.iter().find(|u| u.email == "b@example.org").unwrap();
    assert_eq!(bob.groups, ["Board"]);
}
