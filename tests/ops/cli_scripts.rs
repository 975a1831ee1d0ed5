//! The command line for scripts (issue 25, item 11): exit codes a script can act on,
//! `user list` and `provision status` filters, `--dry-run` of every command that can
//! take access away, help text for every argument, and the audit actor without `$USER`.

use serde_json::Value;

use crate::support::env::{TestEnv, ok, stderr, stdout};
use crate::support::scim_server::ScimServer;
use crate::support::settings::{plain_app, scim_app};

/// files (SCIM, nobody answers: its pairs stay `sync_needed`) installed, wiki not.
fn env() -> TestEnv {
    let env = TestEnv::new(&format!(
        "{}{}",
        scim_app("files", "http://127.0.0.1:9/scim", "t", ""),
        plain_app("wiki")
    ));
    env.install("files");
    env
}

fn json(env: &TestEnv, args: &[&str]) -> Vec<Value> {
    let out = env.cli(args);
    ok(&out, &args.join(" "));
    serde_json::from_slice(&out.stdout).expect("one JSON array")
}

fn emails(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|r| r["email"].as_str().unwrap()).collect()
}

/// Exit 2 with one line on stderr that contains `says`.
fn usage_error(env: &TestEnv, args: &[&str], says: &str) {
    let out = env.cli(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: one line: {err}"
    );
    assert!(err.contains(says), "{args:?}: {err}");
    assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
}

#[test]
fn provision_check_exits_1_when_it_finds_drift_and_0_once_in_step() {
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("files", &server.base_url(), server.token(), ""));
    env.install("files");
    env.create_person("eve@example.org", "Eve", &["files=user"]);
    // Not provisioned yet: Eve's account is missing.
    for args in [
        &["provision", "check", "--app", "files"][..],
        &["provision", "check", "--app", "files", "--json"],
    ] {
        let out = env.cli(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }
    ok(&env.provision_run_wait(), "provision run");
    // An account accessboard does not know is reported, but is not drift.
    server.create_user(serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "stranger@example.org", "active": true
    }));
    let out = env.cli(&["provision", "check", "--app", "files"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("unknown to accessboard: 1"));
}

#[test]
fn user_list_filters_by_app_status_and_group_combined() {
    let env = env();
    env.create_person("ann@example.org", "Ann", &["files=user"]);
    env.create_person("bob@example.org", "Bob", &["files=admin"]);
    env.create_person("cy@example.org", "Cy", &["wiki=user"]);
    ok(&env.cli(&["group", "create", "design"]), "group create");
    ok(
        &env.cli(&[
            "group",
            "add",
            "design",
            "ann@example.org",
            "cy@example.org",
        ]),
        "group add",
    );
    let list = |extra: &[&str]| {
        let mut args = vec!["user", "list", "--json"];
        args.extend(extra);
        json(&env, &args)
    };
    assert_eq!(
        emails(&list(&["--app", "files"])),
        ["ann@example.org", "bob@example.org"]
    );
    assert_eq!(
        emails(&list(&["--group", "DESIGN"])),
        ["ann@example.org", "cy@example.org"]
    );
    // A pair state in that app, the wiki's not installed included.
    assert_eq!(
        emails(&list(&["--app", "files", "--status", "sync_needed"])),
        ["ann@example.org", "bob@example.org"]
    );
    assert_eq!(
        emails(&list(&["--app", "wiki", "--status", "not_provisioned"])).len(),
        3
    );
    assert!(list(&["--app", "files", "--status", "failed"]).is_empty());
    // All filters hold at once.
    assert_eq!(
        emails(&list(&[
            "--app",
            "files",
            "--status",
            "sync_needed",
            "--group",
            "design"
        ])),
        ["ann@example.org"]
    );
    let out = env.cli(&["user", "list", "--app", "files", "--status", "held"]);
    ok(&out, "user list --status held");
    assert_eq!(stdout(&out).trim(), "nobody matches these filters");

    usage_error(&env, &["user", "list", "--app", "nope"], "nope");
    usage_error(&env, &["user", "list", "--group", "nope"], "nope");
    usage_error(
        &env,
        &["user", "list", "--status", "broken"],
        "is not one of sync_needed, syncing, provisioned",
    );
}

#[test]
fn provision_status_filters_by_status() {
    let env = env();
    env.create_person("ann@example.org", "Ann", &["files=user"]);
    env.create_person("bob@example.org", "Bob", &["wiki=user"]);
    let pairs = json(
        &env,
        &["provision", "status", "--json", "--status", "sync_needed"],
    );
    assert_eq!(emails(&pairs), ["ann@example.org"]);
    assert_eq!(pairs[0]["app"], "files");
    let pairs = json(
        &env,
        &[
            "provision",
            "status",
            "--json",
            "--app",
            "files",
            "--status",
            "failed",
        ],
    );
    assert!(pairs.is_empty(), "{pairs:?}");
    usage_error(
        &env,
        &["provision", "status", "--status", "done"],
        "status \"done\" is not one of",
    );
}

#[test]
fn dry_runs_say_what_would_happen_and_change_nothing() {
    let env = env();
    env.create_person("ann@example.org", "Ann", &["files=user"]);
    env.create_person("bob@example.org", "Bob", &[]);
    ok(&env.cli(&["group", "create", "design"]), "group create");
    ok(
        &env.cli(&["group", "add", "design", "bob@example.org"]),
        "group add",
    );
    ok(
        &env.cli(&["group", "grant", "design", "files", "user"]),
        "group grant",
    );
    let state = || {
        (
            json(&env, &["user", "list", "--json"]),
            json(&env, &["provision", "status", "--json"]),
            json(&env, &["audit", "--json"]),
        )
    };
    let before = state();
    for (args, says) in [
        (
            &[
                "user",
                "access",
                "ann@example.org",
                "files",
                "none",
                "--dry-run",
            ][..],
            "dry run: ann@example.org would lose access to files (their account there is disabled or deleted)",
        ),
        (
            &[
                "user",
                "access",
                "ann@example.org",
                "files",
                "admin",
                "--dry-run",
            ],
            "dry run: ann@example.org would go from user to admin in files",
        ),
        (
            &[
                "user",
                "access",
                "bob@example.org",
                "files",
                "none",
                "--dry-run",
            ],
            "dry run: bob@example.org's access to files would not change",
        ),
        (
            &["user", "delete", "ann@example.org", "--dry-run"],
            "dry run: ann@example.org would be deleted; 1 app would be told: files",
        ),
        (
            &["group", "remove", "design", "bob@example.org", "--dry-run"],
            "dry run: removing 1 person from design: 1 person will lose access",
        ),
        (
            &["group", "grant", "design", "files", "none", "--dry-run"],
            "dry run: design as none in files: 0 people would gain access, 1 person will lose access",
        ),
        (
            &["group", "delete", "design", "--dry-run"],
            "dry run: deleting group design: 1 person will lose access",
        ),
    ] {
        let out = env.cli(args);
        ok(&out, &args.join(" "));
        assert_eq!(
            stdout(&out).trim(),
            format!("{says}; nothing was changed"),
            "{args:?}"
        );
    }
    assert_eq!(state(), before, "a dry run changes nothing, audit included");
    // Without --dry-run the same command does it.
    ok(
        &env.cli(&["group", "remove", "design", "bob@example.org"]),
        "group remove",
    );
    assert_eq!(json(&env, &["audit", "--json"]).len(), before.2.len() + 1);
}

#[test]
fn every_argument_says_what_it_takes() {
    let env = env();
    let out = env.cli(&["user", "access", "--help"]);
    ok(&out, "user access --help");
    let help = stdout(&out);
    assert!(help.contains("One of admin, user, none"), "{help}");
    assert!(help.contains("--dry-run"), "{help}");
    let out = env.cli(&["user", "list", "--help"]);
    let help = stdout(&out);
    for status in [
        "sync_needed",
        "syncing",
        "held",
        "error",
        "failed",
        "provisioned",
        "deprovisioned",
        "not_provisioned",
    ] {
        assert!(help.contains(status), "{status}: {help}");
    }
    // Every argument of every command, as clap knows them.
    let mut missing = Vec::new();
    walk(
        &crate::support::api::command_line(),
        "accessboard",
        &mut missing,
    );
    assert!(missing.is_empty(), "arguments without help: {missing:?}");
}

fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if id != "help" && id != "version" && arg.get_help().is_none() {
            missing.push(format!("{path} {id}"));
        }
    }
    for sub in cmd.get_subcommands() {
        walk(sub, &format!("{path} {}", sub.get_name()), missing);
    }
}

#[test]
fn without_user_the_audit_names_the_uid() {
    let env = env();
    let out = env
        .command(
            &[
                "user",
                "create",
                "--email",
                "ann@example.org",
                "--name",
                "Ann",
            ],
            &[],
        )
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("USERNAME")
        .output()
        .expect("run accessboard");
    ok(&out, "user create without $USER");
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    let audit = json(&env, &["audit", "--json"]);
    let entry = audit
        .iter()
        .find(|e| e["action"] == "person.create")
        .expect("the create is recorded");
    assert_eq!(entry["actor"], format!("cli (uid {uid})"));
}
