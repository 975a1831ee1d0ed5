//! Marking pairs: every change to what a pair should be goes through [`mark_for_sync`]
//! inside the caller's transaction, which says which jobs to enqueue after commit.

use rusqlite::{Rows, Transaction, params, params_from_iter, types::Value};
use uuid::Uuid;

use super::queue::ReconcileJob;
use crate::db::DbError;
use crate::db::columns::RowExt;

/// Which pairs a change touches; only pairs of installed SCIM apps are marked.
pub enum Pairs<'a> {
    /// Every pair of a user whose role grants access.
    UserWithAccess(&'a Uuid),
    /// Every pair of a user that the app may know about (for deletion).
    UserKnownToApps(&'a Uuid),
    /// One pair.
    One(&'a Uuid, &'a str),
    /// These people's pairs in one app, in one statement.
    Many(&'a [Uuid], &'a str),
    /// Every pair of an app whose role grants access or whose account exists.
    AppRelevant(&'a str),
    /// Disabled pairs whose deletion date (`delete_after_days`) is at or before this time.
    DeletionDue(i64),
    /// The `held` revocations of an app (`app resume`).
    Held(&'a str),
    /// `error` and `failed` pairs, optionally of one app and one user (retry).
    Unsettled {
        /// Only this app.
        app: Option<&'a str>,
        /// Only this user.
        user: Option<&'a Uuid>,
    },
}

impl Pairs<'_> {
    fn filter(&self) -> (&'static str, Vec<Value>) {
        let text = |s: &str| Value::Text(s.to_owned());
        let opt = |s: Option<String>| s.map_or(Value::Null, Value::Text);
        match self {
            Pairs::UserWithAccess(id) => (
                "user_id = ?1 AND role != 'none'",
                vec![text(&id.to_string())],
            ),
            // An account already disabled, with no deletion to come, is as a deleted
            // person's should be: nothing to tell the app.
            Pairs::UserKnownToApps(id) => (
                "user_id = ?1 AND (status != 'not_provisioned' OR scim_id IS NOT NULL)
                 AND NOT (status = 'deprovisioned' AND delete_at IS NULL)",
                vec![text(&id.to_string())],
            ),
            Pairs::One(id, app) => (
                "user_id = ?1 AND app_slug = ?2",
                vec![text(&id.to_string()), text(app)],
            ),
            Pairs::Many(ids, app) => (
                "app_slug = ?2 AND user_id IN (SELECT value FROM json_each(?1))",
                vec![text(&ids_json(ids)), text(app)],
            ),
            Pairs::AppRelevant(app) => (
                "app_slug = ?1 AND (role != 'none' OR scim_id IS NOT NULL OR status != 'not_provisioned')",
                vec![text(app)],
            ),
            Pairs::DeletionDue(now) => (
                "status = 'deprovisioned' AND delete_at <= ?1",
                vec![Value::Integer(*now)],
            ),
            Pairs::Held(app) => ("app_slug = ?1 AND status = 'held'", vec![text(app)]),
            Pairs::Unsettled { app, user } => (
                "status IN ('error', 'failed') AND (?1 IS NULL OR app_slug = ?1) AND (?2 IS NULL OR user_id = ?2)",
                vec![opt(app.map(str::to_owned)), opt(user.map(Uuid::to_string))],
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
    // A held pair gets no job of its own (NULL due_seq): its worker runs it again.
    // revoked_at notes a revocation of an account the app holds active, for the guard
    // (`rails::guard`); an earlier one keeps its time, and access coming back clears it.
    // Whether the person is being removed is read by their id: an `IN (SELECT … FROM
    // users)` read every person for each statement, which made marking one pair at a
    // time (a plan of 20,000 links) quadratic.
    let sql = format!(
        "UPDATE app_access SET
            revoked_at = CASE WHEN scim_id IS NOT NULL AND status NOT IN ('deprovisioned', 'not_provisioned')
                AND (role = 'none' OR EXISTS (SELECT 1 FROM users u
                    WHERE u.id = app_access.user_id AND u.deleted_at IS NOT NULL))
                THEN COALESCE(revoked_at, ?{n}) END,
            desired_gen = desired_gen + 1,
            due_seq = due_seq + 1,
            attempts = 0,
            next_attempt_at = NULL,
            status_since = CASE WHEN status IN ('sync_needed', 'syncing') THEN status_since ELSE ?{n} END,
            status = CASE status WHEN 'syncing' THEN 'syncing' ELSE 'sync_needed' END
         WHERE {filter}
           AND app_slug IN (SELECT slug FROM apps WHERE installed = 1 AND scim_enabled = 1)
         RETURNING user_id, app_slug, CASE status WHEN 'syncing' THEN NULL ELSE due_seq END"
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    jobs_from(stmt.query(params_from_iter(args))?)
}

/// Forgets the role the app last confirmed for `user` in `app`: the app was seen to hold
/// another one, so the next reconcile reads the groups instead of trusting the record.
pub fn forget_confirmed_role(tx: &Transaction<'_>, user: &Uuid, app: &str) -> Result<(), DbError> {
    tx.prepare_cached(
        "UPDATE app_access SET synced_role = NULL WHERE user_id = ?1 AND app_slug = ?2",
    )?
    .execute(params![user.to_string(), app])?;
    Ok(())
}

/// How many pairs [`mark_for_sync`] would mark now (the impact shown before a change).
pub fn count_marked(conn: &rusqlite::Connection, pairs: Pairs<'_>) -> Result<usize, DbError> {
    let (filter, args) = pairs.filter();
    let sql = format!(
        "SELECT count(*) FROM app_access WHERE {filter}
           AND app_slug IN (SELECT slug FROM apps WHERE installed = 1 AND scim_enabled = 1)"
    );
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(args), |r| r.get(0))?;
    Ok(n as usize)
}

/// Turns rows of (user_id, app_slug, due_seq) into jobs; a NULL due_seq is skipped.
pub(super) fn jobs_from(mut rows: Rows<'_>) -> Result<Vec<ReconcileJob>, DbError> {
    let mut jobs = Vec::new();
    while let Some(r) = rows.next()? {
        if let Some(due_seq) = r.get::<_, Option<i64>>(2)? {
            jobs.push(ReconcileJob {
                user_id: r.typed(0, "app_access")?,
                app: r.get(1)?,
                due_seq,
                run_at: None,
            });
        }
    }
    Ok(jobs)
}

/// The jobs for the `sync_needed` pairs of these users (marked as they were created),
/// in one statement.
pub fn jobs_of_users(tx: &Transaction<'_>, ids: &[Uuid]) -> Result<Vec<ReconcileJob>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = tx.prepare_cached(
        "SELECT user_id, app_slug, due_seq FROM app_access
          WHERE user_id IN (SELECT value FROM json_each(?1)) AND status = 'sync_needed'",
    )?;
    jobs_from(stmt.query([ids_json(ids)])?)
}

/// Ids as the JSON array `json_each` reads.
fn ids_json(ids: &[Uuid]) -> String {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    serde_json::Value::from(ids).to_string()
}

/// The status a new pair starts in: marked when access is granted in a provisioned app.
pub fn initial_status(marked: bool) -> crate::domain::ProvisionStatus {
    if marked {
        crate::domain::ProvisionStatus::SyncNeeded
    } else {
        crate::domain::ProvisionStatus::NotProvisioned
    }
}

/// Sets every pair of an app `not_provisioned`; bumping the generation voids in-flight results.
pub fn unmanage(tx: &Transaction<'_>, app: &str, now: i64) -> Result<(), DbError> {
    tx.execute(
        "UPDATE app_access SET status = 'not_provisioned', desired_gen = desired_gen + 1,
            claimed_by = NULL, attempts = 0, next_attempt_at = NULL, status_since = ?1, synced_role = NULL,
            delete_at = NULL
         WHERE app_slug = ?2 AND status != 'not_provisioned'",
        params![now, app],
    )?;
    purge_removed_users(tx)?;
    Ok(())
}

/// Purges deleted users whose every pair is settled out of the apps; returns how many.
///
/// A disabled account still waiting for its deletion (`delete_at`) holds the person
/// back: purging would drop the pair, and with it the delete.
pub fn purge_removed_users(tx: &Transaction<'_>) -> Result<usize, DbError> {
    let n = tx.execute(
        "DELETE FROM users WHERE deleted_at IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM app_access a WHERE a.user_id = users.id
              AND (a.status NOT IN ('deprovisioned', 'not_provisioned') OR a.delete_at IS NOT NULL))",
        [],
    )?;
    Ok(n)
}
