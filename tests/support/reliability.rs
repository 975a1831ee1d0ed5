//! Helpers for the reliability tests (`reliability_*`): pair counts read from the
//! database file, waiting for them to settle, bulk import, accounts on the app,
//! and a signed-in admin.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::env::{TestEnv, stderr};
use super::scim_server::ScimServer;

/// Pair counts by status, read straight from the database file.
pub fn statuses(env: &TestEnv, app: &str) -> BTreeMap<String, i64> {
    let conn = rusqlite::Connection::open(env.dir.path().join("data/accessboard.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut stmt = conn
        .prepare("SELECT status, count(*) FROM app_access WHERE app_slug = ?1 GROUP BY status")
        .unwrap();
    stmt.query_map([app], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Waits until `done` holds for the app's counts; returns how long it took.
pub fn wait_for(
    env: &TestEnv,
    app: &str,
    limit: Duration,
    done: impl Fn(&BTreeMap<String, i64>) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let s = statuses(env, app);
        if done(&s) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{app} did not settle within {limit:?}: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn only(s: &BTreeMap<String, i64>, status: &str, n: i64) -> bool {
    s.get(status) == Some(&n) && s.values().sum::<i64>() == n
}

pub fn import(env: &TestEnv, header: &str, rows: impl Iterator<Item = String>) {
    let csv = env.dir.path().join("people.csv");
    let mut text = format!("{header}\n");
    for r in rows {
        text.push_str(&r);
        text.push('\n');
    }
    std::fs::write(&csv, text).unwrap();
    let out = env.cli(&["user", "import", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

pub fn accounts_by_user_name(server: &ScimServer) -> BTreeMap<String, Vec<Value>> {
    let mut by: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for u in server.users() {
        let name = u["userName"].as_str().unwrap_or_default().to_lowercase();
        by.entry(name).or_default().push(u);
    }
    by
}

pub fn admin(env: &TestEnv) {
    let out = env.cli(&[
        "user",
        "create",
        "--email",
        "boss@example.org",
        "--name",
        "Boss",
        "--admin",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.cli_with_stdin(
        &["user", "set-password", "boss@example.org"],
        Some("correct horse battery staple\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
}
