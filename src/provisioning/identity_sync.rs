//! With Kratos: picks up identities created, changed or deleted in Kratos itself.

use std::time::Duration;

use tokio::sync::watch;

use crate::users::UserService;

/// Runs the identity sync at start and every `identity.sync_interval_secs` until `stop`.
pub async fn run(service: UserService, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_secs(service.settings().identity.sync_interval_secs.max(1));
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
