//! The promises of a provisioner, under faults: no change is lost, no account is
//! duplicated, a failing app is retried and then recovers on its own, and one
//! broken app does not hold up the others. Figures go to docs/reliability.md.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use accessboard::domain::{Email, Role, Slug};
use common::app::{TestEnv, scim_app, stderr, stdout};
use common::http::DashboardClient;
use common::scim_server::ScimServer;
use common::serve::{Served, free_port};
use serde_json::Value;

/// Pair counts by status, read straight from the database file.
fn statuses(env: &TestEnv, app: &str) -> BTreeMap<String, i64> {
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
fn wait_for(
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

fn only(s: &BTreeMap<String, i64>, status: &str, n: i64) -> bool {
    s.get(status) == Some(&n) && s.values().sum::<i64>() == n
}

/// On a failed assertion, prints serve's log and the database rows still unsettled.
struct Keep<'a>(&'a TestEnv, &'a Served);
impl Drop for Keep<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- serve log ---\n{}", self.1.log_text());
            let conn =
                rusqlite::Connection::open(self.0.dir.path().join("data/accessboard.db")).unwrap();
            let mut stmt = conn.prepare("SELECT user_id, status, claimed_by, next_attempt_at, desired_gen, synced_gen, due_seq, attempts, last_message FROM app_access WHERE status NOT IN ('provisioned','deprovisioned','not_provisioned')").unwrap();
            let rows: Vec<String> = stmt
                .query_map([], |r| {
                    Ok(format!(
                        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, Option<String>>(8)?
                    ))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            eprintln!("--- unsettled ---\n{}", rows.join("\n"));
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            eprintln!("now {now}");
            let mut stmt = conn
                .prepare("SELECT id, started_at, heartbeat_at FROM instances")
                .unwrap();
            let rows: Vec<String> = stmt
                .query_map([], |r| {
                    Ok(format!(
                        "{:?} {:?} {:?}",
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?
                    ))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            eprintln!("--- instances ---\n{}", rows.join("\n"));
        }
    }
}

/// A small deterministic generator, so a failing run can be replayed from its seed.
struct Lcg(u64);
impl Lcg {
    fn seeded() -> Lcg {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7);
        eprintln!("seed {seed}");
        Lcg(seed)
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + (self.0 >> 33) % (hi - lo)
    }
}

fn import(env: &TestEnv, header: &str, rows: impl Iterator<Item = String>) {
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

fn accounts_by_user_name(server: &ScimServer) -> BTreeMap<String, Vec<Value>> {
    let mut by: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for u in server.users() {
        let name = u["userName"].as_str().unwrap_or_default().to_lowercase();
        by.entry(name).or_default().push(u);
    }
    by
}

/// Kills serve at `kills` random moments, restarting it at once each time.
/// Kills serve three times mid-run, each at a random point of the progress that
/// `done` counts (within the first, second and last third), restarting it at once.
fn crash_three_times(
    env: &TestEnv,
    rng: &mut Lcg,
    total: usize,
    done: impl Fn(&BTreeMap<String, i64>) -> i64,
) -> Served {
    let port = free_port();
    let mut serve = Served::start(env, port);
    for third in 0..3u64 {
        let lo = (total as u64 * (3 * third + 1)) / 10;
        let at = rng.between(lo, lo + (total as u64 / 5).max(1)) as i64;
        let give_up = Instant::now() + Duration::from_secs(60);
        while done(&statuses(env, "files")) < at && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
        let before = done(&statuses(env, "files"));
        serve.crash();
        eprintln!("figure: SIGKILL at {before}/{total}");
        serve = Served::start(env, port);
    }
    serve
}

fn crash_and_restart(n: usize) {
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("files", &server.base_url(), server.token(), ""));
    assert!(env.cli(&["app", "install", "files"]).status.success());
    import(
        &env,
        "email,name,files",
        (0..n).map(|i| format!("p{i}@example.org,Person {i},user")),
    );
    let mut rng = Lcg::seeded();

    // Provisioning, with three crashes.
    let serve = crash_three_times(&env, &mut rng, n, |s| {
        s.get("provisioned").copied().unwrap_or(0)
    });
    let watcher = Keep(&env, &serve);
    let took = wait_for(&env, "files", Duration::from_secs(60), |s| {
        only(s, "provisioned", n as i64)
    });
    std::mem::forget(watcher);
    let accounts = accounts_by_user_name(&server);
    assert_eq!(accounts.len(), n, "one account per person");
    assert!(
        accounts.values().all(|a| a.len() == 1),
        "no duplicated account"
    );
    eprintln!("figure: {n} pairs provisioned, 3 crashes, settled {took:?} after the last restart");
    serve.crash();

    // Revoking half, with three more crashes while the changes are still coming in.
    let half = n / 2;
    let revoker = {
        let settings = env.settings();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let ctx = accessboard::cli::Context::open(settings)
                    .await
                    .map_err(|e| e.message)
                    .unwrap();
                let files = Slug::parse("files").unwrap();
                for i in 0..half {
                    let email = Email::parse(&format!("p{i}@example.org")).unwrap();
                    ctx.service
                        .set_access(&email, &files, Role::None)
                        .await
                        .unwrap();
                }
            })
        })
    };
    let serve = crash_three_times(&env, &mut rng, half, |s| {
        s.get("deprovisioned").copied().unwrap_or(0)
    });
    revoker.join().expect("every revocation was accepted");
    let took = wait_for(&env, "files", Duration::from_secs(60), |s| {
        s.get("deprovisioned") == Some(&(half as i64))
            && s.get("provisioned") == Some(&((n - half) as i64))
    });
    eprintln!("figure: {half} revocations, 3 crashes, settled {took:?} after the last restart");
    let accounts = accounts_by_user_name(&server);
    assert_eq!(accounts.len(), n, "no account made or lost by revoking");
    for i in 0..n {
        let a = &accounts[&format!("p{i}@example.org")];
        assert_eq!(a.len(), 1);
        assert_eq!(
            a[0]["active"],
            i >= half,
            "p{i} should be {}",
            if i >= half { "active" } else { "disabled" }
        );
    }
    drop(serve);
}

#[test]
fn crashes_during_provisioning_and_revocation_lose_nothing_and_duplicate_nothing() {
    crash_and_restart(150);
}

#[test]
#[ignore = "soak: 1,000 people and six crashes take minutes; .ci/run runs it with --include-ignored"]
fn soak_crashes_with_a_thousand_people() {
    crash_and_restart(1000);
}

/// A TCP relay in front of an app that can be cut and restored.
struct Relay {
    port: u16,
    down: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    fn start(target: u16) -> Relay {
        let (down, rx) = tokio::sync::watch::channel(false);
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                port_tx.send(l.local_addr().unwrap().port()).unwrap();
                loop {
                    let Ok((mut inbound, _)) = l.accept().await else {
                        continue;
                    };
                    if *rx.borrow() {
                        continue; // dropped: the client sees the connection closed
                    }
                    let mut rx = rx.clone();
                    tokio::spawn(async move {
                        let Ok(mut outbound) =
                            tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                        else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = rx.wait_for(|d| *d) => {}
                        }
                    });
                }
            });
        });
        Relay {
            port: port_rx.recv().unwrap(),
            down,
        }
    }

    fn set_down(&self, d: bool) {
        self.down.send_replace(d);
    }
}

fn outage(secs: u64) {
    let flaky = ScimServer::start();
    let steady = ScimServer::start();
    let flaky_port = port_of(&flaky.base_url());
    let relay = Relay::start(flaky_port);
    let flaky_url =
        flaky
            .base_url()
            .replacen(&format!(":{flaky_port}"), &format!(":{}", relay.port), 1);
    let apps = scim_app("files", &flaky_url, flaky.token(), "")
        + &scim_app("chat", &steady.base_url(), steady.token(), "");
    // Enough attempts that an outage ends in recovery, not in `failed`.
    let env = TestEnv::with_provisioning(&apps, "max_attempts = 100");
    for app in ["files", "chat"] {
        assert!(env.cli(&["app", "install", app]).status.success());
    }
    import(
        &env,
        "email,name,files,chat",
        (0..20).map(|i| format!("a{i}@example.org,Early {i},user,user")),
    );
    let serve = Served::start(&env, free_port());
    wait_for(&env, "files", Duration::from_secs(60), |s| {
        only(s, "provisioned", 20)
    });

    relay.set_down(true);
    let cut = Instant::now();
    let csv = env.dir.path().join("late.csv");
    let mut text = String::from("email,name,files,chat\n");
    for i in 0..20 {
        text.push_str(&format!("b{i}@example.org,Late {i},user,user\n"));
    }
    std::fs::write(&csv, text).unwrap();
    assert!(
        env.cli(&["user", "import", csv.to_str().unwrap()])
            .status
            .success()
    );

    // The app that stays up keeps provisioning through the outage.
    wait_for(&env, "chat", Duration::from_secs(30), |s| {
        only(s, "provisioned", 40)
    });
    assert!(
        cut.elapsed() < Duration::from_secs(secs),
        "chat waited for files"
    );
    // The app that is down shows why, and is retried with backoff.
    wait_for(&env, "files", Duration::from_secs(secs), |s| {
        s.get("error").copied().unwrap_or(0) > 0
    });
    let out = env.cli(&["provision", "status", "--json", "--app", "files"]);
    let pairs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let failing: Vec<&Value> = pairs.iter().filter(|p| p["status"] == "error").collect();
    for p in &failing {
        let m = p["last_message"].as_str().unwrap_or_default();
        assert!(!m.is_empty() && !m.contains(flaky.token()), "{p}");
        assert!(p["attempts"].as_i64().unwrap_or(0) >= 1, "{p}");
    }
    eprintln!(
        "figure: outage message: {}",
        failing[0]["last_message"].as_str().unwrap_or_default()
    );
    if let Some(left) = Duration::from_secs(secs).checked_sub(cut.elapsed()) {
        std::thread::sleep(left);
    }
    let attempts_during: i64 = {
        let out = env.cli(&["provision", "status", "--json", "--app", "files"]);
        let pairs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        pairs
            .iter()
            .map(|p| p["attempts"].as_i64().unwrap_or(0))
            .max()
            .unwrap_or(0)
    };

    relay.set_down(false);
    let took = wait_for(&env, "files", Duration::from_secs(60), |s| {
        only(s, "provisioned", 40)
    });
    eprintln!(
        "figure: {secs}s outage, at most {attempts_during} attempts per pair during it, converged {took:?} after the app came back"
    );
    for server in [&flaky, &steady] {
        let accounts = accounts_by_user_name(server);
        assert_eq!(accounts.len(), 40);
        assert!(accounts.values().all(|a| a.len() == 1));
    }
    drop(serve);
}

fn port_of(url: &str) -> u16 {
    let after = url.split("://").nth(1).unwrap_or(url);
    let host = after.split('/').next().unwrap_or(after);
    host.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port in url")
}

#[test]
fn an_app_outage_recovers_by_itself_and_the_other_app_keeps_going() {
    outage(6);
}

#[test]
#[ignore = "soak: a 30 s outage; .ci/run runs it with --include-ignored"]
fn soak_a_thirty_second_outage() {
    outage(30);
}

#[test]
fn retry_after_is_honoured_and_requests_stay_bounded() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = rt.block_on(wiremock::MockServer::start());
    rt.block_on(
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .respond_with(
                wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []
                })),
            )
            .mount(&mock),
    );
    rt.block_on(
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(wiremock::ResponseTemplate::new(429).insert_header("Retry-After", "2"))
            .mount(&mock),
    );
    let env = TestEnv::with_provisioning(
        &scim_app("files", &mock.uri(), "t", ""),
        "max_attempts = 100",
    );
    assert!(env.cli(&["app", "install", "files"]).status.success());
    import(
        &env,
        "email,name,files",
        (0..3).map(|i| format!("r{i}@example.org,R {i},user")),
    );

    let started = Instant::now();
    let out = env.cli(&["provision", "run", "--wait", "--timeout", "9"]);
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let posts = rt
        .block_on(mock.received_requests())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    // Three people, one attempt each at most every 2 s.
    let bound = 3 * ((secs / 2.0).floor() as usize + 1);
    assert!(
        posts >= 3 && posts <= bound,
        "{posts} POSTs in {secs:.1}s (bound {bound})"
    );
    eprintln!("figure: 429 Retry-After 2: {posts} POSTs for 3 people in {secs:.1}s");
    let status = stdout(&env.cli(&["provision", "status", "--app", "files"]));
    assert!(status.contains("error"), "{status}");
}

fn admin(env: &TestEnv) {
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

fn user_ids(env: &TestEnv) -> BTreeMap<String, String> {
    let out = env.cli(&["user", "list", "--json"]);
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.iter()
        .map(|r| {
            (
                r["email"].as_str().unwrap().to_owned(),
                r["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_hanging_app_leaves_the_dashboard_answering() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = rt.block_on(wiremock::MockServer::start());
    rt.block_on(
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(wiremock::ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
            .mount(&mock),
    );
    let env = TestEnv::new(&scim_app("files", &mock.uri(), "t", ""));
    assert!(env.cli(&["app", "install", "files"]).status.success());
    admin(&env);
    import(
        &env,
        "email,name,files",
        (0..10).map(|i| format!("h{i}@example.org,H {i},user")),
    );
    let serve = Served::start(&env, free_port());
    rt.block_on(async {
        let mut c = DashboardClient::sign_in(
            &serve.base(),
            "boss@example.org",
            "correct horse battery staple",
        )
        .await;
        // Every worker is now stuck on the app; the pages still answer.
        tokio::time::sleep(Duration::from_secs(1)).await;
        for _ in 0..10 {
            let page = tokio::time::timeout(Duration::from_secs(5), c.get("/users")).await;
            let page = page.expect("the dashboard answered while every worker waited on the app");
            assert_eq!(page.status, 200);
            assert!(page.body.contains("h9@example.org"));
        }
    });
    wait_for(&env, "files", Duration::from_secs(30), |s| {
        s.get("error").copied().unwrap_or(0) > 0
    });
    drop(serve);
}

#[test]
fn twenty_admins_editing_at_once_lose_no_update() {
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app(
        "files",
        &server.base_url(),
        server.token(),
        "admin_group = \"admins\"",
    ));
    assert!(env.cli(&["app", "install", "files"]).status.success());
    admin(&env);
    const CLIENTS: usize = 20;
    const ROUNDS: usize = 8;
    import(
        &env,
        "email,name,files",
        (0..CLIENTS).map(|i| format!("c{i}@example.org,Client {i},user")),
    );
    let ids = Arc::new(user_ids(&env));
    let serve = Served::start(&env, free_port());
    let roles = ["user", "admin", "none"];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = serve.base();
    let failures: Vec<String> = rt.block_on(async {
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            let ids = ids.clone();
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                let mut client = DashboardClient::sign_in(
                    &base,
                    "boss@example.org",
                    "correct horse battery staple",
                )
                .await;
                let email = format!("c{c}@example.org");
                let id = &ids[&email];
                let mut failures = Vec::new();
                for r in 0..ROUNDS {
                    let name = format!("Client {c} round {r}");
                    let role = roles[(c + r) % 3];
                    let a = client
                        .post(
                            &format!("/users/{id}"),
                            &[("name", &name), ("email", &email), ("role.files", role)],
                        )
                        .await;
                    if a.status != 303 {
                        failures.push(format!("c{c} r{r}: {} {}", a.status, a.body));
                    }
                }
                failures
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    assert!(failures.is_empty(), "{failures:#?}");

    let final_role = |c: usize| roles[(c + ROUNDS - 1) % 3];
    let out = env.cli(&["provision", "status", "--json", "--app", "files"]);
    let pairs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let list: Vec<Value> =
        serde_json::from_slice(&env.cli(&["user", "list", "--json"]).stdout).unwrap();
    for c in 0..CLIENTS {
        let email = format!("c{c}@example.org");
        let row = list.iter().find(|u| u["email"] == email.as_str()).unwrap();
        assert_eq!(
            row["name"],
            format!("Client {c} round {}", ROUNDS - 1),
            "last write wins"
        );
        let pair = pairs.iter().find(|p| p["email"] == email.as_str()).unwrap();
        assert_eq!(pair["role"], final_role(c), "{pair}");
    }
    let revoked = (0..CLIENTS).filter(|c| final_role(*c) == "none").count() as i64;
    let took = wait_for(&env, "files", Duration::from_secs(60), |s| {
        s.get("provisioned").copied().unwrap_or(0) == CLIENTS as i64 - revoked
            && s.get("deprovisioned").copied().unwrap_or(0)
                + s.get("not_provisioned").copied().unwrap_or(0)
                // the signed-in admin has no access to files: one more not_provisioned
                == revoked + 1
    });
    eprintln!(
        "figure: {CLIENTS} clients x {ROUNDS} edits, every pair synced {took:?} after the last edit"
    );
    let accounts = accounts_by_user_name(&server);
    let admins = server.group_members("admins");
    for c in 0..CLIENTS {
        let email = format!("c{c}@example.org");
        let Some(a) = accounts.get(&email) else {
            assert_eq!(final_role(c), "none", "{email} has no account");
            continue;
        };
        assert_eq!(a.len(), 1);
        let a = &a[0];
        assert_eq!(a["active"], final_role(c) != "none", "{a}");
        if final_role(c) != "none" {
            let shown = a["displayName"]
                .as_str()
                .or(a["name"]["formatted"].as_str())
                .unwrap_or_default();
            assert_eq!(shown, format!("Client {c} round {}", ROUNDS - 1), "{a}");
        }
        let id = a["id"].as_str().unwrap();
        assert_eq!(
            admins.iter().any(|m| m == id),
            final_role(c) == "admin",
            "{email} in admins"
        );
    }
    let log = serve.log_text();
    assert!(!log.contains("database is locked"), "{log}");
}
