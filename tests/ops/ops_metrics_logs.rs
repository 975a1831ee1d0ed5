//! Operations: /metrics (every series named, the numbers moving as provisioning
//! runs) and JSON logs (one object per line, with request ids).
//!
//! Every test drives the real binary (`serve`, CLI commands) in its own temporary
//! folder on loopback ports; the SCIM apps are real scim2-server processes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::support::app::spawn_detached;
use crate::support::browser::get_blocking;
use crate::support::db::{pair_counts, wait_until};
use crate::support::env::TestEnv;
use crate::support::scim_server::ScimServer;
use crate::support::serve::{Serve, series};
use crate::support::settings::{plain_app, scim_app};

/// Sum of every series starting with `prefix` (e.g. all operations of one app).
fn sum_of(m: &BTreeMap<String, f64>, prefix: &str) -> f64 {
    m.iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v)
        .sum()
}

fn value(m: &BTreeMap<String, f64>, key: &str) -> f64 {
    m.get(key).copied().unwrap_or(0.0)
}

#[test]
fn metrics_name_every_series_and_move_as_provisioning_runs() {
    let server = ScimServer::start();
    let env = TestEnv::new(&format!(
        "{}{}",
        scim_app("chat", &server.base_url(), server.token(), ""),
        plain_app("wiki")
    ));
    env.install("chat");

    // Without workers (the dashboard alone, as the web tests run it), pairs wait:
    // that is what the age gauge is for.
    let (dash_port, dash_handle) = spawn_detached(env.settings());
    let dash_metrics = || {
        let r = get_blocking(&format!("http://127.0.0.1:{dash_port}"), "/metrics");
        assert_eq!(r.status, 200);
        assert!(
            r.header("content-type")
                .starts_with("text/plain; version=0.0.4"),
            "{:?}",
            r.header("content-type")
        );
        r.body
    };

    let text = dash_metrics();
    for name in [
        "# TYPE accessboard_pairs gauge",
        "# TYPE accessboard_jobs gauge",
        "accessboard_jobs{state=\"queued\"} 0",
        "accessboard_jobs{state=\"running\"} 0",
        "# TYPE accessboard_oldest_sync_needed_seconds gauge",
        "accessboard_oldest_sync_needed_seconds 0",
        "# TYPE accessboard_scim_request_duration_seconds histogram",
        "# TYPE accessboard_scim_rate_limited_total counter",
        "# TYPE accessboard_http_requests_total counter",
        "# TYPE accessboard_provisioning_up gauge",
        "accessboard_provisioning_up 1",
        "# TYPE accessboard_database_writable gauge",
        "accessboard_database_writable 1",
        "# TYPE accessboard_task_restarts_total counter",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    let m = series(&text);
    assert_eq!(
        value(&m, "accessboard_pairs{app=\"chat\",status=\"provisioned\"}"),
        0.0
    );

    env.create_person("ann@example.org", "Ann Lee", &["chat=user"]);
    std::thread::sleep(Duration::from_millis(2200));
    let m = series(&dash_metrics());
    assert_eq!(
        value(&m, "accessboard_pairs{app=\"chat\",status=\"sync_needed\"}"),
        1.0,
        "{m:?}"
    );
    assert!(
        value(&m, "accessboard_oldest_sync_needed_seconds") >= 2.0,
        "the waiting pair ages: {m:?}"
    );
    assert!(
        value(&m, "accessboard_jobs{state=\"queued\"}") >= 1.0,
        "the create enqueued a job: {m:?}"
    );

    // Now the workers: the same numbers move.
    let serve = Serve::start(&env);
    let before = serve.metrics();
    wait_until(
        Duration::from_secs(60),
        || {
            let m = serve.metrics();
            value(&m, "accessboard_pairs{app=\"chat\",status=\"provisioned\"}") == 1.0
                && sum_of(
                    &m,
                    "accessboard_scim_request_duration_seconds_count{app=\"chat\",",
                ) > 0.0
                && value(&m, "accessboard_jobs{state=\"queued\"}") == 0.0
                && value(&m, "accessboard_jobs{state=\"running\"}") == 0.0
        },
        || format!("{:?}\nserve log:\n{}", serve.metrics(), serve.log()),
    );
    let text = serve.get("/metrics").body;
    let m = series(&text);
    assert_eq!(
        value(&m, "accessboard_pairs{app=\"chat\",status=\"sync_needed\"}"),
        0.0
    );
    assert_eq!(value(&m, "accessboard_oldest_sync_needed_seconds"), 0.0);
    let ok_count = sum_of(
        &m,
        "accessboard_scim_request_duration_seconds_count{app=\"chat\",",
    );
    let ok_2xx: Vec<&String> = m
        .keys()
        .filter(|k| {
            k.starts_with(
                "accessboard_scim_request_duration_seconds_count{app=\"chat\",operation=\"",
            ) && k.ends_with(",status=\"2xx\"}")
        })
        .collect();
    assert!(!ok_2xx.is_empty(), "2xx calls by operation: {text}");
    let inf = sum_of(
        &m,
        "accessboard_scim_request_duration_seconds_bucket{app=\"chat\",",
    );
    assert!(inf >= ok_count, "buckets are cumulative up to +Inf");
    for k in ok_2xx {
        let labels = &k["accessboard_scim_request_duration_seconds_count".len()..];
        let inf_key = format!(
            "accessboard_scim_request_duration_seconds_bucket{},le=\"+Inf\"}}",
            labels.trim_end_matches('}')
        );
        assert_eq!(
            value(&m, &inf_key),
            m[k],
            "+Inf bucket equals count for {k}"
        );
    }

    // HTTP requests are counted by route pattern and status, and the counts move.
    let healthz = "accessboard_http_requests_total{route=\"/healthz\",status=\"200\"}";
    assert!(value(&before, healthz) >= 1.0, "{before:?}");
    assert!(
        value(
            &m,
            "accessboard_http_requests_total{route=\"/metrics\",status=\"200\"}"
        ) >= 1.0
    );
    let h0 = value(&m, healthz);
    assert_eq!(serve.get("/healthz").status, 200);
    assert_eq!(
        serve
            .get("/users/0b7c0d6e-aaaa-4bbb-8ccc-123456789abc")
            .status,
        303
    );
    assert_eq!(serve.get("/users/another-id").status, 303);
    // Without a session, unknown paths are sent to sign in too; they share one series.
    assert_eq!(serve.get("/no-such-page").status, 303);
    assert_eq!(serve.get("/another/unknown").status, 303);
    let m = serve.metrics();
    assert_eq!(value(&m, healthz), h0 + 1.0);
    assert_eq!(
        value(
            &m,
            "accessboard_http_requests_total{route=\"/users/{id}\",status=\"303\"}"
        ),
        2.0,
        "raw paths fold into their route: {m:?}"
    );
    assert_eq!(
        value(
            &m,
            "accessboard_http_requests_total{route=\"unmatched\",status=\"303\"}"
        ),
        2.0,
        "{m:?}"
    );
    assert!(
        !m.keys().any(|k| k.contains("another-id")
            || k.contains("no-such-page")
            || k.contains("/another/")),
        "no series per raw path: {m:?}"
    );

    // The dashboard without workers reads the same database: nothing waits any more.
    let m = series(&dash_metrics());
    assert_eq!(value(&m, "accessboard_oldest_sync_needed_seconds"), 0.0);
    assert_eq!(
        value(&m, "accessboard_pairs{app=\"chat\",status=\"provisioned\"}"),
        1.0
    );
    let mut serve = serve;
    serve.stop();
    futures::executor::block_on(dash_handle.stop(false));
}

// ---------------------------------------------------------------- 4. JSON logs

#[test]
fn json_logs_are_one_object_per_line_with_request_ids() {
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("chat", &server.base_url(), server.token(), ""));
    env.install("chat");
    let mut serve = Serve::builder(&env)
        .env("ACCESSBOARD_LOG__FORMAT", "json")
        .env("ACCESSBOARD_LOG__LEVEL", "info")
        .start();
    let mut ids = Vec::new();
    for path in [
        "/healthz", "/readyz", "/metrics", "/login", "/users", "/nope",
    ] {
        let r = serve.get(path);
        let id = r.header("x-request-id").to_owned();
        assert!(!id.is_empty(), "{path}: no X-Request-Id");
        ids.push((path, r.status.as_u16(), id));
    }
    env.create_person("jo@example.org", "Jo", &["chat=user"]);
    let db = env.db_path();
    wait_until(
        Duration::from_secs(60),
        || pair_counts(&db, "chat").get("provisioned") == Some(&1),
        || serve.log(),
    );
    serve.stop();

    let log = serve.log();
    let mut objects = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            !line.contains('\u{1b}'),
            "no terminal colours in JSON: {line}"
        );
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        let o = v
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {line}"));
        assert!(
            o.get("level").and_then(Value::as_str).is_some(),
            "no level: {line}"
        );
        assert!(o.get("timestamp").is_some(), "no timestamp: {line}");
        let has_fields = o.keys().any(|k| {
            !matches!(
                k.as_str(),
                "timestamp" | "level" | "target" | "span" | "spans"
            )
        });
        assert!(has_fields, "neither message nor fields: {line}");
        objects.push(v);
    }
    let has_message = |m: &str| objects.iter().any(|o| o["message"] == m);
    assert!(has_message("accessboard is serving"), "{log}");
    assert!(has_message("stopped"), "{log}");
    // Each request's line carries the id the client saw in X-Request-Id.
    for (path, status, id) in &ids {
        let line = objects.iter().find(|o| {
            o["span"]["name"] == "http_request" && o["span"]["request_id"] == id.as_str()
        });
        let line =
            line.unwrap_or_else(|| panic!("no log line for {path} with request_id {id}:\n{log}"));
        assert_eq!(line["span"]["path"], *path);
        assert_eq!(line["status"], *status, "{line}");
    }
    // The provisioning is logged with its app and outcome.
    assert!(
        objects.iter().any(|o| o["span"]["name"] == "reconcile"
            && o["span"]["app"] == "chat"
            && o["span"]["outcome"] == "provisioned"),
        "{log}"
    );
}
