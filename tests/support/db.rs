//! The database file read directly (never written behind accessboard's back),
//! and waiting for it to show something.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::env::TestEnv;

/// A connection to the database file that waits out other writers.
pub fn connect(db: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(db).expect("open the database");
    c.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    c
}

/// Pairs of one app by status.
pub fn pair_counts(db: &Path, app: &str) -> BTreeMap<String, i64> {
    let c = connect(db);
    let mut stmt = c
        .prepare("SELECT status, count(*) FROM app_access WHERE app_slug = ?1 GROUP BY status")
        .unwrap();
    stmt.query_map([app], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// One integer from SQL.
pub fn sql_i64(db: &Path, sql: &str) -> i64 {
    connect(db).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Whether every pair counted has `status`, and there are `n` of them.
pub fn only(counts: &BTreeMap<String, i64>, status: &str, n: i64) -> bool {
    counts.get(status) == Some(&n) && counts.values().sum::<i64>() == n
}

/// Polls `check` every 100 ms until it returns true; panics with `what()` after `limit`.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool, what: impl Fn() -> String) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out: {}", what());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `done` holds for the app's pair counts; returns how long it took.
pub fn wait_for(
    env: &TestEnv,
    app: &str,
    limit: Duration,
    done: impl Fn(&BTreeMap<String, i64>) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let s = env.pair_counts(app);
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
