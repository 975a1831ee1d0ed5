//! Where people's identities live: accessboard's own database, or Ory Kratos.
//!
//! With Kratos, accessboard keeps a mirror of each identity (keyed by the
//! Kratos id) next to the access and provisioning state, so lists and pages
//! never wait on Kratos. Changes made here go to Kratos first; changes made in
//! Kratos come back through the periodic identity sync; and every reconcile
//! reads the current name and email from Kratos itself.

mod kratos;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use uuid::Uuid;

use crate::db::{DbError, meta};
use crate::domain::{Email, PersonName};
use crate::settings::{IdentityBackend, Settings};

pub use kratos::Kratos;

/// An identity as the identity source holds it; traits not yet validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteIdentity {
    /// The source's id, which is also accessboard's user id.
    pub id: Uuid,
    /// The `email` trait.
    pub email: String,
    /// The `name` trait, as one string.
    pub name: String,
}

/// Why the identity source could not do something.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IdentityError {
    /// No answer, a timeout, or a 5xx: worth retrying.
    #[error("Kratos is unreachable: {0}")]
    Unreachable(String),
    /// Kratos already has an identity with this email.
    #[error("Kratos already has an identity with the email {0}")]
    Conflict(String),
    /// Kratos refused the request.
    #[error("Kratos refused the request ({status}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Kratos' own explanation.
        message: String,
    },
    /// An answer accessboard could not read.
    #[error("Kratos sent an answer accessboard cannot read: {0}")]
    Malformed(String),
}

impl IdentityError {
    /// Whether trying again later may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, IdentityError::Unreachable(_))
    }
}

/// A boxed future, so the store can sit behind `dyn`.
pub type IdentityFuture<'a, T> = BoxFuture<'a, Result<T, IdentityError>>;

/// Where identities are created, changed, deleted and read.
pub trait IdentityStore: Send + Sync {
    /// Whether identities live outside accessboard (which then keeps a mirror).
    fn is_remote(&self) -> bool;
    /// Creates an identity; returns its id.
    fn create<'a>(&'a self, email: &'a Email, name: &'a PersonName) -> IdentityFuture<'a, Uuid>;
    /// Changes an identity's email and name.
    fn update<'a>(
        &'a self,
        id: Uuid,
        email: &'a Email,
        name: &'a PersonName,
    ) -> IdentityFuture<'a, ()>;
    /// Deletes an identity; one that is already gone is fine.
    fn delete(&self, id: Uuid) -> IdentityFuture<'_, ()>;
    /// Reads one identity; `None` when it does not exist.
    fn get(&self, id: Uuid) -> IdentityFuture<'_, Option<RemoteIdentity>>;
    /// Every identity, across all pages.
    fn list(&self) -> IdentityFuture<'_, Vec<RemoteIdentity>>;
    /// A link the person can use to set their password, to hand over once.
    fn recovery_link(&self, id: Uuid) -> IdentityFuture<'_, Option<String>>;
}

/// People live in accessboard's own database: nothing to call.
#[derive(Debug, Default)]
pub struct LocalIdentities;

impl IdentityStore for LocalIdentities {
    fn is_remote(&self) -> bool {
        false
    }
    fn create<'a>(&'a self, _: &'a Email, _: &'a PersonName) -> IdentityFuture<'a, Uuid> {
        Box::pin(async { Ok(Uuid::new_v4()) })
    }
    fn update<'a>(&'a self, _: Uuid, _: &'a Email, _: &'a PersonName) -> IdentityFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
    fn delete(&self, _: Uuid) -> IdentityFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
    fn get(&self, _: Uuid) -> IdentityFuture<'_, Option<RemoteIdentity>> {
        Box::pin(async { Ok(None) })
    }
    fn list(&self) -> IdentityFuture<'_, Vec<RemoteIdentity>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn recovery_link(&self, _: Uuid) -> IdentityFuture<'_, Option<String>> {
        Box::pin(async { Ok(None) })
    }
}

/// The identity store the settings ask for.
pub fn open(settings: &Settings) -> Result<Arc<dyn IdentityStore>, IdentityError> {
    match settings.identity.backend {
        IdentityBackend::Local => Ok(Arc::new(LocalIdentities)),
        IdentityBackend::Kratos => Ok(Arc::new(Kratos::new(
            &settings.identity,
            Duration::from_secs(settings.provisioning.request_timeout_secs),
        )?)),
    }
}

/// The `meta` key under which an identity-source outage is recorded for the pages.
const OUTAGE_KEY: &str = "identity.outage";

/// Records that the identity source cannot be reached (kept from its first failure).
pub fn record_outage(conn: &rusqlite::Connection, message: &str, now: i64) -> Result<(), DbError> {
    let since = outage(conn)?.map(|(since, _)| since).unwrap_or(now);
    meta::set(conn, OUTAGE_KEY, &format!("{since}|{message}"))
}

/// Clears a recorded outage.
pub fn clear_outage(conn: &rusqlite::Connection) -> Result<(), DbError> {
    meta::delete(conn, OUTAGE_KEY)
}

/// The recorded outage, if any: since when (unix seconds) and why.
pub fn outage(conn: &rusqlite::Connection) -> Result<Option<(i64, String)>, DbError> {
    Ok(meta::get(conn, OUTAGE_KEY)?.and_then(|v| {
        let (since, message) = v.split_once('|')?;
        Some((since.parse().ok()?, message.to_owned()))
    }))
}
