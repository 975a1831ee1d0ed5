//! `[alerts]`: where alerts go (a webhook, email over SMTP) and how often failures are told.
//!
//! A webhook URL often carries its secret in the path (Slack, Mattermost, Discord), so
//! it is a [`Secret`] and no error here ever quotes it; nor the SMTP URL.

use std::path::PathBuf;

use serde::Deserialize;

use super::{SettingsError, read_secret_file};
use crate::secret::Secret;

/// `[alerts]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    /// At most one message about newly failed pairs per app in this many seconds.
    pub alert_batch_secs: u64,
    /// Where webhook alerts are posted; its path or query may hold a token.
    pub webhook_url: Option<Secret>,
    /// File holding `webhook_url`.
    pub webhook_url_file: Option<PathBuf>,
    /// The webhook's payload: `json`, or `slack` (`{"text": …}`).
    pub webhook_format: WebhookFormat,
    /// `smtp://user@host:587` (STARTTLS) or `smtps://user@host:465` (TLS); no password.
    pub smtp_url: Option<String>,
    /// File holding the SMTP password of the user in `smtp_url`.
    pub smtp_password_file: Option<PathBuf>,
    /// `required` (STARTTLS or TLS as `smtp_url` says) or `none`: plain SMTP to a relay.
    pub smtp_tls: SmtpTls,
    /// The sender of alert emails.
    pub from: Option<String>,
    /// Who gets alert emails: one address or a list.
    pub to: Recipients,
    /// The SMTP server, checked once the settings are read.
    #[serde(skip)]
    pub smtp: Option<SmtpServer>,
    /// The SMTP password read from `smtp_password_file`.
    #[serde(skip)]
    pub smtp_password: Option<Secret>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            alert_batch_secs: 300,
            webhook_url: None,
            webhook_url_file: None,
            webhook_format: WebhookFormat::Json,
            smtp_url: None,
            smtp_password_file: None,
            smtp_tls: SmtpTls::Required,
            from: None,
            to: Recipients::default(),
            smtp: None,
            smtp_password: None,
        }
    }
}

/// What a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// accessboard's own JSON object (kind, state, app, title, text, at).
    Json,
    /// `{"text": …}`: Slack, Mattermost, Rocket.Chat, Zulip's Slack-compatible hook, Discord's `/slack`.
    Slack,
}

/// Whether email to the SMTP server is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// STARTTLS (`smtp://`) or TLS from the first byte (`smtps://`), never in clear.
    Required,
    /// No TLS at all: for a relay on loopback or a private network that does not offer it.
    None,
}

/// `to = "a@example.org"` or `to = ["a@example.org", "b@example.org"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "OneOrMany")]
pub struct Recipients(pub Vec<String>);

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl From<OneOrMany> for Recipients {
    fn from(v: OneOrMany) -> Self {
        match v {
            OneOrMany::One(s) => Recipients(vec![s]),
            OneOrMany::Many(v) => Recipients(v),
        }
    }
}

/// How the SMTP server is reached, from `smtp_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    /// Host name or address.
    pub host: String,
    /// Port (587 for `smtp://`, 465 for `smtps://`, 25 without TLS, when left out).
    pub port: u16,
    /// TLS from the first byte (`smtps://`) rather than STARTTLS (`smtp://`).
    pub implicit_tls: bool,
    /// No TLS at all (`smtp_tls = "none"`).
    pub plain: bool,
    /// The user to sign in as, if any.
    pub user: Option<String>,
}

impl AlertSettings {
    /// Whether any channel is configured.
    pub fn any_channel(&self) -> bool {
        self.webhook_url.is_some() || self.smtp.is_some()
    }

    /// Checks the keys and reads the secret files.
    pub fn validate(&mut self) -> Result<(), SettingsError> {
        let err =
            |key: &str, msg: String| Err(SettingsError(format!("setting alerts.{key}: {msg}")));
        if self.alert_batch_secs == 0 {
            return err("alert_batch_secs", "must be at least 1".into());
        }
        if let Some(file) = self.webhook_url_file.clone() {
            if self.webhook_url.is_some() {
                return err(
                    "webhook_url_file",
                    "set either webhook_url or webhook_url_file, not both".into(),
                );
            }
            match read_secret_file(&file) {
                Ok(s) => self.webhook_url = Some(s),
                Err(m) => return err("webhook_url_file", m),
            }
        }
        if let Some(url) = &self.webhook_url {
            let key = if self.webhook_url_file.is_some() {
                "webhook_url_file"
            } else {
                "webhook_url"
            };
            match url::Url::parse(url.expose()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                // Never quoted: the URL is the webhook's secret.
                _ => return err(key, "is not an http(s) URL".into()),
            }
        }
        self.validate_smtp()
    }

    fn validate_smtp(&mut self) -> Result<(), SettingsError> {
        let err =
            |key: &str, msg: String| Err(SettingsError(format!("setting alerts.{key}: {msg}")));
        let Some(raw) = self.smtp_url.as_deref() else {
            for (key, set) in [
                ("smtp_password_file", self.smtp_password_file.is_some()),
                ("smtp_tls", self.smtp_tls == SmtpTls::None),
                ("from", self.from.is_some()),
                ("to", !self.to.0.is_empty()),
            ] {
                if set {
                    return err(key, "needs smtp_url".into());
                }
            }
            return Ok(());
        };
        let mut server = match smtp_server(raw) {
            Ok(s) => s,
            Err(m) => return err("smtp_url", m.into()),
        };
        if self.smtp_tls == SmtpTls::None {
            if server.implicit_tls {
                return err(
                    "smtp_tls",
                    "\"none\" needs an smtp:// URL, not smtps://".into(),
                );
            }
            // A password must never cross the network in clear; a local relay needs none.
            if server.user.is_some() {
                return err(
                    "smtp_tls",
                    "\"none\" sends no password: leave the user out of smtp_url".into(),
                );
            }
            server.plain = true;
            if !raw_has_port(raw) {
                server.port = 25;
            }
        }
        match (&server.user, &self.smtp_password_file) {
            (Some(_), Some(file)) => match read_secret_file(file) {
                Ok(s) => self.smtp_password = Some(s),
                Err(m) => return err("smtp_password_file", m),
            },
            (Some(_), None) => {
                return err(
                    "smtp_password_file",
                    "is required when smtp_url names a user".into(),
                );
            }
            (None, Some(_)) => {
                return err(
                    "smtp_password_file",
                    "needs a user in smtp_url (smtp://user@host:587)".into(),
                );
            }
            (None, None) => {}
        }
        match self.from.as_deref() {
            None => return err("from", "is required with smtp_url".into()),
            Some(f) if f.parse::<lettre::message::Mailbox>().is_err() => {
                return err("from", format!("{f:?} is not an email address"));
            }
            Some(_) => {}
        }
        if self.to.0.is_empty() {
            return err("to", "needs at least one address with smtp_url".into());
        }
        if let Some(bad) = self
            .to
            .0
            .iter()
            .find(|t| t.parse::<lettre::message::Mailbox>().is_err())
        {
            return err("to", format!("{bad:?} is not an email address"));
        }
        self.smtp = Some(server);
        Ok(())
    }
}

/// True when `smtp_url` names its port (a relay without TLS defaults to 25, not 587).
fn raw_has_port(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|u| u.port().is_some())
}

/// Reads `smtp_url`; the error never quotes it.
fn smtp_server(raw: &str) -> Result<SmtpServer, &'static str> {
    let url = url::Url::parse(raw).map_err(|_| "is not a URL like smtp://user@host:587")?;
    let implicit_tls = match url.scheme() {
        "smtp" => false,
        "smtps" => true,
        _ => {
            return Err(
                "must start with smtp:// (STARTTLS) or smtps:// (TLS), like smtp://user@host:587",
            );
        }
    };
    if url.password().is_some() {
        return Err("must not contain a password; put it in smtp_password_file");
    }
    let host = match url.host_str() {
        Some(h) if !h.is_empty() => h.trim_matches(['[', ']']).to_owned(),
        _ => return Err("names no host, like smtp://user@host:587"),
    };
    if url.query().is_some() || !matches!(url.path(), "" | "/") {
        return Err("takes no path or query, only smtp://user@host:port");
    }
    let user = match url.username() {
        "" => None,
        // `alerts%40example.org`: a user name that is an address.
        u => Some(
            percent_encoding::percent_decode_str(u)
                .decode_utf8()
                .map_err(|_| "holds a user name that is not valid percent-encoded UTF-8")?
                .into_owned(),
        ),
    };
    Ok(SmtpServer {
        host,
        port: url.port().unwrap_or(if implicit_tls { 465 } else { 587 }),
        implicit_tls,
        plain: false,
        user,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Settings;

    #[test]
    fn no_section_means_no_channel_and_five_minute_batches() {
        let s = Settings::from_toml("").unwrap();
        assert!(!s.alerts.any_channel());
        assert_eq!(s.alerts.alert_batch_secs, 300);
    }

    #[test]
    fn the_webhook_url_is_a_secret_never_quoted() {
        let s = Settings::from_toml(
            "[alerts]\nwebhook_url = \"https://chat.example.org/hooks/s3cr3t-hook\"\nwebhook_format = \"slack\"\n",
        )
        .unwrap();
        assert!(s.alerts.any_channel());
        assert!(!format!("{s:?}").contains("s3cr3t-hook"));
        let e = Settings::from_toml("[alerts]\nwebhook_url = \"ftp://s3cr3t-hook\"\n").unwrap_err();
        assert_eq!(e.0, "setting alerts.webhook_url: is not an http(s) URL");
        let e = Settings::from_toml("[alerts]\nwebhook_url = 12345678\n").unwrap_err();
        assert!(!e.0.contains("12345678"), "{e}");
    }

    #[test]
    fn smtp_takes_the_user_from_the_url_and_the_password_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "mail-s3cr3t\n").unwrap();
        let s = Settings::from_toml(&format!(
            "[alerts]\nsmtp_url = \"smtps://alerts%40example.org@mail.example.org\"\nsmtp_password_file = \"{}\"\nfrom = \"accessboard <alerts@example.org>\"\nto = \"ops@example.org\"\n",
            pw.display()
        ))
        .unwrap();
        let smtp = s.alerts.smtp.clone().unwrap();
        assert_eq!(smtp.port, 465);
        assert!(smtp.implicit_tls);
        assert_eq!(smtp.user.as_deref(), Some("alerts@example.org"));
        assert_eq!(
            s.alerts.smtp_password.as_ref().unwrap().expose(),
            "mail-s3cr3t"
        );
        assert_eq!(s.alerts.to.0, ["ops@example.org"]);
        assert!(!format!("{s:?}").contains("mail-s3cr3t"));
    }

    #[test]
    fn smtp_mistakes_are_named_without_the_url() {
        let base = "from = \"a@example.org\"\nto = [\"b@example.org\"]\n";
        for (url, says) in [
            (
                "smtp://bob:hunter2@mail.example.org",
                "must not contain a password",
            ),
            ("http://mail.example.org", "must start with smtp://"),
            (
                "smtp://bob@mail.example.org",
                "smtp_password_file: is required",
            ),
        ] {
            let e = Settings::from_toml(&format!("[alerts]\nsmtp_url = \"{url}\"\n{base}"))
                .unwrap_err();
            assert!(e.0.contains(says), "{url}: {e}");
            assert!(
                !e.0.contains("hunter2") && !e.0.contains("mail.example.org"),
                "{e}"
            );
        }
        let e = Settings::from_toml("[alerts]\nto = \"b@example.org\"\n").unwrap_err();
        assert_eq!(e.0, "setting alerts.to: needs smtp_url");
        let e = Settings::from_toml(
            "[alerts]\nsmtp_url = \"smtp://mail.example.org:25\"\nfrom = \"a@example.org\"\nto = [\"not an address\"]\n",
        )
        .unwrap_err();
        assert_eq!(
            e.0,
            "setting alerts.to: \"not an address\" is not an email address"
        );
    }
}
