//! The `meta` table: small named values (session key, setup link, drift reports, outages).
//!
//! Every read and write of `meta` goes through here.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;

/// A `meta` value.
pub fn get(conn: &Connection, key: &str) -> Result<Option<String>, DbError> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Sets a `meta` value.
pub fn set(conn: &Connection, key: &str, value: &str) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Deletes a `meta` key when it still holds `value`; whether it did (single use).
pub fn take(conn: &Connection, key: &str, value: &str) -> Result<bool, DbError> {
    Ok(conn.execute(
        "DELETE FROM meta WHERE key = ?1 AND value = ?2",
        params![key, value],
    )? == 1)
}

/// Deletes a `meta` key.
pub fn delete(conn: &Connection, key: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}

/// Sets a `meta` value unless one is there already; whether this call set it.
pub fn set_if_absent(conn: &Connection, key: &str, value: &str) -> Result<bool, DbError> {
    Ok(conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
        params![key, value],
    )? == 1)
}

/// Every `meta` value whose key starts with `prefix`, with the rest of the key.
pub fn with_prefix(conn: &Connection, prefix: &str) -> Result<Vec<(String, String)>, DbError> {
    let mut stmt =
        conn.prepare_cached("SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1")?;
    let rows = stmt.query_map([prefix], |r| {
        let key: String = r.get(0)?;
        Ok((key[prefix.len().min(key.len())..].to_owned(), r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
