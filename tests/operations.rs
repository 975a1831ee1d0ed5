//! Operations: healthcheck, online backup, /metrics, JSON logs, secrets, and SIGTERM handling.
//!
//! Every test drives the real binary (`serve`, CLI commands) in its own temporary
//! folder on loopback ports; the SCIM apps are real scim2-server processes.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accessboard::domain::{Email, NewUser, PersonName, Role, Slug};
use common::app::{TestEnv, plain_app, scim_app, stderr, stdout};
use common::scim_server::ScimServer;
use serde_json::Value;

// ---------------------------------------------------------------- helpers

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

fn db_path(env: &TestEnv) -> PathBuf {
    env.dir.path().join("data/accessboard.db")
}

/// The accessboard binary with these settings and extra environment; `RUST_LOG` never leaks in.
fn command(settings: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_accessboard"));
    cmd.env_remove("RUST_LOG")
        .arg("--config")
        .arg(settings)
        .args(args)
        .envs(envs.iter().copied());
    cmd
}

/// Runs a CLI command with extra environment and returns its output.
fn cli_env(settings: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    command(settings, args, envs)
        .stdin(Stdio::null())
        .output()
        .expect("run accessboard")
}

fn ok(out: &Output, what: &str) {
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
struct Serve {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Serve {
    fn start(env: &TestEnv, extra_env: &[(&str, &str)]) -> Serve {
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

    fn bind(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Waits until /healthz answers 200 and the signal handlers are in place.
    fn wait_ready(&mut self) {
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

    fn get(&self, path: &str) -> Resp {
        http(self.port, "GET", path, None, None)
            .unwrap_or_else(|e| panic!("GET {path}: {e}; serve log:\n{}", self.log()))
    }

    fn metrics(&self) -> BTreeMap<String, f64> {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200, "/metrics: {}", r.body);
        series(&r.body)
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([name, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {name} failed");
    }

    fn sigterm(&self) {
        self.signal("-TERM");
    }

    /// The exit status, or None when still running after `limit`.
    fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
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
    fn stop(&mut self) {
        self.sigterm();
        let status = self.wait_exit(Duration::from_secs(30));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "serve did not stop cleanly ({status:?}); its log:\n{}",
            self.log()
        );
    }

    fn log(&self) -> String {
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
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `name=value` part of the last Set-Cookie, if any.
    fn cookie(&self) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .and_then(|(_, v)| v.split(';').next())
            .map(str::to_owned)
    }
}

/// One HTTP/1.1 exchange on loopback with `Connection: close` (a form body when given).
fn http(
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

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
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
fn series(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

/// Sum of every series starting with `prefix` (e.g. all operations of one app).
fn sum_of(m: &BTreeMap<String, f64>, prefix: &str) -> f64 {
    m.iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v)
        .sum()
}

fn value(m: &BTreeMap<String, f64>, key: &str) -> f64 {
    m.get(key).copied().unwrap_or(0.0)
}

/// Pairs of one app by status, read straight from the database file.
fn pair_counts(db: &Path, app: &str) -> BTreeMap<String, i64> {
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

fn sql_i64(db: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(db).expect("open the database");
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Polls `check` every 100 ms until it returns true; panics with `what()` after `limit`.
fn wait_until(limit: Duration, mut check: impl FnMut() -> bool, what: impl Fn() -> String) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out: {}", what());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The CSRF token on a page.
fn csrf_in(html: &str) -> Option<String> {
    let i = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[i..].split('"').next()?.to_owned())
}

fn form(fields: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Signs in over HTTP; returns the session cookie and the CSRF token.
fn sign_in(port: u16, email: &str, password: &str) -> (String, String) {
    let page = http(port, "GET", "/login", None, None).expect("GET /login");
    assert_eq!(page.status, 200);
    let cookie = page.cookie().expect("a session cookie with the login form");
    let csrf = csrf_in(&page.body).expect("a CSRF token on the login form");
    let r = http(
        port,
        "POST",
        "/login",
        Some(&cookie),
        Some(&form(&[
            ("email", email),
            ("password", password),
            ("next", "/users"),
            ("csrf", &csrf),
        ])),
    )
    .expect("POST /login");
    assert_eq!(r.status, 303, "sign-in failed: {}", r.body);
    let cookie = r.cookie().unwrap_or(cookie);
    (cookie, csrf)
}

fn scim_block(slug: &str, base_url: &str, auth_line: &str) -> String {
    format!(
        r#"
[[apps]]
slug = "{slug}"
name = "App {slug}"
url = "https://{slug}.example.org"

[apps.scim]
base_url = "{base_url}"
auth = "bearer"
{auth_line}
"#
    )
}

// ---------------------------------------------------------------- 1. healthcheck

#[test]
fn healthcheck_passes_against_serve_and_fails_clearly_once_it_stops() {
    let env = TestEnv::new(&plain_app("wiki"));
    let mut serve = Serve::start(&env, &[]);
    let bind = serve.bind();
    let envs = [("ACCESSBOARD_SERVER__BIND", bind.as_str())];

    let out = cli_env(&env.settings_path, &["healthcheck"], &envs);
    assert_eq!(
        out.status.code(),
        Some(0),
        "healthcheck against a running serve: {}",
        stderr(&out)
    );
    assert_eq!(stderr(&out), "", "a passing healthcheck is silent");
    let out = env.cli(&["healthcheck", "--url", &format!("http://{bind}/")]);
    assert_eq!(out.status.code(), Some(0), "--url: {}", stderr(&out));

    serve.stop();
    let out = cli_env(&env.settings_path, &["healthcheck"], &envs);
    assert_eq!(out.status.code(), Some(1), "nothing listens any more");
    let err = stderr(&out);
    assert!(
        err.starts_with("accessboard: ") && err.contains(&bind) && err.contains("not answering"),
        "one sentence naming the address: {err:?}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err:?}");
    assert!(!err.contains("panicked"), "{err}");

    // Something answers, but not with 2xx: unhealthy too, with the status in the message.
    let stub = TcpListener::bind("127.0.0.1:0").unwrap();
    let stub_port = stub.local_addr().unwrap().port();
    let answer = std::thread::spawn(move || {
        let (mut s, _) = stub.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let _ = s.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    });
    let out = env.cli(&[
        "healthcheck",
        "--url",
        &format!("http://127.0.0.1:{stub_port}"),
    ]);
    answer.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("503"), "{}", stderr(&out));
}

// ---------------------------------------------------------------- 2. backup

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_during_writes_is_consistent_and_holds_every_committed_user() {
    let env = TestEnv::new(&scim_app("chat", "http://127.0.0.1:9/scim", "t", ""));
    ok(&env.cli(&["app", "install", "chat"]), "app install");
    // A database of some size (~30k people): a copy taken in small steps restarts at every
    // commit from another process and, under steady writes, never finished (fixed in db::backup).
    let csv = env.dir.path().join("people.csv");
    let mut text = String::from("email,name,chat\n");
    for i in 0..30000 {
        text.push_str(&format!("seed{i}@example.org,Seed Person {i},user\n"));
    }
    std::fs::write(&csv, text).unwrap();
    ok(
        &env.cli(&["user", "import", csv.to_str().unwrap()]),
        "import",
    );
    let pages = sql_i64(&db_path(&env), "PRAGMA page_count");
    assert!(
        pages > 4096,
        "the database should be larger than a few backup steps ({pages} pages)"
    );

    let ctx = env.context().await;
    let committed: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (service, committed, stop) = (ctx.service.clone(), committed.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let email = format!("w{i}@example.org");
                let made = service
                    .create_user(NewUser {
                        email: Email::parse(&email).unwrap(),
                        name: PersonName::parse(&format!("Writer {i}")).unwrap(),
                        is_admin: false,
                        access: vec![(Slug::parse("chat").unwrap(), Role::User)],
                    })
                    .await;
                if let Err(e) = made {
                    panic!("a write failed while the backup ran: {e}");
                }
                committed.lock().unwrap().push(email);
                i += 1;
            }
        })
    };
    let t0 = Instant::now();
    while committed.lock().unwrap().len() < 20 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the writer is stuck"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let copy = env.dir.path().join("backup.db");
    let before: Vec<String> = committed.lock().unwrap().clone();
    let started = Instant::now();
    let out = {
        let (settings, copy) = (env.settings_path.clone(), copy.clone());
        tokio::task::spawn_blocking(move || {
            let mut child = command(&settings, &["backup", copy.to_str().unwrap()], &[])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn backup");
            // Writes keep coming the whole time: the backup must still end.
            let deadline = Instant::now() + Duration::from_secs(60);
            while child.try_wait().expect("try_wait").is_none() {
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Some(child.wait_with_output().expect("backup output"))
        })
        .await
        .unwrap()
    };
    let took = started.elapsed();
    let during = committed.lock().unwrap().len() - before.len();
    // Keep writing a moment, so writes straddle the end of the backup too.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    writer.await.expect("writer");
    let out = out.expect("the backup was still copying after 60 s of concurrent writes");
    ok(&out, "backup");
    assert!(
        stdout(&out).contains("backup written to") && stdout(&out).contains("backup.db"),
        "{}",
        stdout(&out)
    );
    assert!(
        during > 0,
        "writes kept landing while the backup ran ({took:?}), none did"
    );
    eprintln!("backup took {took:?} while {during} users were created");

    {
        let c = rusqlite::Connection::open(&copy).expect("the copy opens");
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete", "a self-contained file, no -wal needed");
        let emails: BTreeSet<String> = c
            .prepare("SELECT email FROM users")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for e in &before {
            assert!(
                emails.contains(e),
                "{e} was committed before the backup began but is missing"
            );
        }
        assert!(emails.contains("seed29999@example.org"));
        // A transaction is in the copy whole or not at all: every person has their chat pair.
        let orphans: i64 = c
            .query_row(
                "SELECT count(*) FROM users u WHERE NOT EXISTS
                 (SELECT 1 FROM app_access a WHERE a.user_id = u.id AND a.app_slug = 'chat' AND a.role = 'user')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            orphans, 0,
            "people without the access they were created with"
        );
    }
    assert!(
        !PathBuf::from(format!("{}-wal", copy.display())).exists(),
        "the copy has no write-ahead log beside it"
    );

    // The copy is a working database: accessboard lists its people.
    let in_copy = sql_i64(&copy, "SELECT count(*) FROM users");
    let out = cli_env(
        &env.settings_path,
        &["user", "list", "--json"],
        &[("ACCESSBOARD_DATABASE__PATH", copy.to_str().unwrap())],
    );
    ok(&out, "user list on the copy");
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len() as i64, in_copy);

    // Never overwrites: an existing file stays as it was.
    let existing = env.dir.path().join("existing.db");
    std::fs::write(&existing, b"precious").unwrap();
    let out = env.cli(&["backup", existing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("already exists") && err.contains("existing.db"),
        "{err}"
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");

    // A place that cannot be written: a clear sentence naming it, nothing left behind.
    let blocker = env.dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    let target = blocker.join("backup.db");
    let out = env.cli(&["backup", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("accessboard: ")
            && err.contains("not-a-folder")
            && !err.contains("panicked"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    drop(ctx);
}

// ---------------------------------------------------------------- 3. metrics

/// The dashboard alone (HTTP, no workers) on its own thread, as the web tests run it.
fn dashboard_without_workers(env: &TestEnv) -> (u16, actix_web::dev::ServerHandle) {
    let settings = env.settings();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let ctx = match accessboard::cli::Context::open(settings).await {
                Ok(c) => c,
                Err(e) => panic!("context: {}", e.message),
            };
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = accessboard::startup::http_server(&ctx, listener).expect("dashboard");
            tx.send((port, server.handle())).unwrap();
            let _ = server.await;
            drop(ctx);
        })
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the dashboard started")
}

#[test]
fn metrics_name_every_series_and_move_as_provisioning_runs() {
    let server = ScimServer::start();
    let env = TestEnv::new(&format!(
        "{}{}",
        scim_app("chat", &server.base_url(), server.token(), ""),
        plain_app("wiki")
    ));
    ok(&env.cli(&["app", "install", "chat"]), "app install");

    // Without workers, pairs wait: that is what the age gauge is for.
    let (dash_port, dash_handle) = dashboard_without_workers(&env);
    let dash_metrics = || {
        let r = http(dash_port, "GET", "/metrics", None, None).expect("GET /metrics");
        assert_eq!(r.status, 200);
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
            "{:?}",
            r.header("content-type")
        );
        r.body
    };

    let text = dash_metrics();
    for name in [
        "# TYPE accessboard_pairs gauge",
        "# TYPE accessboard_jobs gauge",
        "accessboard_jobs{state=\"queued\"} 0",
        "accessboard_jobs{state=\"running\"} 0",
        "# TYPE accessboard_oldest_sync_needed_seconds gauge",
        "accessboard_oldest_sync_needed_seconds 0",
        "# TYPE accessboard_scim_request_duration_seconds histogram",
        "# TYPE accessboard_http_requests_total counter",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    let m = series(&text);
    assert_eq!(
        value(&m, "accessboard_pairs{app=\"chat\",status=\"provisioned\"}"),
        0.0
    );

    ok(
        &env.cli(&[
            "user",
            "create",
            "--email",
            "ann@example.org",
            "--name",
            "Ann Lee",
            "--access",
            "chat=user",
        ]),
        "user create",
    );
    std::thread::sleep(Duration::from_millis(2200));
    let m = series(&dash_metrics());
    assert_eq!(
        value(&m, "accessboard_pairs{app=\"chat\",status=\"sync_needed\"}"),
        1.0,
        "{m:?}"
    );
    assert!(
        value(&m, "accessboard_oldest_sync_needed_seconds") >= 2.0,
        "the waiting pair ages: {m:?}"
    );
    assert!(
        value(&m, "accessboard_jobs{state=\"queued\"}") >= 1.0,
        "the create enqueued a job: {m:?}"
    );

    // Now the workers: the same numbers move.
    let serve = Serve::start(&env, &[]);
    let before = serve.metrics();
    wait_until(
        Duration::from_secs(60),
        || {
            let m = serve.metrics();
            value(&m, "accessboard_pairs{app=\"chat\",status=\"provisioned\"}") == 1.0
                && sum_of(
                    &m,
                    "accessboard_scim_request_duration_seconds_count{app=\"chat\",",
                ) > 0.0
                && value(&m, "accessboard_jobs{state=\"queued\"}") == 0.0
                && value(&m, "accessboard_jobs{state=\"running\"}") == 0.0
        },
        || format!("{:?}\nserve log:\n{}", serve.metrics(), serve.log()),
    );
    let text = serve.get("/metrics").body;
    let m = series(&text);
    assert_eq!(
        value(&m, "accessboard_pairs{app=\"chat\",status=\"sync_needed\"}"),
        0.0
    );
    assert_eq!(value(&m, "accessboard_oldest_sync_needed_seconds"), 0.0);
    let ok_count = sum_of(
        &m,
        "accessboard_scim_request_duration_seconds_count{app=\"chat\",",
    );
    let ok_2xx: Vec<&String> = m
        .keys()
        .filter(|k| {
            k.starts_with(
                "accessboard_scim_request_duration_seconds_count{app=\"chat\",operation=\"",
            ) && k.ends_with(",status=\"2xx\"}")
        })
        .collect();
    assert!(!ok_2xx.is_empty(), "2xx calls by operation: {text}");
    let inf = sum_of(
        &m,
        "accessboard_scim_request_duration_seconds_bucket{app=\"chat\",",
    );
    assert!(inf >= ok_count, "buckets are cumulative up to +Inf");
    for k in ok_2xx {
        let labels = &k["accessboard_scim_request_duration_seconds_count".len()..];
        let inf_key = format!(
            "accessboard_scim_request_duration_seconds_bucket{},le=\"+Inf\"}}",
            labels.trim_end_matches('}')
        );
        assert_eq!(
            value(&m, &inf_key),
            m[k],
            "+Inf bucket equals count for {k}"
        );
    }

    // HTTP requests are counted by route pattern and status, and the counts move.
    let healthz = "accessboard_http_requests_total{route=\"/healthz\",status=\"200\"}";
    assert!(value(&before, healthz) >= 1.0, "{before:?}");
    assert!(
        value(
            &m,
            "accessboard_http_requests_total{route=\"/metrics\",status=\"200\"}"
        ) >= 1.0
    );
    let h0 = value(&m, healthz);
    assert_eq!(serve.get("/healthz").status, 200);
    assert_eq!(
        serve
            .get("/users/0b7c0d6e-aaaa-4bbb-8ccc-123456789abc")
            .status,
        303
    );
    assert_eq!(serve.get("/users/another-id").status, 303);
    // Without a session, unknown paths are sent to sign in too; they share one series.
    assert_eq!(serve.get("/no-such-page").status, 303);
    assert_eq!(serve.get("/another/unknown").status, 303);
    let m = serve.metrics();
    assert_eq!(value(&m, healthz), h0 + 1.0);
    assert_eq!(
        value(
            &m,
            "accessboard_http_requests_total{route=\"/users/{id}\",status=\"303\"}"
        ),
        2.0,
        "raw paths fold into their route: {m:?}"
    );
    assert_eq!(
        value(
            &m,
            "accessboard_http_requests_total{route=\"unmatched\",status=\"303\"}"
        ),
        2.0,
        "{m:?}"
    );
    assert!(
        !m.keys().any(|k| k.contains("another-id")
            || k.contains("no-such-page")
            || k.contains("/another/")),
        "no series per raw path: {m:?}"
    );

    // The dashboard without workers reads the same database: nothing waits any more.
    let m = series(&dash_metrics());
    assert_eq!(value(&m, "accessboard_oldest_sync_needed_seconds"), 0.0);
    assert_eq!(
        value(&m, "accessboard_pairs{app=\"chat\",status=\"provisioned\"}"),
        1.0
    );
    let mut serve = serve;
    serve.stop();
    futures::executor::block_on(dash_handle.stop(false));
}

// ---------------------------------------------------------------- 4. JSON logs

#[test]
fn json_logs_are_one_object_per_line_with_request_ids() {
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("chat", &server.base_url(), server.token(), ""));
    ok(&env.cli(&["app", "install", "chat"]), "app install");
    let mut serve = Serve::start(
        &env,
        &[
            ("ACCESSBOARD_LOG__FORMAT", "json"),
            ("ACCESSBOARD_LOG__LEVEL", "info"),
        ],
    );
    let mut ids = Vec::new();
    for path in [
        "/healthz", "/readyz", "/metrics", "/login", "/users", "/nope",
    ] {
        let r = serve.get(path);
        let id = r
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{path}: no X-Request-Id"))
            .to_owned();
        ids.push((path, r.status, id));
    }
    ok(
        &env.cli(&[
            "user",
            "create",
            "--email",
            "jo@example.org",
            "--name",
            "Jo",
            "--access",
            "chat=user",
        ]),
        "user create",
    );
    let db = db_path(&env);
    wait_until(
        Duration::from_secs(60),
        || pair_counts(&db, "chat").get("provisioned") == Some(&1),
        || serve.log(),
    );
    serve.stop();

    let log = serve.log();
    let mut objects = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            !line.contains('\u{1b}'),
            "no terminal colours in JSON: {line}"
        );
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        let o = v
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {line}"));
        assert!(
            o.get("level").and_then(Value::as_str).is_some(),
            "no level: {line}"
        );
        assert!(o.get("timestamp").is_some(), "no timestamp: {line}");
        let has_fields = o.keys().any(|k| {
            !matches!(
                k.as_str(),
                "timestamp" | "level" | "target" | "span" | "spans"
            )
        });
        assert!(has_fields, "neither message nor fields: {line}");
        objects.push(v);
    }
    let has_message = |m: &str| objects.iter().any(|o| o["message"] == m);
    assert!(has_message("accessboard is serving"), "{log}");
    assert!(has_message("stopped"), "{log}");
    // Each request's line carries the id the client saw in X-Request-Id.
    for (path, status, id) in &ids {
        let line = objects.iter().find(|o| {
            o["span"]["name"] == "http_request" && o["span"]["request_id"] == id.as_str()
        });
        let line =
            line.unwrap_or_else(|| panic!("no log line for {path} with request_id {id}:\n{log}"));
        assert_eq!(line["span"]["path"], *path);
        assert_eq!(line["status"], *status, "{line}");
    }
    // The provisioning is logged with its app and outcome.
    assert!(
        objects.iter().any(|o| o["span"]["name"] == "reconcile"
            && o["span"]["app"] == "chat"
            && o["span"]["outcome"] == "provisioned"),
        "{log}"
    );
}

// ---------------------------------------------------------------- 5. secrets

#[test]
fn scim_tokens_never_show_in_logs_pages_cli_output_or_the_database() {
    const INLINE: &str = "s3cr3t-TOKEN-inline-4d1f7b";
    const FROM_FILE: &str = "s3cr3t-TOKEN-file-9a2c55";
    const WRONG: &str = "s3cr3t-TOKEN-wrong-71e0b3";
    const DOWN: &str = "s3cr3t-TOKEN-down-c83d20";
    const SECRETS: [&str; 4] = [INLINE, FROM_FILE, WRONG, DOWN];
    let inline_server = ScimServer::builder().bearer_token(INLINE).start();
    let file_server = ScimServer::builder().bearer_token(FROM_FILE).start();

    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("docs_token");
    std::fs::write(&token_file, format!("{FROM_FILE}\n")).unwrap();
    let wrong_file = dir.path().join("wrong_token");
    std::fs::write(&wrong_file, WRONG).unwrap();
    let closed = free_port();
    let apps = [
        scim_app(
            "chat",
            &inline_server.base_url(),
            INLINE,
            "admin_group = \"admins\"",
        ),
        scim_block(
            "docs",
            &file_server.base_url(),
            &format!("token_file = \"{}\"", token_file.display()),
        ),
        // the right server, the wrong token: 401
        scim_block(
            "wrong",
            &inline_server.base_url(),
            &format!("token_file = \"{}\"", wrong_file.display()),
        ),
        // nothing listens
        scim_app("down", &format!("http://127.0.0.1:{closed}/scim"), DOWN, ""),
    ]
    .concat();
    let env = TestEnv::with_provisioning(&apps, "max_attempts = 2");
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut run = |args: &[&str], stdin: Option<&str>| -> Output {
        let out = env.cli_with_stdin(args, stdin);
        outputs.push((
            args.join(" "),
            format!("{}\n{}", stdout(&out), stderr(&out)),
        ));
        out
    };
    for app in ["chat", "docs", "wrong", "down"] {
        ok(&run(&["app", "install", app], None), "app install");
    }
    let admin = "admin@example.org";
    let password = "correct horse battery staple";
    ok(
        &run(
            &[
                "user",
                "create",
                "--email",
                admin,
                "--name",
                "Ada Admin",
                "--admin",
                "--access",
                "chat=admin",
                "--access",
                "docs=user",
                "--access",
                "wrong=user",
                "--access",
                "down=user",
            ],
            None,
        ),
        "create admin",
    );
    ok(
        &run(
            &[
                "user",
                "create",
                "--email",
                "bo@example.org",
                "--name",
                "Bo",
                "--access",
                "chat=user",
                "--access",
                "docs=admin",
            ],
            None,
        ),
        "create bo",
    );
    ok(
        &run(
            &["user", "set-password", admin],
            Some(&format!("{password}\n")),
        ),
        "set-password",
    );

    let mut serve = Serve::start(
        &env,
        &[
            ("ACCESSBOARD_LOG__FORMAT", "json"),
            ("ACCESSBOARD_LOG__LEVEL", "debug"),
        ],
    );
    let db = db_path(&env);
    wait_until(
        Duration::from_secs(60),
        || {
            pair_counts(&db, "chat").get("provisioned") == Some(&2)
                && pair_counts(&db, "docs").get("provisioned") == Some(&2)
                && pair_counts(&db, "wrong").get("failed") == Some(&1)
                && pair_counts(&db, "down").get("failed") == Some(&1)
        },
        || {
            format!(
                "{:?} {:?} {:?} {:?}\n{}",
                pair_counts(&db, "chat"),
                pair_counts(&db, "docs"),
                pair_counts(&db, "wrong"),
                pair_counts(&db, "down"),
                serve.log()
            )
        },
    );
    // Both tokens reached their apps: the inline one and the one read from a file.
    assert_eq!(inline_server.users().len(), 2);
    assert_eq!(file_server.users().len(), 2);

    for args in [
        &["provision", "status"][..],
        &["provision", "status", "--json"],
        &["provision", "status", "--app", "wrong"],
        &["provision", "status", "--json", "--app", "down"],
        &["provision", "check", "--app", "chat"],
        &["provision", "check", "--app", "docs", "--json"],
        &["provision", "check", "--app", "wrong"],
        &["provision", "check", "--app", "down", "--json"],
        &["provision", "retry", "--app", "down"],
        &["provision", "run", "--timeout", "5"],
        &["app", "list"],
        &["app", "list", "--json"],
        &["user", "list"],
        &["user", "list", "--json"],
    ] {
        run(args, None);
    }
    let status = outputs
        .iter()
        .find(|(a, _)| a == "provision status --app wrong")
        .map(|(_, o)| o.clone())
        .unwrap_or_default();
    assert!(
        status.contains("failed") && status.contains("401"),
        "the failure is shown, with what the app said: {status}"
    );

    // The dashboard, signed in.
    let (cookie, _) = sign_in(serve.port, admin, password);
    let get = |path: &str| {
        let r = http(serve.port, "GET", path, Some(&cookie), None).expect("GET");
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r
    };
    let mut pages: Vec<(String, String)> = Vec::new();
    let apps_page = get("/apps");
    let csrf = csrf_in(&apps_page.body).expect("a CSRF token on /apps");
    pages.push(("/apps".into(), apps_page.body));
    for slug in ["chat", "docs", "wrong", "down"] {
        let path = format!("/apps/{slug}");
        pages.push((path.clone(), get(&path).body));
        let r = http(
            serve.port,
            "POST",
            &format!("/apps/{slug}/drift"),
            Some(&cookie),
            Some(&form(&[("csrf", &csrf)])),
        )
        .expect("POST drift");
        pages.push((format!("POST /apps/{slug}/drift ({})", r.status), r.body));
        if r.status == 303 {
            let path = format!("/apps/{slug}/drift");
            pages.push((path.clone(), get(&path).body));
        }
    }
    for path in ["/users", "/activity", "/activity?outcome=error", "/metrics"] {
        pages.push((path.into(), get(path).body));
    }
    let wrong_page = &pages.iter().find(|(p, _)| p == "/apps/wrong").unwrap().1;
    assert!(wrong_page.contains("401"), "the app page shows the failure");
    let users: Vec<Value> =
        serde_json::from_slice(&env.cli(&["user", "list", "--json"]).stdout).unwrap();
    for u in &users {
        let path = format!("/users/{}", u["id"].as_str().unwrap());
        pages.push((path.clone(), get(&path).body));
    }
    serve.stop();

    let log = serve.log();
    assert!(
        log.contains("\"app\":\"down\"") && log.contains("\"app\":\"wrong\""),
        "the failing calls are in the log: {log}"
    );
    for secret in SECRETS {
        for (i, line) in log.lines().enumerate() {
            assert!(
                !line.contains(secret),
                "log line {} shows a token: {line}",
                i + 1
            );
        }
        for (page, body) in &pages {
            assert!(!body.contains(secret), "{page} shows a token");
        }
        for (cmd, text) in &outputs {
            assert!(!text.contains(secret), "`{cmd}` prints a token:\n{text}");
        }
    }
    // Nor the database (and so no backup) holds them.
    let mut bytes = std::fs::read(&db).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", db.display())) {
        bytes.extend(wal);
    }
    for secret in SECRETS {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the database file holds {secret}"
        );
    }
}

// ---------------------------------------------------------------- 6. SIGTERM

#[test]
fn sigterm_mid_run_exits_cleanly_and_a_restart_settles_one_account_per_person() {
    const PEOPLE: usize = 200;
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("chat", &server.base_url(), server.token(), ""));
    ok(&env.cli(&["app", "install", "chat"]), "app install");
    let csv = env.dir.path().join("people.csv");
    let mut text = String::from("email,name,chat\n");
    let mut emails = BTreeSet::new();
    for i in 0..PEOPLE {
        text.push_str(&format!("p{i}@example.org,Person {i},user\n"));
        emails.insert(format!("p{i}@example.org"));
    }
    std::fs::write(&csv, text).unwrap();
    ok(
        &env.cli(&["user", "import", csv.to_str().unwrap()]),
        "import",
    );
    let db = db_path(&env);

    let info = [("ACCESSBOARD_LOG__LEVEL", "info")];
    let mut serve = Serve::start(&env, &info);
    wait_until(
        Duration::from_secs(60),
        || {
            pair_counts(&db, "chat")
                .get("provisioned")
                .copied()
                .unwrap_or(0)
                >= 5
        },
        || serve.log(),
    );
    let at_signal = pair_counts(&db, "chat");
    serve.sigterm();
    let signalled = Instant::now();
    let status = serve.wait_exit(Duration::from_secs(25));
    let took = signalled.elapsed();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "exit after SIGTERM ({status:?} after {took:?}); log:\n{}",
        serve.log()
    );
    eprintln!("SIGTERM with {at_signal:?}: exited 0 after {took:?}");
    assert!(
        at_signal.get("provisioned").copied().unwrap_or(0) < PEOPLE as i64,
        "the signal came mid-run: {at_signal:?}"
    );
    let log = serve.log();
    assert!(
        log.contains("shutting down") && log.contains("stopped"),
        "{log}"
    );
    let after = pair_counts(&db, "chat");
    assert_eq!(
        after.get("syncing"),
        None,
        "no pair left in flight: {after:?}"
    );
    let in_flight = at_signal.get("syncing").copied().unwrap_or(0);
    assert!(
        after.get("provisioned").copied().unwrap_or(0)
            >= at_signal.get("provisioned").copied().unwrap_or(0) + in_flight,
        "the jobs in flight at the signal were finished, not dropped: {at_signal:?} -> {after:?}"
    );
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM app_access WHERE claimed_by IS NOT NULL"
        ),
        0,
        "no claims left behind"
    );

    // A restart picks up where it stopped.
    let mut serve = Serve::start(&env, &info);
    wait_until(
        Duration::from_secs(120),
        || pair_counts(&db, "chat").get("provisioned") == Some(&(PEOPLE as i64)),
        || format!("{:?}\n{}", pair_counts(&db, "chat"), serve.log()),
    );
    serve.stop();
    let accounts = server.users();
    let names: Vec<String> = accounts
        .iter()
        .map(|u| u["userName"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    assert_eq!(accounts.len(), PEOPLE, "exactly one account per person");
    assert_eq!(names.iter().cloned().collect::<BTreeSet<_>>(), emails);
    assert!(accounts.iter().all(|u| u["active"] == true));
    let ids: BTreeSet<String> = {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.prepare("SELECT scim_id FROM app_access WHERE app_slug = 'chat'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let remote: BTreeSet<String> = accounts
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, remote, "every pair knows its account");
}

#[test]
fn a_second_sigterm_exits_at_once_while_a_job_hangs() {
    // An app that accepts connections and never answers.
    let hang = TcpListener::bind("127.0.0.1:0").unwrap();
    let hang_port = hang.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((s, _)) = hang.accept() {
            held.push(s);
        }
    });
    let env = TestEnv::new(&scim_app(
        "slow",
        &format!("http://127.0.0.1:{hang_port}/scim"),
        "t",
        "",
    ));
    ok(&env.cli(&["app", "install", "slow"]), "app install");
    ok(
        &env.cli(&[
            "user",
            "create",
            "--email",
            "kim@example.org",
            "--name",
            "Kim",
            "--access",
            "slow=user",
        ]),
        "user create",
    );
    let db = db_path(&env);
    let mut serve = Serve::start(
        &env,
        &[
            ("ACCESSBOARD_PROVISIONING__REQUEST_TIMEOUT_SECS", "300"),
            ("ACCESSBOARD_LOG__LEVEL", "info"),
        ],
    );
    wait_until(
        Duration::from_secs(30),
        || pair_counts(&db, "slow").get("syncing") == Some(&1),
        || serve.log(),
    );
    serve.sigterm();
    assert!(
        serve.wait_exit(Duration::from_millis(700)).is_none(),
        "the first signal waits for the job in flight; log:\n{}",
        serve.log()
    );
    assert!(serve.log().contains("shutting down"), "{}", serve.log());
    let second = Instant::now();
    serve.sigterm();
    let status = serve.wait_exit(Duration::from_secs(5));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(130),
        "the second signal exits at once ({status:?} after {:?}); log:\n{}",
        second.elapsed(),
        serve.log()
    );
    assert!(serve.log().contains("second signal"), "{}", serve.log());
}
