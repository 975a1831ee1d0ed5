//! What `serve`'s background tasks and database writes say about the process: the one
//! place `/healthz`, the overview's banner and the gauges of `/metrics` read.
//!
//! Tasks and writers report here; nothing here does I/O. A task is "failing" from its
//! first error until it runs steadily again; the database is "unwritable" from the
//! first failed write until a write succeeds. Only a stretch longer than the threshold
//! makes the process unhealthy: a moment of "database is locked" is no outage.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The name the alerts task reports under: its failures are logged and counted, but are
/// no provisioning outage, so they never make the process unhealthy.
pub const ALERTS_TASK: &str = "alerts";

/// The shared record of the process' health; cheap to clone.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Mutex<State>>,
    threshold: Duration,
}

struct Failing {
    since: Instant,
    last: Instant,
    error: String,
}

#[derive(Default)]
struct State {
    // Per supervised task: since when it fails, and its last failure.
    failing: BTreeMap<&'static str, Failing>,
    // Since when writes fail, and the last error.
    unwritable: Option<(Instant, String)>,
    // How many failing stretches of writes ended.
    recoveries: u64,
}

/// Why the process is unhealthy, in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// One sentence for people and probes, e.g. "provisioning stopped 42 s ago: …".
    pub reason: String,
}

impl Health {
    /// A record that calls a stretch of failures unhealthy once it lasts `threshold`.
    pub fn new(threshold: Duration) -> Health {
        Health {
            inner: Arc::new(Mutex::new(State::default())),
            threshold,
        }
    }

    /// `task` failed with `error`; returns true when this starts a streak (log it then).
    pub fn task_failed(&self, task: &'static str, error: &str) -> bool {
        let now = Instant::now();
        self.with(|s| match s.failing.get_mut(task) {
            Some(f) => {
                f.last = now;
                f.error = error.to_owned();
                false
            }
            None => {
                let error = error.to_owned();
                s.failing.insert(
                    task,
                    Failing {
                        since: now,
                        last: now,
                        error,
                    },
                );
                true
            }
        })
    }

    /// `task` works again; returns how long its streak lasted, if it had one.
    pub fn task_ok(&self, task: &'static str) -> Option<Duration> {
        self.with(|s| s.failing.remove(task).map(|f| f.since.elapsed()))
    }

    /// `task` has run steadily since `started`: its streak ends unless it reported a
    /// failure itself since then (a sweep failing inside a run that goes on).
    pub fn task_steady(&self, task: &'static str, started: Instant) -> Option<Duration> {
        self.with(|s| match s.failing.get(task) {
            Some(f) if f.last < started => s.failing.remove(task).map(|f| f.since.elapsed()),
            _ => None,
        })
    }

    /// A write to the database failed; returns true when this starts a streak.
    pub fn write_failed(&self, error: &str) -> bool {
        self.with(|s| match &mut s.unwritable {
            Some((_, last)) => {
                *last = error.to_owned();
                false
            }
            None => {
                s.unwritable = Some((Instant::now(), error.to_owned()));
                true
            }
        })
    }

    /// A write to the database succeeded; returns how long writes had failed, if they had.
    pub fn write_ok(&self) -> Option<Duration> {
        self.with(|s| {
            let took = s.unwritable.take().map(|(since, _)| since.elapsed());
            s.recoveries += u64::from(took.is_some());
            took
        })
    }

    /// How many stretches of failing writes have ended: a change says "look again now".
    pub fn recoveries(&self) -> u64 {
        self.with(|s| s.recoveries)
    }

    /// Whether every provisioning task runs (none is in a failing streak).
    pub fn provisioning_up(&self) -> bool {
        self.with(|s| s.failing.keys().all(|t| *t == ALERTS_TASK))
    }

    /// Whether the last write to the database succeeded.
    pub fn database_writable(&self) -> bool {
        self.with(|s| s.unwritable.is_none())
    }

    /// Why the process is unhealthy: a task failing, or writes failing, longer than the
    /// threshold; `None` while healthy.
    pub fn verdict(&self) -> Option<Verdict> {
        let threshold = self.threshold;
        self.with(|s| {
            // The database first: when it is the cause, the tasks only echo it.
            if let Some((since, error)) = &s.unwritable
                && since.elapsed() >= threshold
            {
                return Some(Verdict {
                    reason: format!(
                        "the database has not been writable for {} s: {}",
                        since.elapsed().as_secs(),
                        one_line(error)
                    ),
                });
            }
            let (task, f) = s
                .failing
                .iter()
                .filter(|(task, f)| **task != ALERTS_TASK && f.since.elapsed() >= threshold)
                .min_by_key(|(_, f)| f.since)?;
            Some(Verdict {
                reason: format!(
                    "provisioning stopped: the {task} has failed for {} s: {}",
                    f.since.elapsed().as_secs(),
                    one_line(&f.error)
                ),
            })
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A poisoned lock only means a reporter panicked mid-update; the state is still
        // a set of timestamps and messages, so keep using it.
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }
}

// Errors can carry an app's words or several lines; a probe's answer stays one short line.
fn one_line(error: &str) -> String {
    let flat: String = error
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stretch_shorter_than_the_threshold_is_no_verdict() {
        let h = Health::new(Duration::from_secs(60));
        assert!(h.write_failed("database or disk is full"));
        assert!(!h.write_failed("database or disk is full"), "one streak");
        assert!(!h.database_writable());
        assert_eq!(h.verdict(), None);
        assert!(h.write_ok().is_some());
        assert!(h.database_writable());
    }

    #[test]
    fn a_stretch_past_the_threshold_says_why_in_one_line() {
        let h = Health::new(Duration::ZERO);
        assert!(h.task_failed("worker", "Failed to poll backend\nsecond line"));
        assert!(!h.provisioning_up());
        let v = h.verdict().map(|v| v.reason).unwrap_or_default();
        assert!(v.starts_with("provisioning stopped: the worker"), "{v}");
        assert!(!v.contains('\n'), "{v}");
        h.write_failed("database or disk is full");
        let v = h.verdict().map(|v| v.reason).unwrap_or_default();
        assert!(v.contains("not been writable"), "the cause first: {v}");
        h.write_ok();
        h.task_ok("worker");
        assert_eq!(h.verdict(), None);
        assert!(h.provisioning_up());
    }

    #[test]
    fn a_failure_reported_during_a_run_outlives_the_runs_steadiness() {
        let h = Health::new(Duration::ZERO);
        let started = Instant::now();
        h.task_failed("sweeper", "database is locked");
        assert_eq!(h.task_steady("sweeper", started), None);
        assert!(!h.provisioning_up());
        let later = Instant::now() + Duration::from_millis(1);
        assert!(h.task_steady("sweeper", later).is_some());
        assert!(h.provisioning_up());
    }
}
