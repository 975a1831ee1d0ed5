//! Retry delays: exponential with jitter, never sooner than the app asked.

use std::time::Duration;

use rand::Rng;

/// When to try again after `attempts` failed attempts (1 = the first failure).
pub fn delay(
    attempts: u32,
    base: Duration,
    max: Duration,
    retry_after: Option<Duration>,
) -> Duration {
    let exp = base.saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    let capped = exp.min(max);
    // "Equal jitter": half fixed, half random, so retries of many pairs spread
    // out without ever collapsing to zero.
    let half = capped / 2;
    let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
    let computed = half + Duration::from_millis(jitter);
    // Honour Retry-After, but not beyond a day: a broken header must not park a pair forever.
    match retry_after {
        Some(wait) => computed.max(wait.min(Duration::from_secs(86_400))),
        None => computed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_and_caps() {
        let base = Duration::from_secs(5);
        let max = Duration::from_secs(3600);
        for _ in 0..50 {
            let d1 = delay(1, base, max, None);
            assert!(d1 >= Duration::from_millis(2500) && d1 <= base, "{d1:?}");
            let d4 = delay(4, base, max, None);
            assert!(
                d4 >= Duration::from_secs(20) && d4 <= Duration::from_secs(40),
                "{d4:?}"
            );
            let d30 = delay(30, base, max, None);
            assert!(d30 >= max / 2 && d30 <= max, "{d30:?}");
        }
    }

    #[test]
    fn never_sooner_than_retry_after() {
        let d = delay(
            1,
            Duration::from_secs(1),
            Duration::from_secs(10),
            Some(Duration::from_secs(120)),
        );
        assert_eq!(d, Duration::from_secs(120));
    }
}
