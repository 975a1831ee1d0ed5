//! The revocation guard against a real scim2-server: a wave of revocations pauses the
//! app for revocations (pairs `held`, no disable request made), `app resume` lets them
//! go, `--force` passes a planned one, and a handful never trips it.

use crate::support::env::{TestEnv, ok, stderr, stdout};
use crate::support::scim_server::ScimServer;
use crate::support::settings::scim_app;

const PEOPLE: usize = 100;

fn email(i: usize) -> String {
    format!("p{i:03}@example.org")
}

// An app with PEOPLE provisioned people, and the access-log position after that.
fn provisioned(server: &ScimServer) -> (TestEnv, usize) {
    let env = TestEnv::new(&scim_app("files", &server.base_url(), server.token(), ""));
    env.install("files");
    env.import(
        "email,name,files",
        (0..PEOPLE).map(|i| format!("{},Person {i},user", email(i))),
    );
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.users().len(), PEOPLE);
    (env, server.log_lines().len())
}

fn revoke(env: &TestEnv, from: usize, to: usize, force: bool) -> String {
    let mut said = String::new();
    for i in from..to {
        let who = email(i);
        let mut args = vec!["user", "access", who.as_str(), "files", "none"];
        if force {
            args.push("--force");
        }
        let out = env.cli(&args);
        ok(&out, "user access none");
        said.push_str(&stderr(&out));
    }
    said
}

#[test]
fn revoking_thirty_of_a_hundred_is_held_until_resume_and_force_passes() {
    let server = ScimServer::start();
    let (env, from) = provisioned(&server);

    let said = revoke(&env, 0, 30, false);
    assert!(
        said.contains("revocations are held") && said.contains("app resume files"),
        "the command line says so: {said}"
    );
    assert_eq!(env.pair_counts("files").get("held"), Some(&30));
    let app = env.app("files");
    assert_eq!(app["paused"], true, "{app}");
    assert_eq!(app["paused_for"], "revocations", "{app}");
    let reason = app["pause_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("of 100 accounts revoked"), "{reason}");
    assert!(
        app["paused_by"]
            .as_str()
            .unwrap_or_default()
            .starts_with("cli ("),
        "who did it, from the audit trail: {app}"
    );

    // Held counts as unsettled, and nothing was sent to disable anyone.
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("30 pairs are held") && err.contains("paused for revocations"),
        "{err}"
    );
    assert_eq!(
        server.account_writes_since(from),
        0,
        "{:?}",
        server.requests_since(from)
    );
    assert_eq!(server.inactive_users(), 0);

    // Resume lets them go.
    let out = env.cli(&["app", "resume", "files"]);
    ok(&out, "app resume");
    assert!(
        stdout(&out).contains("30 pairs released"),
        "{}",
        stdout(&out)
    );
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.inactive_users(), 30);
    assert_eq!(env.app("files")["paused"], false);
    let audit = stdout(&env.cli(&["audit", "--json"]));
    assert!(audit.contains("app.guard_tripped") && audit.contains("app.resume"));

    // A planned wave passes with --force, and is not counted against later changes.
    let said = revoke(&env, 30, 60, true);
    assert!(!said.contains("held"), "{said}");
    assert_eq!(env.pair_counts("files").get("held"), None);
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.inactive_users(), 60);
    revoke(&env, 60, 65, false);
    assert_eq!(env.pair_counts("files").get("held"), None);
}

#[test]
fn five_of_a_hundred_do_not_trip_the_guard() {
    let server = ScimServer::start();
    let (env, _) = provisioned(&server);
    let said = revoke(&env, 0, 5, false);
    assert!(!said.contains("held"), "{said}");
    assert_eq!(env.pair_counts("files").get("held"), None);
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.inactive_users(), 5);
    assert_eq!(env.app("files")["paused"], false);
}

#[test]
fn a_paused_app_gets_no_request_until_it_is_resumed() {
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("files", &server.base_url(), server.token(), ""));
    env.install("files");
    let out = env.cli(&["app", "pause", "files", "--reason", "upgrade to 31"]);
    ok(&out, "app pause");
    let from = server.log_lines().len();
    env.create_person("ann@example.org", "Ann", &["files=user"]);
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("upgrade to 31"), "{}", stderr(&out));
    assert!(
        server.requests_since(from).is_empty(),
        "{:?}",
        server.requests_since(from)
    );
    let app = env.app("files");
    assert_eq!(app["paused"], true);
    assert_eq!(app["paused_for"], "all");
    assert_eq!(app["pause_reason"], "upgrade to 31");

    ok(&env.cli(&["app", "resume", "files"]), "app resume");
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.accounts_with_email("ann@example.org").len(), 1);
}

// The worst day: a group that gives everyone their only access, deleted by
// mistake. The guard holds it like any other wave; the same delete, planned, passes.
#[test]
fn deleting_the_group_that_gives_everyone_access_is_held_unless_forced() {
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("files", &server.base_url(), server.token(), ""));
    env.install("files");
    env.import(
        "email,name",
        (0..PEOPLE).map(|i| format!("{},Person {i}", email(i))),
    );
    for name in ["Everyone", "Staff"] {
        ok(&env.cli(&["group", "create", name]), "group create");
        let emails: Vec<String> = (0..PEOPLE).map(email).collect();
        let mut add = vec!["group", "add", name];
        add.extend(emails.iter().map(String::as_str));
        ok(&env.cli(&add), "group add");
    }
    ok(
        &env.cli(&["group", "grant", "Everyone", "files", "user"]),
        "group grant",
    );
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.users().len(), PEOPLE);
    let from = server.log_lines().len();

    let out = env.cli(&["group", "delete", "Everyone"]);
    ok(&out, "group delete");
    let said = stdout(&out);
    assert!(
        said.contains("100 people will lose access"),
        "said before: {said}"
    );
    assert!(
        stderr(&out).contains("revocations are held"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.pair_counts("files").get("held"), Some(&(PEOPLE as i64)));
    assert_eq!(env.provision_run_wait().status.code(), Some(1));
    assert_eq!(server.account_writes_since(from), 0, "nobody was disabled");
    assert_eq!(server.inactive_users(), 0);

    // The alert is raised with the change (the alerts task tells it, see ops_alerts).
    let db = env.db_path();
    let guard = |sql: &str| {
        crate::support::db::sql_i64(
            &db,
            &format!(
                "SELECT count(*) FROM alert_conditions WHERE kind = 'revocation_guard' AND app_slug = 'files' AND {sql}"
            ),
        )
    };
    assert_eq!(
        guard("resolved_at IS NULL AND detail LIKE '%100 revocations held%'"),
        1
    );

    // Let those go, then a planned revocation of the same size passes with --force.
    ok(&env.cli(&["app", "resume", "files"]), "app resume");
    assert_eq!(
        guard("resolution LIKE '100 held revocations let go by cli (%'"),
        1
    );
    ok(
        &env.cli(&["group", "grant", "Staff", "files", "user"]),
        "group grant",
    );
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.inactive_users(), 0, "access came back through Staff");
    let out = env.cli(&["group", "grant", "Staff", "files", "none", "--force"]);
    ok(&out, "group grant none --force");
    assert!(!stderr(&out).contains("held"), "{}", stderr(&out));
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        server.inactive_users(),
        PEOPLE,
        "the planned revocation was carried out"
    );
}
