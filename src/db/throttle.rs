//! The `login_throttle` table: failed sign-ins per key.

use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;

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
pub fn get(conn: &Connection, key: &str) -> Result<Option<Throttle>, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = ?1",
        )?
        .query_row([key], |r| {
            Ok(Throttle {
                failures: r.get(0)?,
                window_start: r.get(1)?,
                locked_until: r.get(2)?,
            })
        })
        .optional()?)
}

/// Stores the throttle record of a key; forgets records untouched since `stale_before`.
pub fn put(conn: &Connection, key: &str, t: Throttle, stale_before: i64) -> Result<(), DbError> {
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
pub fn clear(conn: &Connection, key: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM login_throttle WHERE key = ?1", [key])?;
    Ok(())
}
