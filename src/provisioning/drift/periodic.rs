//! The drift check on a timer: every provisioned app that is neither paused nor
//! quarantined, and the drift alert raised when one is out of step.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{DriftReport, check};
use crate::db::{DbError, alerts, time};
use crate::domain::{AlertKind, Condition, Slug};
use crate::provisioning::engine::Engine;

/// Runs the drift check of every provisioned app every `drift_check_interval_secs`.
pub async fn run_periodic(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    let secs = engine.settings.provisioning.drift_check_interval_secs;
    if secs == 0 {
        return;
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(secs)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let resting = match engine.db.run(|c| crate::db::rails::all(c)).await {
            Ok(states) => states
                .into_iter()
                .filter(|r| r.quarantined() || r.paused == Some(crate::db::rails::Pause::All))
                .map(|r| r.app)
                .collect(),
            Err(_) => Vec::new(),
        };
        for app in &engine.settings.apps {
            // Nothing is sent to a paused or quarantined app, not even a listing.
            if app.scim.is_none() || resting.iter().any(|r| r == app.slug.as_str()) {
                continue;
            }
            match check(&engine, &app.slug, false).await {
                Ok(r) => {
                    tracing::info!(app = %app.slug, missing = r.missing.len(), should_be_disabled = r.should_be_disabled.len(),
                    wrong_role = r.wrong_role.len(), unknown = r.unknown.len(), "drift check");
                    if r.has_drift()
                        && let Err(e) = raise_drift(&engine, &app.slug, &r).await
                    {
                        tracing::warn!(app = %app.slug, error = %e, "could not record the drift alert");
                    }
                }
                Err(e) => tracing::warn!(app = %app.slug, error = %e, "drift check failed"),
            }
        }
    }
}

/// Raises the drift alert of `app` after a periodic check found drift.
async fn raise_drift(engine: &Engine, app: &Slug, report: &DriftReport) -> Result<(), DbError> {
    let condition = Condition::of_app(AlertKind::Drift, app.clone());
    let detail = report.alert_detail();
    engine
        .db
        .run(move |c| alerts::raise(c, &condition, &detail, time::now()).map(|_| ()))
        .await
}
