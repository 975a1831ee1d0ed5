//! The TOTP second factor (`totp`) and recovery codes (`recovery_codes`) of the people
//! who sign in.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::DbError;

/// A person's TOTP record.
#[derive(Clone)]
pub struct Totp {
    /// The base32 secret (never shown after enrolment, never logged).
    pub secret: String,
    /// Whether a code confirmed it (only then is it asked at sign-in).
    pub confirmed: bool,
}

/// The TOTP record of `user`, if any.
pub fn totp(conn: &Connection, user: Uuid) -> Result<Option<Totp>, DbError> {
    Ok(conn
        .prepare_cached("SELECT secret, confirmed_at IS NOT NULL FROM totp WHERE user_id = ?1")?
        .query_row([user.to_string()], |r| {
            Ok(Totp {
                secret: r.get(0)?,
                confirmed: r.get(1)?,
            })
        })
        .optional()?)
}

/// Whether `user` has a confirmed second factor: a confirmed TOTP or a passkey.
pub fn enrolled(conn: &Connection, user: Uuid) -> Result<bool, DbError> {
    Ok(totp_on(conn, user)? || super::passkeys::count(conn, user)? > 0)
}

/// Whether `user` has a confirmed TOTP (then codes are asked, and the app cannot be
/// set up again until a reset).
pub fn totp_on(conn: &Connection, user: Uuid) -> Result<bool, DbError> {
    Ok(totp(conn, user)?.is_some_and(|t| t.confirmed))
}

/// Starts an enrolment with a new secret, replacing one not yet confirmed; `false`
/// when a confirmed one is on (it is reset first, on the command line).
pub fn begin(conn: &Connection, user: Uuid, secret: &str, now: i64) -> Result<bool, DbError> {
    if totp_on(conn, user)? {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO totp (user_id, secret, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0",
        params![user.to_string(), secret, now],
    )?;
    Ok(true)
}

/// Takes the code of time step `step`: `true` once per step and only for a later step
/// than the last one taken, so a code seen (or used) cannot be used again.
pub fn take_step(
    conn: &Connection,
    user: Uuid,
    step: i64,
    confirmed: bool,
) -> Result<bool, DbError> {
    let sql = if confirmed {
        "UPDATE totp SET last_step = ?2 WHERE user_id = ?1 AND last_step < ?2 AND confirmed_at IS NOT NULL"
    } else {
        "UPDATE totp SET last_step = ?2 WHERE user_id = ?1 AND last_step < ?2 AND confirmed_at IS NULL"
    };
    Ok(conn.execute(sql, params![user.to_string(), step])? == 1)
}

/// Turns an enrolment on, with fresh recovery codes (their hashes).
pub fn confirm(conn: &Connection, user: Uuid, hashes: &[String], now: i64) -> Result<(), DbError> {
    conn.execute(
        "UPDATE totp SET confirmed_at = ?2 WHERE user_id = ?1",
        params![user.to_string(), now],
    )?;
    conn.execute(
        "DELETE FROM recovery_codes WHERE user_id = ?1",
        [user.to_string()],
    )?;
    let mut insert =
        conn.prepare_cached("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)")?;
    for h in hashes {
        insert.execute(params![user.to_string(), h])?;
    }
    Ok(())
}

/// Uses a recovery code (by hash): `true` once, the first time.
pub fn use_recovery(conn: &Connection, user: Uuid, hash: &str, now: i64) -> Result<bool, DbError> {
    Ok(conn.execute(
        "UPDATE recovery_codes SET used_at = ?3 WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
        params![user.to_string(), hash, now],
    )? == 1)
}

/// How many unused recovery codes `user` has.
pub fn recovery_left(conn: &Connection, user: Uuid) -> Result<i64, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
        )?
        .query_row([user.to_string()], |r| r.get(0))?)
}

/// Removes `user`'s TOTP and recovery codes; whether a TOTP was on.
pub fn reset(conn: &Connection, user: Uuid) -> Result<bool, DbError> {
    let was = totp_on(conn, user)?;
    conn.execute("DELETE FROM totp WHERE user_id = ?1", [user.to_string()])?;
    conn.execute(
        "DELETE FROM recovery_codes WHERE user_id = ?1",
        [user.to_string()],
    )?;
    Ok(was)
}
