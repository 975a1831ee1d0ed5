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
