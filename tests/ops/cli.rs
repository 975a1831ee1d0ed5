//! The command line, run as a subprocess against a temporary database.

use crate::support::env::{TestEnv, plain_app, scim_app, stderr, stdout};

fn env() -> TestEnv {
    TestEnv::new(&format!(
        "{}{}",
        scim_app("files", "http://127.0.0.1:9/scim", "s3cr3t-token", ""),
        plain_app("wiki")
    ))
}

#[test]
fn create_then_status_shows_the_pair_sync_needed() {
    let env = env();
    assert!(env.cli(&["app", "install", "files"]).status.success());
    let out = env.cli(&[
        "user",
        "create",
        "--email",
        "ann@example.org",
        "--name",
        "Ann",
        "--access",
        "files=user",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.cli(&["provision", "status", "--json"]);
    assert!(out.status.success());
    let pairs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = pairs
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["app"] == "files")
        .expect("files pair");
    assert_eq!(files["email"], "ann@example.org");
    assert_eq!(files["role"], "user");
    assert_eq!(files["status"], "sync_needed");
    for key in ["scim_id", "attempts", "last_attempt_at", "last_message"] {
        assert!(files.get(key).is_some(), "missing {key}");
    }
    assert!(!stdout(&out).contains("s3cr3t-token"));
}

#[test]
fn every_user_command_works_end_to_end() {
    let env = env();
    let ok = |args: &[&str]| {
        let out = env.cli(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    ok(&[
        "user",
        "create",
        "--email",
        "Bo@Example.org",
        "--name",
        "Bo",
        "--admin",
    ]);
    ok(&[
        "user",
        "update",
        "bo@example.org",
        "--name",
        "Bo Jr",
        "--email",
        "bo2@example.org",
        "--admin",
        "false",
    ]);
    ok(&["user", "access", "bo2@example.org", "wiki", "admin"]);
    let list: serde_json::Value = serde_json::from_str(&ok(&["user", "list", "--json"])).unwrap();
    assert_eq!(list[0]["name"], "Bo Jr");
    assert_eq!(list[0]["email"], "bo2@example.org");
    assert_eq!(list[0]["admin"], false);
    assert!(ok(&["user", "list"]).contains("bo2@example.org"));

    let out = env.cli_with_stdin(
        &["user", "set-password", "bo2@example.org"],
        Some("correct horse battery\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.cli_with_stdin(
        &["user", "set-password", "bo2@example.org"],
        Some("short\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("at least 10 characters"));

    let apps: serde_json::Value = serde_json::from_str(&ok(&["app", "list", "--json"])).unwrap();
    assert_eq!(apps.as_array().unwrap().len(), 2);
    ok(&["app", "install", "wiki"]);
    ok(&["app", "uninstall", "wiki"]);

    let csv = env.dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "email,name,files\nx@example.org,X,user\ny@example.org,Y,\n",
    )
    .unwrap();
    assert!(ok(&["user", "import", csv.to_str().unwrap()]).contains("imported 2 users"));

    ok(&["user", "delete", "bo2@example.org"]);
    let list: serde_json::Value = serde_json::from_str(&ok(&["user", "list", "--json"])).unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "deleted user gone from the list"
    );
}

#[test]
fn clear_errors_with_exit_status_2_for_usage() {
    let env = env();
    let cases: &[(&[&str], &str)] = &[
        (
            &["user", "delete", "ghost@example.org"],
            "no user with email ghost@example.org",
        ),
        (
            &["user", "access", "ghost@example.org", "files", "user"],
            "no user with email ghost@example.org",
        ),
        (
            &[
                "user",
                "create",
                "--email",
                "a@example.org",
                "--name",
                "A",
                "--access",
                "files=owner",
            ],
            "owner",
        ),
        (&["app", "install", "gitlab"], "no app \"gitlab\""),
        (
            &["user", "create", "--email", "not-an-email", "--name", "A"],
            "not-an-email",
        ),
    ];
    for (args, needle) in cases {
        let out = env.cli(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    }
}

#[test]
fn import_with_bad_rows_reports_lines_and_exits_1() {
    let env = env();
    let csv = env.dir.path().join("bad.csv");
    std::fs::write(&csv, "email,name\ngood@example.org,Good\nbad,Bad\n").unwrap();
    let out = env.cli(&["user", "import", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("bad.csv:3: email \"bad\""),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("imported 1 users, skipped 1 rows"));
}

#[test]
fn unknown_settings_key_stops_with_the_key_named() {
    let env = env();
    let text = std::fs::read_to_string(&env.settings_path)
        .unwrap()
        .replace("[server]", "[server]\nbnid = \"x\"");
    std::fs::write(&env.settings_path, text).unwrap();
    let out = env.cli(&["user", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown setting server.bnid"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bearer_app_without_token_stops_with_the_key_named() {
    let env = TestEnv::new(
        "[[apps]]\nslug = \"x\"\nname = \"X\"\n[apps.scim]\nbase_url = \"http://127.0.0.1:9/\"\n",
    );
    let out = env.cli(&["user", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("apps[0] (x).scim.token: is required when auth = \"bearer\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn environment_overrides_settings() {
    let env = env();
    let other = env.dir.path().join("elsewhere.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_accessboard"))
        .env("ACCESSBOARD_CONFIG", &env.settings_path)
        .env("ACCESSBOARD_DATABASE__PATH", &other)
        .args(["user", "create", "--email", "z@example.org", "--name", "Z"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        other.exists(),
        "the database went where the environment said"
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_accessboard"))
        .env("ACCESSBOARD_CONFIG", &env.settings_path)
        .env("ACCESSBOARD_PROVISIONING__WORKERS", "lots")
        .args(["user", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("provisioning.workers"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_database_newer_than_the_binary_is_refused() {
    let env = env();
    assert!(env.cli(&["user", "list"]).status.success());
    let db = env.dir.path().join("data/accessboard.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let out = env.cli(&["user", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("newer than this accessboard"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn without_a_command_it_serves_the_dashboard() {
    let env = env();
    let port = crate::support::serve::free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_accessboard"))
        .arg("--config")
        .arg(&env.settings_path)
        .env("ACCESSBOARD_SERVER__BIND", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut answered = false;
    while std::time::Instant::now() < deadline && !answered {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            answered = buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(answered, "`accessboard` with no command serves /healthz");
}
