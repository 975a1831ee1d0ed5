//! settings.toml plus `ACCESSBOARD_` environment overrides, validated once at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

use crate::secret::Secret;

mod alerts;
mod apps;
mod dialect;
mod errors;
mod identity;
mod proxies;
mod sso;
pub use alerts::{AlertSettings, Recipients, SmtpServer, SmtpTls, WebhookFormat};
use apps::validate_scim;
pub use apps::{AppSettings, AuthKind, ScimSettings, TokenAuthKind};
pub use dialect::{Preset, RoleMap, RoleTarget};
use errors::describe_figment_error;
pub(crate) use errors::not_a_url;
pub use identity::{IdentityBackend, IdentitySettings, KratosName};
pub use proxies::Cidr;
pub use sso::{CALLBACK_PATH as SSO_CALLBACK_PATH, SsoSettings};

/// Everything accessboard reads from settings.toml and the environment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The web server.
    #[serde(default)]
    pub server: ServerSettings,
    /// The SQLite database.
    #[serde(default)]
    pub database: DatabaseSettings,
    /// Workers, sweeper, retries.
    #[serde(default)]
    pub provisioning: ProvisioningSettings,
    /// Log output.
    #[serde(default)]
    pub log: LogSettings,
    /// The admin audit trail.
    #[serde(default)]
    pub audit: AuditSettings,
    /// Signing in to the dashboard.
    #[serde(default)]
    pub auth: AuthSettings,
    /// Signing in through an OpenID Connect provider.
    #[serde(default)]
    pub sso: SsoSettings,
    /// Where people live: accessboard's database or Ory Kratos.
    #[serde(default)]
    pub identity: IdentitySettings,
    /// Where alerts go: a webhook, email.
    #[serde(default)]
    pub alerts: AlertSettings,
    /// The app catalogue.
    #[serde(default)]
    pub apps: Vec<AppSettings>,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address to listen on.
    pub bind: String,
    /// The URL people use to reach the dashboard (for links in logs).
    pub public_url: String,
    /// Mark session cookies `Secure` (behind HTTPS); unset: when `public_url` is https.
    pub secure_cookies: Option<bool>,
    /// The IANA time zone pages show times in (`UTC`, `Europe/Paris`).
    pub timezone: String,
    /// `timezone`, looked up once when the settings are read.
    #[serde(skip)]
    pub zone: jiff::tz::TimeZone,
    /// Reverse proxies whose `X-Forwarded-For` names the client; empty: the TCP peer is.
    pub trusted_proxies: Vec<Cidr>,
}

impl ServerSettings {
    /// Whether the session cookie is `Secure` (and named with the `__Host-` prefix).
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies
            .unwrap_or_else(|| self.public_url_is_https())
    }

    /// Whether people reach the dashboard over HTTPS.
    pub fn public_url_is_https(&self) -> bool {
        self.public_url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            secure_cookies: None,
            timezone: "UTC".into(),
            zone: jiff::tz::TimeZone::UTC,
            trusted_proxies: Vec::new(),
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// The SQLite file; created with its folder on first start.
    pub path: PathBuf,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            path: "data/accessboard.db".into(),
        }
    }
}

/// `[provisioning]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisioningSettings {
    /// SCIM jobs at once.
    pub workers: usize,
    /// How often due and stale pairs are picked up.
    pub sweep_interval_secs: u64,
    /// Attempts before a pair is `failed`.
    pub max_attempts: u32,
    /// First retry delay.
    pub backoff_base_secs: u64,
    /// Longest retry delay.
    pub backoff_max_secs: u64,
    /// Per-request timeout towards apps.
    pub request_timeout_secs: u64,
    /// Drift check period; 0 turns it off.
    pub drift_check_interval_secs: u64,
    /// Days the provisioning log is kept; 0 keeps it for ever.
    pub log_retention_days: u32,
    /// The revocation guard's window: revocations marked this recently are counted.
    pub revoke_guard_window_secs: u64,
    /// The guard trips above this share (percent) of an app's accounts revoked in the window.
    pub revoke_guard_percent: u32,
    /// ... and only from this many people on.
    pub revoke_guard_min: u32,
    /// An app whose every request failed this long is quarantined.
    pub quarantine_after_secs: u64,
    /// A quarantined app is probed this often.
    pub quarantine_probe_secs: u64,
    /// Provisioning stopped or the database unwritable this long makes `/healthz` 503.
    pub unhealthy_after_secs: u64,
}

impl Default for ProvisioningSettings {
    fn default() -> Self {
        ProvisioningSettings {
            workers: 4,
            sweep_interval_secs: 30,
            max_attempts: 8,
            backoff_base_secs: 5,
            backoff_max_secs: 3600,
            request_timeout_secs: 15,
            drift_check_interval_secs: 86400,
            log_retention_days: 90,
            revoke_guard_window_secs: 300,
            revoke_guard_percent: 20,
            revoke_guard_min: 10,
            quarantine_after_secs: 900,
            quarantine_probe_secs: 300,
            unhealthy_after_secs: 60,
        }
    }
}

/// `[audit]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Days the audit trail is kept; 0 keeps it for ever.
    pub retention_days: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            retention_days: 365,
        }
    }
}

/// `[auth]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Every viewer and admin must have a second factor: one without is sent to set it
    /// up, and sees nothing else, from their next request on.
    pub require_second_factor: bool,
    /// How long an invitation (an admin's sign-in link) stays valid.
    pub invite_ttl_hours: u32,
    /// How long a link asked for with "Forgot your password?" stays valid.
    pub reset_ttl_minutes: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            require_second_factor: false,
            invite_ttl_hours: 48,
            reset_ttl_minutes: 60,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// Default filter; `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Settings could not be loaded; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

impl Settings {
    /// Loads `path` (optional when it does not exist and `required` is false) and the environment.
    pub fn load(path: &Path, required: bool) -> Result<Settings, SettingsError> {
        if required && !path.exists() {
            return Err(SettingsError(format!(
                "settings file {} does not exist",
                path.display()
            )));
        }
        let env = Env::prefixed("ACCESSBOARD_")
            .split("__")
            // ACCESSBOARD_CONFIG names the file itself, it is not a key.
            .filter(|k| !k.as_str().eq_ignore_ascii_case("config"));
        Self::from_figment(Figment::from(Toml::file(path)).merge(env))
    }

    /// Parses settings from TOML text alone (tests, tools).
    pub fn from_toml(text: &str) -> Result<Settings, SettingsError> {
        Self::from_figment(Figment::from(Toml::string(text)))
    }

    fn from_figment(fig: Figment) -> Result<Settings, SettingsError> {
        let mut settings: Settings = fig.extract().map_err(describe_figment_error)?;
        settings.validate()?;
        Ok(settings)
    }

    /// The settings of one app, if catalogued.
    pub fn app(&self, slug: &str) -> Option<&AppSettings> {
        self.apps.iter().find(|a| a.slug.as_str() == slug)
    }

    fn validate(&mut self) -> Result<(), SettingsError> {
        let err = |key: String, msg: String| Err(SettingsError(format!("setting {key}: {msg}")));
        if self.server.bind.parse::<SocketAddr>().is_err() {
            return err(
                "server.bind".into(),
                format!(
                    "{:?} is not an address like 127.0.0.1:8080",
                    self.server.bind
                ),
            );
        }
        if url::Url::parse(&self.server.public_url).is_err() {
            return err(
                "server.public_url".into(),
                not_a_url(&self.server.public_url),
            );
        }
        match jiff::tz::TimeZone::get(&self.server.timezone) {
            Ok(zone) => self.server.zone = zone,
            Err(_) => {
                return err(
                    "server.timezone".into(),
                    format!(
                        "{:?} is not an IANA time zone name like UTC or Europe/Paris",
                        self.server.timezone
                    ),
                );
            }
        }
        for (key, v) in [
            ("invite_ttl_hours", self.auth.invite_ttl_hours),
            ("reset_ttl_minutes", self.auth.reset_ttl_minutes),
        ] {
            if v == 0 {
                return err(format!("auth.{key}"), "must be at least 1".into());
            }
        }
        if self.database.path.as_os_str().is_empty() {
            return err("database.path".into(), "must not be empty".into());
        }
        let p = &self.provisioning;
        if p.workers == 0 || p.workers > 256 {
            return err(
                "provisioning.workers".into(),
                "must be between 1 and 256".into(),
            );
        }
        for (key, v) in [
            ("sweep_interval_secs", p.sweep_interval_secs),
            ("backoff_base_secs", p.backoff_base_secs),
            ("request_timeout_secs", p.request_timeout_secs),
            ("quarantine_probe_secs", p.quarantine_probe_secs),
        ] {
            if v == 0 {
                return err(format!("provisioning.{key}"), "must be at least 1".into());
            }
        }
        if p.max_attempts == 0 {
            return err(
                "provisioning.max_attempts".into(),
                "must be at least 1".into(),
            );
        }
        if p.revoke_guard_percent > 100 {
            return err(
                "provisioning.revoke_guard_percent".into(),
                "must be between 0 and 100".into(),
            );
        }
        if p.backoff_max_secs < p.backoff_base_secs {
            return err(
                "provisioning.backoff_max_secs".into(),
                "must not be below backoff_base_secs".into(),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, app) in self.apps.iter_mut().enumerate() {
            let at = format!("apps[{i}] ({})", app.slug);
            if !seen.insert(app.slug.clone()) {
                return err(format!("{at}.slug"), "is listed twice".into());
            }
            if app.slug.is_reserved() {
                return err(
                    format!("{at}.slug"),
                    "is reserved (email, name, admin and groups are columns of the CSV import)"
                        .into(),
                );
            }
            if app.name.trim().is_empty() {
                return err(format!("{at}.name"), "must not be empty".into());
            }
            if let Some(scim) = app.scim.as_mut() {
                validate_scim(&at, scim)?;
            }
        }
        self.identity.validate()?;
        self.sso.validate()?;
        self.alerts.validate()
    }
}

/// The secret in `path`, trimmed: one line of error when it is missing, empty or too large.
pub(crate) fn read_secret_file(path: &Path) -> Result<Secret, String> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    // Read one byte past the cap, never more: `/dev/zero` or a log file named by mistake
    // must fail at once, not fill memory.
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(format!(
            "{} is larger than {} KiB; a secret file holds the secret alone",
            path.display(),
            MAX_SECRET_FILE_BYTES / 1024
        ));
    }
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
    match text.trim() {
        "" => Err(format!("{} is empty", path.display())),
        s => Ok(Secret::new(s.to_owned())),
    }
}

/// The largest `*_file` secret read (a token, a key, a webhook URL).
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

#[cfg(test)]
mod tests;
