//! Helpers for the operations tests (`ops_*`): the real binary, `serve` as a child
//! process, a raw HTTP client, Prometheus text and the database file read directly.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::env::{TestEnv, stderr, stdout};

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

pub fn db_path(env: &TestEnv) -> PathBuf {
    env.dir.path().join("data/accessboard.db")
}

/// The accessboard binary with these settings and extra environment; `RUST_LOG` never leaks in.
pub fn command(settings: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_accessboard"));
    cmd.env_remove("RUST_LOG")
        .arg("--config")
        .arg(settings)
        .args(args)
        .envs(envs.iter().copied());
    cmd
}

/// Runs a CLI command with extra environment and returns its output.
pub fn cli_env(settings: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    command(settings, args, envs)
        .stdin(Stdio::null())
        .output()
        .expect("run accessboard")
}

pub fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

static SERVE_COUNT: AtomicUsize = AtomicUsize::new(0);

/// A running `accessboard serve` on a known loopback port, stderr going to a file.
pub struct Serve {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Serve {
    pub fn start(env: &TestEnv, extra_env: &[(&str, &str)]) -> Serve {
        let port = free_port();
        let bind = format!("127.0.0.1:{port}");
        let n = SERVE_COUNT.fetch_add(1, Ordering::SeqCst);
        let log = env.dir.path().join(format!("serve-{n}.log"));
        let file = File::create(&log).expect("serve log file");
        let mut envs: Vec<(&str, &str)> = vec![("ACCESSBOARD_SERVER__BIND", &bind)];
        envs.extend_from_slice(extra_env);
        let child = command(&env.settings_path, &["serve"], &envs)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .spawn()
            .expect("spawn serve");
        let mut serve = Serve { child, port, log };
        serve.wait_ready();
        serve
    }

    pub fn bind(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Waits until /healthz answers 200 and the signal handlers are in place.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("serve exited early ({status}); its log:\n{}", self.log());
            }
            if http(self.port, "GET", "/healthz", None, None).is_ok_and(|r| r.status == 200) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not answer /healthz within 60 s; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        http(self.port, "GET", path, None, None)
            .unwrap_or_else(|e| panic!("GET {path}: {e}; serve log:\n{}", self.log()))
    }

    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200, "/metrics: {}", r.body);
        series(&r.body)
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([name, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {name} failed");
    }

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

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `name=value` part of the last Set-Cookie, if any.
    pub fn cookie(&self) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .and_then(|(_, v)| v.split(';').next())
            .map(str::to_owned)
    }
}

/// One HTTP/1.1 exchange on loopback with `Connection: close` (a form body when given).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> std::io::Result<Resp> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = form.unwrap_or("");
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if form.is_some() {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    if headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    }) {
        body = dechunk(&body);
    }
    Ok(Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

pub fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&raw[..eol])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&raw[start..(start + size).min(raw.len())]);
        raw = &raw[(start + size + 2).min(raw.len())..];
    }
    out
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

/// Pairs of one app by status, read straight from the database file.
pub fn pair_counts(db: &Path, app: &str) -> BTreeMap<String, i64> {
    let c = rusqlite::Connection::open(db).expect("open the database");
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    let mut stmt = c
        .prepare("SELECT status, count(*) FROM app_access WHERE app_slug = ?1 GROUP BY status")
        .unwrap();
    stmt.query_map([app], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

pub fn sql_i64(db: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(db).expect("open the database");
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Polls `check` every 100 ms until it returns true; panics with `what()` after `limit`.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool, what: impl Fn() -> String) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out: {}", what());
        std::thread::sleep(Duration::from_millis(100));
    }
}
