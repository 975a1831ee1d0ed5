//! The pairs with their provisioning record, as `provision status` lists them.

use rusqlite::{Connection, params};

use super::DbError;
use super::columns::RowExt;
use super::groups::names;
use super::time::rfc3339;
use crate::domain::{Access, ProvisionStatus, Via};

/// Which pairs `provision status` shows.
#[derive(Debug, Clone, Default)]
pub struct AccessQuery {
    /// Only this app.
    pub app: Option<String>,
    /// Only this user (lower-cased email).
    pub email_norm: Option<String>,
    /// Only these statuses.
    pub status: Option<ProvisionStatus>,
    /// Rows to skip.
    pub offset: usize,
    /// Rows to return; 0 means all.
    pub limit: usize,
}

/// Pairs with their provisioning record, for managed apps and users being removed.
pub fn access(conn: &Connection, q: &AccessQuery) -> Result<Vec<Access>, DbError> {
    let limit = if q.limit == 0 { -1 } else { q.limit as i64 };
    let mut stmt = conn.prepare_cached(
        "SELECT a.user_id, u.email, a.app_slug, a.role, a.status, a.scim_id, a.attempts,
                a.last_attempt_at, a.last_message, a.next_attempt_at, a.delete_at, a.direct_role,
                (SELECT group_concat(g.name, char(31)) FROM group_members m
                   JOIN group_grants gg ON gg.group_id = m.group_id AND gg.app_slug = a.app_slug
                   JOIN access_groups g ON g.id = m.group_id
                  WHERE m.user_id = a.user_id AND gg.role = a.role)
         FROM app_access a JOIN users u ON u.id = a.user_id JOIN apps p ON p.slug = a.app_slug
         WHERE p.in_catalogue = 1 AND (?1 IS NULL OR a.app_slug = ?1) AND (?2 IS NULL OR u.email_norm = ?2)
           AND (?3 IS NULL OR a.status = ?3)
         ORDER BY p.rowid, u.name COLLATE NOCASE, u.email_norm LIMIT ?4 OFFSET ?5",
    )?;
    let rows = stmt.query_map(
        params![q.app, q.email_norm, q.status, limit, q.offset as i64],
        |r| {
            let role = r.typed(3, "app_access")?;
            Ok(Access {
                user_id: r.typed(0, "app_access")?,
                email: r.get(1)?,
                app: r.get(2)?,
                role,
                via: Via::of(role, r.typed(11, "app_access")?, names(r.get(12)?)),
                status: r.typed(4, "app_access")?,
                scim_id: r.get(5)?,
                attempts: r.get(6)?,
                last_attempt_at: r.get::<_, Option<i64>>(7)?.map(rfc3339),
                last_message: r.get(8)?,
                next_attempt_at: r.get::<_, Option<i64>>(9)?.map(rfc3339),
                delete_at: r.get::<_, Option<i64>>(10)?.map(rfc3339),
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}
