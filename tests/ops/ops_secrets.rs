//! Operations: SCIM tokens never show in logs, pages, CLI output or the database.
//!
//! Every test drives the real binary (`serve`, CLI commands) in its own temporary
//! folder on loopback ports; the SCIM apps are real scim2-server processes.

use std::process::Output;
use std::time::Duration;

use crate::support::env::{TestEnv, scim_app, stderr, stdout};
use crate::support::ops::{Serve, db_path, free_port, http, ok, pair_counts, wait_until};
use crate::support::scim_server::ScimServer;
use serde_json::Value;

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
