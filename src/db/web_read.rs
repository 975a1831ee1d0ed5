//! Queries of the web dashboard: sign-in state, the pairs of one app, the activity log.
//!
//! Sign-in tables (`web_sessions`, `login_throttle`) and `meta` keys written here
//! belong to the dashboard alone; users, apps and access change only through UserService.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::DbError;
use crate::domain::{ProvisionStatus, Role};

/// A `meta` value.
pub fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, DbError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Sets a `meta` value.
pub fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Deletes a `meta` key when it still holds `value`; whether it did (single use).
pub fn meta_take(conn: &Connection, key: &str, value: &str) -> Result<bool, DbError> {
    Ok(conn.execute(
        "DELETE FROM meta WHERE key = ?1 AND value = ?2",
        params![key, value],
    )? == 1)
}

/// Deletes a `meta` key.
pub fn meta_delete(conn: &Connection, key: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}

/// Whether a dashboard admin who can sign in exists.
pub fn admin_exists(conn: &Connection) -> Result<bool, DbError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE is_admin = 1 AND password_hash IS NOT NULL AND deleted_at IS NULL)",
        [],
        |r| r.get(0),
    )?)
}

/// The id and password hash of a dashboard admin who may sign in, by lower-cased email.
pub fn admin_login(conn: &Connection, email_norm: &str) -> Result<Option<(Uuid, String)>, DbError> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT id, password_hash FROM users
             WHERE email_norm = ?1 AND is_admin = 1 AND deleted_at IS NULL AND password_hash IS NOT NULL",
            [email_norm],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.and_then(|(id, hash)| Uuid::parse_str(&id).ok().map(|id| (id, hash))))
}

/// The signed-in admin behind a session.
#[derive(Debug, Clone)]
pub struct SessionAdmin {
    /// User id.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// When the session was last used (unix seconds).
    pub last_seen_at: i64,
}

/// Stores a new session.
pub fn session_create(conn: &Connection, sid: &str, user: Uuid, now: i64) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO web_sessions (id, user_id, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
        params![sid, user.to_string(), now],
    )?;
    Ok(())
}

/// The admin of a live session: created after `created_after`, used after `seen_after`,
/// and still an admin who may sign in.
pub fn session_admin(
    conn: &Connection,
    sid: &str,
    created_after: i64,
    seen_after: i64,
) -> Result<Option<SessionAdmin>, DbError> {
    let row: Option<(String, String, String, i64)> = conn
        .query_row(
            "SELECT u.id, u.email, u.name, s.last_seen_at FROM web_sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = ?1 AND s.created_at > ?2 AND s.last_seen_at > ?3
               AND u.is_admin = 1 AND u.deleted_at IS NULL AND u.password_hash IS NOT NULL",
            params![sid, created_after, seen_after],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    Ok(row.and_then(|(id, email, name, last_seen_at)| {
        Uuid::parse_str(&id).ok().map(|id| SessionAdmin {
            id,
            email,
            name,
            last_seen_at,
        })
    }))
}

/// Marks a session as used now.
pub fn session_touch(conn: &Connection, sid: &str, now: i64) -> Result<(), DbError> {
    conn.execute(
        "UPDATE web_sessions SET last_seen_at = ?2 WHERE id = ?1",
        params![sid, now],
    )?;
    Ok(())
}

/// Ends a session; also drops sessions idle since before `stale_before`.
pub fn session_delete(conn: &Connection, sid: &str, stale_before: i64) -> Result<(), DbError> {
    conn.execute(
        "DELETE FROM web_sessions WHERE id = ?1 OR last_seen_at < ?2",
        params![sid, stale_before],
    )?;
    Ok(())
}

/// Failed sign-ins under one key.
#[derive(Debug, Clone, Copy, Default)]
pub struct Throttle {
    /// Failures in the current window.
    pub failures: i64,
    /// When the window started.
    pub window_start: i64,
    /// No attempt is checked before this time.
    pub locked_until: i64,
}

/// The throttle record of a key.
pub fn throttle_get(conn: &Connection, key: &str) -> Result<Option<Throttle>, DbError> {
    Ok(conn
        .query_row(
            "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = ?1",
            [key],
            |r| {
                Ok(Throttle {
                    failures: r.get(0)?,
                    window_start: r.get(1)?,
                    locked_until: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Stores the throttle record of a key; forgets records untouched since `stale_before`.
pub fn throttle_put(
    conn: &Connection,
    key: &str,
    t: Throttle,
    stale_before: i64,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
           window_start = excluded.window_start, locked_until = excluded.locked_until",
        params![key, t.failures, t.window_start, t.locked_until],
    )?;
    conn.execute(
        "DELETE FROM login_throttle WHERE window_start < ?1 AND locked_until < ?1",
        [stale_before],
    )?;
    Ok(())
}

/// Forgets the failures of a key.
pub fn throttle_clear(conn: &Connection, key: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM login_throttle WHERE key = ?1", [key])?;
    Ok(())
}

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
        user_id: Uuid::parse_str(&r.get::<_, String>(0)?).unwrap_or_default(),
        email: r.get(1)?,
        name: r.get(2)?,
        deleting: r.get(3)?,
        app: r.get(4)?,
        role: Role::parse(&r.get::<_, String>(5)?).unwrap_or(Role::None),
        status: ProvisionStatus::parse(&r.get::<_, String>(6)?).unwrap_or(ProvisionStatus::Error),
        attempts: r.get(7)?,
        last_attempt_at: r.get(8)?,
        last_message: r.get(9)?,
        next_attempt_at: r.get(10)?,
    })
}

/// The pairs of one app, optionally of one status, ordered by name; with the total.
pub fn app_pairs(
    conn: &Connection,
    app: &str,
    status: Option<ProvisionStatus>,
    offset: usize,
    limit: usize,
) -> Result<(Vec<PairRow>, usize), DbError> {
    let status = status.map(|s| s.as_str());
    let total: i64 = conn.query_row(
        "SELECT count(*) FROM app_access a WHERE a.app_slug = ?1 AND (?2 IS NULL OR a.status = ?2)",
        params![app, status],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PAIR_COLUMNS} FROM app_access a JOIN users u ON u.id = a.user_id
         WHERE a.app_slug = ?1 AND (?2 IS NULL OR a.status = ?2)
         ORDER BY u.name COLLATE NOCASE, u.email_norm LIMIT ?3 OFFSET ?4"
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
    let user = q.user.as_deref().map(|u| {
        let escaped = u
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
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
