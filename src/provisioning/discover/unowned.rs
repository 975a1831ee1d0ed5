//! Disabling accounts of nobody here: no pair stands for them, so no worker does it;
//! the plan's wave is held by the same rule as the revocation guard unless forced.

use std::sync::Arc;

use serde_json::json;

use super::DiscoverError;
use crate::domain::Slug;
use crate::provisioning::engine::Engine;
use crate::users::UserService;

/// What disabling the plan's unowned accounts did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Unowned {
    /// Accounts disabled in the app (read back inactive).
    pub disabled: usize,
    /// Accounts left active: the wave is larger than the revocation guard lets through.
    pub held: usize,
    /// One line per account the app refused to disable.
    pub failed: Vec<String>,
}

/// Whether disabling `n` of `total` accounts trips the revocation guard's rule.
pub fn trips_guard(engine: &Engine, n: usize, total: usize) -> bool {
    let p = &engine.settings.provisioning;
    let (n, total) = (n as i64, total.max(1) as i64);
    p.revoke_guard_window_secs > 0
        && n >= i64::from(p.revoke_guard_min).max(1)
        && n * 100 > i64::from(p.revoke_guard_percent) * total
}

/// Disables `ids` in `app`, one audit entry each; held whole when the guard's rule trips
/// and `force` (a planned wave) is not given.
pub async fn disable(
    engine: &Arc<Engine>,
    service: &UserService,
    app: &Slug,
    ids: &[String],
    total: usize,
    force: bool,
) -> Result<Unowned, DiscoverError> {
    let mut out = Unowned::default();
    if ids.is_empty() {
        return Ok(out);
    }
    if !force && trips_guard(engine, ids.len(), total) {
        out.held = ids.len();
        return Ok(out);
    }
    let target = engine
        .targets
        .get(app.as_str())
        .ok_or_else(|| DiscoverError::NotProvisioned(app.to_string()))?;
    let session = target.client.session();
    for id in ids {
        match session.deactivate_user(id).await {
            Ok(()) => {
                out.disabled += 1;
                service
                    .record(
                        "account.disable",
                        Some(app.to_string()),
                        Some(json!({ "account": id })),
                    )
                    .await
                    .map_err(|e| match e {
                        crate::users::ServiceError::Db(e) => DiscoverError::Db(e),
                        other => DiscoverError::Db(crate::db::DbError::Corrupt(other.to_string())),
                    })?;
            }
            Err(e) => out.failed.push(format!("account {id}: {e}")),
        }
    }
    Ok(out)
}
