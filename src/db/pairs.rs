//! Reads of pairs and the provisioning log for the dashboard: one app's pairs, the activity log.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::DbError;
use super::columns::RowExt;
use crate::domain::{ProvisionStatus, Role};

/// One (user, app) pair with the person and the provisioning record.
#[derive(Debug, Clone)]
pub struct PairRow {
    /// User id.
    pub user_id: Uuid,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Being removed.
    pub deleting: bool,
    /// App slug.
    pub app: String,
    /// Role.
    pub role: Role,
    /// Status.
    pub status: ProvisionStatus,
    /// Attempts since the last change.
    pub attempts: i64,
    /// Last attempt (unix seconds).
    pub last_attempt_at: Option<i64>,
    /// What the last attempt said.
    pub last_message: Option<String>,
    /// Next retry (unix seconds).
    pub next_attempt_at: Option<i64>,
}

const PAIR_COLUMNS: &str =
    "a.user_id, u.email, u.name, u.deleted_at IS NOT NULL, a.app_slug, a.role, a.status,
    a.attempts, a.last_attempt_at, a.last_message, a.next_attempt_at";

fn pair_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PairRow> {
    Ok(PairRow {
        user_id: r.typed(0, "app_access")?,
        email: r.get(1)?,
        name: r.get(2)?,
        deleting: r.get(3)?,
        app: r.get(4)?,
        role: r.typed(5, "app_access")?,
        status: r.typed(6, "app_access")?,
        attempts: r.get(7)?,
        last_attempt_at: r.get(8)?,
        last_message: r.get(9)?,
        next_attempt_at: r.get(10)?,
    })
}

/// Which pairs an app's list shows: those of the status asked for, or else
/// everyone with a role or an account there; people who never had access
/// (the dashboard's own admins, usually) are not "no access —" noise.
const LISTED: &str =
    "(a.status = ?2 OR (?2 IS NULL AND (a.role != 'none' OR a.status != 'not_provisioned')))";

/// The pairs of one app, optionally of one status, ordered by name; with the total.
pub fn app_pairs(
    conn: &Connection,
    app: &str,
    status: Option<ProvisionStatus>,
    offset: usize,
    limit: usize,
) -> Result<(Vec<PairRow>, usize), DbError> {
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM app_access a WHERE a.app_slug = ?1 AND {LISTED}"),
        params![app, status],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PAIR_COLUMNS} FROM app_access a JOIN users u ON u.id = a.user_id
         WHERE a.app_slug = ?1 AND {LISTED}
         ORDER BY u.name_key, u.email_norm LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt
        .query_map(params![app, status, limit as i64, offset as i64], pair_row)?
        .collect::<Result<_, _>>()?;
    Ok((rows, total as usize))
}

/// Some pairs by (user, app); pairs that no longer exist are left out.
pub fn pairs(conn: &Connection, keys: &[(Uuid, String)]) -> Result<Vec<PairRow>, DbError> {
    // One read transaction for all the lookups: outside one, each lookup takes and drops its
    // own WAL snapshot, which cost more than the lookups (a poll asks for 50 pairs).
    let tx = if conn.is_autocommit() && keys.len() > 1 {
        Some(conn.unchecked_transaction()?)
    } else {
        None
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PAIR_COLUMNS} FROM app_access a JOIN users u ON u.id = a.user_id
         WHERE a.user_id = ?1 AND a.app_slug = ?2"
    ))?;
    let mut out = Vec::with_capacity(keys.len());
    for (user, app) in keys {
        if let Some(row) = stmt
            .query_row(params![user.to_string(), app], pair_row)
            .optional()?
        {
            out.push(row);
        }
    }
    drop(stmt);
    if let Some(tx) = tx {
        tx.commit()?;
    }
    Ok(out)
}

/// One row of the provisioning log.
#[derive(Debug, Clone)]
pub struct LogRow {
    /// Row id.
    pub id: i64,
    /// When (unix seconds).
    pub at: i64,
    /// User id, when known.
    pub user_id: Option<String>,
    /// User email, kept after the user is gone.
    pub user_email: Option<String>,
    /// App slug.
    pub app: String,
    /// SCIM operation.
    pub operation: String,
    /// HTTP status of the answer.
    pub http_status: Option<i64>,
    /// How long it took.
    pub duration_ms: Option<i64>,
    /// Outcome.
    pub outcome: String,
    /// Message.
    pub message: Option<String>,
}

/// Which log rows to show.
#[derive(Debug, Clone, Default)]
pub struct ActivityQuery {
    /// Only this app.
    pub app: Option<String>,
    /// Only users whose email contains this (case-insensitive).
    pub user: Option<String>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// Rows to skip.
    pub offset: usize,
    /// Rows to return.
    pub limit: usize,
}

/// Log rows, newest first, with the total that match.
pub fn activity(conn: &Connection, q: &ActivityQuery) -> Result<(Vec<LogRow>, usize), DbError> {
    let user = q
        .user
        .as_deref()
        .map(|u| super::contains_pattern(&u.to_lowercase()));
    let filter =
        "(?1 IS NULL OR app_slug = ?1) AND (?2 IS NULL OR lower(user_email) LIKE ?2 ESCAPE '\\')
                  AND (?3 IS NULL OR outcome = ?3)";
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM provision_log WHERE {filter}"),
        params![q.app, user, q.outcome],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, at, user_id, user_email, app_slug, operation, http_status, duration_ms, outcome, message
         FROM provision_log WHERE {filter} ORDER BY id DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt
        .query_map(
            params![q.app, user, q.outcome, q.limit as i64, q.offset as i64],
            |r| {
                Ok(LogRow {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    user_id: r.get(2)?,
                    user_email: r.get(3)?,
                    app: r.get(4)?,
                    operation: r.get(5)?,
                    http_status: r.get(6)?,
                    duration_ms: r.get(7)?,
                    outcome: r.get(8)?,
                    message: r.get(9)?,
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok((rows, total as usize))
}

/// The outcomes the log holds, for the filter.
pub fn outcomes(conn: &Connection) -> Result<Vec<String>, DbError> {
    let mut stmt =
        conn.prepare_cached("SELECT DISTINCT outcome FROM provision_log ORDER BY outcome")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes provisioning-log rows older than `before` (unix seconds); how many went.
pub fn prune_log(conn: &Connection, before: i64) -> Result<usize, DbError> {
    Ok(conn.execute("DELETE FROM provision_log WHERE at < ?1", [before])?)
}
