//! `unmanaged_accounts`: the accounts of an app an admin chose to leave alone.

use std::collections::HashSet;

use rusqlite::{Connection, params};

use super::DbError;

/// The ids of `app`'s unmanaged accounts.
pub fn ids(conn: &Connection, app: &str) -> Result<HashSet<String>, DbError> {
    let mut stmt =
        conn.prepare_cached("SELECT scim_id FROM unmanaged_accounts WHERE app_slug = ?1")?;
    let rows = stmt.query_map([app], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many accounts of `app` are unmanaged.
pub fn count(conn: &Connection, app: &str) -> Result<i64, DbError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM unmanaged_accounts WHERE app_slug = ?1",
        [app],
        |r| r.get(0),
    )?)
}

/// Remembers one account as unmanaged; whether it was not already.
pub fn insert(
    conn: &Connection,
    app: &str,
    scim_id: &str,
    user_name: &str,
    by: &str,
    at: i64,
) -> Result<bool, DbError> {
    Ok(conn.execute(
        "INSERT INTO unmanaged_accounts (app_slug, scim_id, user_name, noted_by, noted_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        params![app, scim_id, user_name, by, at],
    )? == 1)
}

/// Forgets one account (it was linked); whether it was unmanaged.
pub fn remove(conn: &Connection, app: &str, scim_id: &str) -> Result<bool, DbError> {
    Ok(conn.execute(
        "DELETE FROM unmanaged_accounts WHERE app_slug = ?1 AND scim_id = ?2",
        params![app, scim_id],
    )? == 1)
}
