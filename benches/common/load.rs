//! A closed-loop HTTP load generator: N tokio tasks, each sending one request after another
//! on a shared keep-alive reqwest client, for a fixed time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

use super::report::percentile;

/// What one load run saw.
#[derive(Clone, Debug, Default)]
pub struct LoadResult {
    /// Answers with an accepted status.
    pub ok: u64,
    /// Other answers and transport errors.
    pub errors: u64,
    /// The first unexpected answer, for the report.
    pub first_error: Option<String>,
    /// Measured wall time.
    pub secs: f64,
    /// Latencies of accepted answers, sorted, in ms.
    pub latencies_ms: Vec<f64>,
    /// Response body bytes of the last accepted answer.
    pub body_bytes: usize,
}

impl LoadResult {
    /// Accepted answers per second.
    pub fn rps(&self) -> f64 {
        if self.secs > 0.0 {
            self.ok as f64 / self.secs
        } else {
            0.0
        }
    }
    /// Median latency, ms.
    pub fn p50(&self) -> f64 {
        percentile(&self.latencies_ms, 50.0)
    }
    /// 99th percentile latency, ms.
    pub fn p99(&self) -> f64 {
        percentile(&self.latencies_ms, 99.0)
    }
}

/// A client for load: keep-alive, enough idle connections for every task, no redirects.
pub fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

/// GETs `url` from `connections` tasks for `duration`; `accept` says which statuses count as answers.
pub async fn run(
    client: &reqwest::Client,
    url: &str,
    headers: HeaderMap,
    connections: usize,
    duration: Duration,
    accept: fn(u16) -> bool,
) -> LoadResult {
    let headers = Arc::new(headers);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let client = client.clone();
        let url = url.to_owned();
        let headers = headers.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = LoadResult::default();
            while Instant::now() < deadline {
                let t = Instant::now();
                let res = client.get(&url).headers((*headers).clone()).send().await;
                match res {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let body = resp.bytes().await;
                        let ms = t.elapsed().as_secs_f64() * 1000.0;
                        match body {
                            Ok(b) if accept(status) => {
                                r.ok += 1;
                                r.latencies_ms.push(ms);
                                r.body_bytes = b.len();
                            }
                            Ok(b) => {
                                r.errors += 1;
                                r.first_error.get_or_insert_with(|| {
                                    format!(
                                        "status {status}: {}",
                                        String::from_utf8_lossy(&b[..b.len().min(200)])
                                    )
                                });
                            }
                            Err(e) => {
                                r.errors += 1;
                                r.first_error.get_or_insert_with(|| e.to_string());
                            }
                        }
                    }
                    Err(e) => {
                        r.errors += 1;
                        r.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            r
        }));
    }
    let mut total = LoadResult::default();
    for t in tasks {
        let r = t.await.expect("load task");
        total.ok += r.ok;
        total.errors += r.errors;
        total.latencies_ms.extend(r.latencies_ms);
        if total.first_error.is_none() {
            total.first_error = r.first_error;
        }
        total.body_bytes = total.body_bytes.max(r.body_bytes);
    }
    total.secs = started.elapsed().as_secs_f64();
    total.latencies_ms.sort_by(f64::total_cmp);
    total
}
