//! The real `accessboard serve` as a child process on a known loopback port,
//! its stderr in a file: the one way the tests start it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::browser::{Resp, get_blocking};
use super::env::TestEnv;
use super::net::{free_port, http_status};

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A running `serve`; killed when dropped (its log printed if the test failed).
pub struct Serve {
    pub child: Child,
    pub port: u16,
    /// serve's stderr.
    pub log: PathBuf,
}

/// How to start it; see [`Serve::builder`].
pub struct ServeBuilder<'a> {
    env: &'a TestEnv,
    port: Option<u16>,
    envs: Vec<(String, String)>,
    command: bool,
}

impl ServeBuilder<'_> {
    /// On this port (e.g. the one it had before a crash) instead of a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// One more environment variable (e.g. `ACCESSBOARD_LOG__FORMAT`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Several more environment variables.
    pub fn envs(mut self, envs: &[(&str, &str)]) -> Self {
        for (k, v) in envs {
            self = self.env(k, v);
        }
        self
    }

    /// `accessboard` with no command at all (which serves).
    pub fn without_command(mut self) -> Self {
        self.command = false;
        self
    }

    /// Starts the process and returns at once.
    pub fn spawn(self) -> Serve {
        let port = self.port.unwrap_or_else(free_port);
        let base = format!("http://127.0.0.1:{port}");
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let log = self.env.dir.path().join(format!("serve-{n}.log"));
        let file = std::fs::File::create(&log).expect("serve's log file");
        let args: &[&str] = if self.command { &["serve"] } else { &[] };
        let child = self
            .env
            .command(args, &[])
            .env("ACCESSBOARD_SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("ACCESSBOARD_SERVER__PUBLIC_URL", &base)
            .env("NO_COLOR", "1")
            .envs(self.envs)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn accessboard serve");
        Serve { child, port, log }
    }

    /// Starts the process and waits until /healthz answers 200.
    pub fn start(self) -> Serve {
        let mut serve = self.spawn();
        serve.wait_ready();
        serve
    }
}

impl Serve {
    /// `serve` on a free port, ready.
    pub fn start(env: &TestEnv) -> Serve {
        Serve::builder(env).start()
    }

    /// Options before starting.
    pub fn builder(env: &TestEnv) -> ServeBuilder<'_> {
        ServeBuilder {
            env,
            port: None,
            envs: Vec::new(),
            command: true,
        }
    }

    /// e.g. `http://127.0.0.1:40123`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// e.g. `127.0.0.1:40123`.
    pub fn bind(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Waits until /healthz answers 200 (the signal handlers are in place by then).
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("serve exited early ({status}); its log:\n{}", self.log());
            }
            if http_status(self.port, "/healthz") == Some(200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not answer /healthz within 60 s; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What serve logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET `path` without a session, from a fresh browser.
    pub fn get(&self, path: &str) -> Resp {
        get_blocking(&self.base(), path)
    }

    /// /metrics as `series -> value`.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200, "/metrics: {}", r.body);
        series(&r.body)
    }

    /// Sends a signal (`-TERM`, `-KILL`, …) to this one process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([name, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {name} failed");
    }

    /// SIGTERM.
    pub fn sigterm(&self) {
        self.signal("-TERM");
    }

    /// The exit status, or None when still running after `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGTERM, then expects a clean exit within the drain timeout.
    pub fn stop(&mut self) {
        self.sigterm();
        let status = self.wait_exit(Duration::from_secs(30));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "serve did not stop cleanly ({status:?}); its log:\n{}",
            self.log()
        );
    }

    /// SIGKILL, no goodbye.
    pub fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- accessboard serve log ---\n{}", self.log());
        }
    }
}

/// Prometheus text as `series -> value` (comments dropped).
pub fn series(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}
