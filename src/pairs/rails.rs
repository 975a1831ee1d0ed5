//! What the safety rails do to pairs: the revocation guard holds revocations (`held`),
//! a paused app's pairs are not claimed, a quarantined app's pairs wait as `error`
//! without spending attempts, and resuming lets them go.
//!
//! The state itself (paused, quarantined, since when, why) is `db::rails`.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::mark::{Pairs, mark_for_sync};
use super::queue::ReconcileJob;
use crate::db::DbError;
use crate::db::alerts;
use crate::db::rails::{self, Pause};
use crate::domain::AlertKind;

/// `[provisioning] revoke_guard_*`: when revocations marked for one app pause it.
#[derive(Debug, Clone, Copy)]
pub struct GuardRules {
    /// Revocations marked this many seconds back are counted; 0 turns the guard off.
    pub window_secs: i64,
    /// The guard trips above this share (percent) of the app's accounts ...
    pub percent: i64,
    /// ... from this many people on.
    pub min: i64,
}

/// The guard tripped for one app in this change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tripped {
    /// The app now paused for revocations.
    pub app: String,
    /// Its pairs now `held`.
    pub held: usize,
    /// The reason stored with the pause.
    pub reason: String,
}

// Audit actions whose entries name the people behind a wave of revocations.
const REVOKING_ACTIONS: &str = "'access.set', 'person.delete', 'import', 'identity.sync',
    'group.remove', 'group.delete', 'group.grant'";

/// Runs the revocation guard over the pairs a change just marked (`jobs`), in the
/// change's transaction: revocations of a paused app are held, and an app whose
/// revocations in the window pass the rules is paused and all of them held. `lift`
/// (`--force`) lets this change's revocations through, uncounted. Returns the jobs
/// still to enqueue and the apps where the guard tripped.
pub fn guard(
    tx: &Transaction<'_>,
    jobs: Vec<ReconcileJob>,
    rules: &GuardRules,
    lift: bool,
    actor: &str,
    now: i64,
) -> Result<(Vec<ReconcileJob>, Vec<Tripped>), DbError> {
    let mut apps: Vec<&str> = Vec::new();
    let mut revoking = Vec::new();
    {
        let mut is_revocation = tx.prepare_cached(
            "SELECT 1 FROM app_access WHERE user_id = ?1 AND app_slug = ?2
               AND status = 'sync_needed' AND revoked_at IS NOT NULL",
        )?;
        for (i, job) in jobs.iter().enumerate() {
            let hit = is_revocation
                .query_row(params![job.user_id.to_string(), job.app], |_| Ok(()))
                .optional()?;
            if hit.is_some() {
                revoking.push(i);
                if !apps.contains(&job.app.as_str()) {
                    apps.push(&job.app);
                }
            }
        }
    }
    if revoking.is_empty() {
        return Ok((jobs, Vec::new()));
    }
    if lift {
        let mut uncount = tx.prepare_cached(
            "UPDATE app_access SET revoked_at = NULL WHERE user_id = ?1 AND app_slug = ?2",
        )?;
        for &i in &revoking {
            uncount.execute(params![jobs[i].user_id.to_string(), jobs[i].app])?;
        }
        return Ok((jobs, Vec::new()));
    }
    let mut tripped = Vec::new();
    for app in apps {
        let paused = rails::of(tx, app)?.is_some_and(|r| r.paused.is_some());
        let since = now - rules.window_secs;
        if paused {
            hold(tx, app, since)?;
            continue;
        }
        if rules.window_secs <= 0 {
            continue;
        }
        let (recent, base): (i64, i64) = tx.prepare_cached(
            "SELECT COALESCE(SUM(revoked_at >= ?2), 0),
                    COALESCE(SUM(scim_id IS NOT NULL
                        AND (status NOT IN ('deprovisioned', 'not_provisioned') OR revoked_at >= ?2)), 0)
             FROM app_access WHERE app_slug = ?1",
        )?
        .query_row(params![app, since], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if recent < rules.min.max(1) || recent * 100 <= rules.percent * base {
            continue;
        }
        let reason = format!(
            "{recent} of {base} accounts revoked within {} (the guard allows {}%)",
            span(rules.window_secs),
            rules.percent
        );
        let by = revokers(tx, since, actor)?;
        rails::pause(tx, app, Pause::Revocations, &reason, &by, now)?;
        let held = hold(tx, app, since)?;
        let condition = alerts::of_app(AlertKind::RevocationGuard, app)?;
        let detail = format!("{reason}; {held} revocations held, caused by {by}");
        alerts::raise(tx, &condition, &detail, now)?;
        tripped.push(Tripped {
            app: app.to_owned(),
            held,
            reason,
        });
    }
    let mut status = tx.prepare_cached(
        "SELECT status = 'held' FROM app_access WHERE user_id = ?1 AND app_slug = ?2",
    )?;
    let mut kept = Vec::with_capacity(jobs.len());
    for job in jobs {
        let held: bool = status
            .query_row(params![job.user_id.to_string(), job.app], |r| r.get(0))
            .optional()?
            .unwrap_or(false);
        if !held {
            kept.push(job);
        }
    }
    Ok((kept, tripped))
}

// Holds the app's revocations marked since `since` that no worker has started.
fn hold(tx: &Transaction<'_>, app: &str, since: i64) -> Result<usize, DbError> {
    Ok(tx
        .prepare_cached(
            "UPDATE app_access SET status = 'held', next_attempt_at = NULL,
                last_message = 'held by the revocation guard: the app is paused for revocations'
             WHERE app_slug = ?1 AND revoked_at IS NOT NULL
               AND (revoked_at >= ?2 OR status = 'sync_needed') AND status IN ('sync_needed', 'error')",
        )?
        .execute(params![app, since])?)
}

// Who made the revocations of the window, from the audit trail; the actor of the change
// that tripped the guard is always among them.
fn revokers(tx: &Transaction<'_>, since: i64, actor: &str) -> Result<String, DbError> {
    let sql = format!(
        "SELECT actor FROM audit_log WHERE at >= ?1 AND action IN ({REVOKING_ACTIONS})
         GROUP BY actor ORDER BY count(*) DESC LIMIT 3"
    );
    let mut who: Vec<String> = tx
        .prepare_cached(&sql)?
        .query_map([since], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if !who.iter().any(|w| w == actor) {
        who.insert(0, actor.to_owned());
    }
    Ok(who.join(", "))
}

/// A guard window in words ("5 min", "90 s").
pub fn span(secs: i64) -> String {
    if secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// Ends `app`'s pause and lets its held revocations go (uncounted from now on); returns
/// how far it was paused and the jobs to enqueue, its due pairs included.
pub fn resume(
    tx: &Transaction<'_>,
    app: &str,
    now: i64,
) -> Result<(Option<Pause>, Vec<ReconcileJob>), DbError> {
    let was = rails::end_pause(tx, app)?;
    let mut jobs = mark_for_sync(tx, Pairs::Held(app), now)?;
    tx.prepare_cached(
        "UPDATE app_access SET revoked_at = NULL WHERE app_slug = ?1 AND revoked_at IS NOT NULL",
    )?
    .execute([app])?;
    if was == Some(Pause::All) {
        // Their jobs were taken and dropped while paused: new ones, under new keys.
        tx.prepare_cached(
            "UPDATE app_access SET due_seq = due_seq + 1 WHERE app_slug = ?1 AND status IN ('sync_needed', 'error')",
        )?
        .execute([app])?;
        jobs.extend(super::sweep::due_pairs_of(tx, app, now)?);
    }
    Ok((was, jobs))
}

/// What a batch may claim: pairs of a quarantined app wait as `error` until its next
/// probe (no attempt spent, no request), a fully paused app's pairs stay as they are,
/// and revocations of an app paused for them are held. Returns the admitted jobs.
pub fn admit(
    tx: &Transaction<'_>,
    jobs: &[ReconcileJob],
    now: i64,
) -> Result<Vec<ReconcileJob>, DbError> {
    let mut admitted = Vec::with_capacity(jobs.len());
    let mut states = std::collections::HashMap::new();
    for job in jobs {
        if !states.contains_key(&job.app) {
            states.insert(job.app.clone(), rails::of(tx, &job.app)?);
        }
        let state = states.get(&job.app).and_then(Option::as_ref);
        match state {
            None => admitted.push(job.clone()),
            Some(s) if s.quarantined() => {
                let reason = s.quarantine_reason.as_deref().unwrap_or("it is failing");
                let message = format!(
                    "waiting: the app is quarantined ({reason}); it is probed every few minutes"
                );
                tx.prepare_cached(
                    "UPDATE app_access SET status = 'error', next_attempt_at = ?3, last_message = ?4,
                        due_seq = due_seq + 1,
                        status_since = CASE WHEN status = 'error' THEN status_since ELSE ?5 END
                     WHERE user_id = ?1 AND app_slug = ?2 AND status IN ('sync_needed', 'error')",
                )?
                .execute(params![
                    job.user_id.to_string(),
                    job.app,
                    s.next_probe_at,
                    message,
                    now
                ])?;
            }
            Some(s) if s.paused == Some(Pause::All) => {}
            Some(s) if s.paused == Some(Pause::Revocations) => {
                let held = tx
                    .prepare_cached(
                        "UPDATE app_access SET status = 'held', next_attempt_at = NULL,
                            last_message = 'held by the revocation guard: the app is paused for revocations'
                         WHERE user_id = ?1 AND app_slug = ?2 AND revoked_at IS NOT NULL
                           AND status IN ('sync_needed', 'error')",
                    )?
                    .execute(params![job.user_id.to_string(), job.app])?;
                if held == 0 {
                    admitted.push(job.clone());
                }
            }
            Some(_) => admitted.push(job.clone()),
        }
    }
    Ok(admitted)
}

/// Quarantines `app` in the pairs' eyes: its `error` pairs, and those that failed since
/// `failing_since` (`refused`: for any reason, since the credentials were refused; else
/// those that gave up while every request failed), wait for the probe as `error`.
pub fn quarantine_pairs(
    conn: &Connection,
    app: &str,
    reason: &str,
    failing_since: i64,
    next_probe_at: i64,
    refused: bool,
) -> Result<usize, DbError> {
    let message =
        format!("waiting: the app is quarantined ({reason}); it is probed every few minutes");
    Ok(conn
        .prepare_cached(
            "UPDATE app_access SET status = 'error', next_attempt_at = ?3, last_message = ?2
             WHERE app_slug = ?1 AND (status = 'error'
                OR (status = 'failed' AND last_attempt_at >= ?4 AND (?5 OR last_message LIKE 'gave up after %')))",
        )?
        .execute(params![app, message, next_probe_at, failing_since, refused])?)
}

/// A quarantined app answered again: its waiting pairs are due at once, with their
/// attempts counted afresh. Returns their jobs.
pub fn recovered(tx: &Transaction<'_>, app: &str, now: i64) -> Result<Vec<ReconcileJob>, DbError> {
    tx.prepare_cached(
        "UPDATE app_access SET attempts = 0, next_attempt_at = NULL, due_seq = due_seq + 1
         WHERE app_slug = ?1 AND status IN ('error', 'sync_needed')",
    )?
    .execute([app])?;
    super::sweep::due_pairs_of(tx, app, now)
}

// A pair whose revocation is still to be sent, or held: its previous state may be put back.
const PENDING_REVOCATION: &str =
    "a.revoked_at IS NOT NULL AND a.status IN ('sync_needed', 'syncing', 'error', 'held')";

/// Forgets the previous roles and memberships (`prior_roles`, `prior_memberships`, noted
/// by triggers) of everyone without a pending revocation: only those Resume may cancel.
pub fn forget_settled_priors(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.prepare_cached(&format!(
        "DELETE FROM prior_roles WHERE NOT EXISTS (SELECT 1 FROM app_access a
            WHERE a.user_id = prior_roles.user_id AND a.app_slug = prior_roles.app_slug
              AND {PENDING_REVOCATION})"
    ))?
    .execute([])?;
    tx.prepare_cached(&format!(
        "DELETE FROM prior_memberships WHERE NOT EXISTS (SELECT 1 FROM app_access a
            WHERE a.user_id = prior_memberships.user_id AND {PENDING_REVOCATION})"
    ))?
    .execute([])?;
    Ok(())
}

/// The people whose revocations in `app` the guard holds.
pub fn held_people(tx: &Transaction<'_>, app: &str) -> Result<Vec<uuid::Uuid>, DbError> {
    let ids: Vec<String> = tx
        .prepare_cached(
            "SELECT user_id FROM app_access WHERE app_slug = ?1 AND status = 'held' ORDER BY user_id",
        )?
        .query_map([app], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.iter()
        .map(|id| {
            uuid::Uuid::parse_str(id)
                .map_err(|_| DbError::Corrupt(format!("app_access.user_id holds {id:?}")))
        })
        .collect()
}

/// After a held wave was cancelled: each of these pairs whose role is again the one the
/// app last confirmed, on the account it holds, is provisioned as it was, with no request
/// to the app; returns the jobs of `jobs` still to run (the pairs that must be synced).
pub fn settle_cancelled(
    tx: &Transaction<'_>,
    app: &str,
    jobs: Vec<ReconcileJob>,
    now: i64,
) -> Result<Vec<ReconcileJob>, DbError> {
    let mut settle = tx.prepare_cached(
        "UPDATE app_access SET status = 'provisioned', synced_gen = desired_gen, revoked_at = NULL,
            next_attempt_at = NULL, attempts = 0, status_since = ?3,
            last_message = 'revocation cancelled: the account stays as it was'
         WHERE user_id = ?1 AND app_slug = ?2 AND status = 'sync_needed'
           AND scim_id IS NOT NULL AND synced_role IS role",
    )?;
    let mut kept = Vec::with_capacity(jobs.len());
    for job in jobs {
        let settled =
            job.app == app && settle.execute(params![job.user_id.to_string(), app, now])? > 0;
        if !settled {
            kept.push(job);
        }
    }
    Ok(kept)
}

/// Ends `app`'s pause for revocations once no revocation is held there any more
/// (cancelled); returns whether it was paused for them.
pub fn end_guard_pause(tx: &Transaction<'_>, app: &str) -> Result<bool, DbError> {
    let held: i64 = tx
        .prepare_cached("SELECT count(*) FROM app_access WHERE app_slug = ?1 AND status = 'held'")?
        .query_row([app], |r| r.get(0))?;
    if held > 0 || rails::of(tx, app)?.and_then(|r| r.paused) != Some(Pause::Revocations) {
        return Ok(false);
    }
    rails::end_pause(tx, app)?;
    // As after carrying them out: the admin decided on this wave, it no longer counts.
    tx.prepare_cached(
        "UPDATE app_access SET revoked_at = NULL WHERE app_slug = ?1 AND revoked_at IS NOT NULL",
    )?
    .execute([app])?;
    Ok(true)
}
