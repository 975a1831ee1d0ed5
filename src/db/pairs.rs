//! Reads of pairs for the dashboard (one app's pairs, some pairs by key) and pruning the provisioning log.

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
    /// The account's id in the app, once known.
    pub scim_id: Option<String>,
}

pub(super) const PAIR_COLUMNS: &str =
    "a.user_id, u.email, u.name, u.deleted_at IS NOT NULL, a.app_slug, a.role, a.status,
    a.attempts, a.last_attempt_at, a.last_message, a.next_attempt_at, a.scim_id";

pub(super) fn pair_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PairRow> {
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
        scim_id: r.get(11)?,
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
    let total: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM app_access a WHERE a.app_slug = ?1 AND {LISTED}"
        ))?
        .query_row(params![app, status], |r| r.get(0))?;
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

/// One person's pairs with the installed apps of the catalogue, in settings order.
pub fn user_pairs(conn: &Connection, user: Uuid) -> Result<Vec<PairRow>, DbError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PAIR_COLUMNS} FROM app_access a JOIN users u ON u.id = a.user_id
         JOIN apps p ON p.slug = a.app_slug
         WHERE a.user_id = ?1 AND p.installed = 1 AND p.in_catalogue = 1 ORDER BY p.rowid"
    ))?;
    let rows = stmt
        .query_map([user.to_string()], pair_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
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

/// Deletes events and requests older than `before` (unix seconds); how many events went.
pub fn prune_log(conn: &Connection, before: i64) -> Result<usize, DbError> {
    // The requests of a pruned event go with it (ON DELETE CASCADE); rows written before
    // events existed have none and go by their own age.
    let events = conn.execute("DELETE FROM provision_attempts WHERE at < ?1", [before])?;
    conn.execute(
        "DELETE FROM provision_log WHERE attempt_id IS NULL AND at < ?1",
        [before],
    )?;
    Ok(events)
}
