//! Prometheus text exposition: counters kept in process, gauges read at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use crate::db::{Db, DbError, time};
use crate::health::Health;
use crate::pairs::JobQueue;

const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    scim: BTreeMap<(String, String, String), Histogram>,
    http: BTreeMap<(String, u16), u64>,
    // 429s per app: the app's rate limit, which the status class alone would hide among 4xx.
    rate_limited: BTreeMap<String, u64>,
    // Restarts of serve's background tasks, by task: a stopped worker is never silent.
    restarts: BTreeMap<&'static str, u64>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(Registry::default()));

/// Records one SCIM request: app, operation, status class (`2xx`, `4xx`, `error` for no answer).
pub fn observe_scim(app: &str, operation: &str, status: Option<u16>, took: Duration) {
    let class = match status {
        Some(s) => format!("{}xx", s / 100),
        None => "error".into(),
    };
    let secs = took.as_secs_f64();
    if let Ok(mut r) = REGISTRY.lock() {
        if status == Some(429) {
            *r.rate_limited.entry(app.to_owned()).or_default() += 1;
        }
        let h = r
            .scim
            .entry((app.to_owned(), operation.to_owned(), class))
            .or_default();
        h.count += 1;
        h.sum += secs;
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.counts[i] += 1;
            }
        }
    }
}

/// Records one restart of a supervised background task.
pub fn task_restarted(task: &'static str) {
    if let Ok(mut r) = REGISTRY.lock() {
        *r.restarts.entry(task).or_default() += 1;
    }
}

/// Records one HTTP request by route pattern (not the raw path, to keep series bounded).
pub fn observe_http(route: &str, status: u16) {
    if let Ok(mut r) = REGISTRY.lock() {
        *r.http.entry((route.to_owned(), status)).or_default() += 1;
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

// Each provisioned app: (slug, paused, quarantined).
fn rails_of_apps(c: &rusqlite::Connection) -> Result<Vec<(String, bool, bool)>, DbError> {
    let mut stmt = c.prepare_cached(
        "SELECT p.slug, COALESCE(r.paused IS NOT NULL, 0), COALESCE(r.quarantined_at IS NOT NULL, 0)
         FROM apps p LEFT JOIN app_rails r ON r.app_slug = p.slug
         WHERE p.installed = 1 AND p.scim_enabled = 1 AND p.in_catalogue = 1 ORDER BY p.slug",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn write_rails(out: &mut String, rails: &[(String, bool, bool)]) {
    let _ = writeln!(
        out,
        "# HELP accessboard_app_paused 1 while the app is paused (for revocations by the guard, or entirely)."
    );
    let _ = writeln!(out, "# TYPE accessboard_app_paused gauge");
    for (app, paused, _) in rails {
        let _ = writeln!(
            out,
            "accessboard_app_paused{{app=\"{}\"}} {}",
            label(app),
            u8::from(*paused)
        );
    }
    let _ = writeln!(
        out,
        "# HELP accessboard_app_quarantined 1 while the app is quarantined (probed, not tried pair by pair)."
    );
    let _ = writeln!(out, "# TYPE accessboard_app_quarantined gauge");
    for (app, _, quarantined) in rails {
        let _ = writeln!(
            out,
            "accessboard_app_quarantined{{app=\"{}\"}} {}",
            label(app),
            u8::from(*quarantined)
        );
    }
}

fn write_health(out: &mut String, health: &Health) {
    let _ = writeln!(
        out,
        "# HELP accessboard_provisioning_up 1 while every provisioning task runs (none failing and waiting for a restart)."
    );
    let _ = writeln!(out, "# TYPE accessboard_provisioning_up gauge");
    let _ = writeln!(
        out,
        "accessboard_provisioning_up {}",
        u8::from(health.provisioning_up())
    );
    let _ = writeln!(
        out,
        "# HELP accessboard_database_writable 1 while the last write to the database succeeded."
    );
    let _ = writeln!(out, "# TYPE accessboard_database_writable gauge");
    let _ = writeln!(
        out,
        "accessboard_database_writable {}",
        u8::from(health.database_writable())
    );
}

/// The whole exposition.
pub async fn render(db: &Db, queue: &JobQueue, health: &Health) -> Result<String, DbError> {
    let (pairs, oldest, rails) = db
        .run(|c| {
            let rails = rails_of_apps(c)?;
            let mut stmt = c.prepare_cached(
                "SELECT app_slug, status, count(*) FROM app_access GROUP BY app_slug, status",
            )?;
            let pairs = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let oldest: Option<i64> = c
                .prepare_cached(
                    "SELECT min(status_since) FROM app_access WHERE status = 'sync_needed'",
                )?
                .query_row([], |r| r.get(0))?;
            Ok::<_, DbError>((pairs, oldest, rails))
        })
        .await?;
    let (queued, running) = queue.counts().await.unwrap_or((0, 0));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP accessboard_pairs (user, app) pairs by provisioning status."
    );
    let _ = writeln!(out, "# TYPE accessboard_pairs gauge");
    for (app, status, n) in &pairs {
        let _ = writeln!(
            out,
            "accessboard_pairs{{app=\"{}\",status=\"{}\"}} {n}",
            label(app),
            label(status)
        );
    }
    let _ = writeln!(
        out,
        "# HELP accessboard_jobs Provisioning jobs in the queue."
    );
    let _ = writeln!(out, "# TYPE accessboard_jobs gauge");
    let _ = writeln!(out, "accessboard_jobs{{state=\"queued\"}} {queued}");
    let _ = writeln!(out, "accessboard_jobs{{state=\"running\"}} {running}");
    let _ = writeln!(
        out,
        "# HELP accessboard_oldest_sync_needed_seconds Age of the oldest pair waiting for a sync."
    );
    let _ = writeln!(out, "# TYPE accessboard_oldest_sync_needed_seconds gauge");
    let age = oldest.map(|t| (time::now() - t).max(0)).unwrap_or(0);
    let _ = writeln!(out, "accessboard_oldest_sync_needed_seconds {age}");
    write_rails(&mut out, &rails);
    write_health(&mut out, health);
    let Ok(r) = REGISTRY.lock() else {
        return Ok(out);
    };
    let _ = writeln!(
        out,
        "# HELP accessboard_scim_request_duration_seconds SCIM requests to apps."
    );
    let _ = writeln!(
        out,
        "# TYPE accessboard_scim_request_duration_seconds histogram"
    );
    for ((app, op, class), h) in &r.scim {
        let labels = format!(
            "app=\"{}\",operation=\"{}\",status=\"{}\"",
            label(app),
            label(op),
            label(class)
        );
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "accessboard_scim_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "accessboard_scim_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "accessboard_scim_request_duration_seconds_sum{{{labels}}} {}",
            h.sum
        );
        let _ = writeln!(
            out,
            "accessboard_scim_request_duration_seconds_count{{{labels}}} {}",
            h.count
        );
    }
    let _ = writeln!(
        out,
        "# HELP accessboard_scim_rate_limited_total SCIM requests an app answered 429 (its rate limit)."
    );
    let _ = writeln!(out, "# TYPE accessboard_scim_rate_limited_total counter");
    for (app, n) in &r.rate_limited {
        let _ = writeln!(
            out,
            "accessboard_scim_rate_limited_total{{app=\"{}\"}} {n}",
            label(app)
        );
    }
    let _ = writeln!(
        out,
        "# HELP accessboard_task_restarts_total Restarts of serve's background tasks after they stopped."
    );
    let _ = writeln!(out, "# TYPE accessboard_task_restarts_total counter");
    for (task, n) in &r.restarts {
        let _ = writeln!(
            out,
            "accessboard_task_restarts_total{{task=\"{}\"}} {n}",
            label(task)
        );
    }
    let _ = writeln!(
        out,
        "# HELP accessboard_http_requests_total HTTP requests by route and status."
    );
    let _ = writeln!(out, "# TYPE accessboard_http_requests_total counter");
    for ((route, status), n) in &r.http {
        let _ = writeln!(
            out,
            "accessboard_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
            label(route)
        );
    }
    Ok(out)
}
