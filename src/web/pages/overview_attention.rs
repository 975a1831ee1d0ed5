//! The overview's "Needs attention": one line per app and cause ("Zulip unreachable
//! since 10:02 — 9 people waiting") that opens (`<details>`, no script) to the cause in
//! words, a few of the people and a link to all of them. Nothing here repeats a pair's
//! last message, whose "next in 5s" would be stale by the time it is read.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{Markup, html};

use crate::db::attention::{Cause, Group, Person};
use crate::db::rails::AppRails;
use crate::domain::ProvisionStatus;
use crate::web::layout::csrf_field;
use crate::web::times::{ago, since};

/// People shown per group; the rest are a link away.
pub const PER_GROUP: usize = 10;

fn people(n: i64) -> String {
    if n == 1 {
        "1 person".into()
    } else {
        format!("{n} people")
    }
}

/// What the overview knows of one group's app.
pub struct AppOf<'a> {
    /// Its display name.
    pub name: String,
    /// Its rails, when it is paused, failing or quarantined.
    pub rails: Option<&'a AppRails>,
}

/// The section's body: the groups, or that nothing needs an admin.
pub fn section<'a>(
    csrf: Option<&str>,
    groups: &[Group],
    app_of: impl Fn(&str) -> AppOf<'a>,
    zone: &TimeZone,
) -> Markup {
    html! {
        @if groups.is_empty() {
            p.muted { "Nothing: no person is waiting, failed or held in any app." }
        } @else {
            ul.attention {
                @for g in groups { li { (group(csrf, g, &app_of(&g.app), zone)) } }
            }
        }
    }
}

fn heading(g: &Group, app: &AppOf<'_>, zone: &TimeZone) -> Markup {
    let name = app.name.as_str();
    let rails = app.rails;
    let n = g.count;
    html! {
        @match g.cause {
            Cause::Quarantined => {
                strong { (name) " quarantined" }
                @if let Some(at) = rails.and_then(|r| r.quarantined_at) { " since " (since(at, zone)) }
                " — " (people(n)) " waiting"
            }
            Cause::Unreachable => {
                strong { (name) " unreachable" }
                @if let Some(at) = rails.and_then(|r| r.failing_since) { " since " (since(at, zone)) }
                " — " (people(n)) " waiting"
            }
            Cause::Paused => {
                strong { (name) " paused" }
                @if let Some(at) = rails.and_then(|r| r.paused_at) { " since " (since(at, zone)) }
                " — " (people(n)) " waiting"
            }
            Cause::Retrying => {
                strong { (name) " answers with errors" } " — " (people(n)) " waiting to retry"
            }
            Cause::Failed => {
                strong { (name) ": " (people(n)) " failed" } " — not retried by itself"
            }
            Cause::Held => {
                strong { (name) ": " (n) " " (if n == 1 { "revocation" } else { "revocations" }) }
                " held by the revocation guard"
                @if let Some(at) = rails.and_then(|r| r.paused_at) { " since " (since(at, zone)) }
            }
        }
    }
}

/// What the group waits for; `change` links to the pages that resume or retry (admins).
fn explanation(g: &Group, app: &AppOf<'_>, change: bool) -> Markup {
    let name = app.name.as_str();
    let now = Timestamp::now().as_second();
    let rails = app.rails;
    let resume = format!("/apps/{}/resume", g.app);
    html! {
        @match g.cause {
            Cause::Quarantined => {
                p { (rails.and_then(|r| r.waiting_note(name, ProvisionStatus::Error, now))
                        .unwrap_or_else(|| format!("waiting for {name} to answer again"))) "." }
                @if let Some(why) = rails.and_then(|r| r.quarantine_reason.as_deref()) {
                    p.message { "Why: " (why) }
                }
                p.muted { "Nobody is retried meanwhile; all of them go at once when a probe gets an answer. "
                    @if change { a href=(resume) { "Probe now…" } } }
            }
            Cause::Unreachable => {
                p { "Every request to " (name) " fails; each person is retried by itself, with growing waits." }
            }
            Cause::Paused => {
                p {
                    "Nothing is sent to " (name) " until it is resumed"
                    @if let Some(by) = rails.and_then(|r| r.paused_by.as_deref()) { " (paused by " bdi { (by) } ")" }
                    @if let Some(why) = rails.and_then(|r| r.pause_reason.as_deref()) { ": " (why) }
                    ". " @if change { a href=(resume) { "Resume…" } }
                }
            }
            Cause::Retrying => {
                p { "Each is retried by itself; the app's page has what " (name) " answered to each." }
            }
            Cause::Failed => {
                @if change {
                    p { "Fix the cause, then " a href=(format!("/apps/{}/retry", g.app)) { "retry all " (g.count) "…" } }
                } @else {
                    p { "An admin retries them once the cause is fixed." }
                }
            }
            Cause::Held => {
                p {
                    @if let Some(why) = rails.and_then(|r| r.pause_reason.as_deref()) { (why) ". " }
                    "Nothing is disabled or deleted in " (name) " until an admin looks. "
                    @if change { a href=(resume) { "Review them…" } }
                }
            }
        }
    }
}

fn person(csrf: Option<&str>, g: &Group, p: &Person, app_name: &str, zone: &TimeZone) -> Markup {
    html! {
        li {
            a href=(format!("/users/{}", p.user_id)) { bdi { (p.name) } } " "
            span.muted { bdi { (p.email) } }
            @if p.last_attempt_at.is_some() { " · last attempt " (ago(p.last_attempt_at, zone)) }
            @if let (Cause::Failed, Some(csrf)) = (g.cause, csrf) {
                " "
                form.inline method="post" action=(format!("/apps/{}/retry/{}?back=overview", g.app, p.user_id)) {
                    (csrf_field(csrf))
                    button type="submit" aria-label=(format!("Retry {} in {app_name}", p.name)) { "Retry" }
                }
            }
        }
    }
}

fn group(csrf: Option<&str>, g: &Group, app: &AppOf<'_>, zone: &TimeZone) -> Markup {
    let all = match g.cause.statuses() {
        [one] => format!("/apps/{}?status={}", g.app, one.as_str()),
        _ => format!("/apps/{}", g.app),
    };
    html! {
        details {
            summary { (heading(g, app, zone)) }
            div.attention-body {
                (explanation(g, app, csrf.is_some()))
                ul.people { @for p in &g.people { (person(csrf, g, p, &app.name, zone)) } }
                @if g.count > g.people.len() as i64 {
                    p { a href=(all) { "All " (g.count) " in " (&app.name) } }
                }
            }
        }
    }
}
