//! Times as people read them: in `[server] timezone`, with how long ago, and
//! the exact UTC time on hover (the `title`) and for machines (`datetime`).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{Markup, html};

/// A unix time in a `<time>` element: local date and time, "(2 min ago)", UTC in the title.
pub fn when(ts: Option<i64>, zone: &TimeZone) -> Markup {
    let Some(ts) = ts else {
        return html! { span.muted { "never" } };
    };
    let Ok(at) = Timestamp::from_second(ts) else {
        // Out of jiff's range: only a corrupt row gets here; show the number rather than fail the page.
        return html! { span { (ts) } };
    };
    let text = local_text(ts, zone);
    let utc = at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string();
    let ago = relative(ts - Timestamp::now().as_second());
    html! {
        time datetime=(crate::db::time::rfc3339(ts)) title=(utc) {
            (text) @if let Some(ago) = ago { " " span.ago { "(" (ago) ")" } }
        }
    }
}

/// A unix time in a list: how long ago ("3 min ago"), with the exact local and UTC time
/// on hover; the local date past a month. Computed at render, so the page's poll keeps it true.
pub fn ago(ts: Option<i64>, zone: &TimeZone) -> Markup {
    let Some(ts) = ts else {
        return html! { span.muted { "never" } };
    };
    let text = relative(ts - Timestamp::now().as_second()).unwrap_or_else(|| local_text(ts, zone));
    stamped(ts, zone, &text)
}

/// A unix time as a sentence's "since …": the local clock time ("10:02") on its own day,
/// else the local date and time; the exact time on hover.
pub fn since(ts: i64, zone: &TimeZone) -> Markup {
    let Ok(at) = Timestamp::from_second(ts) else {
        return html! { span { (ts) } };
    };
    let local = at.to_zoned(zone.clone());
    let today = Timestamp::now().to_zoned(zone.clone()).date() == local.date();
    let text = if today {
        local.strftime("%H:%M").to_string()
    } else {
        local.strftime("%Y-%m-%d %H:%M").to_string()
    };
    stamped(ts, zone, &text)
}

// `text` in a `<time>` whose title is the exact time, local and UTC.
fn stamped(ts: i64, zone: &TimeZone, text: &str) -> Markup {
    let utc = Timestamp::from_second(ts)
        .map(|at| at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    html! {
        time datetime=(crate::db::time::rfc3339(ts)) title=(format!("{} ({utc})", local_text(ts, zone))) { (text) }
    }
}

/// A unix time as plain text in `zone` ("2026-01-15 13:00 CET"), for sentences.
pub use crate::db::time::local_text;

/// An RFC 3339 time (as stored in reports) in a `<time>` element, or as it is if unreadable.
pub fn when_text(rfc3339: &str, zone: &TimeZone) -> Markup {
    match rfc3339.parse::<Timestamp>() {
        Ok(at) => when(Some(at.as_second()), zone),
        Err(_) => html! { (rfc3339) },
    }
}

/// "2 min ago" or "in 3 h" for `delta` seconds from now (shared with the command line).
pub use crate::db::time::relative;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(-5).as_deref(), Some("just now"));
        assert_eq!(relative(-150).as_deref(), Some("2 min ago"));
        assert_eq!(relative(-7_300).as_deref(), Some("2 h ago"));
        assert_eq!(relative(-90_000).as_deref(), Some("1 day ago"));
        assert_eq!(relative(180).as_deref(), Some("in 3 min"));
        assert_eq!(relative(-40 * 86_400), None);
    }

    #[test]
    fn shows_the_zone_and_keeps_utc_in_the_title() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        // 2026-01-15 12:00:00 UTC is 13:00 in Paris (CET, winter).
        let html = when(Some(1_768_478_400), &paris).into_string();
        assert!(html.contains("2026-01-15 13:00 CET"), "{html}");
        assert!(
            html.contains(r#"title="2026-01-15 12:00:00 UTC""#),
            "{html}"
        );
        assert!(
            html.contains(r#"datetime="2026-01-15T12:00:00Z""#),
            "{html}"
        );
    }

    #[test]
    fn lists_say_how_long_ago_with_the_exact_time_on_hover() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        let now = Timestamp::now().as_second();
        let html = ago(Some(now - 180), &paris).into_string();
        assert!(html.contains(">3 min ago</time>"), "{html}");
        assert!(html.contains("title=\""), "{html}");
        assert!(html.contains(" UTC)\""), "{html}");
        let old = ago(Some(1_768_478_400), &paris).into_string();
        assert!(old.contains(">2026-01-15 13:00 CET</time>"), "{old}");
    }
}
