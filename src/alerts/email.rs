//! Sending an alert by email: the SMTP server of `[alerts]` through [`crate::mail::Smtp`]
//! (the one SMTP stack), to every address of `[alerts] to` in one email.

use std::time::Duration;

use lettre::message::Mailbox;

use super::SendError;
use crate::db::alerts::Message;
use crate::mail::{Smtp, is_local};
use crate::settings::AlertSettings;

/// An SMTP channel.
pub struct Email {
    smtp: Smtp,
    to: Vec<Mailbox>,
}

impl Email {
    /// The channel of `[alerts] smtp_url`, if set; `timeout` bounds each SMTP command.
    pub fn new(settings: &AlertSettings, timeout: Duration) -> Result<Option<Email>, String> {
        let Some(smtp) = Smtp::new(settings, timeout)? else {
            return Ok(None);
        };
        if let Some(server) = settings.smtp.as_ref().filter(|s| s.plain)
            && !is_local(&server.host, server.port)
        {
            tracing::warn!(
                host = %server.host,
                "alerts.smtp_tls = \"none\": alert emails go in clear to a host that is not on loopback or a private network"
            );
        }
        let to = settings
            .to
            .0
            .iter()
            .map(|a| crate::mail::parse(a))
            .collect::<Result<_, _>>()?;
        Ok(Some(Email { smtp, to }))
    }

    /// Sends `message` to every recipient in one email.
    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        let subject = format!("[accessboard] {}", message.title);
        self.smtp
            .send_to(&self.to, &subject, &message.body)
            .await
            .map_err(|e| SendError::new(e.0, &[]))
    }
}
