//! SMTP over STARTTLS (`smtp://`) or TLS (`smtps://`), through the same rustls as the
//! rest of accessboard; in clear only with `smtp_tls = "none"`.

use std::time::Duration;

use futures::future::BoxFuture;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{Mail, MailError, Mailer, SEND_TIMEOUT};
use crate::secret::Secret;
use crate::settings::AlertSettings;

/// The SMTP server of `[alerts]`, with its sender.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    password: Option<Secret>,
}

impl Smtp {
    /// The server of `[alerts] smtp_url`, if set; `timeout` bounds each SMTP command.
    /// Nothing is sent or resolved here.
    pub fn new(settings: &AlertSettings, timeout: Duration) -> Result<Option<Smtp>, String> {
        let Some(server) = &settings.smtp else {
            return Ok(None);
        };
        let builder = if server.plain {
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
        let from = parse(settings.from.as_deref().unwrap_or_default())?;
        Ok(Some(Smtp {
            transport: builder.build(),
            from,
            password: settings.smtp_password.clone(),
        }))
    }

    /// Sends one plain-text email to every address of `to`.
    pub async fn send_to(
        &self,
        to: &[Mailbox],
        subject: &str,
        body: &str,
    ) -> Result<(), MailError> {
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for to in to {
            builder = builder.to(to.clone());
        }
        let email = builder
            .body(body.to_owned())
            .map_err(|e| MailError(format!("cannot build the email: {e}")))?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| MailError(self.redact(describe(&e))))
    }

    fn redact(&self, mut text: String) -> String {
        if let Some(p) = self.password.as_ref().map(Secret::expose)
            && !p.is_empty()
        {
            text = text.replace(p, "[redacted]");
        }
        text
    }
}

impl Mailer for Smtp {
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            let to = parse(&mail.to).map_err(MailError)?;
            match tokio::time::timeout(SEND_TIMEOUT, self.send_to(&[to], &mail.subject, &mail.body))
                .await
            {
                Ok(sent) => sent,
                Err(_) => Err(MailError(format!(
                    "the SMTP server gave no answer within {} s",
                    SEND_TIMEOUT.as_secs()
                ))),
            }
        })
    }
}

/// An address as lettre wants it.
pub fn parse(address: &str) -> Result<Mailbox, String> {
    address
        .parse::<Mailbox>()
        .map_err(|_| format!("{address:?} is not an email address"))
}

/// True when every address of `host` is on loopback or a private network (RFC 1918, IPv6
/// unique local, link-local): where a relay without TLS is a reasonable choice. A name
/// that does not resolve counts as not local.
pub fn is_local(host: &str, port: u16) -> bool {
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
        // lettre's own words often end with its source's already.
        let words = s.to_string();
        if !text.ends_with(&words) {
            text.push_str(&format!(": {words}"));
        }
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
