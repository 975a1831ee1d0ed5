//! The one writer of accessboard settings for tests and benches: a settings.toml
//! built section by section. Plain text only (no accessboard types), so that
//! `benches/` can include this very file with `#[path]`.

use std::path::{Path, PathBuf};

/// The text of a settings.toml. A key set twice keeps the last value, so a test
/// can override one of the defaults below without writing the file again.
#[derive(Clone, Debug)]
pub struct SettingsToml {
    server: Vec<(String, String)>,
    database: Option<PathBuf>,
    provisioning: Vec<(String, String)>,
    log: Vec<(String, String)>,
    identity: Vec<(String, String)>,
    alerts: Vec<(String, String)>,
    auth: Vec<(String, String)>,
    sso: Vec<(String, String)>,
    apps: String,
}

/// What `quick()` sets in `[provisioning]`: timings a test can wait for.
const QUICK_PROVISIONING: &str = "
workers = 4
sweep_interval_secs = 1
backoff_base_secs = 1
backoff_max_secs = 2
request_timeout_secs = 5
drift_check_interval_secs = 0
";

impl SettingsToml {
    /// `bind = "127.0.0.1:0"`, everything else as shipped.
    pub fn new() -> SettingsToml {
        SettingsToml {
            server: Vec::new(),
            database: None,
            provisioning: Vec::new(),
            log: Vec::new(),
            identity: Vec::new(),
            alerts: Vec::new(),
            auth: Vec::new(),
            sso: Vec::new(),
            apps: String::new(),
        }
        .server("bind", "\"127.0.0.1:0\"")
    }

    /// For tests: the database at `db`, four workers, one-second sweeps and
    /// backoff, five-second requests, no drift check, and only warnings logged.
    pub fn quick(db: &Path) -> SettingsToml {
        SettingsToml::new()
            .database(db)
            .lines("provisioning", QUICK_PROVISIONING)
            .log("level", "\"warn\"")
    }

    /// `[database] path`.
    pub fn database(mut self, path: &Path) -> SettingsToml {
        self.database = Some(path.to_owned());
        self
    }

    /// One `[server]` key; `value` is TOML (strings quoted).
    pub fn server(mut self, key: &str, value: &str) -> SettingsToml {
        set(&mut self.server, key, value);
        self
    }

    /// One `[provisioning]` key; `value` is TOML.
    pub fn provisioning(mut self, key: &str, value: &str) -> SettingsToml {
        set(&mut self.provisioning, key, value);
        self
    }

    /// One `[log]` key; `value` is TOML.
    pub fn log(mut self, key: &str, value: &str) -> SettingsToml {
        set(&mut self.log, key, value);
        self
    }

    /// One `[identity]` key; `value` is TOML.
    pub fn identity(mut self, key: &str, value: &str) -> SettingsToml {
        set(&mut self.identity, key, value);
        self
    }

    /// `key = value` lines (as in settings.toml) into `section`: `server`,
    /// `provisioning`, `log`, `identity`, `alerts` or `auth`. Blank lines are skipped.
    pub fn lines(mut self, section: &str, text: &str) -> SettingsToml {
        let keys = match section {
            "server" => &mut self.server,
            "provisioning" => &mut self.provisioning,
            "log" => &mut self.log,
            "identity" => &mut self.identity,
            "alerts" => &mut self.alerts,
            "auth" => &mut self.auth,
            "sso" => &mut self.sso,
            other => panic!("no settings section [{other}] here"),
        };
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not a `key = value` line: {line:?}"));
            set(keys, key.trim(), value.trim());
        }
        self
    }

    /// `[[apps]]` blocks (see [`scim_app`] and [`plain_app`]), after those already added.
    pub fn apps(mut self, blocks: &str) -> SettingsToml {
        self.apps.push_str(blocks);
        self
    }

    /// The settings.toml text.
    pub fn to_toml(&self) -> String {
        let mut text = String::new();
        let mut section = |name: &str, keys: &[(String, String)]| {
            if !keys.is_empty() {
                text.push_str(&format!("\n[{name}]\n"));
                for (k, v) in keys {
                    text.push_str(&format!("{k} = {v}\n"));
                }
            }
        };
        section("server", &self.server);
        if let Some(db) = &self.database {
            section(
                "database",
                &[("path".into(), format!("\"{}\"", db.display()))],
            );
        }
        section("provisioning", &self.provisioning);
        section("log", &self.log);
        // [identity], [alerts] and [auth] before the [[apps]] tables, or their keys would land in the last app.
        section("identity", &self.identity);
        section("alerts", &self.alerts);
        section("auth", &self.auth);
        section("sso", &self.sso);
        text.push_str(&self.apps);
        text
    }

    /// Writes the text to `path`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.to_toml()).expect("write settings.toml");
    }
}

impl Default for SettingsToml {
    fn default() -> SettingsToml {
        SettingsToml::new()
    }
}

fn set(keys: &mut Vec<(String, String)>, key: &str, value: &str) {
    match keys.iter_mut().find(|(k, _)| k == key) {
        Some(kv) => kv.1 = value.to_owned(),
        None => keys.push((key.to_owned(), value.to_owned())),
    }
}

/// An app with SCIM settings pointing at `base_url` with a bearer `token`; `extra`
/// is more `[apps.scim]` lines (e.g. `admin_group = "admins"`).
pub fn scim_app(slug: &str, base_url: &str, token: &str, extra: &str) -> String {
    scim_app_auth(slug, base_url, &format!("token = \"{token}\"\n{extra}"))
}

/// An app with SCIM settings whose credentials are `auth_lines` (e.g. `token_file = "…"`).
pub fn scim_app_auth(slug: &str, base_url: &str, auth_lines: &str) -> String {
    format!(
        r#"
[[apps]]
slug = "{slug}"
name = "App {slug}"
url = "https://{slug}.example.org"

[apps.scim]
base_url = "{base_url}"
auth = "bearer"
{auth_lines}
"#
    )
}

/// An app without SCIM settings.
pub fn plain_app(slug: &str) -> String {
    format!("\n[[apps]]\nslug = \"{slug}\"\nname = \"App {slug}\"\n")
}
