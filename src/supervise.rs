//! Restarts `serve`'s background tasks (the provisioning worker, the sweeper, the alerts
//! task, …) whenever one fails: an error or a panic. A run that returns `Ok` is done on
//! purpose (a periodic check that is turned off) and is not started again.
//!
//! A database that was full for a moment used to stop the apalis worker for good while
//! everything else looked alive. Here every such end is counted
//! (`accessboard_task_restarts_total`), logged once per streak, reported to [`Health`],
//! and followed by a restart after a backoff that doubles up to [`BACKOFF_MAX`].

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use crate::health::Health;

/// The first wait before a restart.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// The longest wait before a restart: space that returns is used within this long.
pub const BACKOFF_MAX: Duration = Duration::from_secs(8);
/// A run that lasts this long ends its task's failing streak.
pub const STEADY: Duration = Duration::from_secs(5);

/// Runs `start(run)` (run = 1, 2, …) until `stop` turns true or a run returns `Ok`,
/// restarting it with backoff whenever it fails. Each run watches `stop` itself and is
/// awaited to its end.
pub async fn supervise<F, Fut>(
    task: &'static str,
    health: Health,
    mut stop: watch::Receiver<bool>,
    mut start: F,
) where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let mut backoff = BACKOFF_FIRST;
    let mut run = 0u64;
    loop {
        if *stop.borrow() {
            return;
        }
        run += 1;
        let started = std::time::Instant::now();
        // Its own tokio task, so a panic ends this run, not the supervisor.
        let mut handle = tokio::spawn(start(run));
        let ended = tokio::select! {
            r = &mut handle => Some(r),
            _ = tokio::time::sleep(STEADY) => None,
        };
        let ended = match ended {
            Some(r) => r,
            None => {
                if let Some(took) = health.task_steady(task, started) {
                    tracing::info!(
                        task,
                        after_secs = took.as_secs(),
                        "background task runs again"
                    );
                }
                backoff = BACKOFF_FIRST;
                handle.await
            }
        };
        if *stop.borrow() {
            return;
        }
        let error = match ended {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(e) if e.is_panic() => "it panicked".to_owned(),
            Err(_) => "it was cancelled".to_owned(),
        };
        crate::metrics::task_restarted(task);
        if health.task_failed(task, &error) {
            tracing::error!(
                task,
                error = %error,
                "background task stopped; restarting it with backoff (logged once until it runs again)"
            );
        } else {
            tracing::debug!(task, error = %error, run, "background task stopped again");
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        backoff = backoff.saturating_mul(2).min(BACKOFF_MAX);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_task_that_keeps_failing_is_restarted_with_capped_backoff_until_stop() {
        let health = Health::new(Duration::ZERO);
        let (stop, rx) = watch::channel(false);
        let runs = Arc::new(AtomicU64::new(0));
        let counted = runs.clone();
        let sup = tokio::spawn(supervise("test task", health.clone(), rx, move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>("Failed to poll backend".to_owned()) }
        }));
        // 1 + 2 + 4 + 8 + 8 … seconds between runs.
        tokio::time::sleep(Duration::from_secs(40)).await;
        let n = runs.load(Ordering::SeqCst);
        assert!((6..=8).contains(&n), "{n} runs in 40 s");
        assert!(!health.provisioning_up());
        let _ = stop.send(true);
        let _ = sup.await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_that_lasts_ends_the_streak() {
        let health = Health::new(Duration::ZERO);
        let (stop, rx) = watch::channel(false);
        let stop_rx = rx.clone();
        let sup = tokio::spawn(supervise("test task", health.clone(), rx, move |run| {
            let mut stop = stop_rx.clone();
            async move {
                if run < 3 {
                    return Err("database or disk is full".to_owned());
                }
                let _ = stop.wait_for(|s| *s).await;
                Ok(())
            }
        }));
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(!health.provisioning_up(), "failing after two runs");
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(health.provisioning_up(), "the third run is steady");
        let _ = stop.send(true);
        let _ = sup.await;
    }
}
