//! Provisioning events: one per attempt with its requests linked, the counters the
//! overview reads, and `user sync` printing each request as it happens.

use crate::support::db::sql_i64;
use crate::support::env::{TestEnv, stderr, stdout};
use crate::support::net::free_port;
use crate::support::scim_server::ScimServer;
use crate::support::settings::{plain_app, scim_app};

fn env_for(server: &ScimServer) -> TestEnv {
    let apps = scim_app(
        "files",
        &server.base_url(),
        server.token(),
        "admin_group = \"admins\"",
    ) + &plain_app("wiki");
    let env = TestEnv::new(&apps);
    env.install("files");
    env.install("wiki");
    env
}

/// Every (app, status) count the triggers keep equals a recount of `app_access`.
fn assert_counts_agree(env: &TestEnv) {
    let conn = crate::support::db::connect(&env.db_path());
    let kept: Vec<(String, String, i64)> = conn
        .prepare("SELECT app_slug, status, n FROM app_status_counts WHERE n != 0 ORDER BY 1, 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let counted: Vec<(String, String, i64)> = conn
        .prepare("SELECT app_slug, status, count(*) FROM app_access GROUP BY 1, 2 ORDER BY 1, 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        kept, counted,
        "the overview's counts drifted from the pairs"
    );
}

#[test]
fn user_sync_prints_each_request_and_records_one_event_with_its_requests() {
    let server = ScimServer::start();
    let env = env_for(&server);
    env.create_person("ann@example.org", "Ann Lee", &["files=admin"]);

    let out = env.cli(&["user", "sync", "ann@example.org"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("ann@example.org in files:"), "{text}");
    assert!(
        text.contains("POST /Users -> 201"),
        "the create and its answer: {text}"
    );
    assert!(text.contains("= provisioned: account"), "{text}");
    assert!(!text.contains(server.token()), "no credential in the trace");
    // What was sent and what came back, as JSON under the request.
    let create = &text[text.find("POST /Users -> 201").unwrap()..];
    assert!(create.contains("    sent:\n"), "{create}");
    assert!(
        create.contains("\"userName\": \"ann@example.org\""),
        "{create}"
    );
    assert!(create.contains("    answer:\n"), "{create}");
    assert!(
        !text.contains("wiki"),
        "apps without SCIM are not synced: {text}"
    );
    assert_eq!(server.accounts_with_email("ann@example.org").len(), 1);
    assert_eq!(
        env.pair("ann@example.org", "files")["status"],
        "provisioned"
    );

    let db = env.db_path();
    assert_eq!(sql_i64(&db, "SELECT count(*) FROM provision_attempts"), 1);
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM provision_attempts WHERE user_name = 'Ann Lee' AND app_slug = 'files'
             AND outcome = 'provisioned' AND summary = 'account created, admin'"
        ),
        1
    );
    let requests = sql_i64(&db, "SELECT requests FROM provision_attempts");
    assert!(requests >= 2, "at least a lookup and a create");
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM provision_log l JOIN provision_attempts a ON a.id = l.attempt_id
             WHERE l.method IS NOT NULL AND l.path LIKE '/%'"
        ),
        requests,
        "every request is linked to its event, with method and path"
    );
    // The trace printed one line per request the event holds.
    assert_eq!(text.matches(" -> ").count() as i64, requests, "{text}");

    // Again: nothing to change, and the event says so.
    let again = env.cli(&["user", "sync", "ann@example.org", "--app", "files"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        !stdout(&again).contains("POST /Users"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        sql_i64(
            &db,
            "SELECT summary = 'already up to date, admin' FROM provision_attempts ORDER BY id DESC LIMIT 1"
        ),
        1
    );
    assert_eq!(server.accounts_with_email("ann@example.org").len(), 1);
    assert_eq!(
        sql_i64(
            &db,
            "SELECT last_success_at IS NOT NULL AND last_error_at IS NULL FROM app_health WHERE app_slug = 'files'"
        ),
        1,
        "the app's health follows its events"
    );
    // Audited like any change made on the command line.
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM audit_log WHERE action = 'sync_now' AND target = 'ann@example.org'"
        ),
        2
    );
    assert_counts_agree(&env);
}

#[test]
fn user_sync_says_what_is_wrong_with_exit_2_and_an_unreachable_app_with_exit_1() {
    let server = ScimServer::start();
    let env = env_for(&server);
    env.create_person("ann@example.org", "Ann Lee", &["files=user", "wiki=user"]);

    let unknown = env.cli(&["user", "sync", "nobody@example.org"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("nobody@example.org"),
        "{}",
        stderr(&unknown)
    );
    let no_app = env.cli(&["user", "sync", "ann@example.org", "--app", "nope"]);
    assert_eq!(no_app.status.code(), Some(2));
    assert!(stderr(&no_app).contains("nope"), "{}", stderr(&no_app));
    let plain = env.cli(&["user", "sync", "ann@example.org", "--app", "wiki"]);
    assert_eq!(plain.status.code(), Some(2), "{}", stdout(&plain));
    assert!(
        stderr(&plain).contains("not provisioned by accessboard"),
        "{}",
        stderr(&plain)
    );
    assert_eq!(
        sql_i64(&env.db_path(), "SELECT count(*) FROM provision_attempts"),
        0
    );

    // An app that does not answer: the trace shows the failed request, exit 1.
    let down = TestEnv::new(&scim_app(
        "files",
        &format!("http://127.0.0.1:{}/scim/v2", free_port()),
        "tok",
        "",
    ));
    down.install("files");
    down.create_person("bob@example.org", "Bob Stone", &["files=user"]);
    let out = down.cli(&["user", "sync", "bob@example.org"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("-> no answer"), "{text}");
    assert!(text.contains("= error:"), "{text}");
    assert_eq!(down.pair("bob@example.org", "files")["status"], "error");
    let db = down.db_path();
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM provision_attempts WHERE outcome = 'error' AND summary = 'error, will retry'"
        ),
        1
    );
    assert_eq!(
        sql_i64(
            &db,
            "SELECT last_error_at IS NOT NULL AND last_error IS NOT NULL FROM app_health WHERE app_slug = 'files'"
        ),
        1
    );
    assert_counts_agree(&down);
}

#[test]
fn counts_follow_every_change_of_the_pairs() {
    let server = ScimServer::start();
    let env = env_for(&server);
    for i in 0..4 {
        env.create_person(
            &format!("p{i}@example.org"),
            &format!("Person {i}"),
            &["files=user", "wiki=admin"],
        );
    }
    assert_counts_agree(&env);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_counts_agree(&env);
    assert!(
        env.cli(&["user", "access", "p1@example.org", "files", "none"])
            .status
            .success()
    );
    assert!(
        env.cli(&["user", "delete", "p2@example.org"])
            .status
            .success()
    );
    assert_counts_agree(&env);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_counts_agree(&env);
    assert!(env.cli(&["app", "uninstall", "files"]).status.success());
    assert_counts_agree(&env);
}

#[test]
fn a_batch_records_one_event_per_pair_and_each_request_once() {
    let server = ScimServer::start();
    let env = env_for(&server);
    for i in 0..5 {
        env.create_person(
            &format!("b{i}@example.org"),
            &format!("Batch {i}"),
            &["files=admin"],
        );
    }
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    let db = env.db_path();
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(DISTINCT user_id) FROM provision_attempts
             WHERE app_slug = 'files' AND outcome = 'provisioned' AND summary = 'account created, admin'"
        ),
        5,
        "each person's attempt is an event of its own"
    );
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM provision_log WHERE attempt_id IS NULL OR method IS NULL OR path NOT LIKE '/%'"
        ),
        0,
        "every request belongs to an event, with its method and path"
    );
    // A listing or group write made for the whole batch is journalled once, so the
    // events' request counts add up to the journal, not to a multiple of it.
    assert_eq!(
        sql_i64(&db, "SELECT sum(requests) FROM provision_attempts"),
        sql_i64(&db, "SELECT count(*) FROM provision_log")
    );
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM provision_log WHERE method = 'POST' AND path = '/Users'"
        ),
        5,
        "one create per person, journalled once each"
    );
    assert_counts_agree(&env);
}
