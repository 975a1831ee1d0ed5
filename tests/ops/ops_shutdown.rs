//! Operations: SIGTERM handling. A first signal lets the attempts in flight finish,
//! gives the rest back and exits cleanly; a second one exits at once.
//!
//! Every test drives the real binary (`serve`, CLI commands) in its own temporary
//! folder on loopback ports; the SCIM apps are real scim2-server processes.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::db::{pair_counts, sql_i64, wait_until};
use crate::support::env::TestEnv;
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;

#[test]
fn sigterm_mid_run_exits_cleanly_and_a_restart_settles_one_account_per_person() {
    const PEOPLE: usize = 200;
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("chat", &server.base_url(), server.token(), ""));
    env.install("chat");
    let emails: BTreeSet<String> = (0..PEOPLE).map(|i| format!("p{i}@example.org")).collect();
    env.import(
        "email,name,chat",
        (0..PEOPLE).map(|i| format!("p{i}@example.org,Person {i},user")),
    );
    let db = env.db_path();

    let info = [("ACCESSBOARD_LOG__LEVEL", "info")];
    let mut serve = Serve::builder(&env).envs(&info).start();
    wait_until(
        Duration::from_secs(60),
        || {
            pair_counts(&db, "chat")
                .get("provisioned")
                .copied()
                .unwrap_or(0)
                >= 5
        },
        || serve.log(),
    );
    let at_signal = pair_counts(&db, "chat");
    serve.sigterm();
    let signalled = Instant::now();
    let status = serve.wait_exit(Duration::from_secs(25));
    let took = signalled.elapsed();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "exit after SIGTERM ({status:?} after {took:?}); log:\n{}",
        serve.log()
    );
    eprintln!("SIGTERM with {at_signal:?}: exited 0 after {took:?}");
    assert!(
        at_signal.get("provisioned").copied().unwrap_or(0) < PEOPLE as i64,
        "the signal came mid-run: {at_signal:?}"
    );
    let log = serve.log();
    assert!(
        log.contains("shutting down") && log.contains("stopped"),
        "{log}"
    );
    let after = pair_counts(&db, "chat");
    assert_eq!(
        after.get("syncing"),
        None,
        "no pair left in flight: {after:?}"
    );
    // `syncing` counts every pair claimed into a batch, not only the few in flight:
    // attempts in flight finish (or are given back after a grace period), the rest are
    // given back unattempted. None is dropped: each is provisioned or due again.
    let settled_or_due = after.get("provisioned").copied().unwrap_or(0)
        + after.get("sync_needed").copied().unwrap_or(0);
    assert_eq!(
        settled_or_due, PEOPLE as i64,
        "every pair provisioned or given back: {at_signal:?} -> {after:?}"
    );
    assert!(
        after.get("provisioned").copied().unwrap_or(0)
            > at_signal.get("provisioned").copied().unwrap_or(0),
        "the attempts in flight at the signal were finished: {at_signal:?} -> {after:?}"
    );
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM app_access WHERE claimed_by IS NOT NULL"
        ),
        0,
        "no claims left behind"
    );

    // A restart picks up where it stopped.
    let mut serve = Serve::builder(&env).envs(&info).start();
    wait_until(
        Duration::from_secs(120),
        || pair_counts(&db, "chat").get("provisioned") == Some(&(PEOPLE as i64)),
        || format!("{:?}\n{}", pair_counts(&db, "chat"), serve.log()),
    );
    serve.stop();
    let accounts = server.users();
    let names: Vec<String> = accounts
        .iter()
        .map(|u| u["userName"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    assert_eq!(accounts.len(), PEOPLE, "exactly one account per person");
    assert_eq!(names.iter().cloned().collect::<BTreeSet<_>>(), emails);
    assert!(accounts.iter().all(|u| u["active"] == true));
    let ids: BTreeSet<String> = {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.prepare("SELECT scim_id FROM app_access WHERE app_slug = 'chat'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let remote: BTreeSet<String> = accounts
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, remote, "every pair knows its account");
}

#[test]
fn a_second_sigterm_exits_at_once_while_a_job_hangs() {
    // An app that accepts connections and never answers.
    let hang = TcpListener::bind("127.0.0.1:0").unwrap();
    let hang_port = hang.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((s, _)) = hang.accept() {
            held.push(s);
        }
    });
    let env = TestEnv::new(&scim_app(
        "slow",
        &format!("http://127.0.0.1:{hang_port}/scim"),
        "t",
        "",
    ));
    env.install("slow");
    env.create_person("kim@example.org", "Kim", &["slow=user"]);
    let db = env.db_path();
    let mut serve = Serve::builder(&env)
        .env("ACCESSBOARD_PROVISIONING__REQUEST_TIMEOUT_SECS", "300")
        .env("ACCESSBOARD_LOG__LEVEL", "info")
        .start();
    wait_until(
        Duration::from_secs(30),
        || pair_counts(&db, "slow").get("syncing") == Some(&1),
        || serve.log(),
    );
    serve.sigterm();
    assert!(
        serve.wait_exit(Duration::from_millis(700)).is_none(),
        "the first signal waits for the job in flight; log:\n{}",
        serve.log()
    );
    assert!(serve.log().contains("shutting down"), "{}", serve.log());
    let second = Instant::now();
    serve.sigterm();
    let status = serve.wait_exit(Duration::from_secs(5));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(130),
        "the second signal exits at once ({status:?} after {:?}); log:\n{}",
        second.elapsed(),
        serve.log()
    );
    assert!(serve.log().contains("second signal"), "{}", serve.log());
}
