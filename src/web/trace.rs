//! The traces of "Sync now" runs started from the dashboard, kept in memory while
//! their page polls them: each SCIM call as it completes, then how the run ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::provisioning::engine::Engine;
use crate::provisioning::on_demand::{self, Synced};
use crate::scim::TracedCall;

/// How long a finished trace can still be read.
const KEEP: Duration = Duration::from_secs(15 * 60);
/// Traces kept at most; the oldest finished ones go first.
const MAX_TRACES: usize = 200;

/// One run: the person, the app, the calls so far and, once over, the outcome.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The person.
    pub user: Uuid,
    /// The app's slug.
    pub app: String,
    /// Calls in the order they completed.
    pub calls: Vec<TracedCall>,
    /// How it ended; None while running. `Err` holds why no attempt was made.
    pub done: Option<Result<Synced, String>>,
    started: Instant,
}

/// The traces of this process, by run id.
#[derive(Clone, Default)]
pub struct Traces {
    runs: Arc<Mutex<HashMap<Uuid, Trace>>>,
}

impl Traces {
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Trace>> {
        // A panic elsewhere cannot leave a trace half-written; keep serving the map.
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts syncing (`user`, `app`) in the background; the id to read its trace by.
    pub fn start(&self, engine: Arc<Engine>, user: Uuid, app: String) -> Uuid {
        let id = Uuid::new_v4();
        {
            let mut runs = self.lock();
            runs.retain(|_, t| t.done.is_none() || t.started.elapsed() < KEEP);
            if runs.len() >= MAX_TRACES
                && let Some(oldest) = runs
                    .iter()
                    .filter(|(_, t)| t.done.is_some())
                    .min_by_key(|(_, t)| t.started)
                    .map(|(k, _)| *k)
            {
                runs.remove(&oldest);
            }
            runs.insert(
                id,
                Trace {
                    user,
                    app: app.clone(),
                    calls: Vec::new(),
                    done: None,
                    started: Instant::now(),
                },
            );
        }
        let traces = self.clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let run =
                tokio::spawn(async move { on_demand::sync_pair(&engine, user, &app, tx).await });
            while let Some(call) = rx.recv().await {
                if let Some(t) = traces.lock().get_mut(&id) {
                    t.calls.push(call);
                }
            }
            let done = match run.await {
                Ok(Ok(synced)) => Ok(synced),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => {
                    tracing::error!(error = %e, "a sync-now run ended abnormally");
                    Err("the run stopped unexpectedly; the server log says why".to_owned())
                }
            };
            if let Some(t) = traces.lock().get_mut(&id) {
                t.done = Some(done);
            }
        });
        id
    }

    /// A copy of the trace `id`, if it is still kept.
    pub fn get(&self, id: Uuid) -> Option<Trace> {
        self.lock().get(&id).cloned()
    }
}
