//! Dashboard sign-in: the people who may sign in (viewers and admins) and their
//! sessions (`web_sessions`).

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::DbError;
use super::columns::RowExt;
use crate::domain::DashboardAccess;

/// Whether a dashboard admin who can sign in exists.
pub fn admin_exists(conn: &Connection) -> Result<bool, DbError> {
    Ok(conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE dashboard = 'admin' AND password_hash IS NOT NULL AND deleted_at IS NULL)")?.query_row(
        [],
        |r| r.get(0),
    )?)
}

/// The id and password hash of a viewer or admin who may sign in, by lower-cased email.
pub fn admin_login(conn: &Connection, email_norm: &str) -> Result<Option<(Uuid, String)>, DbError> {
    Ok(conn
        .prepare_cached("SELECT id, password_hash FROM users
             WHERE email_norm = ?1 AND dashboard IN ('viewer', 'admin') AND deleted_at IS NULL AND password_hash IS NOT NULL")?
        .query_row(
            [email_norm],
            |r| Ok((r.typed(0, "users")?, r.get(1)?)),
        )
        .optional()?)
}

/// The id of a viewer or admin, by lower-cased email, for a sign-in through the
/// provider of `[sso]`: no password needed here.
pub fn sso_login(conn: &Connection, email_norm: &str) -> Result<Option<Uuid>, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM users
             WHERE email_norm = ?1 AND dashboard IN ('viewer', 'admin') AND deleted_at IS NULL",
        )?
        .query_row([email_norm], |r| r.typed(0, "users"))
        .optional()?)
}

/// The password hash of a viewer or admin who may sign in, by id (re-authentication).
pub fn admin_password_hash(conn: &Connection, user: Uuid) -> Result<Option<String>, DbError> {
    Ok(conn
        .prepare_cached("SELECT password_hash FROM users
             WHERE id = ?1 AND dashboard IN ('viewer', 'admin') AND deleted_at IS NULL AND password_hash IS NOT NULL")?
        .query_row(
            [user.to_string()],
            |r| r.get(0),
        )
        .optional()?)
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
    /// Their dashboard access now: read with the session, so a lower level holds at once.
    pub level: DashboardAccess,
    /// Whether they have a confirmed second factor (a TOTP or a passkey).
    pub second_factor: bool,
    /// When the session was last used (unix seconds).
    pub last_seen_at: i64,
}

/// What is stored of a session id: its SHA-256, so a copy of the database (or a backup)
/// cannot be turned into a live cookie.
fn stored(sid: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(sid.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Stores a new session.
pub fn session_create(conn: &Connection, sid: &str, user: Uuid, now: i64) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO web_sessions (id, user_id, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
        params![stored(sid), user.to_string(), now],
    )?;
    Ok(())
}

/// Ends every session of `user` (password changed, admin rights lost, removed, or
/// "sign out everywhere"); how many there were.
pub fn end_all_of(conn: &Connection, user: Uuid) -> Result<usize, DbError> {
    Ok(conn.execute(
        "DELETE FROM web_sessions WHERE user_id = ?1",
        [user.to_string()],
    )?)
}

/// The person of a live session: created after `created_after`, used after `seen_after`,
/// and still a viewer or admin. No password is asked of them here: a session exists only
/// after a sign-in, by password or through the provider of `[sso]`.
pub fn session_admin(
    conn: &Connection,
    sid: &str,
    created_after: i64,
    seen_after: i64,
) -> Result<Option<SessionAdmin>, DbError> {
    Ok(conn
        .prepare_cached("SELECT u.id, u.email, u.name, s.last_seen_at, u.dashboard,
                    EXISTS (SELECT 1 FROM totp t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)
                    OR EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id)
             FROM web_sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = ?1 AND s.created_at > ?2 AND s.last_seen_at > ?3
               AND u.dashboard IN ('viewer', 'admin') AND u.deleted_at IS NULL")?
        .query_row(
            params![stored(sid), created_after, seen_after],
            |r| {
                Ok(SessionAdmin {
                    id: r.typed(0, "users")?,
                    email: r.get(1)?,
                    name: r.get(2)?,
                    last_seen_at: r.get(3)?,
                    level: r.typed(4, "users")?,
                    second_factor: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// Marks a session as used now.
pub fn session_touch(conn: &Connection, sid: &str, now: i64) -> Result<(), DbError> {
    conn.execute(
        "UPDATE web_sessions SET last_seen_at = ?2 WHERE id = ?1",
        params![stored(sid), now],
    )?;
    Ok(())
}

/// Ends a session; also drops sessions idle since before `stale_before`.
pub fn session_delete(conn: &Connection, sid: &str, stale_before: i64) -> Result<(), DbError> {
    conn.execute(
        "DELETE FROM web_sessions WHERE id = ?1 OR last_seen_at < ?2",
        params![stored(sid), stale_before],
    )?;
    Ok(())
}
