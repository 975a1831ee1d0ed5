//! How every change is made: one immediate transaction that runs the change, then the
//! revocation guard over the pairs it marked, and records what the guard did; the jobs
//! are enqueued after commit.

use rusqlite::TransactionBehavior;
use serde_json::json;
use uuid::Uuid;

use super::audit::Audit;
use super::outcome::{Held, held_of};
use super::{ServiceError, UserService};
use crate::db::{Conn, time};
use crate::pairs::{ReconcileJob, rails};
use crate::settings::Settings;

impl UserService {
    /// Runs `f` in one immediate transaction, then enqueues the jobs it returns.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(
                &rusqlite::Transaction<'_>,
                i64,
                &Audit,
            ) -> Result<(T, Vec<ReconcileJob>), ServiceError>
            + Send
            + 'static,
    {
        Ok(self.write_held(f).await?.0)
    }

    /// [`Self::write`], also returning which of the change's own pairs the revocation
    /// guard held, per app: what its message must say, not the app's whole held wave.
    pub(super) async fn write_held<T, F>(&self, f: F) -> Result<(T, Held), ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(
                &rusqlite::Transaction<'_>,
                i64,
                &Audit,
            ) -> Result<(T, Vec<ReconcileJob>), ServiceError>
            + Send
            + 'static,
    {
        let audit = Audit {
            actor: self.actor.to_string(),
        };
        let rules = guard_rules(&self.settings);
        let lift = self.lift_guard;
        let (out, jobs, held) = self
            .db
            .run(move |conn: &mut Conn| {
                // IMMEDIATE takes the write lock up front, so a busy database
                // waits on busy_timeout instead of failing mid-transaction.
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = time::now();
                // Notes left by revocations a worker has settled since would pass for
                // this change's own previous state.
                rails::forget_settled_priors(&tx)?;
                let (out, jobs) = f(&tx, now, &audit)?;
                let marked: Vec<(Uuid, String)> =
                    jobs.iter().map(|j| (j.user_id, j.app.clone())).collect();
                let (jobs, tripped) = rails::guard(&tx, jobs, &rules, lift, &audit.actor, now)?;
                let held = held_of(marked, &jobs);
                rails::forget_settled_priors(&tx)?;
                for t in tripped {
                    tracing::warn!(app = %t.app, held = t.held, reason = %t.reason,
                        "revocation guard tripped: the app is paused for revocations");
                    let after =
                        json!({ "paused": "revocations", "held": t.held, "reason": t.reason });
                    audit.record(
                        &tx,
                        now,
                        "app.guard_tripped",
                        Some(&t.app),
                        None,
                        Some(after),
                    )?;
                }
                tx.commit()?;
                Ok::<_, ServiceError>((out, jobs, held))
            })
            .await?;
        self.enqueue(&jobs).await;
        Ok((out, held))
    }

    /// Enqueues after commit; a failure only delays the jobs until the next sweep.
    async fn enqueue(&self, jobs: &[ReconcileJob]) {
        if let Err(e) = self.queue.enqueue(jobs).await {
            tracing::warn!(error = %e, jobs = jobs.len(), "enqueue failed; the sweeper will pick these pairs up");
        }
    }
}

/// The revocation guard's rules from `[provisioning]`.
pub(super) fn guard_rules(settings: &Settings) -> rails::GuardRules {
    let p = &settings.provisioning;
    rails::GuardRules {
        window_secs: i64::try_from(p.revoke_guard_window_secs).unwrap_or(i64::MAX),
        percent: i64::from(p.revoke_guard_percent),
        min: i64::from(p.revoke_guard_min),
    }
}
