//! A throwaway accessboard: settings and database in a temporary folder.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

use accessboard::cli::Context;
use accessboard::settings::Settings;

/// A temporary folder with a settings.toml and a database path inside it.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub settings_path: PathBuf,
}

/// An app with SCIM settings pointing at `base_url`.
pub fn scim_app(slug: &str, base_url: &str, token: &str, extra: &str) -> String {
    format!(
        r#"
[[apps]]
slug = "{slug}"
name = "App {slug}"
url = "https://{slug}.example.org"

[apps.scim]
base_url = "{base_url}"
auth = "bearer"
token = "{token}"
{extra}
"#
    )
}

/// An app without SCIM settings.
pub fn plain_app(slug: &str) -> String {
    format!("\n[[apps]]\nslug = \"{slug}\"\nname = \"App {slug}\"\n")
}

impl TestEnv {
    /// Writes settings.toml with the given `[[apps]]` blocks and quick timings.
    pub fn new(apps: &str) -> TestEnv {
        Self::with_provisioning(apps, "")
    }

    /// Same as [`TestEnv::new`] with extra `[provisioning]` keys.
    pub fn with_provisioning(apps: &str, provisioning: &str) -> TestEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("data/accessboard.db");
        let settings_path = dir.path().join("settings.toml");
        let text = format!(
            r#"
[server]
bind = "127.0.0.1:0"

[database]
path = "{}"

[provisioning]
workers = 4
sweep_interval_secs = 1
backoff_base_secs = 1
backoff_max_secs = 2
request_timeout_secs = 5
drift_check_interval_secs = 0
{provisioning}

[log]
level = "warn"
{apps}
"#,
            db.display()
        );
        std::fs::write(&settings_path, text).expect("write settings");
        TestEnv { dir, settings_path }
    }

    /// The settings as accessboard reads them.
    pub fn settings(&self) -> Arc<Settings> {
        Arc::new(Settings::load(&self.settings_path, true).expect("settings load"))
    }

    /// Opens database, queue and service, as every command does.
    pub async fn context(&self) -> Context {
        match Context::open(self.settings()).await {
            Ok(ctx) => ctx,
            Err(e) => panic!("context: {}", e.message),
        }
    }

    /// Runs the accessboard binary with this environment's settings.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_with_stdin(args, None)
    }

    /// Same as [`TestEnv::cli`], feeding `stdin`.
    pub fn cli_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_accessboard"));
        cmd.arg("--config").arg(&self.settings_path).args(args);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn accessboard");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.unwrap_or("").as_bytes());
        }
        child.wait_with_output().expect("accessboard output")
    }
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Starts `accessboard serve` with this environment's settings (killed by the caller).
pub fn spawn_serve(env: &TestEnv) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_accessboard"))
        .arg("--config")
        .arg(&env.settings_path)
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn serve")
}
