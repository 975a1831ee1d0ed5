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
        for _ in 0..3 {
            let mut c = Canaille {
                process: Process::none(),
                port: free_port(),
                lifetime: token_lifetime,
                auth_method: auth_method.to_owned(),
                client: (client_id.to_owned(), client_secret.to_owned()),
                resource_server: resource_server.to_owned(),
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
