//! Unix-second timestamps, as stored, their RFC 3339 form, and the local time people read.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 text for a stored timestamp.
pub fn rfc3339(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ts.to_string())
}

/// A unix time as plain text in `zone` ("2026-01-15 13:00 CET"), for sentences in pages
/// and alerts.
pub fn local_text(ts: i64, zone: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_second(ts) {
        Ok(at) => at
            .to_zoned(zone.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
        Err(_) => ts.to_string(),
    }
}

/// "2 min ago" or "in 3 h" for `delta` seconds from now; nothing beyond a month.
pub fn relative(delta: i64) -> Option<String> {
    let secs = delta.unsigned_abs();
    let amount = match secs {
        0..60 => return Some("just now".into()),
        60..3_600 => format!("{} min", secs / 60),
        3_600..86_400 => format!("{} h", secs / 3_600),
        86_400..172_800 => "1 day".into(),
        172_800..2_592_000 => format!("{} days", secs / 86_400),
        _ => return None,
    };
    Some(if delta < 0 {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    })
}

/// How long until `at`, for a wait people watch ("in 40 s", "in 3 min", "now"): seconds
/// count here, where [`relative`] would say "just now".
pub fn until(at: i64, now: i64) -> String {
    match at - now {
        ..=0 => "now".into(),
        d @ 1..60 => format!("in {d} s"),
        d => relative(d).unwrap_or_else(|| "in over a month".into()),
    }
}
