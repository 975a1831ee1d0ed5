//! With Kratos: picks up identities created, changed or deleted in Kratos itself.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::engine::Engine;
use crate::users::UserService;

/// Runs the identity sync at start and every `identity.sync_interval_secs` until `stop`.
pub async fn run(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    let service = match UserService::new(
        engine.db.clone(),
        Some(engine.queue.clone()),
        engine.settings.clone(),
    ) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "identity sync cannot start");
            return;
        }
    };
    let every = Duration::from_secs(engine.settings.identity.sync_interval_secs.max(1));
    loop {
        match service.sync_identities().await {
            Ok(_) => {}
            // The outage is recorded for the pages; reconciles retry on their own.
            Err(e) => {
                tracing::warn!(error = %e, "identity sync failed; trying again in {}s", every.as_secs())
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
