//! The alerts task's `watch` fed directly: conditions raised and resolved through
//! `db::alerts` (as the quarantine and the revocation guard will raise them), and
//! failed pairs batched per app; errors that never quote a secret.

use std::sync::Arc;

use super::webhook::payload;
use super::{Alerts, SendError};
use crate::db::alerts::{self, Message};
use crate::db::{Db, DbError};
use crate::domain::{AlertKind, Condition, Slug};
use crate::settings::{Settings, WebhookFormat};

fn setup(dir: &tempfile::TempDir) -> (Db, Alerts) {
    let db = Db::open(&dir.path().join("a.db")).unwrap();
    let settings = Settings::from_toml(
        "[server]\npublic_url = \"https://board.example.org\"\n[alerts]\nwebhook_url = \"http://127.0.0.1:9/hook\"\n[[apps]]\nslug = \"files\"\nname = \"Files\"\n",
    )
    .unwrap();
    let alerts = Alerts::new(db.clone(), Arc::new(settings)).unwrap();
    (db, alerts)
}

/// Takes what waits in the webhook's outbox, oldest first.
async fn drain(db: &Db) -> Vec<Message> {
    db.run(|c| {
        let mut out = Vec::new();
        while let Some(q) = alerts::next(c, "webhook")? {
            alerts::sent(c, q.id)?;
            out.push(q.message);
        }
        Ok::<_, DbError>(out)
    })
    .await
    .unwrap()
}

fn files(kind: AlertKind) -> Condition {
    Condition::of_app(kind, Slug::parse("files").unwrap())
}

async fn sql(db: &Db, sql: String) {
    db.run(move |c| c.execute_batch(&sql).map_err(DbError::from))
        .await
        .unwrap();
}

#[tokio::test]
async fn quarantine_and_the_revocation_guard_are_told_once_each_and_their_end_too() {
    let dir = tempfile::tempdir().unwrap();
    let (db, alerts) = setup(&dir);
    db.run(|c| {
        alerts::raise(
            c,
            &files(AlertKind::AppQuarantined),
            "Every request to Files failed for 15 minutes (connection refused).",
            1_000,
        )?;
        alerts::raise(
            c,
            &files(AlertKind::RevocationGuard),
            "35 revocations in 5 minutes (of 100 accounts), by ada@example.org.",
            1_000,
        )
    })
    .await
    .unwrap();
    assert_eq!(alerts.watch(1_010).await.unwrap(), 2);
    let told = drain(&db).await;
    assert_eq!(told[0].title, "Files is quarantined");
    assert!(
        told[0]
            .body
            .starts_with("Every request to Files failed for 15 minutes (connection refused).\n(since 1970-01-01 00:16 UTC)"),
        "{}",
        told[0].body
    );
    assert!(told[0].body.contains("accessboard app resume files"));
    assert!(
        told[0]
            .body
            .ends_with("https://board.example.org/apps/files")
    );
    assert_eq!(told[1].title, "Files: revocations paused by the guard");
    assert!(told[1].body.contains("by ada@example.org"));

    // Raised again while it stands: nothing new.
    db.run(|c| alerts::raise(c, &files(AlertKind::AppQuarantined), "again", 1_020))
        .await
        .unwrap();
    assert_eq!(alerts.watch(1_030).await.unwrap(), 0);

    db.run(|c| {
        alerts::resolve(
            c,
            &files(AlertKind::AppQuarantined),
            "A probe succeeded.",
            2_000,
        )
    })
    .await
    .unwrap();
    assert_eq!(alerts.watch(2_005).await.unwrap(), 1);
    let told = drain(&db).await;
    assert_eq!(told[0].title, "Resolved: Files left quarantine");
    assert!(
        told[0].body.starts_with(
            "Resolved at 1970-01-01 00:33 UTC (raised at 1970-01-01 00:16 UTC).\nA probe succeeded."
        ),
        "{}",
        told[0].body
    );
    let json = payload(WebhookFormat::Json, &told[0]);
    assert_eq!(
        (&json["kind"], &json["state"], &json["app"]),
        (
            &"app_quarantined".into(),
            &"resolved".into(),
            &"files".into()
        )
    );
    assert_eq!(alerts.watch(2_010).await.unwrap(), 0, "told once");
}

#[tokio::test]
async fn failed_pairs_are_told_at_most_once_per_batch_window_then_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let (db, alerts) = setup(&dir);
    let fail = |from: u32, to: u32| {
        let mut s = String::new();
        for i in from..=to {
            s.push_str(&format!(
                "INSERT INTO users (id, email, email_norm, name, created_at, updated_at)
                 VALUES ('00000000-0000-4000-8000-{i:012}', 'p{i}@example.org', 'p{i}@example.org', 'Person {i}', 1, 1);
                 INSERT INTO app_access (user_id, app_slug, role, status, status_since, last_message)
                 VALUES ('00000000-0000-4000-8000-{i:012}', 'files', 'user', 'failed', 50, 'POST /Users answered 400');"
            ));
        }
        s
    };
    sql(
        &db,
        "INSERT INTO apps (slug, name, installed, scim_enabled) VALUES ('files', 'Files', 1, 1);"
            .into(),
    )
    .await;
    sql(&db, fail(1, 3)).await;
    assert_eq!(alerts.watch(100).await.unwrap(), 1);
    let told = drain(&db).await;
    assert_eq!(told[0].title, "Files: 3 people failed");
    assert!(
        told[0]
            .body
            .contains("- Person 1 (p1@example.org): POST /Users answered 400\n")
    );

    // Two more within alert_batch_secs (300): they wait for the next message.
    sql(&db, fail(4, 5)).await;
    assert_eq!(alerts.watch(110).await.unwrap(), 0);
    assert_eq!(alerts.watch(400).await.unwrap(), 1);
    let told = drain(&db).await;
    assert_eq!(told[0].title, "Files: 2 more people failed");
    assert!(told[0].body.contains("Person 4") && !told[0].body.contains("Person 1 "));
    assert!(told[0].body.contains("Failed in Files now: 5."));

    sql(
        &db,
        "UPDATE app_access SET status = 'provisioned', status_since = 500;".into(),
    )
    .await;
    assert_eq!(alerts.watch(500).await.unwrap(), 1);
    assert_eq!(
        drain(&db).await[0].title,
        "Resolved: no failed pairs in Files any more"
    );
    let gone = db
        .run(|c| alerts::get(c, &files(AlertKind::PairsFailed)))
        .await
        .unwrap();
    assert!(gone.is_none());
}

#[tokio::test]
async fn failed_pairs_put_back_to_waiting_by_quarantine_are_not_resolved_until_they_settle() {
    let dir = tempfile::tempdir().unwrap();
    let (db, alerts) = setup(&dir);
    let mut setup_sql = String::from(
        "INSERT INTO apps (slug, name, installed, scim_enabled) VALUES ('files', 'Files', 1, 1);",
    );
    for i in 1..=3 {
        setup_sql.push_str(&format!(
            "INSERT INTO users (id, email, email_norm, name, created_at, updated_at)
             VALUES ('00000000-0000-4000-8000-{i:012}', 'p{i}@example.org', 'p{i}@example.org', 'Person {i}', 1, 1);
             INSERT INTO app_access (user_id, app_slug, role, status, status_since, last_message)
             VALUES ('00000000-0000-4000-8000-{i:012}', 'files', 'user', 'failed', 50, 'gave up after 4 attempts: connection refused');"
        ));
    }
    sql(&db, setup_sql).await;
    assert_eq!(alerts.watch(100).await.unwrap(), 1);
    assert_eq!(drain(&db).await[0].title, "Files: 3 people failed");

    // Quarantine: the app is still down, its failed pairs wait for the probe as `error`.
    sql(
        &db,
        "UPDATE app_access SET status = 'error', last_message = 'waiting: the app is quarantined';"
            .into(),
    )
    .await;
    assert_eq!(alerts.watch(200).await.unwrap(), 0, "nothing is resolved");
    assert_eq!(alerts.watch(600).await.unwrap(), 0, "nor later");
    let standing = db
        .run(|c| alerts::get(c, &files(AlertKind::PairsFailed)))
        .await
        .unwrap()
        .expect("the condition stands");
    assert_eq!(standing.resolved_at, None);

    // Two come through after the probe; the third is still on its way.
    sql(
        &db,
        "UPDATE app_access SET status = 'provisioned', status_since = 700
         WHERE user_id != '00000000-0000-4000-8000-000000000003';"
            .into(),
    )
    .await;
    assert_eq!(alerts.watch(700).await.unwrap(), 0);
    sql(
        &db,
        "UPDATE app_access SET status = 'provisioned', status_since = 710;".into(),
    )
    .await;
    assert_eq!(alerts.watch(710).await.unwrap(), 1);
    let told = drain(&db).await;
    assert_eq!(told[0].title, "Resolved: no failed pairs in Files any more");
    assert!(told[0].body.contains("settled"), "{}", told[0].body);
    assert_eq!(alerts.watch(720).await.unwrap(), 0, "told once");
}

#[test]
fn a_send_error_never_repeats_the_webhook_url_or_its_token() {
    let url = "https://chat.example.org/hooks/T0/s3cr3t-hook?token=abc123";
    let e = SendError::new(
        format!(
            "error sending request for url ({url}): refused; path /hooks/T0/s3cr3t-hook?token=abc123"
        ),
        &[url],
    );
    assert!(
        !e.to_string().contains("s3cr3t-hook") && !e.to_string().contains("abc123"),
        "{e}"
    );
}
