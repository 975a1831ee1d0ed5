//! The collation sort keys stored beside each person's name and email
//! (`users.name_key`, `users.email_key`), which the people list orders by.

use rusqlite::{Connection, params};

use super::{DbError, meta};
use crate::domain::{COLLATION_VERSION, sort_key};

const META_KEY: &str = "collation_version";

/// The keys of a name and an email.
pub fn keys(name: &str, email: &str) -> Result<(Vec<u8>, Vec<u8>), DbError> {
    Ok((sort_key(name)?, sort_key(&email.to_lowercase())?))
}

/// Rewrites every stored key when they were made with another collation (or
/// none: the migration that added them); one transaction, at start.
pub fn refresh(conn: &mut Connection) -> Result<usize, DbError> {
    if meta::get(conn, META_KEY)?.as_deref() == Some(COLLATION_VERSION) {
        return Ok(0);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let people: Vec<(String, String, String)> = tx
        .prepare("SELECT id, name, email FROM users")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    {
        let mut update =
            tx.prepare("UPDATE users SET name_key = ?1, email_key = ?2 WHERE id = ?3")?;
        for (id, name, email) in &people {
            let (name_key, email_key) = keys(name, email)?;
            update.execute(params![name_key, email_key, id])?;
        }
    }
    meta::set(&tx, META_KEY, COLLATION_VERSION)?;
    tx.commit()?;
    Ok(people.len())
}
