//! A person's passkeys (`passkeys`) and the WebAuthn ceremonies in progress
//! (`passkey_ceremonies`). The bytes are webauthn_rp's encodings; this module only
//! stores them.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::DbError;

/// One stored passkey, as the check at sign-in needs it.
pub struct StoredPasskey {
    /// The credential id the authenticator chose.
    pub credential_id: Vec<u8>,
    /// The name its owner gave it.
    pub name: String,
    /// The user handle it was registered with.
    pub user_handle: Vec<u8>,
    /// The public key (webauthn_rp's `StaticState`).
    pub public_key: Vec<u8>,
    /// The authenticator's state (webauthn_rp's `DynamicState`).
    pub state: Vec<u8>,
    /// The signature counter last seen.
    pub sign_count: i64,
    /// How the authenticator is reached (webauthn_rp's `AuthTransports`).
    pub transports: u8,
}

/// A passkey as its owner's page lists it.
pub struct Listed {
    /// The credential id (the page's handle to remove it).
    pub credential_id: Vec<u8>,
    /// The name its owner gave it.
    pub name: String,
    /// When it was registered (unix seconds).
    pub created_at: i64,
    /// When it last signed in or confirmed a change, if ever.
    pub last_used_at: Option<i64>,
}

/// A new passkey, as the registration check made it.
pub struct NewPasskey {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The user handle.
    pub user_handle: Vec<u8>,
    /// The public key.
    pub public_key: Vec<u8>,
    /// The authenticator's state.
    pub state: Vec<u8>,
    /// The counter it started with.
    pub sign_count: i64,
    /// Its transports.
    pub transports: u8,
}

/// Every passkey of `user`, with the bytes the checks need, oldest first.
pub fn of_user(conn: &Connection, user: Uuid) -> Result<Vec<StoredPasskey>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT credential_id, name, user_handle, public_key, state, sign_count, transports
         FROM passkeys WHERE user_id = ?1 ORDER BY created_at, rowid",
    )?;
    let rows = stmt.query_map([user.to_string()], |r| {
        Ok(StoredPasskey {
            credential_id: r.get(0)?,
            name: r.get(1)?,
            user_handle: r.get(2)?,
            public_key: r.get(3)?,
            state: r.get(4)?,
            sign_count: r.get(5)?,
            transports: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `user`'s passkeys for their page, oldest first.
pub fn list(conn: &Connection, user: Uuid) -> Result<Vec<Listed>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT credential_id, name, created_at, last_used_at
         FROM passkeys WHERE user_id = ?1 ORDER BY created_at, rowid",
    )?;
    let rows = stmt.query_map([user.to_string()], |r| {
        Ok(Listed {
            credential_id: r.get(0)?,
            name: r.get(1)?,
            created_at: r.get(2)?,
            last_used_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many passkeys `user` has.
pub fn count(conn: &Connection, user: Uuid) -> Result<i64, DbError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM passkeys WHERE user_id = ?1")?
        .query_row([user.to_string()], |r| r.get(0))?)
}

/// The user handle of `user`'s passkeys, if they have one.
pub fn user_handle(conn: &Connection, user: Uuid) -> Result<Option<Vec<u8>>, DbError> {
    Ok(conn
        .prepare_cached("SELECT user_handle FROM passkeys WHERE user_id = ?1 LIMIT 1")?
        .query_row([user.to_string()], |r| r.get(0))
        .optional()?)
}

/// Stores a new passkey of `user`; `false` when that credential id is already stored.
pub fn insert(
    conn: &Connection,
    user: Uuid,
    name: &str,
    p: &NewPasskey,
    now: i64,
) -> Result<bool, DbError> {
    Ok(conn.execute(
        "INSERT INTO passkeys (credential_id, user_id, name, user_handle, public_key, state,
                               sign_count, transports, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
        params![
            p.credential_id,
            user.to_string(),
            name,
            p.user_handle,
            p.public_key,
            p.state,
            p.sign_count,
            p.transports,
            now
        ],
    )? == 1)
}

/// Records a use: the authenticator's new state and counter, and when.
pub fn used(
    conn: &Connection,
    credential_id: &[u8],
    state: &[u8],
    sign_count: i64,
    now: i64,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE passkeys SET state = ?2, sign_count = ?3, last_used_at = ?4 WHERE credential_id = ?1",
        params![credential_id, state, sign_count, now],
    )?;
    Ok(())
}

/// Removes one of `user`'s passkeys; its name when there was one.
pub fn remove(
    conn: &Connection,
    user: Uuid,
    credential_id: &[u8],
) -> Result<Option<String>, DbError> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM passkeys WHERE user_id = ?1 AND credential_id = ?2 RETURNING name",
        )?
        .query_row(params![user.to_string(), credential_id], |r| r.get(0))
        .optional()?)
}

/// Removes all of `user`'s passkeys and ceremonies; how many passkeys there were.
pub fn remove_all(conn: &Connection, user: Uuid) -> Result<usize, DbError> {
    conn.execute(
        "DELETE FROM passkey_ceremonies WHERE user_id = ?1",
        [user.to_string()],
    )?;
    Ok(conn.execute(
        "DELETE FROM passkeys WHERE user_id = ?1",
        [user.to_string()],
    )?)
}

/// A ceremony's purpose, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Registering a new passkey.
    Register,
    /// The second step of sign-in.
    SignIn,
    /// Re-authentication for a sensitive change.
    Reauth,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign_in",
            Purpose::Reauth => "reauth",
        }
    }
}

/// A ceremony begun: the server state of its challenge, for one person and purpose.
pub struct Ceremony<'a> {
    /// Its id (random, kept in the browser's signed session).
    pub id: &'a str,
    /// Whose it is.
    pub user: Uuid,
    /// What it is for.
    pub purpose: Purpose,
    /// The name of the passkey being registered.
    pub name: Option<&'a str>,
    /// webauthn_rp's encoded server state.
    pub state: &'a [u8],
    /// When it ends (unix seconds).
    pub expires_at: i64,
}

/// A ceremony taken: its server state and the name of the passkey being registered.
pub struct Taken {
    /// webauthn_rp's encoded server state.
    pub state: Vec<u8>,
    /// The name of the passkey being registered.
    pub name: Option<String>,
}

/// Stores a ceremony (expired ones are dropped on the way).
pub fn ceremony_put(conn: &Connection, c: &Ceremony<'_>, now: i64) -> Result<(), DbError> {
    conn.execute(
        "DELETE FROM passkey_ceremonies WHERE expires_at <= ?1",
        [now],
    )?;
    conn.execute(
        "INSERT INTO passkey_ceremonies (id, user_id, purpose, name, state, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            c.id,
            c.user.to_string(),
            c.purpose.as_str(),
            c.name,
            c.state,
            c.expires_at
        ],
    )?;
    Ok(())
}

/// Takes a ceremony once, when it exists for this person and purpose and has not
/// expired. Taken or not, it is gone afterwards.
pub fn ceremony_take(
    conn: &Connection,
    id: &str,
    user: Uuid,
    purpose: Purpose,
    now: i64,
) -> Result<Option<Taken>, DbError> {
    let found = conn
        .prepare_cached(
            "DELETE FROM passkey_ceremonies WHERE id = ?1
             RETURNING user_id = ?2 AND purpose = ?3 AND expires_at > ?4, state, name",
        )?
        .query_row(params![id, user.to_string(), purpose.as_str(), now], |r| {
            let valid: bool = r.get(0)?;
            let taken = Taken {
                state: r.get(1)?,
                name: r.get(2)?,
            };
            Ok(valid.then_some(taken))
        })
        .optional()?;
    Ok(found.flatten())
}
