//! The promises of a provisioner, under failing apps: an app that goes away, that
//! answers 429 or that never answers is retried and then recovers on its own, and
//! does not hold up the others or the dashboard. Figures go to docs/reliability.md.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::browser::Browser;
use crate::support::db::{only, wait_for};
use crate::support::env::{BOSS_EMAIL, BOSS_PASSWORD, TestEnv, stderr, stdout};
use crate::support::relay::{Relay, port_of};
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;

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
        env.install(app);
    }
    env.import(
        "email,name,files,chat",
        (0..20).map(|i| format!("a{i}@example.org,Early {i},user,user")),
    );
    let serve = Serve::start(&env);
    wait_for(&env, "files", Duration::from_secs(60), |s| {
        only(s, "provisioned", 20)
    });

    relay.set_down(true);
    let cut = Instant::now();
    env.import(
        "email,name,files,chat",
        (0..20).map(|i| format!("b{i}@example.org,Late {i},user,user")),
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
        let accounts = server.accounts_by_user_name();
        assert_eq!(accounts.len(), 40);
        assert!(accounts.values().all(|a| a.len() == 1));
    }
    drop(serve);
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
    env.install("files");
    env.import(
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
    // Each pair says why it waits: in `error` until the app's time, or given back as
    // `sync_needed` when the run stopped while its attempt waited out the app's limit.
    let status = stdout(&env.cli(&["provision", "status", "--app", "files"]));
    assert!(status.contains("rate limited by the app"), "{status}");
    assert!(!status.contains("failed"), "{status}");
    assert!(
        !status.contains("[redacted]"),
        "no message garbled: {status}"
    );
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
    env.install("files");
    env.create_boss();
    env.import(
        "email,name,files",
        (0..10).map(|i| format!("h{i}@example.org,H {i},user")),
    );
    let serve = Serve::start(&env);
    rt.block_on(async {
        let c = Browser::sign_in(&serve.base(), BOSS_EMAIL, BOSS_PASSWORD).await;
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
