//! Quarantine: an app down for longer than `quarantine_after_secs` is probed instead
//! of retried pair by pair, and comes back by itself; credentials refused even after a
//! fresh token quarantine it at once. Thresholds of seconds stand in for minutes.

use std::time::Duration;

use serde_json::Value;

use crate::support::db::{only, sql_i64, wait_for, wait_until};
use crate::support::env::{TestEnv, stderr, stdout};
use crate::support::relay::{Relay, port_of};
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;

const QUICK: &str = "max_attempts = 3
backoff_base_secs = 1
backoff_max_secs = 1
sweep_interval_secs = 1
quarantine_after_secs = 2
quarantine_probe_secs = 2";

fn quarantined(env: &TestEnv) -> bool {
    sql_i64(
        &env.db_path(),
        "SELECT count(*) FROM app_rails WHERE app_slug = 'files' AND quarantined_at IS NOT NULL",
    ) == 1
}

// The app's quarantine alert condition (the alerts task sends it; see ops_alerts).
fn alert(env: &TestEnv, and: &str) -> i64 {
    sql_i64(
        &env.db_path(),
        &format!(
            "SELECT count(*) FROM alert_conditions WHERE kind = 'app_quarantined' AND app_slug = 'files' AND {and}"
        ),
    )
}

#[test]
fn an_app_down_past_the_threshold_is_probed_not_retried_and_recovers_by_itself() {
    let server = ScimServer::start();
    let port = port_of(&server.base_url());
    let relay = Relay::start(port);
    let url = server
        .base_url()
        .replacen(&format!(":{port}"), &format!(":{}", relay.port), 1);
    let env = TestEnv::with_provisioning(&scim_app("files", &url, server.token(), ""), QUICK);
    env.install("files");
    env.import(
        "email,name,files",
        (0..20).map(|i| format!("a{i}@example.org,Early {i},user")),
    );
    let mut serve = Serve::start(&env);
    wait_for(&env, "files", Duration::from_secs(60), |s| {
        only(s, "provisioned", 20)
    });

    relay.set_down(true);
    env.import(
        "email,name,files",
        (0..20).map(|i| format!("b{i}@example.org,Late {i},user")),
    );
    wait_until(
        Duration::from_secs(60),
        || quarantined(&env),
        || format!("{:?}\n{}", env.pair_counts("files"), serve.log()),
    );
    // With max_attempts = 3 a pair gives up within about two seconds of retries; in
    // quarantine none does: the late 20 all wait as `error`, saying why.
    wait_for(&env, "files", Duration::from_secs(30), |s| {
        s.get("error") == Some(&20) && s.get("failed").is_none()
    });
    let out = env.cli(&["provision", "status", "--json", "--app", "files"]);
    let pairs: Vec<Value> = serde_json::from_slice(&out.stdout).expect("provision status --json");
    for p in pairs.iter().filter(|p| p["status"] == "error") {
        let m = p["last_message"].as_str().unwrap_or_default();
        assert!(m.contains("quarantined"), "{p}");
    }
    let app = env.app("files");
    assert_eq!(app["quarantined"], true, "{app}");
    assert!(
        app["quarantine_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("every request failed"),
        "{app}"
    );
    assert_eq!(alert(&env, "resolved_at IS NULL"), 1, "the alert is raised");
    let metrics = serve.metrics();
    assert_eq!(
        metrics.get("accessboard_app_quarantined{app=\"files\"}"),
        Some(&1.0),
        "{metrics:?}"
    );

    // Three probe periods: a probe each, where 20 pairs would otherwise retry every second.
    let before = relay.accepted();
    std::thread::sleep(Duration::from_secs(6));
    let during = relay.accepted() - before;
    eprintln!("figure: {during} connections in 6 s of quarantine (20 pairs waiting)");
    assert!(
        during <= 5,
        "{during} requests reached the app in quarantine"
    );

    // Back up: no admin action, every pair provisioned, the quarantine over.
    relay.set_down(false);
    wait_for(&env, "files", Duration::from_secs(60), |s| {
        only(s, "provisioned", 40)
    });
    assert!(!quarantined(&env), "{}", serve.log());
    assert_eq!(
        alert(&env, "resolution LIKE '%left quarantine%'"),
        1,
        "the alert says it is over"
    );
    assert_eq!(server.users().len(), 40);
    serve.stop();
}

#[test]
fn credentials_refused_after_a_fresh_token_quarantine_at_once() {
    let server = ScimServer::start();
    let env = TestEnv::with_provisioning(
        &scim_app("files", &server.base_url(), "not-the-token", ""),
        QUICK,
    );
    env.install("files");
    env.create_person("ann@example.org", "Ann", &["files=user"]);
    let out = env.cli(&["provision", "run", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let app = env.app("files");
    assert_eq!(app["quarantined"], true, "{app}");
    assert!(
        app["quarantine_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("401"),
        "{app}"
    );
    let pair = env.pair("ann@example.org", "files");
    assert_eq!(pair["status"], "error", "{pair}");
    assert!(
        pair["last_message"]
            .as_str()
            .unwrap_or_default()
            .contains("quarantined"),
        "{pair}"
    );
    // `app resume` probes at once; the credentials are still wrong.
    let out = env.cli(&["app", "resume", "files"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("stays quarantined"),
        "{}",
        stdout(&out)
    );
    assert!(server.users().is_empty());
}
