//! A throwaway accessboard: settings.toml and the database in a temporary folder,
//! the real binary run against them, and what the tests ask of it most.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use accessboard::settings::Settings;
use serde_json::Value;

use super::api::{self, Context};
use super::settings::SettingsToml;

/// The dashboard admin [`TestEnv::create_boss`] makes, and the password it sets.
pub const BOSS_EMAIL: &str = "boss@example.org";
pub const BOSS_PASSWORD: &str = "correct horse battery staple";

/// A temporary folder with a settings.toml and a database path inside it.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub settings_path: PathBuf,
}

/// The accessboard binary cargo built for these tests; `RUST_LOG` never leaks in.
pub fn accessboard() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_accessboard"));
    cmd.env_remove("RUST_LOG");
    cmd
}

impl TestEnv {
    /// [`SettingsToml::quick`] with these `[[apps]]` blocks.
    pub fn new(apps: &str) -> TestEnv {
        TestEnv::build(|s| s.apps(apps))
    }

    /// Same as [`TestEnv::new`], with `[provisioning]` lines added or replaced.
    pub fn with_provisioning(apps: &str, provisioning: &str) -> TestEnv {
        TestEnv::build(|s| s.lines("provisioning", provisioning).apps(apps))
    }

    /// [`SettingsToml::quick`] as `settings` changes it, written to settings.toml.
    pub fn build(settings: impl FnOnce(SettingsToml) -> SettingsToml) -> TestEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings_path = dir.path().join("settings.toml");
        settings(SettingsToml::quick(&dir.path().join("data/accessboard.db")))
            .write(&settings_path);
        TestEnv { dir, settings_path }
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("data/accessboard.db")
    }

    /// The settings as accessboard reads them.
    pub fn settings(&self) -> Arc<Settings> {
        Arc::new(Settings::load(&self.settings_path, true).expect("settings load"))
    }

    /// Opens database, queue and service, as every command does.
    pub async fn open(&self) -> Context {
        api::open(self.settings()).await
    }

    /// The binary with `--config` and `args`, and extra environment.
    pub fn command(&self, args: &[&str], envs: &[(&str, &str)]) -> Command {
        let mut cmd = accessboard();
        cmd.arg("--config")
            .arg(&self.settings_path)
            .args(args)
            .envs(envs.iter().copied());
        cmd
    }

    /// Runs a command to its end.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_with_stdin(args, None)
    }

    /// Same as [`TestEnv::cli`], feeding `stdin`.
    pub fn cli_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self
            .command(args, &[])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn accessboard");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.unwrap_or("").as_bytes());
        }
        child.wait_with_output().expect("accessboard output")
    }

    /// Same as [`TestEnv::cli`], with extra environment.
    pub fn cli_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        self.command(args, envs)
            .stdin(Stdio::null())
            .output()
            .expect("run accessboard")
    }

    /// Same as [`TestEnv::cli`], off an async test's thread (so that a mock
    /// served on that thread keeps answering).
    pub async fn cli_off_thread(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(args, &[]);
        tokio::task::spawn_blocking(move || {
            cmd.stdin(Stdio::null()).output().expect("run accessboard")
        })
        .await
        .expect("the command's thread")
    }

    /// `user create` for `email` named `name`, with access given as `app=role`
    /// (e.g. `files=user`); the output whether or not it succeeded.
    pub fn user_create(&self, email: &str, name: &str, access: &[&str]) -> Output {
        self.cli(&user_create_args(email, name, false, access))
    }

    /// [`TestEnv::user_create`], which must succeed; its output.
    pub fn create_person(&self, email: &str, name: &str, access: &[&str]) -> Output {
        let out = self.user_create(email, name, access);
        ok(&out, &format!("user create {email}"));
        out
    }

    /// Same as [`TestEnv::create_person`] for a dashboard admin (`--dashboard-admin`).
    pub fn create_admin(&self, email: &str, name: &str, access: &[&str]) -> Output {
        let out = self.cli(&user_create_args(email, name, true, access));
        ok(&out, &format!("user create --dashboard-admin {email}"));
        out
    }

    /// The dashboard admin [`BOSS_EMAIL`], with [`BOSS_PASSWORD`], through the CLI.
    pub fn create_boss(&self) {
        self.create_admin(BOSS_EMAIL, "Boss", &[]);
        let out = self.cli_with_stdin(
            &["user", "set-password", BOSS_EMAIL],
            Some(&format!("{BOSS_PASSWORD}\n")),
        );
        ok(&out, "user set-password");
    }

    /// One SCIM app `slug` at `base_url` with a bearer `token` and more `[apps.scim]`
    /// lines (`extra`), installed.
    pub fn installed(slug: &str, base_url: &str, token: &str, extra: &str) -> TestEnv {
        let env = TestEnv::new(&super::settings::scim_app(slug, base_url, token, extra));
        env.install(slug);
        env
    }

    /// `app install`, which must succeed.
    pub fn install(&self, app: &str) {
        ok(
            &self.cli(&["app", "install", app]),
            &format!("app install {app}"),
        );
    }

    /// Writes `header` and `rows` to a CSV and runs `user import` on it, which must succeed.
    pub fn import(&self, header: &str, rows: impl IntoIterator<Item = String>) {
        let csv = self.dir.path().join("people.csv");
        let mut text = format!("{header}\n");
        for r in rows {
            text.push_str(&r);
            text.push('\n');
        }
        std::fs::write(&csv, text).expect("write the CSV");
        ok(
            &self.cli(&["user", "import", csv.to_str().expect("a UTF-8 path")]),
            "user import",
        );
    }

    /// `provision run --wait --timeout 60`.
    pub fn provision_run_wait(&self) -> Output {
        self.cli(&["provision", "run", "--wait", "--timeout", "60"])
    }

    /// The app `slug`, as `app list --json` shows it.
    pub fn app(&self, slug: &str) -> Value {
        let out = self.cli(&["app", "list", "--json"]);
        ok(&out, "app list --json");
        let apps: Vec<Value> = serde_json::from_slice(&out.stdout).expect("app list --json");
        apps.into_iter()
            .find(|a| a["slug"] == slug)
            .expect("the app is listed")
    }

    /// The pair of `email` and `app`, as `provision status --json` shows it.
    pub fn pair(&self, email: &str, app: &str) -> Value {
        let out = self.cli(&[
            "provision",
            "status",
            "--json",
            "--user",
            email,
            "--app",
            app,
        ]);
        ok(&out, "provision status");
        let v: Value = serde_json::from_slice(&out.stdout).expect("provision status --json");
        v[0].clone()
    }

    /// Every person as `user list --json` shows them.
    pub fn users(&self) -> Vec<Value> {
        let out = self.cli(&["user", "list", "--json"]);
        ok(&out, "user list");
        serde_json::from_slice(&out.stdout).expect("user list --json")
    }

    /// The app's pairs by status, read straight from the database file.
    pub fn pair_counts(&self, app: &str) -> BTreeMap<String, i64> {
        super::db::pair_counts(&self.db_path(), app)
    }
}

fn user_create_args<'a>(
    email: &'a str,
    name: &'a str,
    admin: bool,
    access: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec!["user", "create", "--email", email, "--name", name];
    if admin {
        args.push("--dashboard-admin");
    }
    for a in access {
        args.extend(["--access", a]);
    }
    args
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Panics, showing both streams, unless the command succeeded.
pub fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}
