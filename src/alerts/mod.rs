//! Alerts: tells admins, by webhook and email, about conditions that need them: pairs
//! that became `failed`, drift, a held-back identity sync, a quarantined app, a tripped
//! revocation guard; once each, and again when resolved.
//!
//! It sits beside provisioning and below nothing but `app/` and `cli/`: it reads state
//! (`db::alerts`, the pairs) and sends messages. The layers below only write conditions
//! with `db::alerts::raise`/`resolve` in their own transactions; they never wait on a
//! channel. The task (`watch.rs`) runs on its own; a channel that fails is logged and
//! tried again later, its messages kept in the database meanwhile.

mod compose;
mod email;
mod watch;
mod webhook;

pub use watch::{Alerts, spawn};

use std::time::Duration;

use crate::db::alerts::Message;
use crate::db::time;
use crate::settings::Settings;

/// How long one delivery may take before it counts as failed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a channel did not take a message; the text never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendError(String);

impl SendError {
    /// The message, with each of `secrets` blanked out should a library have quoted it.
    fn new(text: String, secrets: &[&str]) -> SendError {
        let mut text = text;
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            text = text.replace(s, "[redacted]");
            // A URL's path and query are where webhook tokens live.
            if let Ok(u) = url::Url::parse(s) {
                let path = u.path();
                let parts = [(path.len() > 1).then_some(path), u.query()];
                for part in parts.into_iter().flatten() {
                    text = text.replace(part, "[redacted]");
                }
            }
        }
        SendError(text)
    }
}

/// One configured channel.
pub enum Channel {
    /// `[alerts] webhook_url`.
    Webhook(webhook::Webhook),
    /// `[alerts] smtp_url`.
    Email(Box<email::Email>),
}

impl Channel {
    /// Its name in logs, the outbox and `alerts test`.
    pub fn name(&self) -> &'static str {
        match self {
            Channel::Webhook(_) => "webhook",
            Channel::Email(_) => "email",
        }
    }

    /// Sends one message within [`SEND_TIMEOUT`].
    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        let sending = async {
            match self {
                Channel::Webhook(w) => w.send(message).await,
                Channel::Email(e) => e.send(message).await,
            }
        };
        match tokio::time::timeout(SEND_TIMEOUT, sending).await {
            Ok(result) => result,
            Err(_) => Err(SendError(format!(
                "no answer within {} s",
                SEND_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// Every channel name, configured or not.
pub const CHANNEL_NAMES: [&str; 2] = ["webhook", "email"];

/// The channels `[alerts]` configures.
pub fn channels(settings: &Settings) -> Result<Vec<Channel>, String> {
    let mut out = Vec::new();
    if let Some(url) = &settings.alerts.webhook_url {
        out.push(Channel::Webhook(webhook::Webhook::new(
            url.clone(),
            settings.alerts.webhook_format,
            SEND_TIMEOUT,
        )?));
    }
    if let Some(e) = email::Email::new(&settings.alerts, SEND_TIMEOUT)? {
        out.push(Channel::Email(Box::new(e)));
    }
    Ok(out)
}

/// `accessboard alerts test`: one test message to each channel, and how each went.
pub async fn test(
    settings: &Settings,
) -> Result<Vec<(&'static str, Result<(), SendError>)>, String> {
    let message = compose::test(settings, time::now());
    let mut results = Vec::new();
    for channel in channels(settings)? {
        let outcome = channel.send(&message).await;
        results.push((channel.name(), outcome));
    }
    Ok(results)
}

#[cfg(test)]
mod tests;
