//! A batch's writes that must not be lost: its claim, and the outcomes of its attempts.
//!
//! A failed write used to be logged and dropped: jobs already taken from the queue were
//! gone until a sweep, and pairs whose outcome could not be recorded stayed `syncing`,
//! held by a process that was still alive, until `serve` restarted. Here both are tried
//! again with backoff until they go through (or `serve` stops), and outcomes that still
//! cannot be written are given back as `sync_needed`. Every try is reported to
//! [`Engine::health`], which `/healthz` reads.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::engine::Engine;
use super::quarantine::{self, Signal};
use crate::db::{DbError, time};
use crate::pairs::{self, Claim, Finished, ReconcileJob};
use crate::supervise::{BACKOFF_FIRST, BACKOFF_MAX};

/// Outcomes written per transaction at most.
const RECORD_MAX: usize = 500;

/// Claims the batch's pairs; on a failed write, tries again with backoff. `None` when
/// `serve` stops first (the pairs stay due in `app_access`).
pub(super) async fn claim(
    engine: &Arc<Engine>,
    jobs: Vec<ReconcileJob>,
    stop: &watch::Receiver<bool>,
) -> Option<Vec<Claim>> {
    let jobs = Arc::new(jobs);
    let mut wait = Backoff::default();
    loop {
        let (batch, instance) = (jobs.clone(), engine.instance.clone());
        let tried = engine
            .db
            .run(move |c| pairs::claim_many(c, &batch, &instance, time::now()))
            .await;
        match tried {
            Ok(claims) => {
                wrote(engine);
                return Some(claims);
            }
            Err(e) => {
                // The jobs are out of the queue already: keeping them here is what keeps
                // their pairs moving once the database takes writes again.
                if failed_to_write(engine, &e) {
                    tracing::warn!(error = %e, jobs = jobs.len(), "could not claim a batch; trying again");
                }
                if !wait.sleep(stop).await {
                    return None;
                }
            }
        }
    }
}

/// Writes outcomes as they come, as many per transaction as have arrived meanwhile,
/// enqueues the follow-ups they call for, and notes what they say about the app's health.
pub(super) async fn record_outcomes(
    engine: Arc<Engine>,
    app: String,
    mut recorded: mpsc::UnboundedReceiver<(Finished, Signal)>,
    stop: watch::Receiver<bool>,
) {
    while let Some(first) = recorded.recv().await {
        let mut arrived = vec![first];
        while arrived.len() < RECORD_MAX {
            match recorded.try_recv() {
                Ok(f) => arrived.push(f),
                Err(_) => break,
            }
        }
        let (finished, signals): (Vec<_>, Vec<_>) = arrived.into_iter().unzip();
        if let Some(jobs) = settle(&engine, finished, &stop).await
            && !jobs.is_empty()
            && let Err(e) = engine.queue.enqueue(&jobs).await
        {
            tracing::warn!(error = %e, "follow-up enqueue failed; the sweeper will pick it up");
        }
        // After the outcomes: a quarantine sets the waiting pairs these attempts left.
        quarantine::observe(&engine, &app, &signals).await;
    }
}

// Records `finished`, or gives its pairs back; the jobs to enqueue. `None` when `serve`
// stopped first: its shutdown (or the next start) gives the pairs back.
async fn settle(
    engine: &Arc<Engine>,
    finished: Vec<Finished>,
    stop: &watch::Receiver<bool>,
) -> Option<Vec<ReconcileJob>> {
    let n = finished.len();
    let held: Vec<_> = finished
        .iter()
        .map(|f| (f.claim.user_id, f.claim.app.clone()))
        .collect();
    let held = Arc::new(held);
    let mut wait = Backoff::default();
    loop {
        let (batch, instance) = (finished.clone(), engine.instance.clone());
        let recorded = engine
            .db
            .run(move |c| pairs::finish_many(c, batch, &instance, time::now()))
            .await;
        let e = match recorded {
            Ok(jobs) => {
                wrote(engine);
                return Some(jobs);
            }
            Err(e) => e,
        };
        if failed_to_write(engine, &e) {
            tracing::error!(pairs = n, error = %e, "could not record provisioning attempts; trying again, or giving the pairs back");
        }
        // The attempts' requests are lost with them; the next attempt looks again.
        let (pairs, instance) = (held.clone(), engine.instance.clone());
        if let Ok(jobs) = engine
            .db
            .run(move |c| pairs::give_back(c, &pairs, &instance, time::now()))
            .await
        {
            wrote(engine);
            tracing::warn!(
                pairs = jobs.len(),
                "gave back pairs whose attempts could not be recorded"
            );
            return Some(jobs);
        }
        if !wait.sleep(stop).await {
            tracing::warn!(
                pairs = n,
                "stopping with attempts unrecorded; their pairs are given back at shutdown or the next start"
            );
            return None;
        }
    }
}

// A write went through: the database takes writes.
fn wrote(engine: &Engine) {
    if let Some(took) = engine.health.write_ok() {
        tracing::info!(
            after_secs = took.as_secs(),
            "the database takes writes again"
        );
    }
}

// A write failed; true when this starts a streak, for a log line per streak.
fn failed_to_write(engine: &Engine, e: &DbError) -> bool {
    engine.health.write_failed(&e.to_string())
}

/// Waits before the next try: doubling up to the supervisor's cap.
#[derive(Default)]
struct Backoff {
    tries: u32,
}

impl Backoff {
    // False when `stop` came first.
    async fn sleep(&mut self, stop: &watch::Receiver<bool>) -> bool {
        let wait = BACKOFF_FIRST
            .saturating_mul(1 << self.tries.min(4))
            .min(BACKOFF_MAX);
        self.tries += 1;
        let mut stop = stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(wait) => true,
            _ = stop.wait_for(|s| *s) => false,
        }
    }
}
