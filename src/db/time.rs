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
