//! `cargo bench --bench pages`: the dashboard under a signed-in load of 32 connections.
//!
//! 10,000 people provisioned into one app (null SCIM peer), `serve` running; /healthz, /users,
//! a search, the status poll and the overview (/) are each loaded for 5 s, then /users again while a "Sync now"
//! re-provisions all 10,000 pairs, and last the overview during an outage of a second app
//! (nothing listens at its address) with 5,000 people waiting for it. Prints `bench <name> <value> <unit> target <x>` lines and
//! rewrites the `pages` section of docs/benchmarks.md. Arguments that do not start with `--`
//! pick pages by name (e.g. `poll`) and only print them, leaving the docs alone (for profiling).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::env::{BenchEnv, Serve, pair_counts, wait_provisioned};
use common::load::{self, LoadResult};
use common::net::free_port;
use common::peer::{self, Peer};
use common::procfs::{self, CpuSplit};
use common::report::{Report, Target, write_section};
use common::settings::scim_app;
use reqwest::header::{HeaderMap, HeaderValue};

const APP: &str = "files";
const USERS: usize = 10_000;
const CONNECTIONS: usize = 32;
const PHASE: Duration = Duration::from_secs(5);
const ADMIN: &str = "bench-admin@example.org";
const PASSWORD: &str = "correct horse battery staple";
/// Matches 120 of the people (person00012, person00120..00129, person01200..01299, …): three pages.
const SEARCH: &str = "012";
/// Badges a poll watches: one page of the people table.
const WATCHES: usize = 50;
/// The app that is down in the outage phase, and the people waiting for it.
const DOWN: &str = "chat";
const WAITING: usize = 5_000;
/// How long every request must fail before the app is quarantined (shipped: 900 s);
/// short, so that the outage phase measures the steady state without a wait.
const QUARANTINE: &str = "quarantine_after_secs = 5\nquarantine_probe_secs = 300\n";

fn main() {
    peer::run_if_peer();
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let started = Instant::now();
    let machine = procfs::machine();
    let peer = Peer::spawn();
    // Installed only for the last phase: until then it changes nothing the pages show.
    let down = scim_app(
        DOWN,
        &format!("http://127.0.0.1:{}/scim", free_port()),
        peer::TOKEN,
        "",
    );
    let env = BenchEnv::with_lines(
        &(scim_app(APP, &peer.base_url(), peer::TOKEN, "") + &down),
        "",
        QUARANTINE,
    );
    env.import(USERS, APP);
    env.cli(&[
        "user",
        "create",
        "--email",
        ADMIN,
        "--name",
        "Bench Admin",
        "--dashboard-admin",
    ]);
    env.cli_stdin(&["user", "set-password", ADMIN], &format!("{PASSWORD}\n"));
    let mut serve = Serve::start(&env);
    // Everyone provisioned first, so the table shows settled badges.
    let t = Instant::now();
    env.cli(&["app", "install", APP]);
    wait_provisioned(
        &env,
        APP,
        USERS as i64,
        Duration::from_secs(300),
        &serve.log,
    );
    let setup_secs = t.elapsed().as_secs_f64();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut report = Report::default();
    report.note(format!(
        "Setup: {USERS} people with role `user` in one SCIM app, all provisioned into the null peer before measuring \
         (that took {setup_secs:.2} s from `app install`); one dashboard admin signed in; {CONNECTIONS} keep-alive \
         connections from tokio tasks in the bench process, each sending its next request when the last answer is read; \
         {} s per page after a 1 s warm-up. The load generator shares the machine's CPUs with `serve`.",
        PHASE.as_secs()
    ));
    runtime.block_on(measure(&env, &serve, &mut report, &filters));
    serve.stop();
    drop(peer);
    let wall = started.elapsed().as_secs_f64();
    println!("# pages bench took {wall:.1} s");
    if filters.is_empty() {
        let body = report.markdown("pages", &machine, "cargo bench --bench pages", wall);
        write_section("pages", &body);
    } else {
        println!("# partial run ({filters:?}): docs/benchmarks.md left as it was");
    }
}

/// The session cookie (`name=value`) of a Set-Cookie header, if it sets it.
fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("accessboard_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// Signs in as the admin: GET /login for the CSRF token and cookie, POST /login; returns (cookie, csrf).
async fn sign_in(client: &reqwest::Client, base: &str) -> (String, String) {
    let resp = client
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("GET /login");
    let cookie = session_cookie(&resp).expect("GET /login sets the session cookie");
    let html = resp.text().await.expect("login page");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the login form carries a CSRF token")
        .to_owned();
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf)
        .append_pair("email", ADMIN)
        .append_pair("password", PASSWORD)
        .append_pair("next", "/users")
        .finish();
    let resp = client
        .post(format!("{base}/login"))
        .header("Cookie", &cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("POST /login");
    assert_eq!(resp.status().as_u16(), 303, "sign-in redirects");
    let cookie = session_cookie(&resp).expect("sign-in sets a new session cookie");
    // The signed-in session has its own CSRF token: read it from a page.
    let page = client
        .get(format!("{base}/users"))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("GET /users")
        .text()
        .await
        .expect("users page");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries the session's CSRF token")
        .to_owned();
    (cookie, csrf)
}

/// One measured page: load, CPU split, and the bench lines.
struct Phase {
    result: LoadResult,
    cpu: CpuSplit,
}

async fn phase(
    client: &reqwest::Client,
    url: &str,
    headers: &HeaderMap,
    serve_pid: u32,
    accept: fn(u16) -> bool,
) -> Phase {
    let (s0, o0) = (procfs::cpu_secs(serve_pid), procfs::own_cpu_secs());
    let result = load::run(client, url, headers.clone(), CONNECTIONS, PHASE, accept).await;
    let cpu = CpuSplit {
        serve: procfs::cpu_secs(serve_pid) - s0,
        other: procfs::own_cpu_secs() - o0,
        wall: result.secs,
    };
    assert!(
        result.errors == 0,
        "{url}: {} errors, first: {:?}",
        result.errors,
        result.first_error
    );
    Phase { result, cpu }
}

fn ok_200(s: u16) -> bool {
    s == 200
}

fn ok_poll(s: u16) -> bool {
    s == 200 || s == 286
}

async fn measure(env: &BenchEnv, serve: &Serve, report: &mut Report, filters: &[String]) {
    let base = serve.base_url();
    let client = load::client(CONNECTIONS);
    let (cookie, csrf) = sign_in(&client, &base).await;
    let mut headers = HeaderMap::new();
    headers.insert(
        "cookie",
        HeaderValue::from_str(&cookie).expect("cookie header"),
    );
    let mut htmx = headers.clone();
    htmx.insert("hx-request", HeaderValue::from_static("true"));

    // The poll of page 1: every badge claims `sync_needed`, so the answer re-renders all 50.
    let watched: Vec<String> = {
        let conn = env.read_only();
        let mut stmt = conn
            .prepare("SELECT id FROM users WHERE deleted_at IS NULL ORDER BY name_key, email_norm LIMIT ?1")
            .expect("prepare");
        stmt.query_map([WATCHES as i64], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    let poll_query: Vec<String> = watched
        .iter()
        .map(|id| format!("w={id}%3A{APP}%3Async_needed%3A0"))
        .collect();
    let urls = [
        (
            "healthz",
            format!("{base}/healthz"),
            &headers,
            ok_200 as fn(u16) -> bool,
        ),
        ("users", format!("{base}/users"), &headers, ok_200),
        (
            "users_search",
            format!("{base}/users?q={SEARCH}"),
            &headers,
            ok_200,
        ),
        (
            "poll",
            format!("{base}/poll?view=badge&{}", poll_query.join("&")),
            &htmx,
            ok_poll,
        ),
        ("overview", format!("{base}/"), &headers, ok_200),
    ];

    // Each answer is what a browser would get, not a redirect to /login.
    for (name, url, h, accept) in &urls {
        let resp = client
            .get(url)
            .headers((*h).clone())
            .send()
            .await
            .expect("probe");
        let status = resp.status().as_u16();
        let body = resp.text().await.expect("probe body");
        assert!(accept(status), "{name}: status {status}");
        let expect = match *name {
            "users" => "person00000@example.org",
            "users_search" => "person00012@example.org",
            "poll" => "hx-swap-oob",
            "overview" => "Latest events",
            _ => "ok",
        };
        assert!(
            body.contains(expect),
            "{name}: answer lacks {expect:?}: {}",
            &body[..body.len().min(300)]
        );
    }

    load::run(
        &client,
        &urls[1].1,
        headers.clone(),
        CONNECTIONS,
        Duration::from_secs(1),
        ok_200,
    )
    .await;
    let mut results = Vec::new();
    for (name, url, h, accept) in &urls {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let p = phase(&client, url, h, serve.pid(), *accept).await;
        println!(
            "# {name}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} bytes; {}",
            p.result.rps(),
            p.result.p50(),
            p.result.p99(),
            p.result.body_bytes,
            p.cpu.describe("load generator")
        );
        results.push((*name, p));
    }
    if !filters.is_empty() {
        if filters
            .iter()
            .any(|f| "overview_outage".contains(f.as_str()))
        {
            outage(env, serve, &client, &base, &headers).await;
        }
        return;
    }
    let healthz_rps = results[0].1.result.rps();
    for (name, p) in &results {
        let (rps_target, p99_target) = match *name {
            "users" | "overview" => (Target::AtLeast(1500.0), Target::AtMost(25.0)),
            "users_search" => (Target::AtLeast(3000.0), Target::AtMost(25.0)),
            "poll" => (Target::AtLeast(4000.0), Target::None),
            _ => (Target::None, Target::None),
        };
        report.figure(&format!("{name}_rps"), p.result.rps(), "req/s", rps_target);
        report.figure(&format!("{name}_p50"), p.result.p50(), "ms", Target::None);
        report.figure(&format!("{name}_p99"), p.result.p99(), "ms", p99_target);
        if *name != "healthz" {
            report.figure(
                &format!("{name}_vs_healthz"),
                p.result.rps() / healthz_rps,
                "x",
                Target::None,
            );
        }
    }
    for (name, p) in &results {
        report.note(format!(
            "{name}: {} answers ({} bytes each), {}.",
            p.result.ok,
            p.result.body_bytes,
            p.cpu.describe("load generator")
        ));
    }
    report.note(format!(
        "`users` is page 1 of /users (50 of {} people, full page); `users_search` is `/users?q={SEARCH}` (120 matches, page 1 of 3); \
         `poll` is `/poll?view=badge` with `HX-Request: true` watching the {WATCHES} badges of page 1, each claiming \
         `sync_needed`, so every answer re-renders all {WATCHES} (the answer is 286, htmx's stop, as nothing is transient); \
         `overview` is `/`: the app's counts and health (kept by triggers), the pairs needing attention (none) and the \
         10 latest events with their requests.",
        USERS + 1
    ));

    // /users again while "Sync now" re-provisions all 10,000 pairs.
    let baseline = results[1].1.result.clone();
    let t = Instant::now();
    let resp = client
        .post(format!("{base}/apps/{APP}/sync"))
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", &csrf)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .expect("POST sync");
    assert_eq!(resp.status().as_u16(), 303, "Sync now redirects");
    let sync_request = t.elapsed().as_secs_f64();
    let running = Arc::new(AtomicBool::new(true));
    let finished_at = {
        let running = running.clone();
        let conn = env.read_only();
        std::thread::spawn(move || {
            // Finished when nothing of the app is sync_needed or syncing any more.
            loop {
                let pending: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM app_access WHERE app_slug = ?1 AND status IN ('sync_needed', 'syncing')",
                        [APP],
                        |r| r.get(0),
                    )
                    .unwrap_or(1);
                if pending == 0 {
                    return Some(Instant::now());
                }
                if !running.load(Ordering::Relaxed) {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let loaded = phase(&client, &urls[1].1, &headers, serve.pid(), ok_200).await;
    let settled_in_window = {
        let conn = env.read_only();
        pair_counts(&conn, APP).0
    };
    running.store(false, Ordering::Relaxed);
    let finished = finished_at.join().expect("progress thread");
    let done = match finished {
        Some(at) => at,
        None => wait_provisioned(env, APP, USERS as i64, Duration::from_secs(300), &serve.log),
    };
    let provisioning_secs = done.duration_since(t).as_secs_f64();
    report.figure(
        "users_rps_during_provisioning",
        loaded.result.rps(),
        "req/s",
        Target::None,
    );
    report.figure(
        "users_p99_during_provisioning",
        loaded.result.p99(),
        "ms",
        Target::None,
    );
    report.figure(
        "users_p99_growth",
        loaded.result.p99() / baseline.p99(),
        "x",
        Target::None,
    );
    report.note(format!(
        "During provisioning: \"Sync now\" (POST /apps/{APP}/sync, which marks and enqueues all {USERS} pairs, took {sync_request:.2} s), \
         then /users loaded for {:.1} s: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms (quiet: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms); {}. \
         {} of {USERS} pairs were provisioned when the load stopped; all {USERS} took {provisioning_secs:.2} s \
         ({:.0} pairs/s with the page load running{}).",
        loaded.result.secs,
        loaded.result.rps(),
        loaded.result.p50(),
        loaded.result.p99(),
        baseline.rps(),
        baseline.p50(),
        baseline.p99(),
        loaded.cpu.describe("load generator"),
        settled_in_window,
        USERS as f64 / provisioning_secs,
        if finished.is_some() {
            "; provisioning ended inside the load window"
        } else {
            ""
        }
    ));

    // Last: the overview while a second app is down with 5,000 people waiting for it.
    {
        let p = outage(env, serve, &client, &base, &headers).await;
        report.figure("overview_outage_rps", p.result.rps(), "req/s", Target::None);
        report.figure("overview_outage_p50", p.result.p50(), "ms", Target::None);
        report.figure(
            "overview_outage_p99",
            p.result.p99(),
            "ms",
            Target::AtMost(25.0),
        );
        report.note(format!(
            "`overview_outage` is `/` while `{DOWN}` (nothing listens at its address, quarantined after 5 s of \
             failures) has {WAITING} people waiting: \"Needs attention\" is one row for the app with 10 of them, \
             from the kept counts; {} answers ({} bytes each), {}.",
            p.result.ok,
            p.result.body_bytes,
            p.cpu.describe("load generator")
        ));
    }
}

/// Imports 5,000 people with access to the app that is down, installs it and waits until
/// they all wait for it (quarantined, nothing in flight); then loads the overview.
async fn outage(
    env: &BenchEnv,
    serve: &Serve,
    client: &reqwest::Client,
    base: &str,
    headers: &HeaderMap,
) -> Phase {
    let csv = env.dir.path().join("waiting.csv");
    let mut rows = format!("email,name,{DOWN}\n");
    for i in 0..WAITING {
        rows.push_str(&format!("waiting{i:05}@example.org,Waiting {i:05},user\n"));
    }
    std::fs::write(&csv, rows).expect("write the outage csv");
    env.cli(&["user", "import", csv.to_str().expect("utf-8 path")]);
    env.cli(&["app", "install", DOWN]);
    let conn = env.read_only();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (in_flight, waiting, quarantined): (i64, i64, i64) = conn
            .query_row(
                "SELECT
                   (SELECT count(*) FROM app_access WHERE app_slug = ?1 AND status IN ('sync_needed', 'syncing')),
                   (SELECT count(*) FROM app_access WHERE app_slug = ?1 AND status IN ('error', 'failed')),
                   (SELECT count(*) FROM app_rails WHERE app_slug = ?1 AND quarantined_at IS NOT NULL)",
                [DOWN],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("outage progress");
        if in_flight == 0 && waiting == WAITING as i64 && quarantined == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the outage never settled: {in_flight} in flight, {waiting} waiting, quarantined {quarantined}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let url = format!("{base}/");
    let body = client
        .get(&url)
        .headers(headers.clone())
        .send()
        .await
        .expect("probe the overview")
        .text()
        .await
        .expect("overview body");
    assert!(
        body.contains(&format!("{WAITING} people waiting")),
        "the overview lacks the outage's row: {}",
        &body[..body.len().min(300)]
    );
    let p = phase(client, &url, headers, serve.pid(), ok_200).await;
    println!(
        "# overview_outage: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} bytes; {}",
        p.result.rps(),
        p.result.p50(),
        p.result.p99(),
        p.result.body_bytes,
        p.cpu.describe("load generator")
    );
    p
}
