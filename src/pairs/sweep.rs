//! Keeping pairs moving: heartbeats, orphaned claims taken back, due pairs found, progress.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::mark::{Pairs, jobs_from, mark_for_sync};
use super::queue::ReconcileJob;
use crate::db::DbError;

/// Records that this process is alive; claims of silent processes are taken back.
pub fn heartbeat(conn: &Connection, instance: &str, now: i64) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO instances (id, started_at, heartbeat_at) VALUES (?1, ?2, ?2)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
        params![instance, now],
    )?;
    Ok(())
}

/// Gives back this process' claims and forgets it (clean shutdown).
pub fn release(conn: &Connection, instance: &str, now: i64) -> Result<usize, DbError> {
    let n = conn.execute(
        "UPDATE app_access SET status = 'sync_needed', claimed_by = NULL, due_seq = due_seq + 1, synced_role = NULL, status_since = ?2
         WHERE status = 'syncing' AND claimed_by = ?1",
        params![instance, now],
    )?;
    conn.execute("DELETE FROM instances WHERE id = ?1", [instance])?;
    Ok(n)
}

/// Gives back these pairs of this process' claims, whose outcomes could not be recorded:
/// `sync_needed` with a new `due_seq` (so a finished job's key cannot hide them); returns
/// their jobs.
pub fn give_back(
    conn: &mut Connection,
    pairs: &[(uuid::Uuid, String)],
    instance: &str,
    now: i64,
) -> Result<Vec<ReconcileJob>, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut jobs = Vec::with_capacity(pairs.len());
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE app_access SET status = 'sync_needed', claimed_by = NULL, due_seq = due_seq + 1, synced_role = NULL, status_since = ?4
             WHERE user_id = ?1 AND app_slug = ?2 AND status = 'syncing' AND claimed_by = ?3
             RETURNING due_seq",
        )?;
        for (user_id, app) in pairs {
            let seq: Option<i64> = stmt
                .query_row(params![user_id.to_string(), app, instance, now], |r| {
                    r.get(0)
                })
                .optional()?;
            if let Some(due_seq) = seq {
                jobs.push(ReconcileJob {
                    user_id: *user_id,
                    app: app.clone(),
                    due_seq,
                    run_at: None,
                });
            }
        }
    }
    tx.commit()?;
    Ok(jobs)
}

/// Takes back `syncing` pairs whose holder stopped beating for `dead_after` seconds.
pub fn reclaim_orphans(conn: &Connection, now: i64, dead_after: i64) -> Result<usize, DbError> {
    conn.execute(
        "DELETE FROM instances WHERE heartbeat_at < ?1",
        [now - dead_after],
    )?;
    let n = conn.execute(
        "UPDATE app_access SET status = 'sync_needed', claimed_by = NULL, due_seq = due_seq + 1, synced_role = NULL, status_since = ?1
         WHERE status = 'syncing' AND (claimed_by IS NULL OR claimed_by NOT IN (SELECT id FROM instances))",
        [now],
    )?;
    Ok(n)
}

/// Every pair that is due now: `sync_needed`, or `error` whose retry time passed; an
/// app paused entirely has none.
pub fn due_pairs(conn: &Connection, now: i64) -> Result<Vec<ReconcileJob>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, app_slug, due_seq FROM app_access
         WHERE (status = 'sync_needed' OR (status = 'error' AND COALESCE(next_attempt_at, 0) <= ?1))
           AND app_slug IN (SELECT slug FROM apps WHERE installed = 1 AND scim_enabled = 1)
           AND app_slug NOT IN (SELECT app_slug FROM app_rails WHERE paused = 'all')",
    )?;
    jobs_from(stmt.query([now])?)
}

/// [`due_pairs`] of one app, paused or not (resuming it).
pub fn due_pairs_of(conn: &Connection, app: &str, now: i64) -> Result<Vec<ReconcileJob>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, app_slug, due_seq FROM app_access
         WHERE app_slug = ?2 AND (status = 'sync_needed' OR (status = 'error' AND COALESCE(next_attempt_at, 0) <= ?1))
           AND app_slug IN (SELECT slug FROM apps WHERE installed = 1 AND scim_enabled = 1)",
    )?;
    jobs_from(stmt.query(params![now, app])?)
}

/// Marks the disabled pairs whose deletion date passed (`delete_after_days`) for sync,
/// where the reconcile deletes the account; returns how many. Their jobs come from
/// [`due_pairs`].
pub fn mark_due_deletions(conn: &mut Connection, now: i64) -> Result<usize, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let marked = mark_for_sync(&tx, Pairs::DeletionDue(now), now)?.len();
    tx.commit()?;
    Ok(marked)
}

/// How many pairs of provisioned apps are due, waiting to retry, failed, held, and in all.
/// The pairs of an app paused entirely count as held: nothing moves them until a resume.
pub fn progress(conn: &Connection, now: i64) -> Result<Progress, DbError> {
    Ok(conn.prepare_cached("SELECT COALESCE(SUM(NOT paused AND (status IN ('sync_needed', 'syncing') OR (status = 'error' AND COALESCE(next_attempt_at, 0) <= ?1))), 0),
                COALESCE(SUM(NOT paused AND status = 'error' AND COALESCE(next_attempt_at, 0) > ?1), 0),
                COALESCE(SUM(status = 'failed'), 0),
                COALESCE(SUM(status = 'held' OR (paused AND status IN ('sync_needed', 'error'))), 0),
                count(*)
         FROM (SELECT status, next_attempt_at,
                      app_slug IN (SELECT app_slug FROM app_rails WHERE paused = 'all') AS paused
               FROM app_access WHERE app_slug IN (SELECT slug FROM apps WHERE installed = 1 AND scim_enabled = 1))")?.query_row(
        [now],
        |r| Ok(Progress { pending: r.get(0)?, errors: r.get(1)?, failed: r.get(2)?, held: r.get(3)?, total: r.get(4)? }),
    )?)
}

/// How far provisioning has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// `sync_needed`, `syncing`, or `error` whose retry is due.
    pub pending: i64,
    /// `error`, waiting for its retry time.
    pub errors: i64,
    /// `failed`.
    pub failed: i64,
    /// `held` by the revocation guard, or waiting in an app paused entirely.
    pub held: i64,
    /// All pairs of provisioned apps.
    pub total: i64,
}
