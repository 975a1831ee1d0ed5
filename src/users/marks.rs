//! The provision and deprovision routines: mark pairs `sync_needed` inside
//! the caller's transaction and say which jobs to enqueue after commit.

use rusqlite::{Transaction, params_from_iter, types::Value};
use uuid::Uuid;

use crate::db::DbError;
use crate::provisioning::queue::ReconcileJob;

/// Which pairs a change touches; only pairs of installed SCIM apps are marked.
pub enum Pairs<'a> {
    /// Every pair of a user whose role grants access.
    UserWithAccess(&'a Uuid),
    /// Every pair of a user that the app may know about (for deletion).
    UserKnownToApps(&'a Uuid),
    /// One pair.
    One(&'a Uuid, &'a str),
    /// Every pair of an app whose role grants access or whose account exists.
    AppRelevant(&'a str),
}

impl Pairs<'_> {
    fn filter(&self) -> (&'static str, Vec<Value>) {
        match self {
            Pairs::UserWithAccess(id) => (
                "user_id = ?1 AND role != 'none'",
                vec![Value::Text(id.to_string())],
            ),
            Pairs::UserKnownToApps(id) => (
                "user_id = ?1 AND (status != 'not_provisioned' OR scim_id IS NOT NULL)",
                vec![Value::Text(id.to_string())],
            ),
            Pairs::One(id, app) => (
                "user_id = ?1 AND app_slug = ?2",
                vec![Value::Text(id.to_string()), Value::Text((*app).to_owned())],
            ),
            Pairs::AppRelevant(app) => (
                "app_slug = ?1 AND (role != 'none' OR scim_id IS NOT NULL OR status != 'not_provisioned')",
                vec![Value::Text((*app).to_owned())],
            ),
        }
    }
}

/// Marks pairs for sync: bumps `desired_gen` (the change) and `due_seq` (a new job).
///
/// A pair a worker holds stays `syncing`; the worker sees the generation moved
/// and syncs again, so two jobs never run for one pair at once.
pub fn mark_for_sync(
    tx: &Transaction<'_>,
    pairs: Pairs<'_>,
    now: i64,
) -> Result<Vec<ReconcileJob>, DbError> {
    let (filter, mut args) = pairs.filter();
    args.push(Value::Integer(now));
    let n = args.len();
    let sql = format!(
        "UPDATE app_access SET
            desired_gen = desired_gen + 1,
            due_seq = due_seq + 1,
            attempts = 0,
            next_attempt_at = NULL,
            status_since = CASE WHEN status IN ('sync_needed', 'syncing') THEN status_since ELSE ?{n} END,
            status = CASE status WHEN 'syncing' THEN 'syncing' ELSE 'sync_needed' END
         WHERE {filter}
           AND app_slug IN (SELECT slug FROM apps WHERE installed = 1 AND scim_enabled = 1)
         RETURNING user_id, app_slug, due_seq, status"
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut jobs = Vec::new();
    for row in rows {
        let (user, app, due_seq, status) = row?;
        if status == "syncing" {
            continue;
        }
        if let Ok(user_id) = Uuid::parse_str(&user) {
            jobs.push(ReconcileJob {
                user_id,
                app,
                due_seq,
                run_at: None,
            });
        }
    }
    Ok(jobs)
}

/// Purges deleted users whose every pair is settled out of the apps; returns how many.
pub fn purge_removed_users(tx: &Transaction<'_>) -> Result<usize, DbError> {
    let n = tx.execute(
        "DELETE FROM users WHERE deleted_at IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM app_access a WHERE a.user_id = users.id
              AND a.status NOT IN ('deprovisioned', 'not_provisioned'))",
        [],
    )?;
    Ok(n)
}
