//! settings.toml plus `ACCESSBOARD_` environment overrides, validated once at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

use crate::secret::Secret;

mod apps;
mod dialect;
mod identity;
use apps::validate_scim;
pub use apps::{AppSettings, AuthKind, ScimSettings, TokenAuthKind};
pub use dialect::{Preset, RoleMap, RoleTarget};
pub use identity::{IdentityBackend, IdentitySettings, KratosName};

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
    /// Where people live: accessboard's database or Ory Kratos.
    #[serde(default)]
    pub identity: IdentitySettings,
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
    /// Mark session cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            secure_cookies: false,
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
                format!("{:?} is not a URL", self.server.public_url),
            );
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
            if app.name.trim().is_empty() {
                return err(format!("{at}.name"), "must not be empty".into());
            }
            if let Some(scim) = app.scim.as_mut() {
                validate_scim(&at, scim)?;
            }
        }
        self.identity.validate()
    }
}

pub(crate) fn read_secret_file(path: &Path) -> Result<Secret, String> {
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => Ok(Secret::new(s.trim().to_owned())),
        Ok(_) => Err(format!("{} is empty", path.display())),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn describe_figment_error(e: figment::Error) -> SettingsError {
    use figment::error::Kind;
    let key = if e.path.is_empty() {
        None
    } else {
        Some(e.path.join("."))
    };
    let what = match &e.kind {
        Kind::UnknownField(field, _) => {
            let full = match &key {
                Some(k) if !k.ends_with(field.as_str()) => format!("{k}.{field}"),
                Some(k) => k.clone(),
                None => field.clone(),
            };
            return SettingsError(format!("unknown setting {full}{}", source_of(&e)));
        }
        Kind::MissingField(field) => {
            let full = match &key {
                Some(k) => format!("{k}.{field}"),
                None => field.to_string(),
            };
            return SettingsError(format!("setting {full} is required{}", source_of(&e)));
        }
        other => other.to_string(),
    };
    match key {
        Some(k) => SettingsError(format!("setting {k}: {what}{}", source_of(&e))),
        None => SettingsError(format!("settings: {what}{}", source_of(&e))),
    }
}

fn source_of(e: &figment::Error) -> String {
    match &e.metadata {
        Some(m) => match &m.source {
            Some(src) => format!(" (in {src})"),
            None => format!(" (from {})", m.name),
        },
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_the_file_leaves_out() {
        let s = Settings::from_toml("").unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:8080");
        assert_eq!(s.provisioning.workers, 4);
        assert_eq!(s.database.path, PathBuf::from("data/accessboard.db"));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e = Settings::from_toml("[provisioning]\nworkerz = 3\n").unwrap_err();
        assert!(e.0.contains("unknown setting provisioning.workerz"), "{e}");
        let e = Settings::from_toml("[provisioning]\nworkers = 0\n").unwrap_err();
        assert!(e.0.contains("provisioning.workers"), "{e}");
        let e = Settings::from_toml("[server]\nbind = \"nowhere\"\n").unwrap_err();
        assert!(e.0.contains("server.bind"), "{e}");
        let e = Settings::from_toml(
            "[[apps]]\nslug = \"a\"\nname = \"A\"\n[apps.scim]\nbase_url = \"http://x/\"\ntoken = \"t\"\nuser_name = \"{mail}\"\n",
        )
        .unwrap_err();
        assert!(e.0.contains("scim.user_name"), "{e}");
        let e = Settings::from_toml("[[apps]]\nslug = \"Bad Slug\"\nname = \"A\"\n").unwrap_err();
        assert!(e.0.contains("slug"), "{e}");
    }

    #[test]
    fn token_file_is_read_and_the_secret_never_prints() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "very-secret\n").unwrap();
        let s = Settings::from_toml(&format!(
            "[[apps]]\nslug = \"a\"\nname = \"A\"\n[apps.scim]\nbase_url = \"http://x/\"\ntoken_file = \"{}\"\n",
            file.display()
        ))
        .unwrap();
        let scim = s.apps[0].scim.as_ref().unwrap();
        assert_eq!(scim.token.as_ref().unwrap().expose(), "very-secret");
        assert!(!format!("{s:?}").contains("very-secret"));
    }

    fn app_with(scim_lines: &str) -> Result<Settings, SettingsError> {
        Settings::from_toml(&format!(
            "[[apps]]\nslug = \"files\"\nname = \"Files\"\n[apps.scim]\nbase_url = \"http://x/\"\n{scim_lines}\n"
        ))
    }

    #[test]
    fn jwt_and_oauth2_settings_with_their_defaults() {
        let s = app_with(
            "auth = \"jwt\"\njwt_secret = \"jwt-s3cr3t\"\njwt_claims = { user = \"admin\", n = 1 }",
        )
        .unwrap();
        let scim = s.apps[0].scim.as_ref().unwrap();
        assert_eq!(scim.auth, AuthKind::Jwt);
        assert_eq!(scim.jwt_ttl_secs, 300);
        assert_eq!(scim.jwt_claims["user"], "admin");
        assert_eq!(scim.jwt_claims["n"], 1);
        assert!(!format!("{s:?}").contains("jwt-s3cr3t"));

        let s = app_with(
            "auth = \"oauth2\"\ntoken_url = \"https://id.example.org/oauth/token\"\nclient_id = \"accessboard\"\nclient_secret = \"cl-s3cr3t\"",
        )
        .unwrap();
        let scim = s.apps[0].scim.as_ref().unwrap();
        assert_eq!(scim.auth, AuthKind::Oauth2);
        assert_eq!(scim.token_auth, TokenAuthKind::Basic);
        assert_eq!(scim.scope, None);
        assert!(!format!("{s:?}").contains("cl-s3cr3t"));
        let s = app_with("auth = \"oauth2\"\ntoken_url = \"http://id/t\"\nclient_id = \"a\"\nclient_secret = \"b\"\nscope = \"scim\"\ntoken_auth = \"post\"").unwrap();
        let scim = s.apps[0].scim.as_ref().unwrap();
        assert_eq!(scim.token_auth, TokenAuthKind::Post);
        assert_eq!(scim.scope.as_deref(), Some("scim"));
    }

    #[test]
    fn jwt_and_oauth2_mistakes_name_the_key_in_one_line_without_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "from-file-s3cr3t\n").unwrap();
        let cases = [
            ("auth = \"jwt\"", "scim.jwt_secret: is required"),
            (
                "auth = \"jwt\"\njwt_secret = \"\"",
                "scim.jwt_secret: is required",
            ),
            (
                "auth = \"jwt\"\njwt_secret = \"inline-s3cr3t\"\njwt_ttl_secs = 0",
                "scim.jwt_ttl_secs: must be at least 1",
            ),
            (
                "auth = \"jwt\"\njwt_secret = \"inline-s3cr3t\"\njwt_claims = { exp = 1 }",
                "scim.jwt_claims: exp is set by accessboard",
            ),
            (
                &format!(
                    "auth = \"jwt\"\njwt_secret = \"inline-s3cr3t\"\njwt_secret_file = \"{}\"",
                    file.display()
                ),
                "scim.jwt_secret_file: set either jwt_secret or jwt_secret_file, not both",
            ),
            (
                "auth = \"oauth2\"\nclient_id = \"a\"\nclient_secret = \"inline-s3cr3t\"",
                "scim.token_url: is required",
            ),
            (
                "auth = \"oauth2\"\ntoken_url = \"ftp://id/token\"\nclient_id = \"a\"\nclient_secret = \"inline-s3cr3t\"",
                "scim.token_url: \"ftp://id/token\" is not an http(s) URL",
            ),
            (
                "auth = \"oauth2\"\ntoken_url = \"https://a:inline-s3cr3t@id/token\"\nclient_id = \"a\"\nclient_secret = \"b\"",
                "scim.token_url: must not contain credentials",
            ),
            (
                "auth = \"oauth2\"\ntoken_url = \"http://id/token\"\nclient_secret = \"inline-s3cr3t\"",
                "scim.client_id: is required",
            ),
            (
                "auth = \"oauth2\"\ntoken_url = \"http://id/token\"\nclient_id = \"a\"",
                "scim.client_secret: is required",
            ),
            (
                &format!(
                    "auth = \"oauth2\"\ntoken_url = \"http://id/token\"\nclient_id = \"a\"\nclient_secret = \"inline-s3cr3t\"\nclient_secret_file = \"{}\"",
                    file.display()
                ),
                "scim.client_secret_file: set either client_secret or client_secret_file, not both",
            ),
            (
                "auth = \"oauth2\"\ntoken_url = \"http://id/token\"\nclient_id = \"a\"\nclient_secret = \"b\"\ntoken_auth = \"header\"",
                "scim.token_auth",
            ),
            (
                "auth = \"oauth2\"\ntoken_uri = \"http://id/token\"",
                "unknown setting apps.0.scim.token_uri",
            ),
        ];
        for (lines, expected) in cases {
            let e = app_with(lines).unwrap_err().0;
            assert!(e.contains(expected), "{lines:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
            assert!(!e.contains("s3cr3t"), "prints a secret: {e}");
        }
        let s = app_with(&format!(
            "auth = \"oauth2\"\ntoken_url = \"http://id/token\"\nclient_id = \"a\"\nclient_secret_file = \"{}\"",
            file.display()
        ))
        .unwrap();
        let scim = s.apps[0].scim.as_ref().unwrap();
        assert_eq!(
            scim.client_secret.as_ref().unwrap().expose(),
            "from-file-s3cr3t"
        );
    }
}
