//! Quarantine: an app whose every request fails for `quarantine_after_secs`, or that
//! refuses the credentials even after a fresh token, stops being tried pair by pair.
//! Its pairs wait as `error`; one probe runs every `quarantine_probe_secs`, and the
//! first that succeeds lets every pair go at once.

use std::sync::Arc;

use super::engine::{Engine, Target};
use super::reconcile::Reconciled;
use crate::db::{DbError, rails, time};
use crate::pairs;
use crate::scim::ScimError;

/// What one attempt says about its app as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// The app answered as it should.
    Answered,
    /// No answer, or a 5xx/timeout: the app may be down.
    Outage(String),
    /// 401/403 after a fresh token: the credentials are wrong.
    Refused(String),
    /// Nothing about the app (a person's bad data, Kratos away, stopping).
    Neutral,
}

impl Signal {
    /// The signal of an attempt's result.
    pub fn of(result: &Result<Reconciled, ScimError>) -> Signal {
        match result {
            Ok(_) => Signal::Answered,
            Err(e) => Signal::of_error(e),
        }
    }

    fn of_error(e: &ScimError) -> Signal {
        if e.was_held_back() {
            // Never sent: it says nothing new about the app.
            Signal::Neutral
        } else if e.is_rate_limited() {
            // A 429 is the app answering, only slower than we asked: never an outage.
            Signal::Answered
        } else if e.refuses_credentials() {
            Signal::Refused(e.to_string())
        } else if e.is_transient() {
            Signal::Outage(e.to_string())
        } else {
            // The app answered, if only to refuse this one request.
            Signal::Answered
        }
    }
}

/// Notes what a batch's attempts said about `app`: an answer ends a failing stretch (and
/// a quarantine), refused credentials quarantine at once, and outages do once every
/// request failed for `quarantine_after_secs`.
pub async fn observe(engine: &Arc<Engine>, app: &str, signals: &[Signal]) {
    let answered = signals.contains(&Signal::Answered);
    let refused = signals.iter().find_map(|s| match s {
        Signal::Refused(m) => Some(m.clone()),
        _ => None,
    });
    let outage = signals.iter().find_map(|s| match s {
        Signal::Outage(m) => Some(m.clone()),
        _ => None,
    });
    if !answered && refused.is_none() && outage.is_none() {
        return;
    }
    let p = &engine.settings.provisioning;
    let (after, every) = (
        i64::try_from(p.quarantine_after_secs).unwrap_or(i64::MAX),
        i64::try_from(p.quarantine_probe_secs).unwrap_or(i64::MAX),
    );
    let slug = app.to_owned();
    let changed = engine
        .db
        .run(move |c| {
            let now = time::now();
            if answered {
                return recover(c, &slug, now).map(|jobs| jobs.map(Change::Recovered));
            }
            if let Some(r) = rails::of(c, &slug)?.filter(|r| r.quarantined()) {
                // Attempts in flight when it began: they wait with the others.
                let (reason, since) = (r.quarantine_reason.unwrap_or_default(), r.failing_since);
                let next = r.next_probe_at.unwrap_or(now + every);
                let from = since.unwrap_or(now).min(now - 60);
                pairs::rails::quarantine_pairs(c, &slug, &reason, from, next, refused.is_some())?;
                return Ok(None);
            }
            let since = rails::note_failing(c, &slug, now)?;
            let was_refused = refused.is_some();
            let reason = match (refused, outage) {
                (Some(refused), _) => refused,
                (None, Some(outage)) if after > 0 && now - since >= after => format!(
                    "every request failed for {} min; the last: {outage}",
                    (now - since) / 60
                ),
                _ => return Ok(None),
            };
            // The batch's outcomes were stamped a moment before: a refusal takes the pairs
            // that failed in the last minute with it, whatever the clock read then.
            let from = if was_refused {
                since.min(now - 60)
            } else {
                since
            };
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            rails::quarantine(&tx, &slug, &reason, now, now + every)?;
            let waiting = pairs::rails::quarantine_pairs(
                &tx,
                &slug,
                &reason,
                from,
                now + every,
                was_refused,
            )?;
            tx.commit()?;
            Ok(Some(Change::Quarantined { reason, waiting }))
        })
        .await;
    report(engine, app, changed).await;
}

enum Change {
    Quarantined { reason: String, waiting: usize },
    Recovered(Vec<pairs::ReconcileJob>),
}

// Ends a failing stretch; when it was a quarantine, the app's pairs are due at once.
fn recover(
    c: &mut rusqlite::Connection,
    app: &str,
    now: i64,
) -> Result<Option<Vec<pairs::ReconcileJob>>, DbError> {
    // The usual case, an app that was not failing, costs one read and no write lock.
    let failing = rails::of(c, app)?.is_some_and(|r| r.failing_since.is_some() || r.quarantined());
    if !failing {
        return Ok(None);
    }
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let jobs = if rails::note_success(&tx, app, now)? {
        Some(pairs::rails::recovered(&tx, app, now)?)
    } else {
        None
    };
    tx.commit()?;
    Ok(jobs)
}

async fn report(engine: &Arc<Engine>, app: &str, changed: Result<Option<Change>, DbError>) {
    match changed {
        Ok(None) => {}
        Ok(Some(Change::Quarantined { reason, waiting })) => {
            tracing::warn!(app, pairs = waiting, reason = %reason, "app quarantined: one probe at a time until it answers");
        }
        Ok(Some(Change::Recovered(jobs))) => {
            tracing::info!(
                app,
                pairs = jobs.len(),
                "app answers again: quarantine ended"
            );
            if let Err(e) = engine.queue.enqueue(&jobs).await {
                tracing::warn!(error = %e, "enqueue failed; the sweeper will pick these pairs up");
            }
        }
        Err(e) => tracing::error!(app, error = %e, "could not record the app's health"),
    }
}

/// Probes every quarantined app whose probe is due; returns how many were probed.
pub async fn probe_due(engine: &Arc<Engine>) -> Result<usize, DbError> {
    let due = engine.db.run(|c| rails::due_probes(c, time::now())).await?;
    for app in &due {
        probe(engine, app).await?;
    }
    Ok(due.len())
}

/// Probes one quarantined app now with one harmless read (a random id that must find
/// nobody); returns whether it answered. A failed probe sets the next one.
pub async fn probe(engine: &Arc<Engine>, app: &str) -> Result<bool, DbError> {
    let Some(target) = engine.targets.get(app) else {
        return Ok(false);
    };
    let signal = probe_once(app, target).await;
    let every =
        i64::try_from(engine.settings.provisioning.quarantine_probe_secs).unwrap_or(i64::MAX);
    let answered = signal == Signal::Answered;
    if answered {
        observe(engine, app, &[signal]).await;
    } else {
        let reason = match signal {
            Signal::Outage(m) | Signal::Refused(m) => m,
            Signal::Answered | Signal::Neutral => String::new(),
        };
        let slug = app.to_owned();
        engine
            .db
            .run(move |c| {
                let now = time::now();
                let state = rails::of(c, &slug)?;
                let reason = match state.and_then(|s| s.quarantine_reason) {
                    Some(old) if reason.is_empty() => old,
                    _ => reason,
                };
                rails::quarantine(c, &slug, &reason, now, now + every).map(|_| ())
            })
            .await?;
        tracing::info!(app, "quarantine probe failed; trying again later");
    }
    Ok(answered)
}

async fn probe_once(app: &str, target: &Target) -> Signal {
    let session = target.client.session();
    let random = uuid::Uuid::new_v4().to_string();
    let result = session.get_user(&random).await;
    // Counted in the metrics like any request; there is no pair to journal it with.
    let _ = super::batch::log_entries(app, session.into_calls());
    match result {
        Ok(_) => Signal::Answered,
        Err(e) => Signal::of_error(&e),
    }
}
