//! Provisioning: jobs, workers, sweeper, and the reconcile of one (user, app) pair.

mod backoff;
pub mod drift;
pub mod engine;
mod identity_sync;
pub mod queue;
pub mod reconcile;
pub mod state;
pub mod worker;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::cli::{CliError, Context};
use engine::Engine;

/// Starts workers, sweeper and (with Kratos) the identity sync; returns the stop switch and the tasks to await.
pub fn spawn(engine: Arc<Engine>) -> (watch::Sender<bool>, Vec<tokio::task::JoinHandle<()>>) {
    let (stop, rx) = watch::channel(false);
    let mut tasks = vec![
        tokio::spawn(worker::run_workers(engine.clone(), rx.clone())),
        tokio::spawn(worker::run_sweeper(engine.clone(), rx.clone())),
    ];
    if engine.identities.is_remote() {
        tasks.push(tokio::spawn(identity_sync::run(engine, rx)));
    }
    (stop, tasks)
}

/// `provision run [--wait] [--timeout]`: work in this process until nothing is due.
pub async fn run_once(
    ctx: Context,
    wait: bool,
    timeout: Option<Duration>,
) -> Result<ExitCode, CliError> {
    let engine = Engine::new(
        ctx.service.db().clone(),
        ctx.queue.clone(),
        ctx.settings.clone(),
    )
    .map_err(|e| CliError::usage(e.to_string()))?;
    // Changes made in Kratos itself first, so this run provisions them too.
    if let Err(e) = ctx.service.sync_identities().await {
        eprintln!("accessboard: identity sync failed: {e}; pairs that need it will be retried");
    }
    worker::tick(&engine, true)
        .await
        .map_err(|e| CliError::failure(e.to_string()))?;
    let (stop, tasks) = spawn(engine.clone());
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let mut last_line = String::new();
    let outcome = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let p = engine
            .db
            .run(|c| state::progress(c, crate::db::time::now()))
            .await
            .map_err(|e| CliError::failure(e.to_string()))?;
        let line = format!(
            "{}/{} settled, {} errors, {} failed",
            p.total - p.pending - p.errors,
            p.total,
            p.errors,
            p.failed
        );
        if line != last_line {
            eprintln!("{line}");
            last_line = line;
        }
        let unsettled = p.pending + if wait { p.errors } else { 0 };
        if unsettled == 0 {
            break if p.failed == 0 && (wait || p.errors == 0) {
                0
            } else {
                1
            };
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            eprintln!("timed out with {unsettled} pairs unsettled");
            break 1;
        }
    };
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }
    worker::release(&engine).await;
    Ok(ExitCode::from(outcome))
}
