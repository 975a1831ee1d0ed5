//! Sending an alert by email over SMTP: STARTTLS (`smtp://`) or TLS (`smtps://`), always
//! encrypted, through the same rustls as the rest of accessboard.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::SendError;
use crate::db::alerts::Message;
use crate::secret::Secret;
use crate::settings::AlertSettings;

/// An SMTP channel.
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    password: Option<Secret>,
}

impl Email {
    /// The channel of `[alerts] smtp_url`, if set; `timeout` bounds each SMTP command.
    pub fn new(settings: &AlertSettings, timeout: Duration) -> Result<Option<Email>, String> {
        let Some(server) = &settings.smtp else {
            return Ok(None);
        };
        let builder = if server.implicit_tls {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&server.host)
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&server.host)
        }
        .map_err(|e| format!("cannot set up TLS for the SMTP server: {e}"))?;
        let mut builder = builder.port(server.port).timeout(Some(timeout));
        if let (Some(user), Some(password)) = (&server.user, &settings.smtp_password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        let parse = |a: &str| {
            a.parse::<Mailbox>()
                .map_err(|_| format!("{a:?} is not an email address"))
        };
        let from = parse(settings.from.as_deref().unwrap_or_default())?;
        let to = settings
            .to
            .0
            .iter()
            .map(|a| parse(a))
            .collect::<Result<_, _>>()?;
        Ok(Some(Email {
            transport: builder.build(),
            from,
            to,
            password: settings.smtp_password.clone(),
        }))
    }

    /// Sends `message` to every recipient in one email.
    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .subject(format!("[accessboard] {}", message.title))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let email = builder
            .body(message.body.clone())
            .map_err(|e| SendError::new(format!("cannot build the email: {e}"), &[]))?;
        let secrets: Vec<&str> = self.password.iter().map(Secret::expose).collect();
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| SendError::new(describe(&e), &secrets))
    }
}

/// What went wrong, with the server's own words where it gave some.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
