//! The pair's provisioning record in `app_access`: claim a due pair, record how the attempt ended.
//!
//! These are the only writes the engine makes; each is one short statement or
//! transaction, so the dashboard never waits on a SCIM call.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use uuid::Uuid;

use super::attempt::{LogEntry, record_attempt};
use super::mark::purge_removed_users;
use super::queue::ReconcileJob;
use crate::db::DbError;
use crate::db::columns::RowExt;
use crate::domain::{ProvisionStatus, Role};

/// A pair this process now holds (`status = 'syncing'`), with what a reconcile needs.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The user.
    pub user_id: Uuid,
    /// The app.
    pub app: String,
    /// Role in the app.
    pub role: Role,
    /// The account id in the app, if known.
    pub scim_id: Option<String>,
    /// The userName the app held when it last confirmed the pair (proves the account at
    /// `scim_id` is still this person's after their userName changed).
    pub scim_user_name: Option<String>,
    /// The desired generation this sync works towards.
    pub generation: i64,
    /// Attempts before this one.
    pub attempts: i64,
    /// Email, as entered.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The user is being removed.
    pub user_deleted: bool,
    /// The role the app last confirmed, if any.
    pub synced_role: Option<Role>,
    /// When the account accessboard disabled is to be deleted (`delete_after_days`).
    pub delete_at: Option<i64>,
}

/// Takes a due pair for `instance`; `None` when it is not due or another worker has it.
pub fn claim(
    conn: &mut Connection,
    job: &ReconcileJob,
    instance: &str,
    now: i64,
) -> Result<Option<Claim>, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let claim = match super::rails::admit(&tx, std::slice::from_ref(job), now)?.first() {
        Some(job) => claim_in(&tx, job, instance, now)?,
        None => None,
    };
    tx.commit()?;
    Ok(claim)
}

/// Takes every due pair of `jobs` for `instance` in one transaction (a batch).
pub fn claim_many(
    conn: &mut Connection,
    jobs: &[ReconcileJob],
    instance: &str,
    now: i64,
) -> Result<Vec<Claim>, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let jobs = super::rails::admit(&tx, jobs, now)?;
    let mut claims = Vec::with_capacity(jobs.len());
    for job in &jobs {
        claims.extend(claim_in(&tx, job, instance, now)?);
    }
    tx.commit()?;
    Ok(claims)
}

fn claim_in(
    tx: &Transaction<'_>,
    job: &ReconcileJob,
    instance: &str,
    now: i64,
) -> Result<Option<Claim>, DbError> {
    // Cached: every job runs these, and parsing them cost more than running them.
    let row = tx
        .prepare_cached(
            "UPDATE app_access SET status = 'syncing', claimed_by = ?3, status_since = ?4
             WHERE user_id = ?1 AND app_slug = ?2
               AND (status = 'sync_needed' OR (status = 'error' AND COALESCE(next_attempt_at, 0) <= ?4))
               AND app_slug IN (SELECT slug FROM apps WHERE installed = 1 AND scim_enabled = 1)
             RETURNING role, scim_id, desired_gen, attempts, synced_role, delete_at, scim_user_name",
        )?
        .query_row(
            params![job.user_id.to_string(), job.app, instance, now],
            |r| Ok((r.typed::<Role>(0, "app_access")?, r.get::<_, Option<String>>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?, r.typed_opt::<Role>(4, "app_access")?, r.get::<_, Option<i64>>(5)?, r.get::<_, Option<String>>(6)?)),
        )
        .optional()?;
    let Some((role, scim_id, generation, attempts, synced_role, delete_at, scim_user_name)) = row
    else {
        return Ok(None);
    };
    let (email, name, deleted): (String, String, bool) = tx
        .prepare_cached("SELECT email, name, deleted_at IS NOT NULL FROM users WHERE id = ?1")?
        .query_row([job.user_id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    Ok(Some(Claim {
        user_id: job.user_id,
        app: job.app.clone(),
        role,
        scim_id,
        scim_user_name,
        generation,
        attempts,
        email,
        name,
        user_deleted: deleted,
        synced_role,
        delete_at,
    }))
}

/// How an attempt ended, as the record keeps it.
#[derive(Debug, Clone)]
pub enum Settle {
    /// Done: the new status and the account id.
    Done {
        /// `Provisioned`, `Deprovisioned` or `NotProvisioned`.
        status: ProvisionStatus,
        /// The account id in the app (kept even after disabling).
        scim_id: Option<String>,
        /// What to tell the admin.
        message: String,
        /// When the disabled account is to be deleted; `None` clears the date.
        delete_at: Option<i64>,
        /// The userName the app holds for the account (`None` once deleted).
        user_name: Option<String>,
    },
    /// Retry at `next_attempt_at` (unix seconds).
    Retry {
        /// When.
        next_attempt_at: i64,
        /// Why.
        message: String,
        /// An account id learnt before the failure.
        scim_id: Option<String>,
        /// Whether this attempt counts towards `max_attempts`; not when the app only
        /// asked us to wait (its rate limit), which no number of retries makes wrong.
        spends_attempt: bool,
    },
    /// Give up until an admin retries or the desired state changes.
    Fail {
        /// Why.
        message: String,
        /// An account id learnt before the failure.
        scim_id: Option<String>,
    },
}

/// Records the outcome of a claimed attempt; returns a follow-up job when the
/// pair must run again (its desired state moved meanwhile, or a retry is scheduled).
pub fn finish(
    conn: &mut Connection,
    claim: &Claim,
    instance: &str,
    settle: Settle,
    now: i64,
) -> Result<Option<ReconcileJob>, DbError> {
    finish_with_log(conn, claim, &[], instance, settle, now)
}

/// [`finish`] and the attempt's event with its requests, in one transaction.
pub fn finish_with_log(
    conn: &mut Connection,
    claim: &Claim,
    entries: &[LogEntry],
    instance: &str,
    settle: Settle,
    now: i64,
) -> Result<Option<ReconcileJob>, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let follow_up = settle_in(&tx, claim, entries, instance, settle, now)?;
    if claim.user_deleted {
        purge_removed_users(&tx)?;
    }
    tx.commit()?;
    Ok(follow_up)
}

/// One finished attempt of a batch: the claim, its requests and how it ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The claim the attempt worked on.
    pub claim: Claim,
    /// Its requests, for the activity log.
    pub entries: Vec<LogEntry>,
    /// How it ended.
    pub settle: Settle,
}

/// [`finish_with_log`] for many attempts in one transaction; returns the follow-up jobs.
pub fn finish_many(
    conn: &mut Connection,
    finished: Vec<Finished>,
    instance: &str,
    now: i64,
) -> Result<Vec<ReconcileJob>, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut follow_ups = Vec::new();
    let mut purge = false;
    for f in finished {
        purge |= f.claim.user_deleted;
        follow_ups.extend(settle_in(
            &tx, &f.claim, &f.entries, instance, f.settle, now,
        )?);
    }
    if purge {
        purge_removed_users(&tx)?;
    }
    tx.commit()?;
    Ok(follow_ups)
}

// One attempt settled: its event and requests, then the pair's new state.
fn settle_in(
    tx: &Transaction<'_>,
    claim: &Claim,
    entries: &[LogEntry],
    instance: &str,
    settle: Settle,
    now: i64,
) -> Result<Option<ReconcileJob>, DbError> {
    record_attempt(tx, claim, entries, &settle, now)?;
    finish_in(tx, claim, instance, settle, now)
}

fn finish_in(
    tx: &Transaction<'_>,
    claim: &Claim,
    instance: &str,
    settle: Settle,
    now: i64,
) -> Result<Option<ReconcileJob>, DbError> {
    let current: Option<(i64, ProvisionStatus, Option<String>, i64)> = tx
        .prepare_cached(
            "SELECT desired_gen, status, claimed_by, due_seq FROM app_access WHERE user_id = ?1 AND app_slug = ?2",
        )?
        .query_row(params![claim.user_id.to_string(), claim.app], |r| {
            Ok((r.get(0)?, r.typed(1, "app_access")?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((desired_gen, status, holder, due_seq)) = current else {
        return Ok(None); // purged meanwhile
    };
    let uid = claim.user_id.to_string();
    let learnt = match &settle {
        Settle::Done { scim_id, .. }
        | Settle::Retry { scim_id, .. }
        | Settle::Fail { scim_id, .. } => scim_id.clone(),
    };
    if status != ProvisionStatus::Syncing || holder.as_deref() != Some(instance) {
        // The claim was voided (app uninstalled, or taken back as orphaned):
        // keep only what we learnt about the account.
        if let Some(id) = learnt {
            tx.prepare_cached(
                "UPDATE app_access SET scim_id = ?3, synced_role = NULL WHERE user_id = ?1 AND app_slug = ?2",
            )?
            .execute(params![uid, claim.app, id])?;
        }
        return Ok(None);
    }
    let attempts = claim.attempts + 1;
    let mut follow_up = None;
    if desired_gen != claim.generation {
        // A change landed during the call: sync again towards the new state.
        tx.prepare_cached(
            "UPDATE app_access SET status = 'sync_needed', claimed_by = NULL, due_seq = due_seq + 1,
                attempts = 0, next_attempt_at = NULL, last_attempt_at = ?3, status_since = ?3,
                scim_id = COALESCE(?4, scim_id), synced_role = NULL
             WHERE user_id = ?1 AND app_slug = ?2",
        )?
        .execute(
            params![uid, claim.app, now, learnt],
        )?;
        follow_up = Some(job(claim, due_seq + 1, None));
    } else {
        match settle {
            Settle::Done {
                status,
                scim_id,
                message,
                delete_at,
                user_name,
            } => {
                tx.prepare_cached(
                    "UPDATE app_access SET status = ?3, scim_id = ?4, synced_gen = desired_gen, claimed_by = NULL,
                        attempts = ?5, next_attempt_at = NULL, last_attempt_at = ?6, last_message = ?7, status_since = ?6,
                        synced_role = ?8, delete_at = ?9, scim_user_name = ?10
                     WHERE user_id = ?1 AND app_slug = ?2",
                )?
                .execute(
                    params![uid, claim.app, status, scim_id, attempts, now, message,
                        confirmed_role(status, claim.role), delete_at, user_name],
                )?;
            }
            Settle::Retry {
                next_attempt_at,
                message,
                scim_id,
                spends_attempt,
            } => {
                let attempts = if spends_attempt {
                    attempts
                } else {
                    claim.attempts
                };
                tx.prepare_cached(
                    "UPDATE app_access SET status = 'error', claimed_by = NULL, due_seq = due_seq + 1,
                        attempts = ?3, next_attempt_at = ?4, last_attempt_at = ?5, last_message = ?6, status_since = ?5,
                        scim_id = COALESCE(?7, scim_id), synced_role = NULL
                     WHERE user_id = ?1 AND app_slug = ?2",
                )?
                .execute(
                    params![uid, claim.app, attempts, next_attempt_at, now, message, scim_id],
                )?;
                follow_up = Some(job(claim, due_seq + 1, Some(next_attempt_at)));
            }
            Settle::Fail { message, scim_id } => {
                tx.prepare_cached(
                    "UPDATE app_access SET status = 'failed', claimed_by = NULL, attempts = ?3, next_attempt_at = NULL,
                        last_attempt_at = ?4, last_message = ?5, status_since = ?4, scim_id = COALESCE(?6, scim_id),
                        synced_role = NULL
                     WHERE user_id = ?1 AND app_slug = ?2",
                )?
                .execute(
                    params![uid, claim.app, attempts, now, message, scim_id],
                )?;
            }
        }
    }
    Ok(follow_up)
}

// The role the app now confirms: the pair's own once provisioned; none once disabled
// (out of every mapped group), so the next pass asks the app for nothing.
fn confirmed_role(status: ProvisionStatus, role: Role) -> Option<Role> {
    match status {
        ProvisionStatus::Provisioned => Some(role),
        ProvisionStatus::Deprovisioned => Some(Role::None),
        _ => None,
    }
}

fn job(claim: &Claim, due_seq: i64, run_at: Option<i64>) -> ReconcileJob {
    ReconcileJob {
        user_id: claim.user_id,
        app: claim.app.clone(),
        due_seq,
        run_at,
    }
}
