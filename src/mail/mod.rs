//! Email to one person (an invitation, a reset link) through the SMTP server of
//! `[alerts] smtp_url`: the one SMTP stack, which the alerts' email channel also uses.
//! The service holds a [`Mailer`] built once by `App::open`; nothing above it knows SMTP.

mod smtp;

use futures::future::BoxFuture;

pub use smtp::{Smtp, is_local, parse};

/// How long one email may take before it counts as not sent.
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// One plain-text email to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// Why an email was not sent: one line that never holds the SMTP password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MailError(pub String);

/// Sends email; behind `dyn` so the service needs no SMTP of its own.
pub trait Mailer: Send + Sync {
    /// Sends `mail` within [`SEND_TIMEOUT`].
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>>;
}
