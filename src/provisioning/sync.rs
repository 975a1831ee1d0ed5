//! "Sync now" and `app sync`: one listing of the app. A pair whose account the app holds
//! exactly as wanted is settled in that pass, with no job and no write; the others are
//! marked and reconciled in batches.

use std::collections::HashMap;
use std::sync::Arc;

use super::engine::{Engine, desired};
use super::reconcile;
use crate::db::time;
use crate::domain::{Deprovision, DesiredAccess, ProvisionStatus, Role, Slug};
use crate::pairs::{self, Standing};
use crate::scim::ScimCall;
use crate::users::{ServiceError, UserService};

/// What one pass found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Accounts the listing had.
    pub listed: usize,
    /// Pairs the app holds as wanted: settled in the pass.
    pub unchanged: usize,
    /// Pairs marked for a reconcile.
    pub marked: usize,
    /// Requests the listing took.
    pub requests: usize,
}

/// Why a pass could not run.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0} is not a provisionable app (no [apps.scim] settings)")]
    NotProvisionable(Slug),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

/// Lists `app` once and marks only the pairs it does not hold as wanted. If the listing
/// fails, every pair is marked, so the outage shows on each pair and is retried as usual.
pub async fn sync_app(
    engine: &Arc<Engine>,
    service: &UserService,
    app: &Slug,
) -> Result<SyncReport, SyncError> {
    let Some(target) = engine.targets.get(app.as_str()) else {
        return Err(SyncError::NotProvisionable(app.clone()));
    };
    let slug = app.to_string();
    let rails = engine
        .db
        .run(move |c| crate::db::rails::of(c, &slug))
        .await?;
    if rails.is_some_and(|r| r.quarantined() || r.paused == Some(crate::db::rails::Pause::All)) {
        // Nothing is sent to a paused or quarantined app: the pairs are marked and wait.
        let marked = service.resync_app(app).await?;
        return Ok(SyncReport {
            listed: 0,
            unchanged: 0,
            marked,
            requests: 0,
        });
    }
    let slug = app.to_string();
    let standing = engine.db.run(move |c| pairs::standing(c, &slug)).await?;
    let session = target.client.session();
    let learned = target.client.learned();
    // Each pair by the account id it stores; `None` until its account is seen as wanted.
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (i, s) in standing.iter().enumerate() {
        if let Some(id) = &s.pair.scim_id {
            by_id.insert(id.clone(), i);
        }
    }
    let mut as_wanted = vec![false; standing.len()];
    let now = time::now();
    let mut listed = 0;
    let listing = session
        .for_each_account(|account| {
            listed += 1;
            let Some(&i) = account.id.as_ref().and_then(|id| by_id.get(id)) else {
                return;
            };
            let s = &standing[i];
            let want = desired(&s.pair, &target.scim, now);
            as_wanted[i] = holds(s, &want, &account, &learned);
        })
        .await;
    // The roles the app holds now, read once per managed group: a membership changed by
    // hand in the app is repaired, never trusted to the role last confirmed.
    let roles = target.scim.roles();
    let groups = match &listing {
        Ok(()) => super::drift::group_members(&session, &roles).await,
        Err(_) => Ok(HashMap::new()),
    };
    let calls = session.into_calls();
    observe(app.as_str(), &calls);
    let (listing, groups) = match (listing, groups) {
        (Ok(()), Ok(groups)) => (Ok(()), groups),
        (Err(e), _) | (_, Err(e)) => (Err(e), HashMap::new()),
    };
    let mut roles_moved = Vec::new();
    for (s, ok) in standing.iter().zip(as_wanted.iter_mut()) {
        let id = s.pair.scim_id.as_deref();
        if id.is_some_and(|id| !roles_held(s, &roles, &groups, id)) {
            *ok = false;
            roles_moved.push(s.pair.user_id);
        }
    }
    if let Err(e) = listing {
        tracing::info!(app = %app, error = %e, "the sync listing failed; every pair is marked");
        let marked = service.resync_app(app).await?;
        return Ok(SyncReport {
            listed: 0,
            unchanged: 0,
            marked,
            requests: calls.len(),
        });
    }
    // A pair without access and without an account (never made, or deleted) is as wanted
    // too, unless its person is being removed: their pairs must settle to be purged.
    for (s, ok) in standing.iter().zip(as_wanted.iter_mut()) {
        if s.pair.scim_id.is_none()
            && s.pair.role == Role::None
            && !s.pair.user_deleted
            && matches!(
                s.status,
                ProvisionStatus::NotProvisioned | ProvisionStatus::Deprovisioned
            )
        {
            *ok = true;
        }
    }
    let unchanged = as_wanted.iter().filter(|ok| **ok).count();
    let changed: Vec<_> = standing
        .iter()
        .zip(&as_wanted)
        .filter(|(_, ok)| !**ok)
        .map(|(s, _)| s.pair.user_id)
        .collect();
    let marked = service
        .resync_pairs(app, changed, unchanged, roles_moved)
        .await?;
    Ok(SyncReport {
        listed,
        unchanged,
        marked,
        requests: calls.len(),
    })
}

// Whether a reconcile of this settled pair would write nothing: the account is as merged,
// and the stored role says its groups hold (the drift check sees changes made by hand).
fn holds(
    s: &Standing,
    want: &reconcile::Desired,
    account: &crate::scim::ScimUser,
    learned: &crate::scim::Learned,
) -> bool {
    if !super::proof::stored_is_theirs(account, want) {
        // The stored id now answers someone else: the reconcile looks the person up again.
        return false;
    }
    match want.access {
        DesiredAccess::Active { .. } => {
            s.status == ProvisionStatus::Provisioned
                && s.pair.synced_role == Some(s.pair.role)
                && reconcile::merge(account, want, learned) == *account
        }
        // A deletion that is due writes (the DELETE), whatever the account looks like.
        DesiredAccess::Absent => {
            want.on_deprovision == Deprovision::Disable
                && !s.pair.user_deleted
                && s.status == ProvisionStatus::Deprovisioned
                && account.active == Some(false)
        }
    }
}

// Whether account `id` is in exactly the managed groups the pair's role puts it in: its
// role's group when it has access, none once revoked.
fn roles_held(
    s: &Standing,
    roles: &crate::settings::RoleMap,
    groups: &HashMap<String, std::collections::HashSet<String>>,
    id: &str,
) -> bool {
    let role = match DesiredAccess::of(s.pair.role, s.pair.user_deleted) {
        DesiredAccess::Active { admin: true } => Some(Role::Admin),
        DesiredAccess::Active { admin: false } => Some(Role::User),
        DesiredAccess::Absent => None,
    };
    [(Role::Admin, &roles.admin), (Role::User, &roles.user)]
        .into_iter()
        .filter_map(|(mapped, t)| Some((mapped, t.as_ref()?.group.as_ref()?)))
        .all(|(mapped, group)| {
            let is = groups.get(group).is_some_and(|m| m.contains(id));
            is == (role == Some(mapped))
        })
}

fn observe(app: &str, calls: &[ScimCall]) {
    for c in calls {
        crate::metrics::observe_scim(app, c.operation, c.status, c.duration);
    }
}
