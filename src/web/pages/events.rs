//! How an event (one reconcile attempt) reads on every page: a line that expands to its
//! requests (`<details>`, no script), and its outcome as a badge.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use maud::{Markup, html};

use crate::db::events::{Event, Request};
use crate::domain::ProvisionStatus;
use crate::web::layout::status_label;
use crate::web::times::ago;

/// An event's outcome as a badge: the status words of the pair it settled.
pub fn outcome_badge(outcome: &str) -> Markup {
    let (text, class) = match ProvisionStatus::parse(outcome) {
        Ok(ProvisionStatus::NotProvisioned) => ("nothing to do", "none"),
        Ok(s) => status_label(s),
        // Events kept from before they were recorded as such.
        Err(_) => ("recorded", "none"),
    };
    html! { span class=(format!("badge {class}")) { (text) } }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The list of events, times in `zone`; `requests` holds each event's requests by id.
pub fn list(events: &[Event], requests: &HashMap<i64, Vec<Request>>, zone: &TimeZone) -> Markup {
    html! {
        ol.events {
            @for e in events {
                li { (item(e, requests.get(&e.id).map_or(&[][..], Vec::as_slice), zone)) }
            }
        }
    }
}

fn item(e: &Event, requests: &[Request], zone: &TimeZone) -> Markup {
    html! {
        details {
            summary {
                (ago(Some(e.at), zone)) " "
                span.event-line {
                    strong { bdi { (e.user_name) } } " · " (e.app_name) " · " (e.summary)
                    " · " (plural(e.requests, "request", "requests")) " · " (e.duration_ms) " ms"
                }
                " " (outcome_badge(&e.outcome))
            }
            div.event-body {
                p {
                    @if let Some(id) = &e.user_id {
                        a href=(format!("/users/{id}")) { bdi { (e.user_email) } }
                    } @else { bdi { (e.user_email) } " " span.muted { "(removed)" } }
                    " in " a href=(format!("/apps/{}", e.app)) { (e.app_name) }
                }
                @if let Some(m) = &e.message { p.message { (m) } }
                @if requests.is_empty() {
                    p.muted { "No request was sent to the app." }
                } @else {
                    (request_table(requests))
                }
            }
        }
    }
}

/// An attempt's requests: method, path, status, duration and the app's message.
pub fn request_table(requests: &[Request]) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr {
                th scope="col" { "Request" } th scope="col" { "HTTP" }
                th scope="col" { "Duration" } th scope="col" { "The app said" }
            } }
            tbody { @for r in requests { tr {
                td {
                    @if let (Some(m), Some(p)) = (&r.method, &r.path) { code { (m) " " (p) } br; }
                    span.muted { (r.operation) }
                }
                td.num { @if let Some(s) = r.http_status { (s) } @else { span.muted { "no answer" } } }
                td.num { @if let Some(d) = r.duration_ms { (d) " ms" } }
                td.message { @match &r.message { Some(m) => (m), None => span.muted { "as expected" } } }
            } } }
        } }
    }
}
