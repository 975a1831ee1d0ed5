//! `accessboard serve` as a child process on a known loopback port.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::env::TestEnv;

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A running `serve`, killed when dropped; its stderr goes to `log`.
pub struct Served {
    pub child: Child,
    pub port: u16,
    pub log: std::path::PathBuf,
}

impl Served {
    /// Starts serve on `port` and waits until /healthz answers.
    pub fn start(env: &TestEnv, port: u16) -> Served {
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = env.dir.path().join(format!("serve-{n}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_accessboard"))
            .arg("--config")
            .arg(&env.settings_path)
            .arg("serve")
            .env("ACCESSBOARD_SERVER__BIND", format!("127.0.0.1:{port}"))
            .env(
                "ACCESSBOARD_SERVER__PUBLIC_URL",
                format!("http://127.0.0.1:{port}"),
            )
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn serve");
        let served = Served { child, port, log };
        served.wait_healthy();
        served
    }

    /// The base URL.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("serve did not answer /healthz within 30 s");
    }

    /// SIGKILL, no goodbye.
    pub fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What serve logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
