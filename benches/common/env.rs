//! A throwaway accessboard for a bench: settings and database in a temporary folder,
//! the real binary for the command line and `serve`, and read-only looks at the database.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use accessboard::settings::Settings;
use rusqlite::{Connection, OpenFlags};

use super::net::{free_port, http_status};
use super::settings::SettingsToml;

/// The accessboard binary cargo built for this bench.
pub const BIN: &str = env!("CARGO_BIN_EXE_accessboard");

/// A temporary folder with settings.toml and the database inside.
pub struct BenchEnv {
    pub dir: tempfile::TempDir,
    pub settings_path: PathBuf,
    pub db_path: PathBuf,
}

impl BenchEnv {
    /// Settings with the shipped defaults (workers, sweeper, log level) except the
    /// daily drift check, which is switched off so it cannot land inside a measurement.
    pub fn new(apps: &str) -> BenchEnv {
        Self::with_server(apps, "")
    }

    /// Same, with extra `[server]` lines (e.g. `trusted_proxies`).
    pub fn with_server(apps: &str, server_lines: &str) -> BenchEnv {
        Self::with_lines(apps, server_lines, "")
    }

    /// Same, with extra `[server]` and `[provisioning]` lines.
    pub fn with_lines(apps: &str, server_lines: &str, provisioning_lines: &str) -> BenchEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_path = dir.path().join("data/accessboard.db");
        let settings_path = dir.path().join("settings.toml");
        SettingsToml::new()
            .lines("server", server_lines)
            .database(&db_path)
            .provisioning("drift_check_interval_secs", "0")
            .lines("provisioning", provisioning_lines)
            .apps(apps)
            .write(&settings_path);
        BenchEnv {
            dir,
            settings_path,
            db_path,
        }
    }

    /// The settings as accessboard reads them.
    pub fn settings(&self) -> Arc<Settings> {
        Arc::new(Settings::load(&self.settings_path, true).expect("settings load"))
    }

    /// Runs the accessboard binary; panics with its stderr unless it succeeds.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_stdin(args, "")
    }

    /// Same as [`BenchEnv::cli`], feeding `stdin`.
    pub fn cli_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(&self.settings_path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn accessboard");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        let out = child.wait_with_output().expect("accessboard output");
        assert!(
            out.status.success(),
            "accessboard {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Writes a CSV of `n` people with role `user` in `slug`; returns its path.
    pub fn write_csv(&self, n: usize, slug: &str) -> PathBuf {
        let path = self.dir.path().join(format!("people-{n}.csv"));
        std::fs::write(&path, people_csv(n, slug)).expect("write csv");
        path
    }

    /// Imports `n` people with access to `slug` through `accessboard user import`.
    pub fn import(&self, n: usize, slug: &str) {
        let csv = self.write_csv(n, slug);
        let csv = csv.to_str().expect("utf-8 path");
        self.cli(&["user", "import", csv]);
    }

    /// A read-only connection to the database (the bench never writes behind accessboard's back).
    pub fn read_only(&self) -> Connection {
        let conn = Connection::open_with_flags(
            &self.db_path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .expect("open the database read-only");
        conn.busy_timeout(Duration::from_secs(5))
            .expect("busy timeout");
        conn
    }
}

/// `email,name,<slug>` with `n` rows; emails sort like names, all lower case.
pub fn people_csv(n: usize, slug: &str) -> String {
    let mut s = String::with_capacity(n * 48);
    s.push_str(&format!("email,name,{slug}\n"));
    for i in 0..n {
        s.push_str(&format!("person{i:05}@example.org,Person {i:05},user\n"));
    }
    s
}

/// A running `accessboard serve`; stopped with SIGTERM on drop.
pub struct Serve {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Serve {
    /// Starts `serve` on a free loopback port (via `ACCESSBOARD_SERVER__BIND`) and waits for /healthz.
    pub fn start(env: &BenchEnv) -> Serve {
        let log = env.dir.path().join("serve.log");
        for _ in 0..3 {
            let port = free_port();
            let file = std::fs::File::create(&log).expect("serve log");
            let child = Command::new(BIN)
                .arg("--config")
                .arg(&env.settings_path)
                .arg("serve")
                .env("ACCESSBOARD_SERVER__BIND", format!("127.0.0.1:{port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(file)
                .spawn()
                .expect("spawn accessboard serve");
            let mut serve = Serve {
                child,
                port,
                log: log.clone(),
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = serve.child.try_wait() {
                    break;
                }
                if http_status(port, "/healthz") == Some(200) {
                    return serve;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            serve.stop();
        }
        panic!(
            "accessboard serve did not start; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGTERM (graceful: in-flight jobs finish), then SIGKILL after 25 s.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        terminate(&mut self.child, Duration::from_secs(25));
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends SIGTERM to this one child (by its pid) and waits; kills it if it does not exit in time.
pub fn terminate(child: &mut Child, grace: Duration) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Pair counts of one app: (provisioned, failed or error, all pairs); index-only queries.
pub fn pair_counts(conn: &Connection, app: &str) -> (i64, i64, i64) {
    let count = |sql: &str| -> i64 {
        conn.query_row(sql, [app], |r| r.get(0))
            .expect("count pairs")
    };
    (
        count("SELECT count(*) FROM app_access WHERE app_slug = ?1 AND status = 'provisioned'"),
        count(
            "SELECT count(*) FROM app_access WHERE app_slug = ?1 AND status IN ('failed', 'error')",
        ),
        count("SELECT count(*) FROM app_access WHERE app_slug = ?1"),
    )
}

/// Polls every 50 ms until `want` pairs of `app` are `provisioned`; returns when that was seen.
/// Panics (with the serve log) on a failed pair or after `limit`.
pub fn wait_provisioned(
    env: &BenchEnv,
    app: &str,
    want: i64,
    limit: Duration,
    log: &Path,
) -> Instant {
    let conn = env.read_only();
    let deadline = Instant::now() + limit;
    loop {
        let (done, bad, _) = pair_counts(&conn, app);
        if done >= want {
            return Instant::now();
        }
        if bad > 0 || Instant::now() > deadline {
            let why: Option<String> = conn
                .query_row(
                    "SELECT last_message FROM app_access WHERE app_slug = ?1 AND status IN ('failed', 'error') LIMIT 1",
                    [app],
                    |r| r.get(0),
                )
                .ok()
                .flatten();
            let tail: String = std::fs::read_to_string(log)
                .unwrap_or_default()
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .join("\n");
            panic!(
                "provisioning of {app} stopped at {done}/{want} provisioned, {bad} failed or erroring ({why:?}); serve log, last lines reversed:\n{tail}"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
