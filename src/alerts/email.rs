//! Sending an alert by email over SMTP: STARTTLS (`smtp://`) or TLS (`smtps://`), through
//! the same rustls as the rest of accessboard; in clear only with `smtp_tls = "none"`.

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
        let builder = if server.plain {
            if !is_local(&server.host, server.port) {
                tracing::warn!(
                    host = %server.host,
                    "alerts.smtp_tls = \"none\": alert emails go in clear to a host that is not on loopback or a private network"
                );
            }
            Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &server.host,
            ))
        } else if server.implicit_tls {
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

/// True when every address of `host` is on loopback or a private network (RFC 1918, IPv6
/// unique local, link-local): where a relay without TLS is a reasonable choice. A name
/// that does not resolve counts as not local.
fn is_local(host: &str, port: u16) -> bool {
    use std::net::{IpAddr, ToSocketAddrs};
    let local = |ip: IpAddr| match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return local(ip);
    }
    // Once, when the channel is set up: a name (a container's) is resolved to judge it.
    match (host, port).to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| local(a.ip()))
        }
        Err(_) => false,
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

#[cfg(test)]
mod tests {
    use super::is_local;

    #[test]
    fn loopback_and_private_addresses_are_local_and_public_ones_not() {
        for host in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.25",
            "::1",
            "fd00::25",
            "localhost",
        ] {
            assert!(is_local(host, 25), "{host}");
        }
        for host in ["203.0.113.5", "2001:db8::25", "8.8.8.8"] {
            assert!(!is_local(host, 25), "{host}");
        }
    }
}
