//! One-time sign-in links (`sign_in_links`): invitations and reset links that let a
//! person set their password. Only the SHA-256 of a token is stored.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::DbError;
use super::columns::RowExt;

/// What is stored of a token.
pub fn hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Stores a new link of `user`, valid until `expires_at`.
pub fn create(
    conn: &Connection,
    user: Uuid,
    token: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO sign_in_links (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![hash(token), user.to_string(), now, expires_at],
    )?;
    Ok(())
}

/// The person of a live link (unused, unexpired), without using it.
pub fn peek(conn: &Connection, token: &str, now: i64) -> Result<Option<Uuid>, DbError> {
    Ok(conn
        .prepare_cached("SELECT user_id FROM sign_in_links WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2")?
        .query_row(
            params![hash(token), now],
            |r| r.typed(0, "sign_in_links"),
        )
        .optional()?)
}

/// Uses a live link: its person, once; `None` for a link used, expired or ended.
pub fn take(conn: &Connection, token: &str, now: i64) -> Result<Option<Uuid>, DbError> {
    Ok(conn
        .prepare_cached(
            "UPDATE sign_in_links SET used_at = ?2
             WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2
             RETURNING user_id",
        )?
        .query_row(params![hash(token), now], |r| r.typed(0, "sign_in_links"))
        .optional()?)
}

/// Ends every live link of `user` (their password or dashboard access changed).
pub fn end_all_of(conn: &Connection, user: Uuid) -> Result<usize, DbError> {
    Ok(conn.execute(
        "DELETE FROM sign_in_links WHERE user_id = ?1 AND used_at IS NULL",
        [user.to_string()],
    )?)
}

/// Deletes one link, used or not (its email was never sent).
pub fn withdraw(conn: &Connection, token: &str) -> Result<usize, DbError> {
    Ok(conn.execute(
        "DELETE FROM sign_in_links WHERE token_hash = ?1",
        [hash(token)],
    )?)
}
