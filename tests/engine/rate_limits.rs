//! An app that limits its rate, as the issue measured one: 100 requests per 10 s, then
//! 429 with only `X-Retry-After` and an HTML body (the generic stand-in's
//! `--rate-limit`). With default settings 200 new people are all provisioned, none
//! `failed`, with at most a tenth of the requests answered 429.

use std::time::Instant;

use crate::support::env::{TestEnv, stderr};
use crate::support::scim_server::ScimServer;
use crate::support::settings::scim_app;

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_new_people_into_an_app_allowing_100_requests_per_10_s() {
    let server = ScimServer::builder()
        .dialect("generic")
        .arg("--rate-limit")
        .arg("100/10")
        .start();
    let env = TestEnv::new(&scim_app("files", &server.base_url(), server.token(), ""));
    env.install("files");
    env.import(
        "email,name,files",
        (0..200).map(|i| format!("r{i}@example.org,R {i},user")),
    );
    let seen = server.log_lines().len();
    let started = Instant::now();
    let out = env
        .cli_off_thread(&["provision", "run", "--wait", "--timeout", "120"])
        .await;
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let lines = server.log_lines();
    let requests = &lines[seen..];
    let refused = requests.iter().filter(|l| l.contains("\" 429 ")).count();
    let counts = env.pair_counts("files");
    eprintln!(
        "figure: 200 people at 100 requests/10 s: {} requests, {refused} answered 429 ({:.1}%), \
         {:.1} s, pairs {counts:?}",
        requests.len(),
        100.0 * refused as f64 / requests.len() as f64,
        took.as_secs_f64()
    );
    assert_eq!(counts.get("provisioned"), Some(&200), "{counts:?}");
    assert_eq!(counts.get("failed"), None, "{counts:?}");
    assert!(
        refused * 10 <= requests.len(),
        "{refused} of {} requests answered 429",
        requests.len()
    );
    assert_eq!(server.users().len(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_never_uses_up_an_attempt_and_names_the_rate_limit() {
    // Discovery gets the one request the window allows; the lookup then waits 30 s,
    // longer than a request may wait (15 s): the pair comes back when the app said.
    let server = ScimServer::builder()
        .dialect("generic")
        .arg("--rate-limit")
        .arg("1/30")
        .start();
    let env = TestEnv::with_provisioning(
        &scim_app("files", &server.base_url(), server.token(), ""),
        "max_attempts = 1",
    );
    env.install("files");
    env.create_person("ann@example.org", "Ann Lee", &["files=user"]);
    let started = Instant::now();
    let out = env.cli_off_thread(&["provision", "run"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        started.elapsed().as_secs() < 10,
        "not waited in the attempt"
    );

    let pair = env.pair("ann@example.org", "files");
    assert_eq!(pair["status"], "error", "{pair}");
    let message = pair["last_message"].as_str().unwrap_or_default();
    assert!(
        message.contains("rate limited") && message.contains("429"),
        "{message}"
    );
    let conn = rusqlite::Connection::open(env.dir.path().join("data/accessboard.db"))
        .expect("open the database");
    let (attempts, wait): (i64, i64) = conn
        .query_row(
            "SELECT attempts, next_attempt_at - last_attempt_at FROM app_access",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the pair");
    assert_eq!(attempts, 0, "a 429 spends no attempt");
    assert!((25..=31).contains(&wait), "back after {wait}s");
}
