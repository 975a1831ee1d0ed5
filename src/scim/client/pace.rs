//! The app's pace, adapted to what it allows. `max_concurrency` and
//! `max_requests_per_second` are ceilings. A 429 pauses every request to the app until
//! the time it announced, halves the requests in flight and sets a pace from what the
//! app let through before it refused; each answer after that raises both again towards
//! the ceilings (additive increase, multiplicative decrease, as TCP does). So an app's
//! lane slows down by itself and speeds up again, and one 429 costs one round of
//! requests in flight, not a stampede of retries.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The wait after a 429 that named none, doubled while 429s follow, up to [`QUIET_MAX`].
const QUIET_FIRST: Duration = Duration::from_secs(1);
const QUIET_MAX: Duration = Duration::from_secs(60);
/// The shortest pause after a 429, so that `Retry-After: 0` cannot make a busy loop.
const MIN_PAUSE: Duration = Duration::from_millis(250);
/// A pace never drops below one request in 20 s.
const MIN_RATE: f64 = 0.05;
/// A pace in force is cut to this share of itself at least, by each slow-down.
const RATE_DECREASE: f64 = 0.7;
/// Each answer raises a pace in force by this share of itself.
const RATE_INCREASE: f64 = 0.01;
/// After this long without a request, what was measured before says nothing any more.
const IDLE: Duration = Duration::from_secs(30);

/// The limits of one app's requests; shared by every request to it.
pub(super) struct Limiter {
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    max_concurrency: usize,
    max_rate: Option<f64>,
    // Requests in flight allowed now (its floor), between 1 and max_concurrency.
    concurrency: f64,
    // Requests a second now; None: unpaced.
    rate: Option<f64>,
    // Without a configured rate, an adapted pace is lifted once it is back up to this.
    unpaced_from: f64,
    in_flight: usize,
    next_slot: Instant,
    // No request is sent before this (the time a 429 announced).
    resume_at: Instant,
    // Counts slow-downs: a 429 to a request sent before the last one slows down no more.
    epoch: u64,
    // Since the last slow-down (or idle spell): the first request sent, and the answers.
    first_sent: Option<Instant>,
    answered: u64,
    last_sent: Instant,
    quiet_wait: Duration,
}

/// A request's place among the app's requests in flight; given back on drop.
pub(crate) struct Slot {
    limiter: Arc<Limiter>,
    epoch: u64,
}

/// What the limits are now, for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Limits {
    pub in_flight: usize,
    pub per_second: Option<f64>,
}

enum Step {
    Pause(Instant),
    Full,
    Go(Instant, u64),
}

impl Limiter {
    /// Limits starting at their ceilings: `max_concurrency` (≥ 1) and `max_rate` (> 0, or none).
    pub(super) fn new(max_concurrency: usize, max_rate: Option<f64>) -> Arc<Limiter> {
        let now = Instant::now();
        let max_rate = max_rate.filter(|r| r.is_finite() && *r > 0.0);
        Arc::new(Limiter {
            state: Mutex::new(State {
                max_concurrency: max_concurrency.max(1),
                max_rate,
                concurrency: max_concurrency.max(1) as f64,
                rate: max_rate,
                unpaced_from: f64::INFINITY,
                in_flight: 0,
                next_slot: now,
                resume_at: now,
                epoch: 0,
                first_sent: None,
                answered: 0,
                last_sent: now,
                quiet_wait: QUIET_FIRST,
            }),
            changed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The limits in force.
    pub(super) fn limits(&self) -> Limits {
        let s = self.lock();
        Limits {
            in_flight: s.allowed(),
            per_second: s.rate,
        }
    }

    /// Waits for a place and this request's turn, and out any pause the app asked for.
    /// A pause longer than `patience` (what this request may still wait) is not waited:
    /// `Err` says how long it still runs. The time paused is taken from `patience`.
    pub(super) async fn admit(self: &Arc<Self>, patience: &mut Duration) -> Result<Slot, Duration> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so a place given back in between is not missed.
            changed.as_mut().enable();
            let now = Instant::now();
            let step = self.lock().step(now);
            match step {
                Step::Pause(until) => self.pause(until, patience).await?,
                Step::Full => changed.await,
                Step::Go(at, epoch) => {
                    let mut slot = Slot {
                        limiter: self.clone(),
                        epoch,
                    };
                    // Unpaced, or its turn already: a timer would still cost a tick of the
                    // timer wheel (up to 1 ms) per request.
                    if at > Instant::now() {
                        tokio::time::sleep_until(at).await;
                    }
                    // Another request's 429 while this one waited for its turn: wait it out too.
                    let until = self.lock().resume_at;
                    if until > Instant::now() {
                        self.pause(until, patience).await?;
                        slot.epoch = self.lock().epoch;
                    }
                    return Ok(slot);
                }
            }
        }
    }

    async fn pause(&self, until: Instant, patience: &mut Duration) -> Result<(), Duration> {
        let left = until.saturating_duration_since(Instant::now());
        if left > *patience {
            return Err(left);
        }
        tokio::time::sleep_until(until).await;
        *patience = patience.saturating_sub(left);
        Ok(())
    }
}

impl State {
    fn allowed(&self) -> usize {
        (self.concurrency.floor() as usize).clamp(1, self.max_concurrency)
    }

    fn step(&mut self, now: Instant) -> Step {
        if self.resume_at > now {
            return Step::Pause(self.resume_at);
        }
        if self.in_flight >= self.allowed() {
            return Step::Full;
        }
        if self.in_flight == 0 && now.saturating_duration_since(self.last_sent) > IDLE {
            self.first_sent = None;
            self.answered = 0;
        }
        self.in_flight += 1;
        self.first_sent.get_or_insert(now);
        self.last_sent = now;
        let at = match self.rate {
            Some(rate) => {
                let at = self.next_slot.max(now);
                self.next_slot = at + Duration::from_secs_f64(1.0 / rate);
                at
            }
            None => now,
        };
        Step::Go(at, self.epoch)
    }

    fn answered(&mut self, epoch: u64) {
        if epoch == self.epoch {
            self.answered += 1;
        }
        self.quiet_wait = QUIET_FIRST;
        // Additive: one more request in flight per round of answers.
        self.concurrency =
            (self.concurrency + 1.0 / self.concurrency).min(self.max_concurrency as f64);
        if let Some(rate) = self.rate {
            let raised = rate * (1.0 + RATE_INCREASE);
            self.rate = match self.max_rate {
                Some(max) => Some(raised.min(max)),
                None if raised >= self.unpaced_from => None,
                None => Some(raised),
            };
        }
    }

    // Returns when the pause ends.
    fn rate_limited(&mut self, epoch: u64, announced: Option<Duration>, now: Instant) -> Instant {
        let wait = match announced {
            Some(wait) => {
                self.quiet_wait = QUIET_FIRST;
                wait
            }
            None => {
                let wait = self.quiet_wait;
                self.quiet_wait = (wait * 2).min(QUIET_MAX);
                wait
            }
        }
        .max(MIN_PAUSE);
        self.resume_at = self.resume_at.max(now + wait);
        if epoch != self.epoch {
            // Sent before the last slow-down: that one counted it already.
            return self.resume_at;
        }
        self.concurrency = (self.concurrency / 2.0).max(1.0);
        // What the app let through: the answers since the last slow-down, over the time
        // from the first of them to the end of the pause it asks for now.
        let since = self
            .first_sent
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        let answered = self.answered as f64;
        let allowed = (self.answered > 0).then(|| answered / (since + wait).as_secs_f64());
        let decreased = match (self.rate, allowed) {
            (Some(rate), Some(allowed)) => Some(allowed.min(rate * RATE_DECREASE)),
            (Some(rate), None) => Some(rate * RATE_DECREASE),
            (None, Some(allowed)) => {
                // Unpaced until now: pace again once back at twice that, or the rate that
                // ran into the limit, whichever is higher.
                let ran = answered / since.as_secs_f64().max(0.001);
                self.unpaced_from = ran.max(2.0 * allowed);
                Some(allowed)
            }
            // Refused at once: the pause alone, and a measure next time.
            (None, None) => None,
        };
        self.rate = decreased.map(|r| r.max(MIN_RATE));
        self.epoch += 1;
        self.first_sent = None;
        self.answered = 0;
        self.next_slot = self.resume_at;
        self.resume_at
    }
}

impl Slot {
    /// The app answered (anything but a 429 or a 5xx): the limits may rise again.
    pub(super) fn answered(&self) {
        self.limiter.lock().answered(self.epoch);
        self.limiter.changed.notify_waiters();
    }

    /// The app answered 429, naming `announced` (or not): every request pauses, the limits
    /// drop. Returns how long the pause runs.
    pub(super) fn rate_limited(&self, announced: Option<Duration>) -> Duration {
        let now = Instant::now();
        let until = self.limiter.lock().rate_limited(self.epoch, announced, now);
        self.limiter.changed.notify_waiters();
        until.saturating_duration_since(now)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.limiter.lock().in_flight -= 1;
        self.limiter.changed.notify_waiters();
    }
}

#[cfg(test)]
#[path = "pace_tests.rs"]
mod tests;
