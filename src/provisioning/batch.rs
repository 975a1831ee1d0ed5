//! One batch of an app's due pairs: claimed in one transaction, looked up in one listing
//! when that costs fewer requests than a lookup each, reconciled within the lane's limits,
//! group memberships written together, outcomes recorded a few at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::engine::{Engine, Target, desired};
use super::lanes::Lane;
use super::memberships::Memberships;
use super::push::{self, PushStore};
use super::quarantine::Signal;
use super::reconcile::{self, Desired, Planned, wanted};
use crate::db::time;
use crate::pairs::{Claim, Finished, LogEntry, ReconcileJob, Settle};
use crate::scim::{AccountIndex, ScimCall};

/// Below this many pairs an app that filters is asked once per person.
const LIST_FROM: usize = 4;
/// Identity lookups (Kratos) in flight at once for one batch.
const IDENTITY_LOOKUPS: usize = 8;

/// How long requests in flight may finish after `stop` before they are abandoned.
const GRACE: Duration = Duration::from_secs(5);

/// Claims, reconciles and records one batch of jobs of the lane's app; never fails,
/// every outcome is recorded, or (at `stop`) the pair is given back by `release`.
pub async fn run(
    engine: Arc<Engine>,
    lane: Arc<Lane>,
    jobs: Vec<ReconcileJob>,
    stop: watch::Receiver<bool>,
) {
    let span = tracing::info_span!("batch", app = %lane.app, jobs = jobs.len(),
        claimed = tracing::field::Empty, listed = tracing::field::Empty);
    async {
        let Some(claims) = super::writes::claim(&engine, jobs, &stop).await else {
            return;
        };
        tracing::Span::current().record("claimed", claims.len());
        if claims.is_empty() {
            return;
        }
        let (record, recorded) = mpsc::unbounded_channel();
        let writer = tokio::spawn(super::writes::record_outcomes(
            engine.clone(),
            lane.app.clone(),
            recorded,
            stop.clone(),
        ));
        match engine.targets.get(&lane.app) {
            Some(target) => reconcile_all(&engine, &lane, target, claims, &record, stop).await,
            None => {
                for claim in claims {
                    let settle = Settle::Fail {
                        message: format!("app {} has no [apps.scim] settings", claim.app),
                        scim_id: None,
                    };
                    let finished = Finished {
                        claim,
                        entries: Vec::new(),
                        settle,
                    };
                    let _ = record.send((finished, Signal::Neutral));
                }
            }
        }
        drop(record);
        if let Err(e) = writer.await {
            tracing::error!(error = %e, "the outcome writer stopped");
        }
    }
    .instrument(span)
    .await
}

async fn reconcile_all(
    engine: &Arc<Engine>,
    lane: &Lane,
    target: &Target,
    claims: Vec<Claim>,
    record: &mpsc::UnboundedSender<(Finished, Signal)>,
    stop: watch::Receiver<bool>,
) {
    // The accounts left unmanaged, read once per batch: an adoption elsewhere is seen.
    if let Some(app) = claims.first().map(|c| c.app.clone()) {
        match engine
            .db
            .run(move |c| crate::db::unmanaged::ids(c, &app))
            .await
        {
            Ok(ids) => target.client.set_unmanaged(ids),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the unmanaged accounts; keeping the last read")
            }
        }
    }
    let mut ready = Vec::with_capacity(claims.len());
    // With Kratos, each person's current name and email, a few lookups at once.
    let mut current = futures::stream::iter(claims)
        .map(|mut claim| async move {
            let found = engine.current_identity(&mut claim).await;
            (claim, found)
        })
        .buffer_unordered(IDENTITY_LOOKUPS);
    while let Some((claim, found)) = current.next().await {
        match found {
            Ok(()) => {
                let d = desired(&claim, &target.scim, time::now());
                ready.push((claim, d));
            }
            Err(e) => {
                let settle = engine.retry_or_fail(&claim, e.to_string(), None);
                let finished = Finished {
                    claim,
                    entries: Vec::new(),
                    settle,
                };
                let _ = record.send((finished, Signal::Neutral));
            }
        }
    }
    if ready.is_empty() {
        return;
    }
    let push = target
        .scim
        .push_groups
        .then(|| PushStore::new(engine.db.clone(), &lane.app));
    if let Err(e) = push::fill(&engine.db, &lane.app, &target.scim, &mut ready).await {
        for (claim, _) in ready {
            let message = format!("cannot read the groups to push: {e}");
            let settle = engine.retry_or_fail(&claim, message, None);
            let finished = Finished {
                claim,
                entries: Vec::new(),
                settle,
            };
            let _ = record.send((finished, Signal::Neutral));
        }
        return;
    }
    let listing = tokio::select! {
        listed = async {
            // Renames and deletes of pushed groups go first, journaled with the batch.
            let upkeep = push::upkeep(&engine.db, &lane.app, &target.scim, &target.client).await;
            let (index, calls) = list_once(target, &ready).await;
            (index, upkeep.into_iter().chain(calls).collect::<Vec<_>>())
        } => Some(listed),
        () = stopped(stop.clone(), GRACE) => None,
    };
    let Some((index, mut listing_calls)) = listing else {
        tracing::info!("stopping: the batch's pairs are given back unattempted");
        return;
    };
    tracing::Span::current().record("listed", index.is_some());
    let memberships = Memberships::new(target.client.clone(), ready.len(), push);
    let batch = Batch {
        engine,
        lane,
        target,
        index: index.as_ref(),
        memberships: &memberships,
        stop: &stop,
    };
    let count = ready.len();
    futures::stream::iter(ready.into_iter().enumerate())
        .for_each_concurrent(None, |(i, (claim, desired))| {
            // A request made for the whole batch is journaled once, with its first pair.
            let shared = if i == 0 {
                std::mem::take(&mut listing_calls)
            } else {
                Vec::new()
            };
            let batch = &batch;
            async move {
                tokio::select! {
                    finished = batch.attempt(claim, desired, shared) => {
                        if let Some(f) = finished {
                            let _ = record.send(f);
                        }
                    }
                    () = stopped(batch.stop.clone(), GRACE) => {
                        tracing::info!("stopping: an attempt in flight was abandoned; its pair is given back");
                    }
                }
            }
        })
        .await;
    tracing::debug!(pairs = count, "batch reconciled");
    engine.store_dialect(&lane.app, target).await;
}

/// What every pair of one batch shares.
struct Batch<'a> {
    engine: &'a Engine,
    lane: &'a Lane,
    target: &'a Target,
    index: Option<&'a AccountIndex>,
    memberships: &'a Memberships,
    stop: &'a watch::Receiver<bool>,
}

impl Batch<'_> {
    /// One pair: its account step within the lane's limits, then its memberships.
    /// `None`: stopping before it started; `release` gives the pair back.
    async fn attempt(
        &self,
        claim: Claim,
        desired: Desired,
        shared: Vec<ScimCall>,
    ) -> Option<(Finished, Signal)> {
        let span = tracing::info_span!("reconcile", app = %claim.app, user_id = %claim.user_id,
            outcome = tracing::field::Empty, duration_ms = tracing::field::Empty);
        self.attempt_in(claim, desired, shared)
            .instrument(span)
            .await
    }

    async fn attempt_in(
        &self,
        claim: Claim,
        desired: Desired,
        shared: Vec<ScimCall>,
    ) -> Option<(Finished, Signal)> {
        let started = Instant::now();
        let (planned, mut calls) = {
            let _lane = self.lane.limit.acquire().await;
            let _worker = self
                .engine
                .lanes
                .fair()
                .acquire(&self.lane.app, self.lane.max_concurrency)
                .await;
            if *self.stop.borrow() {
                let _ = self.memberships.write(Vec::new()).await;
                return None;
            }
            let session = self.target.client.session();
            let planned = reconcile::reconcile_account(&session, &desired, self.index).await;
            (planned, session.into_calls())
        };
        let result = match planned {
            Ok(Planned {
                reconciled,
                memberships: wanted,
            }) => {
                let (written, more) = self.memberships.write(wanted).await;
                calls.extend(more);
                written.map(|()| reconciled)
            }
            Err(e) => {
                // Still counted: the others must not wait for this pair.
                let _ = self.memberships.write(Vec::new()).await;
                Err(e)
            }
        };
        let signal = Signal::of(&result);
        let settle = self.engine.settle(&claim, result, time::now());
        let entries = log_entries(&claim.app, shared.into_iter().chain(calls));
        report(&settle, entries.len(), started, &desired);
        let finished = Finished {
            claim,
            entries,
            settle,
        };
        Some((finished, signal))
    }
}

// Resolves `grace` after `stop` turned true; never, when nobody can stop it.
async fn stopped(mut stop: watch::Receiver<bool>, grace: Duration) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(grace).await;
}

// One listing for the batch when it costs fewer requests than a lookup per person: an
// app that cannot filter is listed for two people or more; one that filters from
// LIST_FROM people on, and only if the listing takes at most half as many pages.
async fn list_once(
    target: &Target,
    ready: &[(Claim, Desired)],
) -> (Option<AccountIndex>, Vec<ScimCall>) {
    let session = target.client.session();
    let filters = match session.capabilities().await {
        Ok(caps) => caps.filter,
        Err(_) => return (None, session.into_calls()),
    };
    let n = ready.len();
    let max_pages = match (filters, n) {
        (false, n) if n >= 2 => u64::MAX,
        (true, n) if n >= LIST_FROM => (n / 2) as u64,
        _ => return (None, session.into_calls()),
    };
    let people: Vec<_> = ready.iter().map(|(_, d)| wanted(d)).collect();
    let index = match session.index_accounts(&people, max_pages).await {
        Ok(index) => index,
        Err(e) => {
            // Each pair looks for itself and meets the same fault, retried as usual.
            tracing::info!(error = %e, "the batch listing failed; looking people up one by one");
            None
        }
    };
    (index, session.into_calls())
}

fn report(settle: &Settle, calls: usize, started: Instant, d: &Desired) {
    let (outcome, detail) = match settle {
        Settle::Done {
            status, message, ..
        } => (status.as_str(), message.as_str()),
        Settle::Retry { message, .. } => ("error", message.as_str()),
        Settle::Fail { message, .. } => ("failed", message.as_str()),
    };
    let span = tracing::Span::current();
    span.record("outcome", outcome);
    span.record("duration_ms", started.elapsed().as_millis() as u64);
    // The app's words as a field, never as the line's text: they cannot forge a line.
    tracing::info!(
        user_name = %d.user_name,
        calls,
        detail,
        "attempt recorded"
    );
}

/// Journal entries of `calls`, counted in the metrics on the way.
pub fn log_entries(app: &str, calls: impl IntoIterator<Item = ScimCall>) -> Vec<LogEntry> {
    calls
        .into_iter()
        .inspect(|c| crate::metrics::observe_scim(app, c.operation, c.status, c.duration))
        .map(|c| super::log_entry(&c))
        .collect()
}
