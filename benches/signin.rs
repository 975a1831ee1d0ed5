//! `cargo bench --bench signin`: 300 wrong-password sign-ins arriving at once at `serve`.
//!
//! Each attempt comes from its own client address (through `X-Forwarded-For` from a
//! trusted proxy, loopback) and names its own account, so no throttle refuses any of
//! them: all 300 reach the password-check pool, which checks what its threads and its
//! queue hold and answers the rest 429 at once. The figure that matters is `serve`'s
//! peak resident memory (VmHWM): argon2id takes 19 MiB per check, and before the pool
//! 300 such posts took the process to 10 GB. `MALLOC_MMAP_THRESHOLD_` is left unset (the
//! Dockerfile sets it; this measures without it). Rewrites the `signin` section of
//! docs/benchmarks.md.

mod common;

use std::time::{Duration, Instant};

use common::env::{BenchEnv, Serve};
use common::procfs;
use common::report::{Report, Target, write_section};

const ATTEMPTS: usize = 300;

fn main() {
    let started = Instant::now();
    let machine = procfs::machine();
    let env = BenchEnv::with_server("", "trusted_proxies = [\"127.0.0.1\"]");
    let mut serve = Serve::start(&env);
    let pid = serve.pid();
    let idle = procfs::status_kb(pid, "VmRSS").unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let statuses = runtime.block_on(flood(&serve.base_url()));
    let peak = procfs::status_kb(pid, "VmHWM").unwrap_or(0);
    std::thread::sleep(Duration::from_secs(2));
    let after = procfs::status_kb(pid, "VmRSS").unwrap_or(0);
    serve.stop();

    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        checked + refused,
        ATTEMPTS,
        "every attempt is checked or refused: {statuses:?}"
    );
    let mib = |kb: u64| kb as f64 / 1024.0;
    let mut report = Report::default();
    report.figure(
        "signin_flood_peak_rss",
        mib(peak),
        "MiB",
        Target::AtMost(150.0),
    );
    report.figure("signin_flood_rss_after", mib(after), "MiB", Target::None);
    report.figure("signin_flood_rss_idle", mib(idle), "MiB", Target::None);
    report.figure(
        "signin_flood_checked",
        checked as f64,
        "attempts",
        Target::None,
    );
    report.figure(
        "signin_flood_refused_429",
        refused as f64,
        "attempts",
        Target::None,
    );
    report.note(format!(
        "{ATTEMPTS} wrong-password POST /login sent at once (each after its own GET /login), each with its own \
         X-Forwarded-For address and account, so every one reaches the password-check pool; {} CPUs, so {} \
         checking threads and 64 waiting places per lane. `serve` is the release binary without \
         MALLOC_MMAP_THRESHOLD_.",
        machine.cpus, machine.cpus
    ));
    let wall = started.elapsed().as_secs_f64();
    let body = report.markdown("signin", &machine, "cargo bench --bench signin", wall);
    write_section("signin", &body);
}

/// Prepares every attempt (a session and its CSRF token), then posts them all at once.
async fn flood(base: &str) -> Vec<u16> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(ATTEMPTS)
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let mut prepared = Vec::with_capacity(ATTEMPTS);
    for _ in 0..ATTEMPTS {
        let resp = client
            .get(format!("{base}/login"))
            .send()
            .await
            .expect("GET /login");
        let cookie = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("accessboard_session="))
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_owned();
        let html = resp.text().await.expect("login page");
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a CSRF token")
            .to_owned();
        prepared.push((cookie, csrf));
    }
    let posts = prepared.into_iter().enumerate().map(|(i, (cookie, csrf))| {
        let client = client.clone();
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf", &csrf)
            .append_pair("email", &format!("guess{i}@example.org"))
            .append_pair("password", "wrong wrong wrong")
            .finish();
        let url = format!("{base}/login");
        async move {
            client
                .post(url)
                .header("Cookie", cookie)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("X-Forwarded-For", format!("10.{}.{}.1", i / 250, i % 250))
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    });
    futures::future::join_all(posts).await
}
