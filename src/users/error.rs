//! What went wrong with a change, as the service says it.

use uuid::Uuid;

use crate::db::DbError;
use crate::identity::IdentityError;

/// What went wrong with a change; mapped to pages and exit codes at the edge.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("no user with email {0}")]
    UnknownUser(String),
    #[error("no user with id {0}")]
    UnknownUserId(Uuid),
    #[error("a user with email {0} already exists")]
    EmailTaken(String),
    #[error("{0} is still being removed from its apps; try again once that has finished")]
    BeingRemoved(String),
    #[error("no app {0:?} in the catalogue; the apps are listed in settings.toml")]
    UnknownApp(String),
    #[error("no group named {0:?}")]
    UnknownGroup(String),
    #[error("no group with id {0}")]
    UnknownGroupId(Uuid),
    #[error("a group named {0:?} already exists (names are compared ignoring case)")]
    GroupNameTaken(String),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "{0} was changed by someone else meanwhile; nothing was saved: check the form and save again"
    )]
    ChangedMeanwhile(String),
    #[error(
        "the email to {to} could not be sent ({reason}); its link was withdrawn, so nothing was left valid"
    )]
    NotSent { to: String, reason: String },
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for ServiceError {
    fn from(e: rusqlite::Error) -> Self {
        ServiceError::Db(DbError::Sqlite(e))
    }
}

impl ServiceError {
    /// Whether the caller asked for something wrong (as opposed to a failure).
    pub fn is_usage(&self) -> bool {
        match self {
            ServiceError::Db(_) | ServiceError::NotSent { .. } => false,
            ServiceError::Identity(e) => matches!(e, IdentityError::Conflict(_)),
            _ => true,
        }
    }
}
