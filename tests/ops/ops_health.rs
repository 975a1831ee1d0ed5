//! Operations: the `healthcheck` command against a running `serve`, a stopped one,
//! and something that answers without 2xx.
//!
//! Every test drives the real binary (`serve`, CLI commands) in its own temporary
//! folder on loopback ports.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::support::env::{TestEnv, stderr};
use crate::support::serve::Serve;
use crate::support::settings::plain_app;

#[test]
fn healthcheck_passes_against_serve_and_fails_clearly_once_it_stops() {
    let env = TestEnv::new(&plain_app("wiki"));
    let mut serve = Serve::start(&env);
    let bind = serve.bind();
    let envs = [("ACCESSBOARD_SERVER__BIND", bind.as_str())];

    let out = env.cli_env(&["healthcheck"], &envs);
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
    let out = env.cli_env(&["healthcheck"], &envs);
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
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 59\r\nConnection: close\r\n\r\nprovisioning stopped: the worker has failed\nsecond line\x1b[2J",
        );
    });
    let out = env.cli(&[
        "healthcheck",
        "--url",
        &format!("http://127.0.0.1:{stub_port}"),
    ]);
    answer.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("503"), "{err}");
    // The reason /healthz gives is printed, its first line only.
    assert!(
        err.contains(": provisioning stopped: the worker has failed"),
        "{err}"
    );
    assert!(
        !err.contains("second line") && !err.contains('\x1b'),
        "{err}"
    );
}
