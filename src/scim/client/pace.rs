//! `max_requests_per_second`: requests to one app spaced evenly, each taking the next free slot.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Spaces requests `interval` apart.
pub(super) struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    /// A pacer letting `rate` requests a second through (`rate` > 0).
    pub(super) fn per_second(rate: f64) -> Pacer {
        Pacer {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this request's slot.
    pub(super) async fn wait_turn(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ten_requests_at_five_per_second_take_nine_intervals() {
        let pacer = Pacer::per_second(5.0);
        let started = Instant::now();
        for _ in 0..10 {
            pacer.wait_turn().await;
        }
        assert_eq!(started.elapsed(), Duration::from_millis(1800));
    }
}
