//! The alerts task: turns state into queued messages (`watch`), then hands them to each
//! channel (`deliver`), every few seconds until `serve` stops.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{CHANNEL_NAMES, Channel, compose};
use crate::db::alerts::{self, MessageState};
use crate::db::{Db, DbError, time};
use crate::domain::{AlertKind, Condition};
use crate::health::{ALERTS_TASK, Health};
use crate::settings::Settings;
use crate::supervise::supervise;

/// Messages kept waiting per channel at most; older ones are dropped (and logged).
const OUTBOX_LIMIT: usize = 500;

/// Messages handed to one channel per round, so a stop is never kept waiting long.
const PER_ROUND: usize = 20;

/// The first wait after a channel failed; doubled per failure up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(15);
const RETRY_MAX: Duration = Duration::from_secs(600);

/// The alerts of one process: its channels and when each may be tried again.
pub struct Alerts {
    db: Db,
    settings: Arc<Settings>,
    channels: Vec<Channel>,
    // Per channel: failures in a row, and when to try again.
    retry: HashMap<&'static str, (u32, Instant)>,
}

impl Alerts {
    /// The channels of `[alerts]`; an error says which could not be set up.
    pub fn new(db: Db, settings: Arc<Settings>) -> Result<Alerts, String> {
        let channels = super::channels(&settings)?;
        Ok(Alerts {
            db,
            settings,
            channels,
            retry: HashMap::new(),
        })
    }

    /// Whether any channel is configured.
    pub fn has_channels(&self) -> bool {
        !self.channels.is_empty()
    }

    /// Queues a message for every condition with news (raised, resolved) and for the pairs
    /// that became failed (one message per app per `alert_batch_secs`); how many.
    pub async fn watch(&self, now: i64) -> Result<usize, DbError> {
        let settings = self.settings.clone();
        let names: Vec<&'static str> = self.channels.iter().map(Channel::name).collect();
        let (queued, dropped) = self
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let mut out = Queue {
                    tx: &tx,
                    names: &names,
                    queued: 0,
                    dropped: 0,
                };
                failures(&mut out, &settings, now)?;
                for row in alerts::to_announce(&tx)? {
                    if row.announced_at.is_none() {
                        out.push(&compose::raised(&settings, &row, now))?;
                        alerts::announced(&tx, &row.condition, now)?;
                    }
                    if row.resolved_at.is_some() {
                        out.push(&compose::resolved(&settings, &row, now))?;
                        alerts::forget(&tx, &row.condition)?;
                    }
                }
                let counts = (out.queued, out.dropped);
                tx.commit()?;
                Ok::<_, DbError>(counts)
            })
            .await?;
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "alert messages dropped: more than {OUTBOX_LIMIT} were waiting for a channel"
            );
        }
        Ok(queued)
    }

    /// Hands waiting messages to each channel, oldest first; a channel that fails waits
    /// before its next try (its messages stay queued). How many were delivered.
    pub async fn deliver(&mut self) -> Result<usize, DbError> {
        let mut delivered = 0;
        for channel in &self.channels {
            let name = channel.name();
            if self
                .retry
                .get(name)
                .is_some_and(|(_, at)| Instant::now() < *at)
            {
                continue;
            }
            for _ in 0..PER_ROUND {
                let Some(queued) = self.db.run(move |c| alerts::next(c, name)).await? else {
                    break;
                };
                let id = queued.id;
                match channel.send(&queued.message).await {
                    Ok(()) => {
                        self.db.run(move |c| alerts::sent(c, id)).await?;
                        self.retry.remove(name);
                        delivered += 1;
                    }
                    Err(e) => {
                        let error = e.to_string();
                        self.db
                            .run(move |c| alerts::not_sent(c, id, &error))
                            .await?;
                        let failures = self.retry.get(name).map_or(0, |(n, _)| *n) + 1;
                        let wait = RETRY_FIRST
                            .saturating_mul(1 << (failures - 1).min(10))
                            .min(RETRY_MAX);
                        self.retry.insert(name, (failures, Instant::now() + wait));
                        tracing::warn!(
                            channel = name,
                            error = %e,
                            attempts = queued.attempts + 1,
                            retry_in_secs = wait.as_secs(),
                            "alert channel failed; its messages wait for the next try"
                        );
                        break;
                    }
                }
            }
        }
        Ok(delivered)
    }

    /// Watches and delivers every few seconds until `stop`; a failing round is logged
    /// once per streak.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>, health: Health) {
        let every = Duration::from_secs(self.settings.alerts.alert_batch_secs.clamp(1, 5));
        let configured: Vec<&'static str> = self.channels.iter().map(Channel::name).collect();
        let unused: Vec<&'static str> = CHANNEL_NAMES
            .into_iter()
            .filter(|n| !configured.contains(n))
            .collect();
        match self
            .db
            .run(move |c| {
                unused
                    .iter()
                    .map(|n| alerts::drop_channel(c, n))
                    .sum::<Result<usize, DbError>>()
            })
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                n,
                "alert messages dropped for channels no longer configured"
            ),
            Err(e) => tracing::warn!(error = %e, "could not tidy the alert outbox"),
        }
        loop {
            let round = async {
                self.watch(time::now()).await?;
                self.deliver().await
            };
            tokio::select! {
                r = round => match r {
                    Ok(_) => {
                        if health.task_ok(ALERTS_TASK).is_some() {
                            tracing::info!("alerts: the database answers again");
                        }
                    }
                    Err(e) => {
                        if health.task_failed(ALERTS_TASK, &e.to_string()) {
                            tracing::warn!(error = %e, "alerts: cannot read or write the database; trying again (logged once until it works)");
                        }
                    }
                },
                _ = stop.wait_for(|s| *s) => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }
}

/// Starts the alerts task when a channel is configured, restarted with backoff should
/// it ever end before `stop`.
pub fn spawn(
    db: Db,
    settings: Arc<Settings>,
    stop: watch::Receiver<bool>,
    health: Health,
) -> Option<tokio::task::JoinHandle<()>> {
    if !settings.alerts.any_channel() {
        return None;
    }
    // Checked once here, so a channel that cannot be set up is said at start, not per run.
    if let Err(e) = Alerts::new(db.clone(), settings.clone()) {
        tracing::error!(error = %e, "alerts are off: a channel could not be set up");
        return None;
    }
    let rx = stop.clone();
    let run_health = health.clone();
    Some(tokio::spawn(supervise(
        ALERTS_TASK,
        health,
        stop,
        move |_| {
            let (db, settings, rx, health) =
                (db.clone(), settings.clone(), rx.clone(), run_health.clone());
            async move {
                let alerts = Alerts::new(db, settings)?;
                alerts.run(rx, health).await;
                Ok(())
            }
        },
    )))
}

/// Messages queued in one transaction, for every configured channel.
struct Queue<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    names: &'a [&'static str],
    queued: usize,
    dropped: usize,
}

impl Queue<'_> {
    fn push(&mut self, message: &alerts::Message) -> Result<(), DbError> {
        self.dropped += alerts::enqueue(self.tx, self.names, message, OUTBOX_LIMIT)?;
        self.queued += 1;
        Ok(())
    }
}

/// Pairs that became failed: a message per app naming them, at most one per
/// `alert_batch_secs`; the condition resolves once no pair of the app is failed and
/// every pair it named has settled.
fn failures(out: &mut Queue<'_>, settings: &Settings, now: i64) -> Result<(), DbError> {
    let batch = settings.alerts.alert_batch_secs as i64;
    for app in alerts::apps_to_watch(out.tx)? {
        let condition = Condition::of_app(AlertKind::PairsFailed, app.clone());
        let failed_now = alerts::failed_count(out.tx, &app)?;
        if failed_now == 0 {
            // Quarantine turns failed pairs back into waiting ones while the app is still
            // down: that is not the end of the failure, their settling is.
            if alerts::named_unsettled(out.tx, &app)? == 0 {
                alerts::resolve(
                    out.tx,
                    &condition,
                    "Every pair that had failed is settled: provisioned or revoked as desired.",
                    now,
                )?;
            }
            continue;
        }
        let row = alerts::get(out.tx, &condition)?;
        let due = row.as_ref().is_none_or(|r| {
            r.resolved_at.is_some() || r.announced_at.is_none_or(|t| now - t >= batch)
        });
        if !due {
            continue;
        }
        let (listed, new) = alerts::take_new_failures(out.tx, &app, compose::PEOPLE_PER_MESSAGE)?;
        if new == 0 {
            continue;
        }
        let state = if row.is_some() {
            MessageState::Update
        } else {
            MessageState::Raised
        };
        alerts::raise(out.tx, &condition, &format!("{new} failed"), now)?;
        out.push(&compose::failures(
            settings, &app, state, &listed, new, failed_now, now,
        ))?;
        alerts::announced(out.tx, &condition, now)?;
    }
    Ok(())
}
