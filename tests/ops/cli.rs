//! The command line, run as a subprocess against a temporary database.

use crate::support::env::{TestEnv, accessboard, ok, stderr, stdout};
use crate::support::serve::Serve;
use crate::support::settings::{plain_app, scim_app};

fn apps() -> String {
    format!(
        "{}{}",
        scim_app("files", "http://127.0.0.1:9/scim", "s3cr3t-token", ""),
        plain_app("wiki")
    )
}

fn env() -> TestEnv {
    TestEnv::new(&apps())
}

#[test]
fn create_then_status_shows_the_pair_sync_needed() {
    let env = env();
    env.install("files");
    env.create_person("ann@example.org", "Ann", &["files=user"]);
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
    env.create_admin("Bo@Example.org", "Bo", &[]);
    ok(&[
        "user",
        "update",
        "bo@example.org",
        "--name",
        "Bo Jr",
        "--email",
        "bo2@example.org",
        "--dashboard-admin",
        "false",
    ]);
    ok(&["user", "access", "bo2@example.org", "wiki", "admin"]);
    let list: serde_json::Value = serde_json::from_str(&ok(&["user", "list", "--json"])).unwrap();
    assert_eq!(list[0]["name"], "Bo Jr");
    assert_eq!(list[0]["email"], "bo2@example.org");
    assert_eq!(list[0]["dashboard_admin"], false);
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
    let env = TestEnv::build(|s| s.server("bnid", "\"x\"").apps(&apps()));
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
    let out = accessboard()
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

    let out = accessboard()
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
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
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
    // Panics unless /healthz answers 200 within a minute.
    let serve = Serve::builder(&env).without_command().start();
    drop(serve);
}

#[test]
fn user_sign_out_ends_sessions_and_names_an_unknown_person() {
    let env = env();
    env.create_person("sol@example.org", "Sol", &[]);
    let out = env.cli(&["user", "sign-out", "sol@example.org"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 dashboard sessions of sol@example.org ended"),
        "{}",
        stdout(&out)
    );
    let out = env.cli(&["user", "sign-out", "ghost@example.org"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no user with email ghost@example.org"));
}

#[test]
fn audit_shows_who_changed_what_on_the_command_line_and_since_filters() {
    let env = env();
    env.create_person("ann@example.org", "Ann", &["files=user"]);
    let out = env.cli_with_stdin(
        &["user", "set-password", "ann@example.org"],
        Some("a-very-secret-pass-123\n"),
    );
    let _ = out; // ann is not an admin: the command may refuse; either way nothing leaks
    let out = env.cli_env(
        &["user", "access", "ann@example.org", "files", "admin"],
        &[("USER", "opal"), ("LOGNAME", "opal")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.cli(&["audit", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let create = rows
        .iter()
        .find(|r| r["action"] == "person.create")
        .unwrap_or_else(|| panic!("no person.create in {rows:?}"));
    assert!(
        create["actor"].as_str().unwrap().starts_with("cli ("),
        "{create}"
    );
    assert_eq!(create["target"], "ann@example.org");
    assert!(
        create["after"]
            .as_str()
            .unwrap()
            .contains("\"files\":\"user\"")
    );
    let access = rows
        .iter()
        .find(|r| r["action"] == "access.set")
        .expect("access.set");
    assert_eq!(access["actor"], "cli (opal)");
    assert_eq!(access["target"], "ann@example.org / files");
    assert!(access["before"].as_str().unwrap().contains("user"));
    assert!(access["after"].as_str().unwrap().contains("admin"));
    let text = stdout(&out);
    assert!(!text.contains("a-very-secret-pass-123") && !text.contains("argon2"));
    // the table
    let out = env.cli(&["audit"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("person.create"));
    // --since: tomorrow shows nothing, a day long past shows everything
    let tomorrow = time::OffsetDateTime::now_utc().date().next_day().unwrap();
    let out = env.cli(&["audit", "--json", "--since", &tomorrow.to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 0);
    let out = env.cli(&["audit", "--json", "--since", "2000-01-01"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!rows.as_array().unwrap().is_empty());
    let out = env.cli(&["audit", "--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_upgrade_keeps_earlier_requests_as_one_event_per_attempt() {
    let env = env();
    // A database as version 4 left it: two people, and two attempts' requests written
    // with one time each. Opening it runs migration 5 (sort keys), 6 (events), then the rest.
    std::fs::create_dir_all(env.db_path().parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    for file in ["0001_initial", "0002_web", "0003_dialects", "0004_audit"] {
        let sql = std::fs::read_to_string(format!(
            "{}/db/migrations/{file}.sql",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        conn.execute_batch(&sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 4).unwrap();
    conn.execute_batch(
        "INSERT INTO provision_log (at, user_id, user_email, app_slug, operation, http_status, duration_ms, outcome, message) VALUES
           (100, 'u1', 'ann@example.org', 'files', 'find_user', 200, 3, 'ok', NULL),
           (100, 'u1', 'ann@example.org', 'files', 'create_user', 201, 4, 'ok', NULL),
           (200, 'u1', 'ann@example.org', 'files', 'find_user', 503, 9, 'error', 'busy');
         INSERT INTO users (id, email, email_norm, name, created_at, updated_at) VALUES
           ('00000000-0000-4000-8000-000000000001', 'zoe@example.org', 'zoe@example.org', 'Zoë Zed', 1, 1),
           ('00000000-0000-4000-8000-000000000002', 'emil@example.org', 'emil@example.org', 'Émile Ames', 1, 1);",
    )
    .unwrap();
    drop(conn);
    // `user list` only reads and refuses an older schema; a command that writes
    // is the first start after the upgrade, and migrates.
    let out = env.cli(&["user", "list"]);
    assert!(
        stderr(&out).contains("older than this accessboard needs"),
        "{}",
        stderr(&out)
    );
    ok(
        &env.cli(&["provision", "retry"]),
        "provision retry migrates",
    );
    let out = env.cli(&["user", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = stdout(&out);
    let (emile, zoe) = (listed.find("Émile Ames"), listed.find("Zoë Zed"));
    assert!(
        emile.is_some() && emile < zoe,
        "both people listed, in name order:\n{listed}"
    );
    let db = env.db_path();
    let events = |sql: &str| crate::support::db::sql_i64(&db, sql);
    // The latest schema, whatever its number: one migration per file.
    let latest = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/db/migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    assert_eq!(events("PRAGMA user_version"), latest as i64);
    assert_eq!(
        events("SELECT count(*) FROM users WHERE name_key = x'' OR email_key = x''"),
        0,
        "migration 5's sort keys are filled in for people from before"
    );
    assert_eq!(events("SELECT count(*) FROM provision_attempts"), 2);
    assert_eq!(
        events("SELECT requests FROM provision_attempts WHERE at = 100"),
        2
    );
    assert_eq!(
        events(
            "SELECT count(*) FROM provision_attempts WHERE at = 200 AND outcome = 'error' AND message = 'busy'"
        ),
        1
    );
    assert_eq!(
        events("SELECT count(*) FROM provision_log WHERE attempt_id IS NULL"),
        0,
        "every earlier request belongs to its event"
    );
}

#[test]
fn the_dashboard_admin_flag_is_named_so_everywhere_and_the_old_admin_is_read_with_a_warning() {
    let env = env();
    let admin_of = |email: &str| {
        env.users()
            .into_iter()
            .find(|u| u["email"] == email)
            .unwrap_or_else(|| panic!("{email} is listed"))["dashboard_admin"]
            .clone()
    };
    // The new name: no warning, and the JSON says dashboard_admin.
    let out = env.cli(&[
        "user",
        "create",
        "--email",
        "dee@example.org",
        "--name",
        "Dee",
        "--dashboard-admin",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert_eq!(admin_of("dee@example.org"), true);
    assert!(
        stdout(&env.cli(&["user", "list"])).contains("DASHBOARD"),
        "the table's column says what it is"
    );
    let help = stdout(&env.cli(&["user", "create", "--help"]));
    assert!(help.contains("--dashboard-admin"), "{help}");
    assert!(!help.contains("--admin "), "the old name is hidden: {help}");

    // The old flag still works, and says what it is now.
    let out = env.cli(&[
        "user",
        "create",
        "--email",
        "old@example.org",
        "--name",
        "Old",
        "--admin",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: --admin is now --dashboard-admin"),
        "{}",
        stderr(&out)
    );
    assert_eq!(admin_of("old@example.org"), true);
    let out = env.cli(&["user", "update", "old@example.org", "--admin", "false"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--dashboard-admin"),
        "{}",
        stderr(&out)
    );
    assert_eq!(admin_of("old@example.org"), false);
    let out = env.cli(&[
        "user",
        "update",
        "old@example.org",
        "--dashboard-admin",
        "true",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(admin_of("old@example.org"), true);

    // The CSV: dashboard_admin quietly, the old admin column with a warning in the report.
    let csv = env.dir.path().join("new.csv");
    std::fs::write(
        &csv,
        "email,name,dashboard_admin\nnew@example.org,New,yes\n",
    )
    .unwrap();
    let out = env.cli(&["user", "import", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert_eq!(admin_of("new@example.org"), true);
    let csv = env.dir.path().join("old.csv");
    std::fs::write(
        &csv,
        "email,name,admin\nann@example.org,Ann,true\nbo@example.org,Bo,no\n",
    )
    .unwrap();
    let out = env.cli(&["user", "import", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "old.csv: warning: the column \"admin\" is read as dashboard_admin: the people it marks can sign in to accessboard"
        ),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("imported 2 users"),
        "{}",
        stdout(&out)
    );
    assert_eq!(admin_of("ann@example.org"), true);
    assert_eq!(admin_of("bo@example.org"), false);
    // Both names at once is a mistake, refused whole.
    std::fs::write(
        &csv,
        "email,name,admin,dashboard_admin\ncy@example.org,Cy,true,false\n",
    )
    .unwrap();
    let out = env.cli(&["user", "import", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("both dashboard_admin and admin"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dashboard_levels_are_set_listed_imported_and_audited() {
    let env = env();
    env.create_person("ann@example.org", "Ann", &[]);
    let out = env.cli(&["user", "dashboard", "ann@example.org", "viewer"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "ann@example.org: dashboard access viewer (was none)"
    );
    let ann = |env: &TestEnv| {
        env.users()
            .into_iter()
            .find(|u| u["email"] == "ann@example.org")
            .expect("ann is listed")
    };
    assert_eq!(ann(&env)["dashboard"], "viewer");
    assert_eq!(ann(&env)["dashboard_admin"], false, "a viewer is no admin");
    let table = stdout(&env.cli(&["user", "list"]));
    let line = table
        .lines()
        .find(|l| l.contains("ann@example.org"))
        .unwrap_or_default();
    assert!(line.contains("viewer"), "{table}");
    // A word that is no level is refused before anything opens.
    let out = env.cli(&["user", "dashboard", "ann@example.org", "superuser"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("none, viewer or admin"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ann(&env)["dashboard"], "viewer");
    // Audited as a change of the person, before and after.
    let out = env.cli(&["audit", "--json"]);
    let entries: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let update = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "person.update")
        .expect("the change is audited");
    assert_eq!(update["target"], "ann@example.org");
    assert!(
        update["before"]
            .as_str()
            .unwrap()
            .contains("\"dashboard\":\"none\"")
    );
    assert!(
        update["after"]
            .as_str()
            .unwrap()
            .contains("\"dashboard\":\"viewer\"")
    );
    // The CSV column takes the levels as well as yes and no.
    let csv = env.dir.path().join("levels.csv");
    std::fs::write(
        &csv,
        "email,name,dashboard_admin\nvi@example.org,Vi,viewer\nad@example.org,Ad,Admin\nno@example.org,No,none\nye@example.org,Ye,yes\n",
    )
    .unwrap();
    let out = env.cli(&["user", "import", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let levels: Vec<(String, String)> = env
        .users()
        .into_iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap().to_owned(),
                u["dashboard"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (email, level) in [
        ("vi@example.org", "viewer"),
        ("ad@example.org", "admin"),
        ("no@example.org", "none"),
        ("ye@example.org", "admin"),
    ] {
        assert!(
            levels.contains(&(email.to_owned(), level.to_owned())),
            "{email}: {levels:?}"
        );
    }
}

#[test]
fn reset_2fa_turns_a_second_factor_off_and_is_audited() {
    let env = env();
    env.create_admin("ada@example.org", "Ada", &[]);
    let out = env.cli(&["user", "reset-2fa", "ada@example.org"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "ada@example.org had no two-factor sign-in; nothing changed"
    );
    // A confirmed second factor, as the enrolment page leaves it.
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.execute_batch(
        "INSERT INTO totp (user_id, secret, confirmed_at, created_at)
           SELECT id, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', 1, 1 FROM users WHERE email = 'ada@example.org';
         INSERT INTO recovery_codes (user_id, code_hash)
           SELECT id, 'x' FROM users WHERE email = 'ada@example.org';",
    )
    .unwrap();
    let out = env.cli(&["user", "reset-2fa", "ada@example.org"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "two-factor sign-in of ada@example.org turned off (the authenticator app removed)"
        ),
        "{}",
        stdout(&out)
    );
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM totp"), 0);
    assert_eq!(count("SELECT count(*) FROM recovery_codes"), 0);
    assert_eq!(
        count(
            "SELECT count(*) FROM audit_log WHERE action = 'second_factor.reset' AND target = 'ada@example.org'"
        ),
        2
    );
    let out = env.cli(&["user", "reset-2fa", "nobody@example.org"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
