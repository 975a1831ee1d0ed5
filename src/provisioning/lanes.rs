//! Per-app lanes: the jobs of one app gathered into batches and run within the app's
//! `max_concurrency`, with `[provisioning] workers` shared fairly between apps, so a
//! slow or hanging app never holds more than its share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

use super::batch;
use super::engine::Engine;
use crate::pairs::ReconcileJob;

/// How long a lane waits after the first job of a change for the rest of it to arrive.
const GATHER: Duration = Duration::from_millis(30);
/// Pairs per batch at most: one claim transaction, one listing.
const BATCH_MAX: usize = 5_000;

/// The jobs of one app waiting for their batch.
pub struct Lane {
    /// The app's slug.
    pub app: String,
    /// Pairs of this app in flight at most (`max_concurrency`).
    pub limit: Semaphore,
    /// The same number, for the fair share.
    pub max_concurrency: usize,
    waiting: Mutex<Vec<ReconcileJob>>,
    wake: Notify,
}

impl Lane {
    /// An empty lane for `app`.
    pub fn new(app: &str, max_concurrency: usize) -> Lane {
        Lane {
            app: app.to_owned(),
            limit: Semaphore::new(max_concurrency.max(1)),
            max_concurrency: max_concurrency.max(1),
            waiting: Mutex::new(Vec::new()),
            wake: Notify::new(),
        }
    }

    /// Queues a job for the next batch.
    pub fn push(&self, job: ReconcileJob) {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(job);
        self.wake.notify_one();
    }

    // The next batch: each pair once, however many jobs named it.
    fn take(&self) -> Vec<ReconcileJob> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let cut = waiting.len().min(BATCH_MAX);
        let rest = waiting.split_off(cut);
        let mut batch = std::mem::replace(&mut *waiting, rest);
        if !waiting.is_empty() {
            self.wake.notify_one();
        }
        drop(waiting);
        let mut seen = std::collections::HashSet::new();
        batch.retain(|j| seen.insert(j.user_id));
        batch
    }
}

/// One lane per provisionable app.
pub struct Lanes {
    lanes: HashMap<String, Arc<Lane>>,
    fair: Fair,
}

impl Lanes {
    /// A lane per app with its `max_concurrency`, sharing `workers`.
    pub fn new(apps: impl IntoIterator<Item = (String, usize)>, workers: usize) -> Lanes {
        Lanes {
            lanes: apps
                .into_iter()
                .map(|(app, max)| {
                    let lane = Arc::new(Lane::new(&app, max));
                    (app, lane)
                })
                .collect(),
            fair: Fair::new(workers),
        }
    }

    /// The lane of `app`, if it is provisionable.
    pub fn get(&self, app: &str) -> Option<&Arc<Lane>> {
        self.lanes.get(app)
    }

    /// Workers shared between the apps.
    pub fn fair(&self) -> &Fair {
        &self.fair
    }

    /// Every lane.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Lane>> {
        self.lanes.values()
    }
}

/// Runs one lane until `stop`: gathers its jobs into batches; batches already started finish.
pub async fn run(engine: Arc<Engine>, lane: Arc<Lane>, mut stop: watch::Receiver<bool>) {
    let mut batches = JoinSet::new();
    loop {
        tokio::select! {
            _ = lane.wake.notified() => {}
            _ = stop.wait_for(|s| *s) => break,
            Some(_) = batches.join_next(), if !batches.is_empty() => continue,
        }
        tokio::time::sleep(GATHER).await;
        let jobs = lane.take();
        if !jobs.is_empty() {
            batches.spawn(batch::run(engine.clone(), lane.clone(), jobs, stop.clone()));
        }
    }
    while batches.join_next().await.is_some() {}
}

/// `[provisioning] workers` shared between apps: an app gets at most its
/// `max_concurrency`, and at most an even share while other apps have work too.
pub struct Fair {
    workers: usize,
    state: Mutex<FairState>,
    changed: Notify,
}

#[derive(Default)]
struct FairState {
    total: usize,
    // Per app: pairs running, pairs waiting for a worker.
    apps: HashMap<String, (usize, usize)>,
}

/// A worker held for one pair; given back on drop.
pub struct Worker<'a> {
    fair: &'a Fair,
    app: String,
}

impl Fair {
    fn new(workers: usize) -> Fair {
        Fair {
            workers: workers.max(1),
            state: Mutex::new(FairState::default()),
            changed: Notify::new(),
        }
    }

    /// Waits for a worker for one pair of `app`.
    pub async fn acquire(&self, app: &str, max_concurrency: usize) -> Worker<'_> {
        self.update(app, |(_, waiting)| *waiting += 1);
        // Counted as waiting until granted, also when this future is dropped before.
        let mut queued = Queued {
            fair: self,
            app,
            armed: true,
        };
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so a release in between is not missed.
            changed.as_mut().enable();
            {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let busy = state
                    .apps
                    .values()
                    .filter(|(running, waiting)| running + waiting > 0)
                    .count()
                    .max(1);
                let share = self.workers.div_ceil(busy).min(max_concurrency.max(1));
                let total = state.total;
                let entry = state.apps.entry(app.to_owned()).or_default();
                if total < self.workers && entry.0 < share {
                    entry.0 += 1;
                    entry.1 -= 1;
                    state.total += 1;
                    queued.armed = false;
                    return Worker {
                        fair: self,
                        app: app.to_owned(),
                    };
                }
            }
            changed.await;
        }
    }

    fn update(&self, app: &str, change: impl FnOnce(&mut (usize, usize))) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        change(state.apps.entry(app.to_owned()).or_default());
    }
}

struct Queued<'a> {
    fair: &'a Fair,
    app: &'a str,
    armed: bool,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.fair.update(self.app, |(_, waiting)| *waiting -= 1);
            self.fair.changed.notify_waiters();
        }
    }
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        {
            let mut state = self.fair.state.lock().unwrap_or_else(|p| p.into_inner());
            state.total -= 1;
            if let Some(entry) = state.apps.get_mut(&self.app) {
                entry.0 -= 1;
            }
        }
        self.fair.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_busy_app_leaves_the_other_its_share() {
        let fair = Fair::new(4);
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(fair.acquire("slow", 4).await);
        }
        // All four workers are with "slow"; one comes back and "files" waits for it.
        let files = fair.acquire("files", 4);
        tokio::pin!(files);
        assert!(futures::poll!(files.as_mut()).is_pending());
        held.pop();
        let _files = files.await;
        // Two apps busy: "slow" gets no more than its half until it gives some back.
        let more = fair.acquire("slow", 4);
        tokio::pin!(more);
        assert!(futures::poll!(more.as_mut()).is_pending());
        drop(held);
        let _more = more.await;
    }

    #[tokio::test]
    async fn an_app_never_exceeds_its_max_concurrency() {
        let fair = Fair::new(8);
        let _a = fair.acquire("hangs", 2).await;
        let _b = fair.acquire("hangs", 2).await;
        let third = fair.acquire("hangs", 2);
        tokio::pin!(third);
        assert!(futures::poll!(third.as_mut()).is_pending());
    }
}
