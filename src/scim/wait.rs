//! When an app says to come back: `Retry-After` (RFC 9110), and the rate-limit headers
//! apps send instead of it or beside it: `X-Retry-After`, `RateLimit-Reset` (the IETF
//! draft), `X-RateLimit-Reset` (GitHub, Okta, many gateways) and the draft's newer
//! `RateLimit: …, reset=N`.

use std::time::Duration;

use reqwest::header::HeaderMap;

/// The longest wait believed; a broken header must not park an app for ever.
pub const MAX_ANNOUNCED_WAIT: Duration = Duration::from_secs(86_400);

/// Above this, an `X-RateLimit-Reset` is a moment (seconds since 1970), not a delay:
/// 10^9 s is 31 years of delay, and 2001 as a moment.
const EPOCH_FROM: u64 = 1_000_000_000;

/// The headers read, in order; the longest wait among them wins, so that a client
/// that obeys one of them is not sent back before another one's time.
const HEADERS: [&str; 4] = [
    "retry-after",
    "x-retry-after",
    "ratelimit-reset",
    "x-ratelimit-reset",
];

/// How long the app asked us to wait, from any of the headers it sent; `None` when it
/// said nothing readable.
pub fn announced_wait(headers: &HeaderMap, now: time::OffsetDateTime) -> Option<Duration> {
    let texts = HEADERS
        .iter()
        .flat_map(|name| headers.get_all(*name))
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| parse_reset(v, now));
    // `RateLimit: limit=100, remaining=0, reset=7` (draft-ietf-httpapi-ratelimit-headers).
    let combined = headers
        .get_all("ratelimit")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            v.split([',', ';'])
                .filter_map(|part| part.trim().strip_prefix("reset="))
                .find_map(|n| parse_reset(n, now))
        });
    texts
        .chain(combined)
        .max()
        .map(|w| w.min(MAX_ANNOUNCED_WAIT))
}

/// One header's value: delta-seconds (fractions rounded up), an epoch timestamp when
/// above [`EPOCH_FROM`], or an HTTP date.
pub fn parse_reset(value: &str, now: time::OffsetDateTime) -> Option<Duration> {
    let value = value.trim().trim_matches('"');
    if let Ok(secs) = value.parse::<u64>() {
        if secs > EPOCH_FROM {
            let wait = secs as i64 - now.unix_timestamp();
            return Some(Duration::from_secs(wait.max(0) as u64));
        }
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return parse_reset(&(secs.ceil() as u64).to_string(), now);
        }
        return None;
    }
    parse_retry_after(value, now)
}

/// Parses `Retry-After`: delta-seconds or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_retry_after(value: &str, now: time::OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, format)
        .ok()?
        .assume_utc();
    let wait = at - now;
    // A date in the past means "now"; a negative wait would confuse the backoff.
    Some(Duration::from_secs(wait.whole_seconds().max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const NOW: time::OffsetDateTime = time::macros::datetime!(1994-11-06 08:49:30 UTC);

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn retry_after_seconds_and_date() {
        assert_eq!(parse_retry_after("2", NOW), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", NOW),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", NOW),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", NOW), None);
    }

    #[test]
    fn each_header_in_seconds() {
        for name in HEADERS {
            let h = headers(&[(name, "7")]);
            assert_eq!(
                announced_wait(&h, NOW),
                Some(Duration::from_secs(7)),
                "{name}"
            );
        }
        let h = headers(&[("ratelimit", "limit=100, remaining=0, reset=9")]);
        assert_eq!(announced_wait(&h, NOW), Some(Duration::from_secs(9)));
    }

    #[test]
    fn each_header_as_a_date() {
        for name in HEADERS {
            let h = headers(&[(name, "Sun, 06 Nov 1994 08:49:40 GMT")]);
            assert_eq!(
                announced_wait(&h, NOW),
                Some(Duration::from_secs(10)),
                "{name}"
            );
        }
    }

    #[test]
    fn a_large_reset_is_an_epoch_timestamp() {
        // 1994 is before 10^9 s; an epoch reset comes from this century.
        let now = time::macros::datetime!(2026-03-01 12:00:00 UTC);
        let at = (now.unix_timestamp() + 42).to_string();
        let mut h = HeaderMap::new();
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&at).expect("digits"),
        );
        assert_eq!(announced_wait(&h, now), Some(Duration::from_secs(42)));
        // One already past: come back now, never a negative or enormous wait.
        let past = (now.unix_timestamp() - 5).to_string();
        assert_eq!(parse_reset(&past, now), Some(Duration::ZERO));
        // Small numbers stay delays.
        assert_eq!(parse_reset("3600", now), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn fractions_round_up_and_nonsense_is_ignored() {
        assert_eq!(parse_reset("1.2", NOW), Some(Duration::from_secs(2)));
        assert_eq!(parse_reset("-3", NOW), None);
        assert_eq!(parse_reset("NaN", NOW), None);
        let h = headers(&[("x-retry-after", "later"), ("retry-after", "soon")]);
        assert_eq!(announced_wait(&h, NOW), None);
        assert_eq!(announced_wait(&HeaderMap::new(), NOW), None);
    }

    #[test]
    fn the_longest_wait_wins_and_is_capped() {
        let h = headers(&[("retry-after", "2"), ("x-ratelimit-reset", "30")]);
        assert_eq!(announced_wait(&h, NOW), Some(Duration::from_secs(30)));
        let h = headers(&[("x-retry-after", "99999999")]);
        assert_eq!(announced_wait(&h, NOW), Some(MAX_ANNOUNCED_WAIT));
    }
}
