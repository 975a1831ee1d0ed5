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
    Ok(conn
        .prepare_cached("SELECT count(*) FROM unmanaged_accounts WHERE app_slug = ?1")?
        .query_row([app], |r| r.get(0))?)
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

/// Forgets these accounts of `app` as unmanaged, in one statement (they are linked now).
pub fn remove_many(conn: &Connection, app: &str, scim_ids: &[&str]) -> Result<usize, DbError> {
    if scim_ids.is_empty() {
        return Ok(0);
    }
    Ok(conn
        .prepare_cached(
            "DELETE FROM unmanaged_accounts
              WHERE app_slug = ?1 AND scim_id IN (SELECT value FROM json_each(?2))",
        )?
        .execute(params![
            app,
            serde_json::Value::from(scim_ids.to_vec()).to_string()
        ])?)
}

/// A digest of what discovery classifies against (everyone here, `app`'s pairs and its
/// unmanaged accounts): a plan made against another state is refused.
pub fn stamp(conn: &Connection, app: &str) -> Result<String, DbError> {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    let mut stmt = conn.prepare_cached(
        "SELECT u.id, u.email_norm, u.deleted_at IS NOT NULL, coalesce(a.role, 'none'),
                coalesce(a.scim_id, '-')
         FROM users u LEFT JOIN app_access a ON a.user_id = u.id AND a.app_slug = ?1
         ORDER BY u.id",
    )?;
    let mut rows = stmt.query([app])?;
    while let Some(r) = rows.next()? {
        for i in 0..5 {
            let part = match r.get_ref(i)? {
                rusqlite::types::ValueRef::Text(t) => t.to_vec(),
                rusqlite::types::ValueRef::Integer(n) => n.to_string().into_bytes(),
                _ => Vec::new(),
            };
            digest.update(&part);
            digest.update([0]);
        }
    }
    let mut ids: Vec<String> = ids(conn, app)?.into_iter().collect();
    ids.sort();
    for id in ids {
        digest.update(b"u");
        digest.update(id.as_bytes());
        digest.update([0]);
    }
    Ok(digest
        .finalize()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect())
}
