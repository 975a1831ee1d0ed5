//! The Python peers of `tests/standins/` beyond scim2-server: their venvs (installed once
//! under target/, behind a file lock) and Canaille, the OAuth2 server, as pytest-iam starts it.

use std::time::Duration;

use super::net::free_port;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// `tests/standins`.
fn standins_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standins")
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    }
}

/// A venv under target/ with the packages of `tests/standins/<requirements>`, installed once;
/// concurrent test processes wait on a file lock. Reinstalled when the requirements change.
pub fn ensure_venv(name: &str, requirements: &str) -> PathBuf {
    let wanted = std::fs::read_to_string(standins_dir().join(requirements))
        .unwrap_or_else(|e| panic!("read tests/standins/{requirements}: {e}"));
    let target = target_dir();
    let venv = target.join(name);
    let marker = venv.join(".installed");
    let installed = || std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted);
    if installed() {
        return venv;
    }
    std::fs::create_dir_all(&target).expect("create the target dir");
    let lock = File::create(target.join(format!("{name}.lock"))).expect("create the venv lock");
    lock.lock().expect("lock the venv");
    if installed() {
        return venv;
    }
    if venv.exists() {
        // Half made, or for other requirements: start over.
        std::fs::remove_dir_all(&venv).expect("remove an outdated venv");
    }
    run(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "python3 -m venv (is python3-venv installed?)",
    );
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "-r"])
            .arg(standins_dir().join(requirements)),
        &format!("pip install -r tests/standins/{requirements}"),
    );
    std::fs::write(&marker, wanted).expect("write the install marker");
    venv
}

pub fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} could not run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Python server of tests/standins with its output in a log file; killed on drop.
struct Process {
    child: Option<Child>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Process {
    // Before the first start: nothing runs.
    fn none() -> Process {
        let dir = tempfile::tempdir().expect("temp dir for a stand-in");
        Process {
            child: None,
            log: dir.path().join("server.log"),
            _dir: dir,
        }
    }

    fn spawn(python: &Path, script: &str, args: &[String]) -> Process {
        let dir = tempfile::tempdir().expect("temp dir for a stand-in");
        let log = dir.path().join("server.log");
        let out = File::create(&log).expect("stand-in log file");
        let child = Command::new(python)
            .arg(standins_dir().join(script))
            .args(args)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {script}: {e}"));
        Process {
            child: Some(child),
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log once it stopped growing: a server writes its access line after answering.
    fn settled_log(&self) -> String {
        let mut last = self.log();
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(150));
            let now = self.log();
            if now == last {
                return now;
            }
            last = now;
        }
        last
    }

    fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|c| matches!(c.try_wait(), Ok(Some(_))))
    }

    fn kill(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Canaille as pytest-iam starts it (`oauth2_server.py`), on `localhost`, logging requests.
pub struct Canaille {
    process: Process,
    port: u16,
    lifetime: u64,
    auth_method: String,
    client: (String, String),
    resource_server: String,
    /// More arguments: the sign-in client and its people.
    extra: Vec<String>,
}

impl Canaille {
    /// A Canaille with the provisioning client (`client_id`, `client_secret`, scope `scim`)
    /// and the stand-in's introspection client (`ID:SECRET`).
    pub fn start(
        client_id: &str,
        client_secret: &str,
        resource_server: &str,
        token_lifetime: u64,
        auth_method: &str,
    ) -> Canaille {
        Self::start_with(
            client_id,
            client_secret,
            resource_server,
            token_lifetime,
            auth_method,
            &[],
        )
    }

    /// A Canaille that also signs people in: the confidential authorization-code client
    /// `client_id`/`client_secret` of a dashboard whose public URL is `public_url`, and
    /// `people` as `NAME:EMAIL:PASSWORD:verified` (or `:unverified`, or `:unmarked` for no
    /// `email_verified` claim at all, as Canaille 0.3.6 itself sends).
    pub fn start_sign_in(
        client_id: &str,
        client_secret: &str,
        public_url: &str,
        people: &[&str],
    ) -> Canaille {
        let public = public_url.trim_end_matches('/');
        let mut extra: Vec<String> = [
            "--oidc-client-id",
            client_id,
            "--oidc-client-secret",
            client_secret,
            "--redirect-uri",
            &format!("{public}/login/sso/callback"),
            "--post-logout-redirect-uri",
            &format!("{public}/login"),
        ]
        .map(String::from)
        .to_vec();
        for p in people {
            extra.extend(["--user".to_owned(), (*p).to_owned()]);
        }
        Self::start_with(
            "provisioning",
            "provisioning-secret",
            "scim-rs:rs-secret",
            3600,
            "client_secret_basic",
            &extra,
        )
    }

    fn start_with(
        client_id: &str,
        client_secret: &str,
        resource_server: &str,
        token_lifetime: u64,
        auth_method: &str,
        extra: &[String],
    ) -> Canaille {
        for _ in 0..3 {
            let mut c = Canaille {
                process: Process::none(),
                port: free_port(),
                lifetime: token_lifetime,
                auth_method: auth_method.to_owned(),
                client: (client_id.to_owned(), client_secret.to_owned()),
                resource_server: resource_server.to_owned(),
                extra: extra.to_vec(),
            };
            if let Some(process) = c.spawn() {
                c.process = process;
                return c;
            }
        }
        panic!("oauth2_server.py did not start three times");
    }

    fn spawn(&self) -> Option<Process> {
        let venv = ensure_venv("standins-iam-venv", "requirements-oauth2.txt");
        let (rs_id, rs_secret) = self
            .resource_server
            .split_once(':')
            .expect("the resource server as ID:SECRET");
        let (port, lifetime, auth_method) = (self.port, self.lifetime, &self.auth_method);
        let args = [
            "--port",
            &port.to_string(),
            "--client-id",
            &self.client.0,
            "--client-secret",
            &self.client.1,
            "--introspection-client-id",
            rs_id,
            "--introspection-client-secret",
            rs_secret,
            "--token-lifetime",
            &lifetime.to_string(),
            "--scope",
            "scim",
            "--token-endpoint-auth-method",
            auth_method,
            "--log-requests",
        ]
        .map(String::from);
        let args: Vec<String> = args.into_iter().chain(self.extra.clone()).collect();
        let mut process = Process::spawn(&venv.join("bin/python"), "oauth2_server.py", &args);
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline && !process.exited() {
            if process.log().contains("Serving OAuth2 on") {
                return Some(process);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "oauth2_server.py did not start; its log:\n{}",
            process.log()
        );
        None
    }

    /// Kills it and starts a new one on the same port: every token it issued is forgotten.
    pub fn restart(&mut self) {
        self.process.kill();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(p) = self.spawn() {
                self.process = p;
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Canaille did not restart on its port"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// The issuer its discovery names: `http://localhost:PORT`, no trailing slash.
    pub fn issuer(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// Kills it: its port stays unanswered (the provider down).
    pub fn stop(&mut self) {
        self.process.kill();
    }

    /// `http://localhost:PORT/` (Canaille answers 400 to another Host).
    pub fn url(&self) -> String {
        format!("http://localhost:{}/", self.port)
    }

    pub fn token_url(&self) -> String {
        format!("{}oauth/token", self.url())
    }

    /// Token requests this Canaille process answered, from its access log.
    pub fn token_requests(&self) -> usize {
        self.process
            .settled_log()
            .lines()
            .filter(|l| l.contains("\"POST /oauth/token "))
            .count()
    }
}

impl Canaille {
    /// Signs `name` in at Canaille's own forms as a browser would, starting from the
    /// authorization URL the dashboard redirected to; the URL Canaille sends the
    /// browser back to (the dashboard's callback, with `code` and `state`).
    pub async fn sign_in(&self, authorize_url: &str, name: &str, password: &str) -> String {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut cookie: Option<String> = None;
        let step = |r: &reqwest::Response, cookie: &mut Option<String>| -> String {
            if let Some(c) = r.headers().get("set-cookie") {
                *cookie = c.to_str().unwrap().split(';').next().map(str::to_owned);
            }
            let to = r
                .headers()
                .get("location")
                .unwrap_or_else(|| panic!("Canaille did not redirect: {}", r.status()))
                .to_str()
                .unwrap();
            // Canaille's own redirects are relative or to itself.
            if to.starts_with('/') {
                format!("{}{}", self.url().trim_end_matches('/'), to)
            } else {
                to.to_owned()
            }
        };
        let send = |req: reqwest::RequestBuilder, cookie: &Option<String>| {
            let req = match cookie {
                Some(c) => req.header("Cookie", c.clone()),
                None => req,
            };
            req.send()
        };
        let r = send(http.get(authorize_url), &cookie).await.unwrap();
        let login = step(&r, &mut cookie);
        assert!(login.contains("/login"), "Canaille asks who: {login}");
        let form = |k: &str, v: &str| {
            let body: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(k, v)
                .finish();
            body
        };
        let post = |to: &str, body: String| {
            http.post(to)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
        };
        let r = send(post(&login, form("login", name)), &cookie)
            .await
            .unwrap();
        let pass = step(&r, &mut cookie);
        assert!(
            pass.contains("/auth/password"),
            "Canaille asks the password: {pass}"
        );
        let r = send(post(&pass, form("password", password)), &cookie)
            .await
            .unwrap();
        let back = step(&r, &mut cookie);
        let r = send(http.get(&back), &cookie).await.unwrap();
        step(&r, &mut cookie)
    }
}
