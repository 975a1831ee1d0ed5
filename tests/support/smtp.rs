//! A real SMTP server for the alert tests: aiosmtpd (PyPI, pinned in
//! `tests/standins/requirements-smtp.txt`) in a venv under target/, one process per test
//! on a free loopback port, behind STARTTLS or TLS with a throwaway CA's certificate, or
//! without TLS (a local relay).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::net::free_port;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/standins/smtp_server.py");

/// A running SMTP server; killed on drop.
pub struct SmtpServer {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// STARTTLS (`implicit_tls` false) or TLS from the first byte, and AUTH for `user`
    /// with `password` when given; waits until it answers.
    pub fn start(implicit_tls: bool, login: Option<(&str, &str)>) -> SmtpServer {
        let mode = if implicit_tls {
            Some("--implicit-tls")
        } else {
            None
        };
        Self::start_mode(mode, login)
    }

    /// A relay without TLS and without AUTH, as a local postfix on port 25.
    pub fn start_plain() -> SmtpServer {
        Self::start_mode(Some("--plain"), None)
    }

    fn start_mode(mode: Option<&str>, login: Option<(&str, &str)>) -> SmtpServer {
        let venv = super::standins::ensure_venv("smtp-venv", "requirements-smtp.txt");
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("temp dir for the SMTP server");
            let port = free_port();
            let mut cmd = Command::new(venv.join("bin/python"));
            cmd.arg(SCRIPT)
                .args(["--port", &port.to_string()])
                .arg("--ca-file")
                .arg(dir.path().join("ca.pem"))
                .arg("--out")
                .arg(dir.path().join("received.jsonl"));
            if let Some((user, password)) = login {
                cmd.args(["--user", user, "--password", password]);
            }
            cmd.args(mode);
            let log = std::fs::File::create(dir.path().join("server.log")).expect("SMTP log");
            let child = cmd
                .env("PYTHONUNBUFFERED", "1")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log)
                .spawn()
                .expect("spawn the SMTP server");
            let mut server = SmtpServer { child, port, dir };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if server.log().contains("ready") {
                    return server;
                }
                if let Ok(Some(_)) = server.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = server.child.kill();
            eprintln!("SMTP server did not start; its log:\n{}", server.log());
        }
        panic!("the SMTP server did not start");
    }

    /// The certificate of the CA that signed the server's: what a client must trust
    /// (`SSL_CERT_FILE`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// What it printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Every message received so far: `from`, `to`, `tls`, `authenticated`, `data` (as
    /// sent), `subject` and `text` (the plain-text body, decoded).
    pub fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("received.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line from the SMTP server"))
            .collect()
    }
}

impl SmtpServer {
    /// Waits (up to a minute, then panics) until `n` messages have arrived; all of them.
    /// Async, so a dashboard on the same runtime goes on sending meanwhile.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{n} emails expected, {} arrived; the server's log:\n{}",
                got.len(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The `[alerts]` lines that send through this server when it runs without TLS
    /// ([`SmtpServer::start_plain`]).
    pub fn plain_settings(&self) -> String {
        format!(
            "smtp_url = \"smtp://127.0.0.1:{}\"\nsmtp_tls = \"none\"\nfrom = \"accessboard <board@example.org>\"\nto = \"ops@example.org\"\n",
            self.port
        )
    }
}

/// The sign-in link in an email's text: its path and query (`/login/link?token=…`),
/// after `public_url`.
pub fn link_path(text: &str, public_url: &str) -> String {
    let link = format!("{public_url}/login/link");
    let start = text
        .find(&link)
        .unwrap_or_else(|| panic!("no link to {link} in the email:\n{text}"));
    text[start + public_url.len()..]
        .split_whitespace()
        .next()
        .expect("a link")
        .to_owned()
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
