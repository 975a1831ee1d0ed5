//! Provisioning at the app's pace, measured against what a minimal client needs: requests
//! per person, time against a bare client doing only the necessary requests, `app sync`
//! of unchanged people, admins made at once, and one app hanging beside another.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::env::{BenchEnv, Serve, wait_provisioned};
use super::peer::{self, Peer};
use super::report::{Report, Target};
use super::scim_server::{ScimServer, bare_service_provider_config};
use super::settings::scim_app;

const APP: &str = "files";

fn total(plan: &BTreeMap<String, usize>, part: &str) -> usize {
    plan.iter()
        .filter(|(k, _)| k.contains(part))
        .map(|(_, n)| n)
        .sum()
}

fn describe(plan: &BTreeMap<String, usize>) -> String {
    plan.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `n` people into `server` through `serve` (`app install`); seconds until the last is provisioned.
fn provision_through_serve(server: &ScimServer, n: usize, extra: &str) -> (f64, BenchEnv) {
    let env = BenchEnv::new(&scim_app(APP, &server.base_url(), server.token(), extra));
    env.import(n, APP);
    let mut serve = Serve::start(&env);
    let t0 = Instant::now();
    env.cli(&["app", "install", APP]);
    let done = wait_provisioned(&env, APP, n as i64, Duration::from_secs(600), &serve.log);
    serve.stop();
    (done.duration_since(t0).as_secs_f64(), env)
}

fn people(env: &BenchEnv) -> Vec<(String, String, String)> {
    let conn = env.read_only();
    let mut stmt = conn
        .prepare("SELECT id, email, name FROM users ORDER BY email")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// 1,000 new people into scim2-server with filter (admin group configured, role user):
/// requests per person, and time against a bare client making 1 filtered GET + 1 POST each.
pub fn with_filter(runtime: &tokio::runtime::Runtime, report: &mut Report) {
    const N: usize = 1_000;
    let server = ScimServer::start();
    let seen = server.log_lines().len();
    let (secs, env) = provision_through_serve(&server, N, "admin_group = \"admins\"");
    let plan = server.requests_since(seen);
    let workers = env.settings().provisioning.workers;
    let per_person = (total(&plan, "/Users") + total(&plan, "/Groups")) as f64 / N as f64;
    let users = people(&env);
    drop(server);
    let fresh = ScimServer::start();
    let bare = runtime.block_on(bare_client(&fresh, users, Bare::FilterThenPost, workers));
    drop(fresh);
    report.figure(
        "requests_per_new_person",
        per_person,
        "requests",
        Target::AtMost(2.05),
    );
    report.figure(
        "new_1000_with_filter_vs_bare",
        secs / bare,
        "x",
        Target::AtMost(1.25),
    );
    report.note(format!(
        "requests_per_new_person, new_1000_with_filter_vs_bare: {N} new people (role user, `admin_group` set) into scim2-server 0.8.3 \
         (filter and PATCH announced) through `serve` ({workers} workers): {secs:.2} s from `app install` to the last `provisioned`, \
         requests at the server: {}. A bare reqwest client doing only what is needed (one filtered GET and one POST per person, \
         {workers} at once) against a fresh scim2-server: {bare:.2} s.",
        describe(&plan)
    ));
}

/// 2,000 new people into scim2-server announcing no filter: total requests, and time
/// against a bare client that lists once and POSTs each.
pub fn without_filter(runtime: &tokio::runtime::Runtime, report: &mut Report) {
    const N: usize = 2_000;
    let start = || {
        let mut config = bare_service_provider_config();
        // Pages of 100, as the common libraries serve them; still no filter and no PATCH.
        config["filter"]["maxResults"] = json!(100);
        ScimServer::builder()
            .service_provider_config(config)
            .start()
    };
    let server = start();
    let seen = server.log_lines().len();
    let (secs, env) = provision_through_serve(&server, N, "");
    let plan = server.requests_since(seen);
    let workers = env.settings().provisioning.workers;
    let made = total(&plan, "/Users") + total(&plan, "/Groups");
    let users = people(&env);
    drop(server);
    let fresh = start();
    let bare = runtime.block_on(bare_client(&fresh, users, Bare::ListThenPost, workers));
    drop(fresh);
    let pages = N.div_ceil(100);
    let limit = (N + 3 * pages + 20) as f64;
    report.figure(
        "new_2000_without_filter_requests",
        made as f64,
        "requests",
        Target::AtMost(limit),
    );
    report.figure(
        "new_2000_without_filter_vs_bare",
        secs / bare,
        "x",
        Target::AtMost(1.5),
    );
    report.note(format!(
        "new_2000_without_filter_*: {N} new people into scim2-server announcing no filter and no PATCH (pages of 100) through \
         `serve`: {secs:.2} s, requests at the server: {} (limit {N} + 3 × {pages} pages + 20 = {limit:.0}). A bare client listing \
         once and POSTing each ({workers} at once) against a fresh server: {bare:.2} s.",
        describe(&plan)
    ));
}

/// 500 people made admin at once in an app with PATCH and no admin group yet.
pub fn admins_at_once(report: &mut Report) {
    const N: usize = 500;
    let server = ScimServer::start();
    let seen = server.log_lines().len();
    let env = BenchEnv::new(&scim_app(
        APP,
        &server.base_url(),
        server.token(),
        "admin_group = \"admins\"",
    ));
    let csv = (0..N)
        .map(|i| format!("admin{i:04}@example.org,Admin {i:04},admin\n"))
        .collect::<String>();
    let path = env.dir.path().join("admins.csv");
    std::fs::write(&path, format!("email,name,{APP}\n{csv}")).expect("csv");
    env.cli(&["user", "import", path.to_str().expect("path")]);
    let mut serve = Serve::start(&env);
    env.cli(&["app", "install", APP]);
    wait_provisioned(&env, APP, N as i64, Duration::from_secs(600), &serve.log);
    serve.stop();
    let plan = server.requests_since(seen);
    let groups = server.groups();
    let members = server.group_members("admins").len();
    assert_eq!(groups.len(), 1, "one admin group: {groups:?}");
    assert_eq!(members, N, "every admin in it");
    report.figure(
        "admins_500_group_requests",
        total(&plan, "/Groups") as f64,
        "requests",
        Target::AtMost(10.0),
    );
    report.note(format!(
        "admins_500_group_requests: {N} people made admin at once (CSV import, then `app install`) in scim2-server with PATCH and \
         no admin group yet: exactly {} group afterwards, holding {members}; requests at the server: {}.",
        groups.len(),
        describe(&plan)
    ));
}

/// `app sync` of 10,000 unchanged provisioned people against a peer that keeps its accounts.
pub fn sync_unchanged(runtime: &tokio::runtime::Runtime, report: &mut Report) {
    const N: usize = 10_000;
    let peer = Peer::spawn_keeping();
    let env = BenchEnv::new(&scim_app(APP, &peer.base_url(), peer::TOKEN, ""));
    env.import(N, APP);
    let mut serve = Serve::start(&env);
    env.cli(&["app", "install", APP]);
    wait_provisioned(&env, APP, N as i64, Duration::from_secs(600), &serve.log);
    serve.stop();
    let counts = |peer: &Peer| -> (u64, u64) {
        let url = format!("{}/__requests", peer.base_url());
        let v: Value = runtime
            .block_on(async { reqwest::get(url).await?.json().await })
            .expect("peer counts");
        (
            v["reads"].as_u64().unwrap_or(0),
            v["writes"].as_u64().unwrap_or(0),
        )
    };
    let (reads0, writes0) = counts(&peer);
    let t0 = Instant::now();
    env.cli(&["app", "sync", APP, "--wait"]);
    let secs = t0.elapsed().as_secs_f64();
    let (reads, writes) = counts(&peer);
    let (reads, writes) = (reads - reads0, writes - writes0);
    let pages = N.div_ceil(200) as f64;
    report.figure("app_sync_10k_unchanged", secs, "s", Target::AtMost(5.0));
    report.figure(
        "app_sync_10k_requests",
        (reads + writes) as f64,
        "requests",
        Target::AtMost(pages + 10.0),
    );
    report.figure(
        "app_sync_10k_writes",
        writes as f64,
        "requests",
        Target::AtMost(0.0),
    );
    report.note(format!(
        "app_sync_*: `accessboard app sync {APP} --wait` (the whole command, process start included) with {N} provisioned people \
         the app holds exactly as wanted, against the bench peer keeping its accounts (pages of 200): {secs:.2} s, {reads} reads \
         (discovery included), {writes} writes."
    ));
}

/// One app hanging (`max_concurrency = 2`) beside scim2-server receiving 500 people: time
/// against the same 500 alone.
pub fn hanging_neighbour(report: &mut Report) {
    const N: usize = 500;
    let alone = {
        let server = ScimServer::start();
        provision_through_serve(&server, N, "").0
    };
    let hang = TcpListener::bind("127.0.0.1:0").expect("bind");
    let hang_url = format!("http://{}/scim/v2", hang.local_addr().expect("addr"));
    let held = Arc::new(AtomicUsize::new(0));
    let counter = held.clone();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for socket in hang.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            open.push(socket);
        }
    });
    let server = ScimServer::start();
    let apps = format!(
        "{}{}",
        scim_app(APP, &server.base_url(), server.token(), ""),
        scim_app("chat", &hang_url, "t", "max_concurrency = 2")
    );
    let env = BenchEnv::new(&apps);
    let csv = (0..N)
        .map(|i| format!("person{i:05}@example.org,Person {i:05},user,user\n"))
        .collect::<String>();
    let path = env.dir.path().join("both.csv");
    std::fs::write(&path, format!("email,name,{APP},chat\n{csv}")).expect("csv");
    env.cli(&["user", "import", path.to_str().expect("path")]);
    let mut serve = Serve::start(&env);
    env.cli(&["app", "install", "chat"]);
    let t0 = Instant::now();
    env.cli(&["app", "install", APP]);
    let done = wait_provisioned(&env, APP, N as i64, Duration::from_secs(600), &serve.log);
    let beside = done.duration_since(t0).as_secs_f64();
    serve.stop();
    report.figure(
        "hanging_neighbour_vs_alone",
        beside / alone,
        "x",
        Target::AtMost(1.2),
    );
    report.note(format!(
        "hanging_neighbour_vs_alone: {N} people into scim2-server through `serve` while a second app (`max_concurrency = 2`) \
         accepts connections and never answers: {beside:.2} s; the same {N} with no other app: {alone:.2} s. Connections the \
         hanging app received in all: {}.",
        held.load(Ordering::SeqCst)
    ));
}

/// What the bare client does per person.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bare {
    /// One filtered GET (all keys joined with `or`), one POST.
    FilterThenPost,
    /// One listing of the app first (every page), then one POST each.
    ListThenPost,
}

// RFC 3986 unreserved characters stay, everything else is %XX, as accessboard encodes queries.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The minimal client: seconds to create `users` in `server`, `concurrency` at once.
async fn bare_client(
    server: &ScimServer,
    users: Vec<(String, String, String)>,
    mode: Bare,
    concurrency: usize,
) -> f64 {
    let base = server.base_url();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let auth = format!("Bearer {}", server.token());
    let accept = "application/scim+json, application/json";
    let started = Instant::now();
    if mode == Bare::ListThenPost {
        let mut start = 1;
        loop {
            let page: Value = client
                .get(format!("{base}/Users?startIndex={start}&count=100"))
                .header("Authorization", &auth)
                .header("Accept", accept)
                .send()
                .await
                .expect("listing")
                .json()
                .await
                .expect("listing json");
            let got = page["Resources"].as_array().map_or(0, Vec::len);
            start += got;
            if got == 0 || start as u64 > page["totalResults"].as_u64().unwrap_or(0) {
                break;
            }
        }
    }
    let users = Arc::new(users);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, base, auth, users, next) = (
            client.clone(),
            base.clone(),
            auth.clone(),
            users.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((id, email, name)) = users.get(i) else {
                    return;
                };
                if mode == Bare::FilterThenPost {
                    let filter = [
                        format!("externalId eq {}", Value::String(id.clone())),
                        format!("userName eq {}", Value::String(email.clone())),
                        format!("emails.value eq {}", Value::String(email.clone())),
                    ]
                    .join(" or ");
                    let resp = client
                        .get(format!("{base}/Users?filter={}&count=100", encode(&filter)))
                        .header("Authorization", &auth)
                        .header("Accept", accept)
                        .send()
                        .await
                        .expect("filtered GET");
                    assert_eq!(resp.status().as_u16(), 200, "filtered GET");
                }
                let (given, family) = name.split_once(' ').unwrap_or((name, ""));
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "externalId": id,
                    "userName": email,
                    "name": {"formatted": name, "givenName": given, "familyName": family},
                    "displayName": name,
                    "emails": [{"value": email, "primary": true, "type": "work"}],
                    "active": true
                });
                let resp = client
                    .post(format!("{base}/Users"))
                    .header("Authorization", &auth)
                    .header("Accept", accept)
                    .header("Content-Type", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await
                    .expect("POST /Users");
                assert_eq!(resp.status().as_u16(), 201, "POST /Users");
            }
        }));
    }
    for t in tasks {
        t.await.expect("bare client task");
    }
    started.elapsed().as_secs_f64()
}
