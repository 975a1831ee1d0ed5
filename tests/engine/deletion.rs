//! Two-stage deletion (`[apps.scim] delete_after_days`): disabled first, deleted once the
//! date stored beside the pair has passed, against a real scim2-server.
//!
//! Days pass by moving the stored dates back: the deletion date is a column, not a
//! timer, and every `accessboard` command below is a process of its own, so each step
//! also shows that the date survives a restart.

use std::time::Duration;

use crate::support::db::{connect, sql_i64, wait_until};
use crate::support::env::{TestEnv, stderr, stdout};
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;

const DAYS: i64 = 30;

fn env_for(server: &ScimServer, extra: &str) -> TestEnv {
    let env = TestEnv::new(&scim_app(
        "files",
        &server.base_url(),
        server.token(),
        extra,
    ));
    env.install("files");
    env
}

fn run(env: &TestEnv) {
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn cli_ok(env: &TestEnv, args: &[&str]) {
    let out = env.cli(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
}

// What a wait of `days` looks like to accessboard: every stored deletion date is that
// much nearer.
fn days_pass(env: &TestEnv, days: i64) {
    connect(&env.db_path())
        .execute(
            "UPDATE app_access SET delete_at = delete_at - ?1 WHERE delete_at IS NOT NULL",
            [days * 86_400],
        )
        .expect("move the deletion dates");
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

#[test]
fn a_disabled_account_is_deleted_after_its_days_unless_access_came_back() {
    let server = ScimServer::start();
    let env = env_for(&server, &format!("delete_after_days = {DAYS}"));
    env.create_person("ann@example.org", "Ann", &["files=user"]);
    env.create_person("bo@example.org", "Bo", &["files=user"]);
    run(&env);
    let before = now();
    cli_ok(
        &env,
        &["user", "access", "ann@example.org", "files", "none"],
    );
    cli_ok(&env, &["user", "access", "bo@example.org", "files", "none"]);
    run(&env);

    // Stage one: disabled, with the day it will be deleted shown.
    for who in ["ann@example.org", "bo@example.org"] {
        let accounts = server.accounts_with_email(who);
        assert_eq!(accounts.len(), 1, "{who} is kept");
        assert_eq!(accounts[0]["active"], false, "{who} is disabled");
        let pair = env.pair(who, "files");
        assert_eq!(pair["status"], "deprovisioned");
        let date = pair["delete_at"].as_str().expect("delete_at shown");
        assert!(
            pair["last_message"]
                .as_str()
                .is_some_and(|m| m.contains(&format!("deleted on {date}"))),
            "{pair}"
        );
    }
    let delete_at = sql_i64(
        &env.db_path(),
        "SELECT delete_at FROM app_access WHERE app_slug = 'files' LIMIT 1",
    );
    assert!(
        (before + DAYS * 86_400..=now() + DAYS * 86_400).contains(&delete_at),
        "{DAYS} days after the disable"
    );

    // A day short of the date, another run (another process) deletes nothing.
    days_pass(&env, DAYS - 1);
    run(&env);
    assert_eq!(server.accounts_with_email("ann@example.org").len(), 1);

    // Bo's access comes back: enabled again, and no date any more.
    cli_ok(&env, &["user", "access", "bo@example.org", "files", "user"]);
    run(&env);
    let bo = env.pair("bo@example.org", "files");
    assert_eq!(bo["status"], "provisioned");
    assert!(bo["delete_at"].is_null(), "{bo}");

    // The date passes: Ann's account is deleted, Bo's is kept, active.
    days_pass(&env, 1);
    run(&env);
    assert!(
        server.accounts_with_email("ann@example.org").is_empty(),
        "deleted after {DAYS} days"
    );
    let ann = env.pair("ann@example.org", "files");
    assert_eq!(ann["status"], "deprovisioned");
    assert_eq!(ann["last_message"], "account deleted");
    assert!(ann["delete_at"].is_null(), "{ann}");
    let bo = server.accounts_with_email("bo@example.org");
    assert_eq!(bo.len(), 1);
    assert_eq!(bo[0]["active"], true);

    // Nothing is left to do: a later run makes no request for either of them.
    let requests = sql_i64(&env.db_path(), "SELECT count(*) FROM provision_log");
    run(&env);
    assert_eq!(
        sql_i64(&env.db_path(), "SELECT count(*) FROM provision_log"),
        requests
    );
}

#[test]
fn a_deleted_person_is_purged_only_after_the_delete() {
    let server = ScimServer::start();
    let env = env_for(&server, &format!("delete_after_days = {DAYS}"));
    env.create_person("cy@example.org", "Cy", &["files=user"]);
    run(&env);
    cli_ok(&env, &["user", "delete", "cy@example.org"]);
    run(&env);
    assert_eq!(
        server.accounts_with_email("cy@example.org")[0]["active"],
        false
    );
    let cy = env.pair("cy@example.org", "files");
    assert!(cy["delete_at"].is_string(), "kept until the delete: {cy}");

    // This time a running `serve` finds the passed date at its first sweep.
    days_pass(&env, DAYS);
    let mut serve = Serve::start(&env);
    let db = env.db_path();
    wait_until(
        Duration::from_secs(30),
        || {
            sql_i64(
                &db,
                "SELECT count(*) FROM users WHERE email = 'cy@example.org'",
            ) == 0
        },
        || format!("cy was never purged; log:\n{}", serve.log()),
    );
    serve.stop();
    assert!(server.accounts_with_email("cy@example.org").is_empty());
    let out = env.cli(&["provision", "status", "--json"]);
    assert_eq!(stdout(&out).trim(), "[]", "purged once the account is gone");
}

#[test]
fn apps_that_refuse_delete_refuse_the_setting_at_start() {
    let server = ScimServer::start();
    for (extra, says) in [
        (
            "preset = \"zulip\"\ndelete_after_days = 7",
            "delete_after_days: Zulip refuses DELETE",
        ),
        (
            "on_deprovision = \"delete\"\ndelete_after_days = 7",
            "delete_after_days: only works with on_deprovision = \"disable\"",
        ),
    ] {
        let env = TestEnv::new(&scim_app("chat", &server.base_url(), server.token(), extra));
        let out = env.cli(&["app", "list"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
    }
}
