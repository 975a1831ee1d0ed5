//! Operations: SCIM tokens never show in logs, pages, CLI output or the database.
//!
//! Every test drives the real binary (`serve`, CLI commands) in its own temporary
//! folder on loopback ports; the SCIM apps are real scim2-server processes.

use std::cell::RefCell;
use std::process::Output;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::browser::Browser;
use crate::support::db::{pair_counts, wait_until};
use crate::support::env::{TestEnv, ok, stderr, stdout};
use crate::support::net::free_port;
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::{scim_app, scim_app_auth};
use crate::support::standins::Canaille;

/// GET `path`, which must answer 200; the page.
async fn page(b: &Browser, path: &str) -> String {
    let r = b.get(path).await;
    assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.body);
    r.body
}

#[test]
fn scim_tokens_never_show_in_logs_pages_cli_output_or_the_database() {
    const INLINE: &str = "s3cr3t-TOKEN-inline-4d1f7b";
    const FROM_FILE: &str = "s3cr3t-TOKEN-file-9a2c55";
    const WRONG: &str = "s3cr3t-TOKEN-wrong-71e0b3";
    const DOWN: &str = "s3cr3t-TOKEN-down-c83d20";
    // Tokens minted (JWT) or fetched (OAuth2): their secrets, and the tokens themselves
    // (`eyJhbGci` begins every JWT accessboard signs: `{"alg":…`).
    const JWT_SECRET: &str = "s3cr3t-JWT-signing-5b7e19";
    const CLIENT_SECRET: &str = "s3cr3t-OAUTH2-client-e64a02";
    const SECRETS: [&str; 7] = [
        INLINE,
        FROM_FILE,
        WRONG,
        DOWN,
        JWT_SECRET,
        CLIENT_SECRET,
        "eyJhbGci",
    ];
    let inline_server = ScimServer::builder().bearer_token(INLINE).start();
    let file_server = ScimServer::builder().bearer_token(FROM_FILE).start();
    let nextcloud = ScimServer::builder()
        .dialect("nextcloud")
        .arg("--jwt-secret")
        .arg(JWT_SECRET)
        .bearer_token("unused-static-token")
        .start();
    let canaille = Canaille::start(
        "accessboard",
        CLIENT_SECRET,
        "scim-rs:rs-s3cr3t",
        300,
        "client_secret_basic",
    );
    let behind_canaille = ScimServer::builder()
        .dialect("generic")
        .arg("--oauth2-introspect")
        .arg(&format!("{}oauth/introspect", canaille.url()))
        .arg("--oauth2-client")
        .arg("scim-rs:rs-s3cr3t")
        .bearer_token("unused-static-token")
        .start();

    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("docs_token");
    std::fs::write(&token_file, format!("{FROM_FILE}\n")).unwrap();
    let wrong_file = dir.path().join("wrong_token");
    std::fs::write(&wrong_file, WRONG).unwrap();
    let jwt_file = dir.path().join("jwt_secret");
    std::fs::write(&jwt_file, JWT_SECRET).unwrap();
    let client_file = dir.path().join("client_secret");
    std::fs::write(&client_file, CLIENT_SECRET).unwrap();
    let closed = free_port();
    let apps = [
        scim_app(
            "chat",
            &inline_server.base_url(),
            INLINE,
            "admin_group = \"admins\"",
        ),
        scim_app_auth(
            "docs",
            &file_server.base_url(),
            &format!("token_file = \"{}\"", token_file.display()),
        ),
        // the right server, the wrong token: 401
        scim_app_auth(
            "wrong",
            &inline_server.base_url(),
            &format!("token_file = \"{}\"", wrong_file.display()),
        ),
        // nothing listens
        scim_app("down", &format!("http://127.0.0.1:{closed}/scim"), DOWN, ""),
        format!(
            "[[apps]]\nslug = \"nc\"\nname = \"Nextcloud\"\n[apps.scim]\npreset = \"nextcloud\"\n\
             base_url = \"{}/bearer\"\nauth = \"jwt\"\njwt_secret_file = \"{}\"\njwt_claims = {{ user = \"admin\" }}\n",
            nextcloud.base_url(),
            jwt_file.display()
        ),
        format!(
            "[[apps]]\nslug = \"oidc\"\nname = \"OAuth2 app\"\n[apps.scim]\nbase_url = \"{}\"\n\
             auth = \"oauth2\"\ntoken_url = \"{}\"\nclient_id = \"accessboard\"\nclient_secret_file = \"{}\"\n",
            behind_canaille.base_url(),
            canaille.token_url(),
            client_file.display()
        ),
    ]
    .concat();
    let env = TestEnv::with_provisioning(&apps, "max_attempts = 2");
    // Every command's output, to look for the tokens in.
    let outputs: RefCell<Vec<(String, String)>> = RefCell::default();
    let record = |what: String, out: Output| -> Output {
        outputs
            .borrow_mut()
            .push((what, format!("{}\n{}", stdout(&out), stderr(&out))));
        out
    };
    let run = |args: &[&str], stdin: Option<&str>| -> Output {
        record(args.join(" "), env.cli_with_stdin(args, stdin))
    };
    for app in ["chat", "docs", "wrong", "down", "nc", "oidc"] {
        ok(&run(&["app", "install", app], None), "app install");
    }
    let admin = "admin@example.org";
    let password = "correct horse battery staple";
    record(
        format!("user create --admin {admin}"),
        env.create_admin(
            admin,
            "Ada Admin",
            &["chat=admin", "docs=user", "wrong=user", "down=user"],
        ),
    );
    record(
        "user create bo@example.org".into(),
        env.create_person(
            "bo@example.org",
            "Bo",
            &["chat=user", "docs=admin", "nc=admin", "oidc=user"],
        ),
    );
    ok(
        &run(
            &["user", "set-password", admin],
            Some(&format!("{password}\n")),
        ),
        "set-password",
    );

    let mut serve = Serve::builder(&env)
        .env("ACCESSBOARD_LOG__FORMAT", "json")
        .env("ACCESSBOARD_LOG__LEVEL", "debug")
        .start();
    let db = env.db_path();
    wait_until(
        Duration::from_secs(60),
        || {
            pair_counts(&db, "chat").get("provisioned") == Some(&2)
                && pair_counts(&db, "docs").get("provisioned") == Some(&2)
                // refused credentials quarantine the app: its pair waits for the probe
                && pair_counts(&db, "wrong").get("error") == Some(&1)
                && pair_counts(&db, "down").get("failed") == Some(&1)
                && pair_counts(&db, "nc").get("provisioned") == Some(&1)
                && pair_counts(&db, "oidc").get("provisioned") == Some(&1)
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
    // Both tokens reached their apps: the inline one and the one read from a file;
    // and the signed JWT and the fetched OAuth2 token reached theirs.
    assert_eq!(inline_server.users().len(), 2);
    assert_eq!(file_server.users().len(), 2);
    assert_eq!(behind_canaille.users().len(), 1);
    assert!(canaille.token_requests() >= 1);

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
    let outputs = outputs.into_inner();
    let status = outputs
        .iter()
        .find(|(a, _)| a == "provision status --app wrong")
        .map(|(_, o)| o.clone())
        .unwrap_or_default();
    assert!(
        status.contains("quarantined") && status.contains("401"),
        "the failure is shown, with what the app said: {status}"
    );

    // The dashboard, signed in.
    let users: Vec<Value> = env.users();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pages: Vec<(String, String)> = rt.block_on(async {
        let b = Browser::sign_in(&serve.base(), admin, password).await;
        let mut pages = vec![("/apps".to_owned(), page(&b, "/apps").await)];
        for slug in ["chat", "docs", "wrong", "down"] {
            let path = format!("/apps/{slug}");
            pages.push((path.clone(), page(&b, &path).await));
            let r = b.post(&format!("/apps/{slug}/drift"), &[]).await;
            pages.push((format!("POST /apps/{slug}/drift ({})", r.status), r.body));
            if r.status == StatusCode::SEE_OTHER {
                let path = format!("/apps/{slug}/drift");
                pages.push((path.clone(), page(&b, &path).await));
            }
        }
        for path in ["/users", "/activity", "/activity?outcome=error", "/metrics"] {
            pages.push((path.into(), page(&b, path).await));
        }
        for u in &users {
            let path = format!("/users/{}", u["id"].as_str().unwrap());
            pages.push((path.clone(), page(&b, &path).await));
        }
        pages
    });
    let wrong_page = &pages.iter().find(|(p, _)| p == "/apps/wrong").unwrap().1;
    assert!(wrong_page.contains("401"), "the app page shows the failure");
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

/// A `*_file` secret over 64 KiB stops the start with one line naming the key; `/dev/zero`
/// fails as fast, without reading on for ever.
#[test]
fn a_secret_file_over_the_cap_is_one_clear_line_and_dev_zero_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("token");
    std::fs::write(&big, "t".repeat(64 * 1024 + 1)).unwrap();
    let at_cap = dir.path().join("token-at-cap");
    std::fs::write(&at_cap, "t".repeat(64 * 1024)).unwrap();
    for (file, refused) in [
        (big.to_str().unwrap(), true),
        ("/dev/zero", true),
        (at_cap.to_str().unwrap(), false),
    ] {
        let env = TestEnv::new(&scim_app_auth(
            "x",
            "http://127.0.0.1:9/",
            &format!("token_file = \"{file}\""),
        ));
        let started = std::time::Instant::now();
        let out = env.cli(&["app", "list"]);
        let err = stderr(&out);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{file}: too slow"
        );
        if refused {
            assert_eq!(out.status.code(), Some(2), "{file}: {err}");
            assert!(
                err.contains("scim.token_file") && err.contains("larger than 64 KiB"),
                "{file}: {err}"
            );
            assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        } else {
            ok(&out, "app list with a token of 64 KiB");
        }
    }
}
