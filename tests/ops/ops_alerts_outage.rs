//! An outage long enough to quarantine the app, told truthfully: the people who failed
//! before the quarantine are not "resolved" while the app is still down (quarantine only
//! puts them back to waiting), their pairs say what they wait for, and exactly one
//! "Resolved" comes once they are provisioned after the app is back.

use std::time::Duration;

use serde_json::Value;

use crate::support::db::{only, sql_i64, wait_for, wait_until};
use crate::support::env::{TestEnv, ok, stdout};
use crate::support::relay::Relay;
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;
use crate::support::webhook::Webhook;

/// Two attempts a second apart, then `failed`; quarantined once every request failed
/// for 4 s; probed every 2 s.
const OUTAGE: &str = "max_attempts = 2
backoff_base_secs = 1
backoff_max_secs = 1
quarantine_after_secs = 4
quarantine_probe_secs = 2";

/// The webhook's JSON bodies of `kind` in `state`.
fn posts(hook: &Webhook, kind: &str, state: &str) -> Vec<Value> {
    hook.received()
        .into_iter()
        .map(|r| r.body)
        .filter(|b| b["kind"] == kind && b["state"] == state)
        .collect()
}

fn quarantined(env: &TestEnv) -> bool {
    sql_i64(
        &env.db_path(),
        "SELECT count(*) FROM app_rails WHERE app_slug = 'files' AND quarantined_at IS NOT NULL",
    ) == 1
}

#[test]
fn failed_pairs_are_not_resolved_by_quarantine_only_once_they_settle_after_the_app_is_back() {
    let server = ScimServer::start();
    let relay = Relay::start(crate::support::relay::port_of(&server.base_url()));
    let hook = Webhook::start();
    let apps = scim_app("files", &relay.url(&server.base_url()), server.token(), "");
    let env = TestEnv::build(|s| {
        s.lines("provisioning", OUTAGE).apps(&apps).lines(
            "alerts",
            &format!(
                "webhook_url = \"{}\"\nalert_batch_secs = 1\n",
                hook.url("/hook")
            ),
        )
    });
    env.install("files");
    relay.set_down(true);
    env.import(
        "email,name,files",
        (1..=9).map(|i| format!("p{i}@example.org,Person {i},user")),
    );
    let mut serve = Serve::start(&env);

    // Zulip's morning: nine people fail after their two attempts, and that is told.
    wait_for(&env, "files", Duration::from_secs(60), |c| {
        only(c, "failed", 9)
    });
    wait_until(
        Duration::from_secs(60),
        || !posts(&hook, "pairs_failed", "raised").is_empty(),
        || format!("no failure alert; log:\n{}", serve.log()),
    );
    let title = posts(&hook, "pairs_failed", "raised")[0]["title"].clone();
    assert!(
        title
            .as_str()
            .is_some_and(|t| t.starts_with("App files: ") && t.ends_with(" failed")),
        "{title}"
    );

    // Still down past quarantine_after_secs: the next person's attempt quarantines the app,
    // which puts the nine back to waiting for its probe.
    let failing_since = sql_i64(
        &env.db_path(),
        "SELECT failing_since FROM app_rails WHERE app_slug = 'files'",
    );
    let now = jiff::Timestamp::now().as_second();
    let past_threshold = (failing_since + 5 - now).max(0) as u64;
    std::thread::sleep(Duration::from_secs(past_threshold));
    ok(
        &env.create_person("late@example.org", "Late Comer", &["files=user"]),
        "user create",
    );
    wait_until(
        Duration::from_secs(60),
        || quarantined(&env) && env.pair_counts("files").get("error") == Some(&10),
        || format!("{:?}\n{}", env.pair_counts("files"), serve.log()),
    );
    // The quarantine's own alert is queued in the round that sees the nine waiting: had
    // that round resolved their failure, its message would have been sent before.
    wait_until(
        Duration::from_secs(60),
        || !posts(&hook, "app_quarantined", "raised").is_empty(),
        || format!("no quarantine alert; log:\n{}", serve.log()),
    );
    let resolved: Vec<Value> = hook
        .received()
        .into_iter()
        .map(|r| r.body)
        .filter(|b| b["state"] == "resolved")
        .collect();
    assert!(
        resolved.is_empty(),
        "resolved while the app is down: {resolved:?}"
    );
    // What the pairs say meanwhile: what they wait for, not an attempt count.
    let status = env.cli(&["provision", "status", "--app", "files"]);
    ok(&status, "provision status");
    let table = stdout(&status);
    assert_eq!(
        table
            .matches("waiting for App files to answer again (next probe ")
            .count(),
        10,
        "{table}"
    );
    assert!(!table.contains("attempt"), "{table}");

    // Back: the probe answers, everyone is provisioned, and then it is told, once.
    relay.set_down(false);
    wait_for(&env, "files", Duration::from_secs(60), |c| {
        only(c, "provisioned", 10)
    });
    wait_until(
        Duration::from_secs(60),
        || {
            !posts(&hook, "pairs_failed", "resolved").is_empty()
                && !posts(&hook, "app_quarantined", "resolved").is_empty()
        },
        || format!("{:?}; log:\n{}", hook.received(), serve.log()),
    );
    let told = posts(&hook, "pairs_failed", "resolved");
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0]["title"],
        "Resolved: no failed pairs in App files any more"
    );
    assert!(
        told[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Every pair that had failed is settled"),
        "{}",
        told[0]
    );
    assert_eq!(server.users().len(), 10);
    serve.stop();
}
