//! "Sync now" for one person in one app: claims the pair as a worker would, reconciles
//! it at once and hands each SCIM call to the caller as it completes, then records the
//! attempt like any other. The web page and `user sync` show that trace.

use std::sync::Arc;
use std::time::Instant;

use rusqlite::OptionalExtension;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::engine::{self, Engine};
use super::push::{self, PushStore};
use super::reconcile;
use crate::db::{DbError, time};
use crate::pairs::{self, Pairs, Settle};
use crate::scim::{ScimCall, ScimSession, TracedCall};

/// How an on-demand sync ended, as the admin reads it.
#[derive(Debug, Clone)]
pub struct Synced {
    /// The app.
    pub app: String,
    /// What the attempt is recorded as: a settled status, `error` or `failed`.
    pub outcome: &'static str,
    /// The attempt's message (the app's words when it failed).
    pub message: String,
    /// Requests made.
    pub requests: usize,
}

impl Synced {
    /// The attempt brought the app in line (or there was nothing to do).
    pub fn succeeded(&self) -> bool {
        !matches!(self.outcome, "error" | "failed")
    }
}

/// Why no attempt was made.
#[derive(Debug, thiserror::Error)]
pub enum OnDemandError {
    /// The app is not installed or has no SCIM settings.
    #[error("{0} is not provisioned by accessboard (not installed, or no [apps.scim] settings)")]
    NotManaged(String),
    /// The person has no record for this app.
    #[error("this person has no record in {0}")]
    NoPair(String),
    /// A worker holds the pair right now.
    #[error("a worker is syncing this person in {0} right now; its result shows in a moment")]
    Busy(String),
    /// The app is paused or quarantined: nothing is sent to it now.
    #[error(
        "{0} is paused or quarantined, so nothing is sent to it now; `accessboard app resume {0}` (or Resume on the dashboard) lifts that"
    )]
    Resting(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl OnDemandError {
    /// Bad usage (exit 2, 4xx) rather than a failure.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            OnDemandError::NotManaged(_) | OnDemandError::NoPair(_)
        )
    }
}

/// Syncs the pair (`user`, `app`) now; each call goes to `trace` as it completes.
/// Dropping the receiver does not stop the attempt: it is recorded either way.
pub async fn sync_pair(
    engine: &Arc<Engine>,
    user: Uuid,
    app: &str,
    trace: mpsc::UnboundedSender<TracedCall>,
) -> Result<Synced, OnDemandError> {
    let Some(target) = engine.targets.get(app) else {
        return Err(OnDemandError::NotManaged(app.to_owned()));
    };
    // Read before the claim: an error here leaves no pair held.
    let slug = app.to_string();
    let unmanaged = engine
        .db
        .run(move |c| crate::db::unmanaged::ids(c, &slug))
        .await?;
    target.client.set_unmanaged(unmanaged);
    let instance = engine.instance.clone();
    let slug = app.to_owned();
    let mut claim = engine
        .db
        .run(move |c| mark_and_claim(c, user, &slug, &instance))
        .await?;
    // A command-line run has no sweeper beating for it: without this, a `serve` running
    // beside it would take the pair back as orphaned mid-attempt.
    let beat = Beating(tokio::spawn(heartbeat(engine.clone())));
    let started = Instant::now();
    let (settle, calls) = match engine.current_identity(&mut claim).await {
        Err(e) => (
            engine.retry_or_fail(&claim, e.to_string(), None),
            Vec::new(),
        ),
        Ok(()) => {
            let mut desired = engine::desired(&claim, &target.scim, time::now());
            // An admin asking for this person: the app's groups are read, not remembered.
            desired.read_roles = true;
            let push = target
                .scim
                .push_groups
                .then(|| PushStore::new(engine.db.clone(), &claim.app));
            let mut ready = [(claim, desired)];
            let filled = push::fill(&engine.db, app, &target.scim, &mut ready).await;
            let [(claim_back, desired)] = ready;
            claim = claim_back;
            let observer: crate::scim::CallObserver = Arc::new(move |call: &TracedCall| {
                // A closed receiver (the page went away) must not stop the attempt.
                let _ = trace.send(call.clone());
            });
            let session = ScimSession::observed(target.client.clone(), observer);
            let result = match filled {
                Ok(()) => reconcile::reconcile(&session, &desired, push.as_ref()).await,
                Err(e) => Err(crate::scim::ScimError::other(
                    crate::scim::ErrorKind::Transient,
                    "GET",
                    "/Groups",
                    None,
                    format!("cannot read the groups to push: {e}"),
                )),
            };
            engine.store_dialect(&claim.app, target).await;
            let calls: Vec<ScimCall> = session.into_calls();
            for c in &calls {
                crate::metrics::observe_scim(&claim.app, c.operation, c.status, c.duration);
            }
            (engine.settle(&claim, result, time::now()), calls)
        }
    };
    let synced = Synced {
        app: claim.app.clone(),
        outcome: pairs::outcome_of(&settle),
        message: message_of(&settle).to_owned(),
        requests: calls.len(),
    };
    tracing::info!(
        app = %claim.app,
        user_id = %claim.user_id,
        outcome = synced.outcome,
        calls = calls.len(),
        duration_ms = started.elapsed().as_millis() as u64,
        detail = synced.message.as_str(),
        "sync now attempt done"
    );
    drop(beat);
    let entries: Vec<_> = calls.iter().map(super::log_entry).collect();
    let instance = engine.instance.clone();
    let follow_up = engine
        .db
        .run(move |c| pairs::finish_with_log(c, &claim, &entries, &instance, settle, time::now()))
        .await?;
    if let Some(next) = follow_up
        && let Err(e) = engine.queue.enqueue(&[next]).await
    {
        tracing::warn!(error = %e, "follow-up enqueue failed; the sweeper will pick it up");
    }
    Ok(synced)
}

/// The heartbeat task, stopped when the attempt is over however it ends.
struct Beating(tokio::task::JoinHandle<()>);

impl Drop for Beating {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keeps this process in `instances` while the attempt runs.
async fn heartbeat(engine: Arc<Engine>) {
    let mut every = tokio::time::interval(super::worker::HEARTBEAT);
    loop {
        every.tick().await;
        let instance = engine.instance.clone();
        if let Err(e) = engine
            .db
            .run(move |c| pairs::heartbeat(c, &instance, time::now()))
            .await
        {
            tracing::warn!(error = %e, "could not record this process' heartbeat");
        }
    }
}

/// Marks the pair (a new generation, as any change does) and claims it for this process.
fn mark_and_claim(
    c: &mut rusqlite::Connection,
    user: Uuid,
    slug: &str,
    instance: &str,
) -> Result<pairs::Claim, OnDemandError> {
    let now = time::now();
    pairs::heartbeat(c, instance, now)?;
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(DbError::from)?;
    let jobs = pairs::mark_for_sync(&tx, Pairs::One(&user, slug), now)?;
    let installed: Option<bool> = tx
        .query_row(
            "SELECT p.installed = 1 FROM app_access a JOIN apps p ON p.slug = a.app_slug
             WHERE a.user_id = ?1 AND a.app_slug = ?2",
            rusqlite::params![user.to_string(), slug],
            |r| r.get(0),
        )
        .optional()
        .map_err(DbError::from)?;
    tx.commit().map_err(DbError::from)?;
    let Some(job) = jobs.into_iter().next() else {
        return Err(match installed {
            None => OnDemandError::NoPair(slug.to_owned()),
            Some(false) => OnDemandError::NotManaged(slug.to_owned()),
            // Marked, but held: a worker has it and runs it again for this change.
            Some(true) => OnDemandError::Busy(slug.to_owned()),
        });
    };
    // Marked without a queued job: this call runs it. Should a sweeper's worker take it
    // first, the claim says so and that worker records the attempt.
    match pairs::claim(c, &job, instance, now)? {
        Some(claim) => Ok(claim),
        None if resting(c, slug)? => Err(OnDemandError::Resting(slug.to_owned())),
        None => Err(OnDemandError::Busy(slug.to_owned())),
    }
}

// Whether the app's pause or quarantine kept the claim from being made.
fn resting(c: &rusqlite::Connection, slug: &str) -> Result<bool, DbError> {
    Ok(crate::db::rails::of(c, slug)?.is_some_and(|r| r.paused.is_some() || r.quarantined()))
}

fn message_of(settle: &Settle) -> &str {
    match settle {
        Settle::Done { message, .. }
        | Settle::Retry { message, .. }
        | Settle::Fail { message, .. } => message,
    }
}
