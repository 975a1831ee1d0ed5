//! Disabling accounts of nobody here: no pair stands for them, so no worker does it;
//! the plan's wave is held by the same rule as the revocation guard unless forced.
//! Each account is read again first: an id is only what the listing said then, and the
//! app may have given it to someone else since.

use std::sync::Arc;

use serde_json::json;

use super::DiscoverError;
use crate::domain::{Deprovision, Slug};
use crate::provisioning::engine::Engine;
use crate::provisioning::reconcile::take_away;
use crate::scim::{ScimSession, ScimUser};
use crate::users::{Unowned as Planned, UserService};

/// What disabling the plan's unowned accounts did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Unowned {
    /// Accounts disabled in the app (read back inactive), or deleted where it says so.
    pub disabled: usize,
    /// Accounts found inactive already: nothing was sent.
    pub already: usize,
    /// Accounts left active: the wave is larger than the revocation guard lets through.
    pub held: usize,
    /// One line per account not disabled because the app holds something else at its id
    /// now (someone else, nobody, or an account made active again).
    pub skipped: Vec<String>,
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

/// What the app holds at a planned account's id now, against what the plan saw.
enum Now {
    /// Still the account the plan saw: take its access away.
    Same(Box<ScimUser>),
    /// Still it, inactive already: nothing to send.
    Already,
    /// Not to be touched: the line says why.
    Skip(String),
}

/// Reads the account at `planned.id` and compares it with what the plan saw.
async fn read_again(
    session: &ScimSession,
    planned: &Planned,
    how: Deprovision,
) -> Result<Now, String> {
    let who = format!("account {} ({})", planned.id, planned.user_name);
    let fresh = session
        .get_user(&planned.id)
        .await
        .map_err(|e| format!("{who}: {e}"))?;
    let Some(fresh) = fresh else {
        return Ok(Now::Skip(format!(
            "{who} is gone from the app; nothing to disable"
        )));
    };
    if fresh.user_name.to_lowercase() != planned.user_name.to_lowercase() {
        return Ok(Now::Skip(format!(
            "{who} now answers {}; not disabled",
            fresh.user_name
        )));
    }
    let active = fresh.active != Some(false);
    if active && !planned.active {
        return Ok(Now::Skip(format!(
            "{who} was made active again since the plan; not disabled"
        )));
    }
    if !active && how == Deprovision::Disable {
        return Ok(Now::Already);
    }
    Ok(Now::Same(Box::new(fresh)))
}

/// Disables `accounts` in `app` (or deletes them, per its `on_deprovision`), each read
/// again first and left alone unless it is still what the plan saw; one audit entry per
/// account changed; held whole when the guard's rule trips and `force` (a planned wave)
/// is not given.
pub async fn disable(
    engine: &Arc<Engine>,
    service: &UserService,
    app: &Slug,
    accounts: &[Planned],
    total: usize,
    force: bool,
) -> Result<Unowned, DiscoverError> {
    let mut out = Unowned::default();
    if accounts.is_empty() {
        return Ok(out);
    }
    if !force && trips_guard(engine, accounts.len(), total) {
        out.held = accounts.len();
        return Ok(out);
    }
    let target = engine
        .targets
        .get(app.as_str())
        .ok_or_else(|| DiscoverError::NotProvisioned(app.to_string()))?;
    let how = target.scim.on_deprovision();
    let session = target.client.session();
    for planned in accounts {
        let fresh = match read_again(&session, planned, how).await {
            Ok(Now::Same(fresh)) => fresh,
            Ok(Now::Already) => {
                out.already += 1;
                continue;
            }
            Ok(Now::Skip(line)) => {
                out.skipped.push(line);
                continue;
            }
            Err(line) => {
                out.failed.push(line);
                continue;
            }
        };
        let name = planned.user_name.to_lowercase();
        let still = |u: &ScimUser| u.user_name.to_lowercase() == name;
        match take_away(&session, &fresh, how, still).await {
            Ok(_) => {
                out.disabled += 1;
                service
                    .record(
                        "account.disable",
                        Some(app.to_string()),
                        Some(json!({ "account": planned.id, "user_name": planned.user_name })),
                    )
                    .await
                    .map_err(|e| match e {
                        crate::users::ServiceError::Db(e) => DiscoverError::Db(e),
                        other => DiscoverError::Db(crate::db::DbError::Corrupt(other.to_string())),
                    })?;
            }
            Err(e) => out.failed.push(format!(
                "account {} ({}): {e}",
                planned.id, planned.user_name
            )),
        }
    }
    Ok(out)
}
