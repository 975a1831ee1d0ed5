//! The apalis job queue in the same SQLite file: one job per (user, app) pair.
//!
//! A job only says "look at this pair"; the truth lives in `app_access`. So a
//! lost enqueue is harmless (the sweeper re-enqueues due pairs), and a
//! duplicate is cheap (the worker's claim finds nothing to do).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use apalis::prelude::TaskBuilder;
use apalis_sqlite::{
    Config, SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteStorage, SqliteTask,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The apalis queue name of reconcile jobs.
pub const QUEUE: &str = "accessboard.reconcile";

/// Fixed planner statistics for apalis' `Jobs` table, written at every open.
///
/// apalis acks a job with `UPDATE Jobs ... FROM json_each(?) WHERE Jobs.id = ... AND
/// lock_by = ?` and locks it with `WHERE id IN (SELECT value FROM json_each(?)) AND status
/// ...`. Without statistics SQLite guesses `lock_by = ?` and `status = ?` are selective and
/// walks every job this worker ever locked (re-parsing the JSON per row), or every pending
/// job, for each ack and lock: a burst of N jobs then costs O(N²) (at 10,000 jobs, ~8 ms per
/// ack). These rows describe a busy queue (few workers and statuses, unique ids), so both
/// statements look jobs up by id. ANALYZE of a fresh, empty table records nothing, hence
/// fixed rows; they only steer the planner, never change a result. (`ANALYZE` is there to
/// create `sqlite_stat1`; one transaction, so a running `serve` never reads half of it.)
const PLANNER_STATS: &str = "PRAGMA analysis_limit = 200;
BEGIN IMMEDIATE;
ANALYZE Jobs;
DELETE FROM sqlite_stat1 WHERE tbl = 'Jobs';
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('Jobs', NULL, '10000'),
    ('Jobs', 'sqlite_autoindex_Jobs_1', '10000 1'),
    ('Jobs', 'idx_jobs_idempotency_key', '10000 10000 1'),
    ('Jobs', 'LIdx', '10000 2500'),
    ('Jobs', 'idx_jobs_status_run_at', '10000 2500 10'),
    ('Jobs', 'idx_jobs_job_type_status_run_at', '10000 10000 2500 10');
COMMIT;";

/// One reconcile job: look at this pair, as it was when it became due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileJob {
    /// The user.
    pub user_id: Uuid,
    /// The app slug.
    pub app: String,
    /// The pair's `due_seq` when enqueued; with the pair it makes the idempotency key.
    pub due_seq: i64,
    /// Earliest start (unix seconds), for retries with backoff.
    #[serde(default)]
    pub run_at: Option<i64>,
}

impl ReconcileJob {
    fn idempotency_key(&self) -> String {
        format!("{}/{}/{}", self.user_id, self.app, self.due_seq)
    }
}

// Whether the connection is in autocommit mode (no transaction left open).
async fn outside_transaction(conn: &mut sqlx::SqliteConnection) -> bool {
    use sqlx::Executor;
    if conn.execute("BEGIN").await.is_err() {
        return false;
    }
    conn.execute("ROLLBACK").await.is_ok()
}

/// Queue failures; a failed enqueue loses nothing, the sweeper retries it.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("job queue error: {0}")]
    Apalis(#[from] apalis_sqlite::Error),
    #[error("job queue database error: {0}")]
    Sqlx(#[from] apalis_sqlite::SqlxError),
    #[error("cannot encode job: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The handle through which changes enqueue provisioning jobs.
#[derive(Clone, Debug)]
pub struct JobQueue {
    pool: SqlitePool,
}

impl JobQueue {
    /// Opens the queue on the database file, creating apalis' tables.
    pub async fn open(path: &Path) -> Result<JobQueue, QueueError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .busy_timeout(crate::db::BUSY_TIMEOUT)
            .pragma("synchronous", "NORMAL")
            .pragma("foreign_keys", "ON");
        // apalis' setup turns `synchronous` OFF on the connection it uses:
        // give it a throwaway one-connection pool, so no working connection keeps that.
        // No idle timeout and no lifetime: a SQLite connection needs neither, and without
        // them sqlx 0.9 starts no maintenance task. That task can spin without yielding
        // once its idle count goes wrong, starving the runtime (seen at shutdown).
        let setup = SqlitePoolOptions::new()
            .idle_timeout(None)
            .max_lifetime(None)
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        SqliteStorage::setup(&setup).await?;
        sqlx::raw_sql(PLANNER_STATS).execute(&setup).await?;
        setup.close().await;
        let pool = SqlitePoolOptions::new()
            .idle_timeout(None)
            .max_lifetime(None)
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            // A write that failed on a full disk can leave sqlx's connection inside a
            // transaction it believes is over (seen: BEGIN open, a write lock held, after
            // SQLITE_FULL). Pooled, that connection keeps every other writer "database is
            // locked" for good. So a connection is kept only when a BEGIN goes through on
            // it; otherwise it is closed, which rolls its transaction back.
            .after_release(|conn, _| Box::pin(async move { Ok(outside_transaction(conn).await) }))
            .connect_with(options)
            .await?;
        Ok(JobQueue { pool })
    }

    /// A queue that never writes (the read-only commands): no setup, no planner
    /// statistics, and no connection until something reads it.
    pub fn open_read_only(path: &Path, mode: crate::db::ReadMode) -> Result<JobQueue, QueueError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .read_only(true)
            .immutable(mode == crate::db::ReadMode::Immutable)
            .busy_timeout(crate::db::BUSY_TIMEOUT)
            .pragma("query_only", "ON");
        let pool = SqlitePoolOptions::new()
            .idle_timeout(None)
            .max_lifetime(None)
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(options);
        Ok(JobQueue { pool })
    }

    /// The apalis storage that workers consume.
    pub fn storage(&self) -> SqliteStorage<ReconcileJob> {
        // apalis hands a crashed worker's jobs to others only once it missed its
        // heartbeats (60 s by default). Match our own claim timeout instead, so a
        // restart after a crash resumes within ~15 s.
        let config = Config::default()
            .queue(QUEUE)
            .batch_size(256)
            .heartbeat_interval(Duration::from_secs(3))
            .missed_heartbeats(5);
        SqliteStorage::new(&self.pool).with_config(config)
    }

    /// The sqlx pool (for queue statistics).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Enqueues jobs in one transaction; a pending job for the same pair and
    /// `due_seq` is not duplicated, a finished one is replaced.
    ///
    /// Only a due pair is enqueued, so a finished job with its key ran before the pair
    /// became due at that `due_seq` again (a restored backup holds such pairs): kept, it
    /// would drop the new job as a duplicate until the vacuum an hour later.
    pub async fn enqueue(&self, jobs: &[ReconcileJob]) -> Result<(), QueueError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let tasks = jobs
            .iter()
            .map(|job| {
                let mut builder = TaskBuilder::new(serde_json::to_vec(job)?)
                    .idempotency_key(job.idempotency_key())
                    // retries are ours (state in app_access), not apalis'
                    .max_attempts(1);
                if let Some(at) = job.run_at.filter(|&t| t > 0) {
                    builder = builder.run_at_timestamp(at as u64);
                }
                Ok(builder.build())
            })
            .collect::<Result<Vec<SqliteTask>, serde_json::Error>>()?;
        let mut tx = self.pool.begin().await?;
        for (chunk, keys) in tasks.chunks(500).zip(jobs.chunks(500)) {
            let keys: Vec<String> = keys.iter().map(ReconcileJob::idempotency_key).collect();
            sqlx::query(
                "DELETE FROM Jobs WHERE job_type = ?1 AND status IN ('Done', 'Failed', 'Killed')
                 AND idempotency_key IN (SELECT value FROM json_each(?2))",
            )
            .bind(QUEUE)
            .bind(serde_json::to_string(&keys)?)
            .execute(&mut *tx)
            .await?;
            apalis_sqlite::queries::push_tasks(&mut *tx, QUEUE, chunk).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes finished jobs older than `age`, so idempotency keys and disk are freed.
    pub async fn vacuum(&self, age: Duration) -> Result<u64, QueueError> {
        let cutoff = crate::db::time::now() - age.as_secs() as i64;
        let done = sqlx::query("DELETE FROM Jobs WHERE job_type = ?1 AND status IN ('Done', 'Failed', 'Killed') AND done_at IS NOT NULL AND done_at < ?2")
            .bind(QUEUE)
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Jobs waiting and jobs running, for metrics and progress.
    pub async fn counts(&self) -> Result<(i64, i64), QueueError> {
        let row: (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(status = 'Pending'), 0), COALESCE(SUM(status = 'Running' OR status = 'Queued'), 0) FROM Jobs WHERE job_type = ?1",
        )
        .bind(QUEUE)
        .fetch_one(&self.pool)
        .await?;
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn plan(queue: &JobQueue, explain: &'static str) -> String {
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(explain)
            .bind("[]")
            .bind("worker")
            .fetch_all(queue.pool())
            .await
            .expect("explain");
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
    }

    // apalis-sqlite 1.0's queries/task/ack.sql and lock.sql, which every job goes through.
    const EXPLAIN_ACK: &str = "EXPLAIN QUERY PLAN WITH j AS (SELECT value ->> 'task_id' AS task_id,
        value ->> 'attempt' AS attempt, value ->> 'result' AS result, value ->> 'status' AS status
        FROM json_each(?1))
        UPDATE Jobs SET status = j.status, attempts = j.attempt, last_result = j.result,
        done_at = strftime('%s', 'now') FROM j WHERE Jobs.id = j.task_id AND Jobs.lock_by = ?2";
    const EXPLAIN_LOCK: &str = "EXPLAIN QUERY PLAN UPDATE Jobs SET status = 'Running',
        lock_at = strftime('%s', 'now'), lock_by = ?2
        WHERE id IN (SELECT value FROM json_each(?1))
        AND (status = 'Queued' OR status = 'Pending' OR (status = 'Failed' AND attempts < max_attempts))";

    #[tokio::test]
    async fn acks_and_locks_find_jobs_by_id_not_by_scanning() {
        let dir = tempfile::tempdir().expect("tempdir");
        let queue = JobQueue::open(&dir.path().join("q.db"))
            .await
            .expect("open queue");
        for explain in [EXPLAIN_ACK, EXPLAIN_LOCK] {
            let plan = plan(&queue, explain).await;
            assert!(
                plan.contains("sqlite_autoindex_Jobs_1 (id=?)"),
                "expected a lookup by id: {plan}"
            );
        }
    }

    // A restored backup can hold a due pair whose job with the same key is finished:
    // the sweeper's job must not be dropped as its duplicate (it was, for an hour).
    #[tokio::test]
    async fn a_finished_job_does_not_hide_a_due_pair_with_its_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let queue = JobQueue::open(&dir.path().join("q.db"))
            .await
            .expect("open queue");
        let job = ReconcileJob {
            user_id: Uuid::nil(),
            app: "files".into(),
            due_seq: 7,
            run_at: None,
        };
        queue
            .enqueue(std::slice::from_ref(&job))
            .await
            .expect("enqueue");
        sqlx::query("UPDATE Jobs SET status = 'Done', done_at = strftime('%s', 'now')")
            .execute(queue.pool())
            .await
            .expect("finish it");
        queue
            .enqueue(std::slice::from_ref(&job))
            .await
            .expect("enqueue again");
        queue
            .enqueue(std::slice::from_ref(&job))
            .await
            .expect("a pending one is kept");
        let (pending, _) = queue.counts().await.expect("counts");
        assert_eq!(pending, 1);
    }
}
