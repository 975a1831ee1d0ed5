//! The `audit_log` table: every change an admin made, append-only.
//!
//! Rows are inserted inside the transaction of the change they record, never
//! updated, and deleted only by age ([`prune`]).

use rusqlite::{Connection, params};
use serde::Serialize;

use super::DbError;

/// One recorded change.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    /// Row id.
    pub id: i64,
    /// When (unix seconds).
    pub at: i64,
    /// Who: an admin's email, `cli (os user)`, or `system`.
    pub actor: String,
    /// What, e.g. `person.update`.
    pub action: String,
    /// On what: an email, an app slug.
    pub target: Option<String>,
    /// The state before, as short JSON.
    pub before: Option<String>,
    /// The state after, as short JSON.
    pub after: Option<String>,
}

/// A change to record.
#[derive(Debug, Clone, Default)]
pub struct NewEntry<'a> {
    /// Who.
    pub actor: &'a str,
    /// What.
    pub action: &'a str,
    /// On what.
    pub target: Option<&'a str>,
    /// Before (short JSON, never a secret).
    pub before: Option<String>,
    /// After (short JSON, never a secret).
    pub after: Option<String>,
}

/// Appends one entry; call it inside the transaction of the change.
pub fn insert(conn: &Connection, at: i64, e: &NewEntry<'_>) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, target, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![at, e.actor, e.action, e.target, e.before, e.after])?;
    Ok(())
}

/// Which entries to show.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only actors containing this (case-insensitive).
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries at or after this time (unix seconds).
    pub since: Option<i64>,
    /// Rows to skip.
    pub offset: usize,
    /// Rows to return.
    pub limit: usize,
}

/// Entries, newest first, with the total that match.
pub fn list(conn: &Connection, q: &AuditQuery) -> Result<(Vec<AuditRow>, usize), DbError> {
    let actor = q
        .actor
        .as_deref()
        .map(|u| super::contains_pattern(&u.to_lowercase()));
    let filter = "(?1 IS NULL OR lower(actor) LIKE ?1 ESCAPE '\\')
                  AND (?2 IS NULL OR action = ?2) AND (?3 IS NULL OR at >= ?3)";
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM audit_log WHERE {filter}"))?
        .query_row(params![actor, q.action, q.since], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, at, actor, action, target, before, after
         FROM audit_log WHERE {filter} ORDER BY id DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt
        .query_map(
            params![actor, q.action, q.since, q.limit as i64, q.offset as i64],
            |r| {
                Ok(AuditRow {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    before: r.get(5)?,
                    after: r.get(6)?,
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok((rows, total as usize))
}

/// The actions the trail holds, for the filter.
pub fn actions(conn: &Connection) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT action FROM audit_log ORDER BY action")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes entries older than `before` (unix seconds); how many went.
pub fn prune(conn: &Connection, before: i64) -> Result<usize, DbError> {
    Ok(conn.execute("DELETE FROM audit_log WHERE at < ?1", [before])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_page_newest_first_and_prunes_by_age_only() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut c).unwrap();
        for (at, actor, action) in [
            (100, "ada@example.org", "person.create"),
            (200, "cli (opal)", "access.set"),
            (300, "ada@example.org", "access.set"),
        ] {
            let e = NewEntry {
                actor,
                action,
                ..NewEntry::default()
            };
            insert(&c, at, &e).unwrap();
        }
        let all = |q: AuditQuery| list(&c, &AuditQuery { limit: 10, ..q }).unwrap();
        let (rows, total) = all(AuditQuery::default());
        assert_eq!(total, 3);
        assert_eq!(rows[0].at, 300, "newest first");
        let (rows, _) = all(AuditQuery {
            actor: Some("CLI".into()),
            ..AuditQuery::default()
        });
        assert_eq!(rows.len(), 1);
        let (_, n) = all(AuditQuery {
            action: Some("access.set".into()),
            since: Some(250),
            ..AuditQuery::default()
        });
        assert_eq!(n, 1);
        assert_eq!(actions(&c).unwrap(), ["access.set", "person.create"]);
        assert_eq!(prune(&c, 200).unwrap(), 1);
        assert_eq!(all(AuditQuery::default()).1, 2);
    }
}
