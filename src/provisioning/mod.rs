//! Provisioning: workers, sweeper, drift checks, and the reconcile of one (user, app) pair.
//!
//! Depends on `pairs` (the state it works on), `users` (the identity sync goes through
//! the service), `scim` and `identity`; nothing here prints or knows the command line.

mod account;
mod backoff;
mod batch;
pub mod discover;
pub mod drift;
pub mod engine;
mod identity_sync;
pub mod lanes;
mod memberships;
pub mod on_demand;
pub mod probe;
mod proof;
mod push;
pub mod quarantine;
pub mod reconcile;
mod roles;
mod shape;
pub mod sync;
mod targets;
pub mod worker;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::db::{DbError, time};
use crate::pairs::{self, LogEntry, Progress};
use crate::scim::ScimCall;
use crate::supervise::supervise;
use crate::users::UserService;
use engine::Engine;

/// Starts workers, sweeper, the periodic drift check and (with Kratos) the identity sync;
/// returns the stop switch and the tasks to await.
pub fn spawn(
    engine: Arc<Engine>,
    service: UserService,
) -> (watch::Sender<bool>, Vec<tokio::task::JoinHandle<()>>) {
    let (stop, rx) = watch::channel(false);
    let health = engine.health.clone();
    let (e, r) = (engine.clone(), rx.clone());
    let sweeper = supervise("sweeper", health.clone(), rx.clone(), move |_| {
        let (e, r) = (e.clone(), r.clone());
        async move {
            worker::run_sweeper(e, r).await;
            Ok(())
        }
    });
    let (e, r) = (engine.clone(), rx.clone());
    let drift = supervise("drift_check", health.clone(), rx.clone(), move |_| {
        let (e, r) = (e.clone(), r.clone());
        async move {
            drift::run_periodic(e, r).await;
            Ok(())
        }
    });
    let mut tasks = vec![
        tokio::spawn(worker::run_workers(engine.clone(), rx.clone())),
        tokio::spawn(sweeper),
        tokio::spawn(drift),
    ];
    if engine.identities.is_remote() {
        let r = rx.clone();
        tasks.push(tokio::spawn(supervise(
            "identity_sync",
            health,
            rx,
            move |_| {
                let (s, r) = (service.clone(), r.clone());
                async move {
                    identity_sync::run(s, r).await;
                    Ok(())
                }
            },
        )));
    }
    (stop, tasks)
}

/// One SCIM call as the provisioning log keeps it.
pub(crate) fn log_entry(call: &ScimCall) -> LogEntry {
    LogEntry {
        operation: call.operation.to_owned(),
        method: call.method.to_owned(),
        path: call.path.clone(),
        http_status: call.status,
        duration_ms: call.duration.as_millis() as i64,
        outcome: if call.error.is_some() { "error" } else { "ok" },
        message: call.error.clone(),
    }
}

/// How a run in this process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every pair settled, none failed.
    Settled,
    /// Nothing is due any more, but some pairs failed or are held (or, without `wait`,
    /// wait to retry).
    SomeFailed(Progress),
    /// The deadline passed with pairs unsettled.
    TimedOut {
        /// How many pairs were still unsettled.
        unsettled: i64,
    },
}

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot enqueue due pairs: {0}")]
    Queue(String),
}

/// `provision run`: works in this process until nothing is due (with `wait`, until no
/// retry is pending either) or `deadline`; `on_progress` sees every change of the counts.
pub async fn run_until_settled(
    engine: &Arc<Engine>,
    service: &UserService,
    wait: bool,
    deadline: Option<tokio::time::Instant>,
    mut on_progress: impl FnMut(&Progress),
) -> Result<RunOutcome, RunError> {
    worker::tick(engine, true)
        .await
        .map_err(|e| RunError::Queue(e.to_string()))?;
    let (stop, tasks) = spawn(engine.clone(), service.clone());
    let mut last = None;
    let outcome = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let p = match engine.db.run(|c| pairs::progress(c, time::now())).await {
            Ok(p) => p,
            Err(e) => {
                let _ = stop.send(true);
                return Err(RunError::Db(e));
            }
        };
        if last != Some(p) {
            on_progress(&p);
            last = Some(p);
        }
        let unsettled = p.pending + if wait { p.errors } else { 0 };
        if unsettled == 0 {
            break if p.failed == 0 && p.held == 0 && (wait || p.errors == 0) {
                RunOutcome::Settled
            } else {
                RunOutcome::SomeFailed(p)
            };
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            break RunOutcome::TimedOut { unsettled };
        }
    };
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }
    worker::release(engine).await;
    Ok(outcome)
}
