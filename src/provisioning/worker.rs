//! The apalis worker that runs reconcile jobs, and the sweeper beside it.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use tokio::sync::watch;

use super::engine::Engine;
use super::lanes::{self, Lane};
use crate::db::time;
use crate::pairs::{self, ReconcileJob};

/// A silent process loses its claims after this long.
pub const DEAD_AFTER_SECS: i64 = 15;
pub(super) const HEARTBEAT: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(50);

// A job only says "look at this pair": it joins its app's lane, which gathers the pairs
// due together into one batch. A lane lost in a crash loses nothing: the pairs are still
// due in `app_access` and the sweeper enqueues them again.
async fn handle(job: ReconcileJob, engine: Data<Arc<Engine>>) -> Result<(), BoxDynError> {
    match engine.lanes.get(&job.app) {
        Some(lane) => lane.push(job),
        None => unknown_app(&engine, job).await,
    }
    Ok(())
}

// A pair of an app that lost its [apps.scim] settings: claimed and failed with why.
async fn unknown_app(engine: &Arc<Engine>, job: ReconcileJob) {
    let lane = Arc::new(Lane::new(&job.app, 1));
    // No request is made for it, so nothing to stop.
    let (_never, stop) = watch::channel(false);
    super::batch::run(engine.clone(), lane, vec![job], stop).await;
}

/// Takes jobs from the queue into the apps' lanes and runs the lanes until `stop` turns
/// true; batches already started finish first. The apalis worker is supervised: a
/// database or queue error that stops it starts a fresh one after a backoff.
pub async fn run_workers(engine: Arc<Engine>, stop: watch::Receiver<bool>) {
    let lanes: Vec<_> = engine
        .lanes
        .all()
        .map(|lane| tokio::spawn(lanes::run(engine.clone(), lane.clone(), stop.clone())))
        .collect();
    let (e, s) = (engine.clone(), stop.clone());
    crate::supervise::supervise("worker", engine.health.clone(), stop, move |run| {
        take_jobs(e.clone(), s.clone(), run)
    })
    .await;
    for lane in lanes {
        let _ = lane.await;
    }
}

async fn take_jobs(
    engine: Arc<Engine>,
    stop: watch::Receiver<bool>,
    run: u64,
) -> Result<(), String> {
    // Handing a job to its lane takes no time; a few at once keep the queue drained.
    let concurrency = 16;
    // A fresh name per process and per run: apalis refuses a name still registered
    // within its heartbeat window, by a crashed predecessor or by this worker's last run.
    let name = match run {
        1 => format!("accessboard-{}", engine.instance),
        n => format!("accessboard-{}-{n}", engine.instance),
    };
    let worker = WorkerBuilder::new(name)
        .backend(engine.queue.storage().poll_with_strategy(Ticker::new(POLL)))
        .concurrency(concurrency)
        .data(engine.clone())
        .build(handle);
    let mut stopped = stop.clone();
    let signal = async move {
        let _ = stopped.wait_for(|s| *s).await;
        Ok::<(), std::io::Error>(())
    };
    worker.run_until(signal).await.map_err(|e| e.to_string())?;
    // A worker that ends by itself while `serve` runs takes no more jobs: a failure, so
    // the supervisor starts another.
    if *stop.borrow() {
        Ok(())
    } else {
        Err("the worker stopped by itself".to_owned())
    }
}

/// Wakes the worker every `every` to look for due jobs.
///
/// apalis' own `IntervalStrategy` (1.0.0) replaces a fired timer without polling
/// the new one, so no wake-up is registered and an idle worker only looks again
/// at its next heartbeat. This one re-arms before it reports a tick.
struct Ticker {
    every: Duration,
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl Ticker {
    fn new(every: Duration) -> Ticker {
        Ticker { every, sleep: None }
    }
}

impl PollStrategy for Ticker {
    fn poll_drive(
        &mut self,
        cx: &mut std::task::Context<'_>,
        _: &PollSnapshot,
    ) -> std::task::Poll<Option<()>> {
        use std::future::Future;
        let mut fired = false;
        loop {
            let every = self.every;
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(every)));
            match sleep.as_mut().poll(cx) {
                std::task::Poll::Ready(()) => {
                    self.sleep = None;
                    fired = true;
                }
                std::task::Poll::Pending if fired => return std::task::Poll::Ready(Some(())),
                std::task::Poll::Pending => return std::task::Poll::Pending,
            }
        }
    }
}

/// Heartbeats, takes back orphaned claims, and re-enqueues every due pair; a sweep that
/// fails is tried again at the next beat, logged once per streak.
pub async fn run_sweeper(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    let sweep_every = Duration::from_secs(engine.settings.provisioning.sweep_interval_secs);
    let mut last_sweep: Option<tokio::time::Instant> = None;
    let mut recoveries = engine.health.recoveries();
    loop {
        // Writes that work again after failing: pairs whose jobs were lost meanwhile
        // are found now, not at the next sweep (and again at the next beat should this
        // sweep fail).
        let seen = engine.health.recoveries();
        let due = seen != recoveries || last_sweep.is_none_or(|t| t.elapsed() >= sweep_every);
        match tick(&engine, due).await {
            Ok(()) => {
                recoveries = seen;
                if let Some(took) = engine.health.task_ok("sweeper") {
                    tracing::info!(after_secs = took.as_secs(), "sweeps work again");
                }
                if due {
                    last_sweep = Some(tokio::time::Instant::now());
                }
            }
            Err(e) => {
                if engine.health.task_failed("sweeper", &e.to_string()) {
                    tracing::warn!(error = %e, "sweep failed; trying again at every beat (logged once until it works)");
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(HEARTBEAT.min(sweep_every)) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
}

/// Why a sweep failed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Reading or writing the pairs.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// Enqueuing due pairs or tidying the queue.
    #[error(transparent)]
    Queue(#[from] crate::pairs::queue::QueueError),
}

/// One sweeper step; `full` also re-enqueues every due pair and tidies the queue.
pub async fn tick(engine: &Arc<Engine>, full: bool) -> Result<(), SweepError> {
    let instance = engine.instance.clone();
    let beat = engine
        .db
        .run(move |c| {
            let now = time::now();
            pairs::heartbeat(c, &instance, now)?;
            let reclaimed = pairs::reclaim_orphans(c, now, DEAD_AFTER_SECS)?;
            let deletions = if full {
                pairs::mark_due_deletions(c, now)?
            } else {
                0
            };
            let jobs = if full || reclaimed > 0 {
                pairs::due_pairs(c, now)?
            } else {
                Vec::new()
            };
            Ok::<_, crate::db::DbError>((reclaimed, deletions, jobs))
        })
        .await;
    // The heartbeat is a write every few seconds: the probe of whether writes work.
    let (reclaimed, deletions, jobs) = match beat {
        Ok(found) => {
            if let Some(took) = engine.health.write_ok() {
                tracing::info!(
                    after_secs = took.as_secs(),
                    "the database takes writes again"
                );
            }
            found
        }
        Err(e) => {
            engine.health.write_failed(&e.to_string());
            return Err(e.into());
        }
    };
    super::quarantine::probe_due(engine).await?;
    if deletions > 0 {
        tracing::info!(
            pairs = deletions,
            "disabled accounts reached their deletion date"
        );
    }
    if reclaimed > 0 {
        tracing::info!(
            pairs = reclaimed,
            "took back pairs held by a stopped process"
        );
    }
    if !jobs.is_empty() {
        tracing::debug!(pairs = jobs.len(), "sweeper enqueues due pairs");
        engine.queue.enqueue(&jobs).await.inspect_err(|e| {
            engine.health.write_failed(&e.to_string());
        })?;
    }
    if full {
        engine.queue.vacuum(Duration::from_secs(3600)).await?;
        let days = i64::from(engine.settings.provisioning.log_retention_days);
        let audit_days = i64::from(engine.settings.audit.retention_days);
        let (pruned, audit_pruned) = engine
            .db
            .run(move |c| {
                // IMMEDIATE: the write lock is waited for at BEGIN, through the busy
                // handler. Deferred, the delete from `users` (whose trigger writes the
                // search index) met a writer with a read already open and failed at once
                // with "database is locked".
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                pairs::purge_removed_users(&tx)?;
                let pruned = match days {
                    0 => 0,
                    d => crate::db::pairs::prune_log(&tx, time::now() - d * 86_400)?,
                };
                let audit_pruned = match audit_days {
                    0 => 0,
                    d => crate::db::audit::prune(&tx, time::now() - d * 86_400)?,
                };
                tx.commit()?;
                Ok::<_, crate::db::DbError>((pruned, audit_pruned))
            })
            .await?;
        if pruned > 0 {
            tracing::info!(events = pruned, "pruned the provisioning log");
        }
        if audit_pruned > 0 {
            tracing::info!(rows = audit_pruned, "pruned the audit trail");
        }
    }
    Ok(())
}

/// Gives this process' claims back (clean shutdown) so a restart resumes at once.
pub async fn release(engine: &Arc<Engine>) {
    let instance = engine.instance.clone();
    match engine
        .db
        .run(move |c| pairs::release(c, &instance, time::now()))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(pairs = n, "released pairs still in flight"),
        Err(e) => {
            tracing::warn!(error = %e, "could not release claims; they are taken back after {DEAD_AFTER_SECS}s")
        }
    }
}
