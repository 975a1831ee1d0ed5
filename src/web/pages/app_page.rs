//! The top of an app's page (`/apps/{slug}`), where an app is run: its health, every
//! action on it (each posting to the handler the `/apps` cards use), its people by
//! status, its last drift report with Fix, and its latest events. The pairs table
//! below it is `app_detail`'s.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use maud::{Markup, html};

use super::app_health::{self, AppHealth};
use super::events;
use crate::db::events::{self as log, Event, EventQuery, Request};
use crate::db::read::{AppRow, StatusFilter};
use crate::db::{Conn, DbError};
use crate::domain::ProvisionStatus;
use crate::provisioning::drift::{DriftReport, latest};
use crate::web::layout::{csrf_field, plain_badge};
use crate::web::session::CurrentAdmin;
use crate::web::times::when_text;
use crate::web::{AppState, WebError};

/// Latest events shown; the rest are on /activity.
const LATEST: usize = 5;

/// What the top of the page shows besides the app's row.
pub struct Panel {
    health: Option<AppHealth>,
    drift: Option<DriftReport>,
    events: Vec<Event>,
    requests: HashMap<i64, Vec<Request>>,
    unmanaged: i64,
}

/// Reads the panel of `app`.
pub async fn read(state: &AppState, app: &str) -> Result<Panel, WebError> {
    let slug = app.to_owned();
    let (health, events, requests, unmanaged) = state
        .service
        .db()
        .run(move |c: &mut Conn| {
            let health = app_health::read_one(c, &slug)?;
            let q = EventQuery {
                app: Some(slug.clone()),
                limit: LATEST,
                ..EventQuery::default()
            };
            let (events, _) = log::events(c, &q)?;
            let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
            let requests = log::requests(c, &ids)?;
            let unmanaged = crate::db::unmanaged::count(c, &slug)?;
            Ok::<_, DbError>((health, events, requests, unmanaged))
        })
        .await?;
    let drift = latest(state.service.db(), app).await?;
    Ok(Panel {
        health,
        drift,
        events,
        requests,
        unmanaged,
    })
}

/// The people list's filter for a stored state, if it has one.
fn filter_of(s: ProvisionStatus) -> Option<StatusFilter> {
    match s {
        ProvisionStatus::Provisioned => Some(StatusFilter::Provisioned),
        ProvisionStatus::SyncNeeded | ProvisionStatus::Syncing => Some(StatusFilter::Pending),
        ProvisionStatus::Error => Some(StatusFilter::Error),
        ProvisionStatus::Failed => Some(StatusFilter::Failed),
        ProvisionStatus::Deprovisioned => Some(StatusFilter::Disabled),
        ProvisionStatus::Held => Some(StatusFilter::Held),
        ProvisionStatus::NotProvisioned => None,
    }
}

/// The actions: the everyday ones first, Uninstall last and in the danger style.
fn actions(admin: &CurrentAdmin, app: &AppRow, health: Option<&AppHealth>) -> Markup {
    let to = |what: &str| format!("/apps/{}/{what}", app.slug);
    let back = |what: &str| format!("/apps/{}/{what}?back=app", app.slug);
    let railed = health.is_some_and(AppHealth::railed);
    let paused = health.is_some_and(AppHealth::paused);
    html! {
        @if admin.can_change() { div.actions.app-actions {
            @if !app.installed {
                a.button.primary href=(back("install")) { "Install…" }
            } @else if app.scim {
                a.button.primary href=(back("sync")) { "Sync now…" }
            }
            @if app.scim {
                form method="post" action=(back("drift")) { (csrf_field(&admin.csrf)) button type="submit" { "Check drift" } }
                form method="post" action=(to("test")) { (csrf_field(&admin.csrf)) button type="submit" { "Test connection" } }
                a.button href=(to("discover")) { "Discover accounts…" }
            }
            @if railed { a.button href=(to("resume")) { "Resume…" } }
            @if app.installed && !paused { a.button href=(to("pause")) { "Pause…" } }
            @if app.installed { a.button.danger href=(back("uninstall")) { "Uninstall…" } }
        } }
    }
}

/// The app's people by status, each count a link to the people list filtered so.
fn people(app: &AppRow, unmanaged: i64) -> Markup {
    let shown: Vec<_> = app
        .counts
        .iter()
        .filter(|(s, n)| *s != ProvisionStatus::NotProvisioned && *n > 0)
        .collect();
    html! {
        section aria-labelledby="app-people" {
            h2 #app-people { "People" }
            @if shown.is_empty() {
                p.muted { "Nobody has access to " (app.name) " yet." }
            } @else {
                ul.counts aria-label=(format!("People per status in {}", app.name)) {
                    @for (status, n) in &shown {
                        li {
                            @match filter_of(*status) {
                                Some(f) => a href=(format!("/users?app={}&status={}", app.slug, f.as_str())) { (n) " " (plain_badge(*status)) },
                                None => { (n) " " (plain_badge(*status)) },
                            }
                        }
                    }
                }
            }
            p { a href=(format!("/users?app={}", app.slug)) { "Everyone with access to " (app.name) } }
            @if unmanaged > 0 {
                p.unmanaged {
                    (unmanaged) @if unmanaged == 1 { " account" } @else { " accounts" }
                    " in " (app.name) " left unmanaged: accessboard never disables, checks or links "
                    @if unmanaged == 1 { "it" } @else { "them" } " unless an admin links one. "
                    a href=(format!("/apps/{}/discover?class=unmanaged", app.slug)) { "Discover accounts" }
                }
            }
        }
    }
}

/// The last drift report in brief, with Fix while its drift is not yet handed to sync.
fn drift(
    admin: &CurrentAdmin,
    app: &AppRow,
    report: Option<&DriftReport>,
    zone: &TimeZone,
) -> Markup {
    let report_link = format!("/apps/{}/drift", app.slug);
    html! {
        section aria-labelledby="app-drift" {
            h2 #app-drift { "Drift" }
            @match report {
                None => p.muted { "No drift check has run for " (app.name) " yet." },
                Some(r) => {
                    (drift_summary(r, zone))
                    @if r.has_drift() && r.fixed == 0 && admin.can_change() {
                        form.actions method="post" action=(format!("/apps/{}/drift/fix?back=app", app.slug)) {
                            (csrf_field(&admin.csrf))
                            button.primary type="submit" { "Fix: sync the " (r.missing.len() + r.should_be_disabled.len() + r.wrong_role.len()) " out of step" }
                        }
                    }
                    p { a href=(report_link) { "The whole report" } }
                },
            }
        }
    }
}

/// One line on a drift report: what it found, or that its drift was handed to sync.
pub fn drift_summary(r: &DriftReport, zone: &TimeZone) -> Markup {
    let out_of_step = r.missing.len() + r.should_be_disabled.len() + r.wrong_role.len();
    html! {
        p.drift-summary {
            "Checked " (when_text(&r.checked_at, zone)) ": "
            @if r.fixed > 0 {
                (r.fixed) " out of step marked for sync; check again once they are provisioned."
            } @else if out_of_step == 0 {
                "every account is as it should be"
                @if !r.unknown.is_empty() { " (" (r.unknown.len()) " accounts accessboard does not know)" }
                "."
            } @else {
                (r.missing.len()) " missing, " (r.should_be_disabled.len()) " should be disabled, "
                (r.wrong_role.len()) " with the wrong role, " (r.unknown.len()) " unknown to accessboard."
            }
        }
    }
}

fn recent(app: &AppRow, p: &Panel, zone: &TimeZone) -> Markup {
    html! {
        section aria-labelledby="app-events" {
            h2 #app-events { "Latest events" }
            @if p.events.is_empty() {
                p.muted { "Nothing was sent to " (app.name) " yet." }
            } @else {
                (events::list(&p.events, &p.requests, zone))
            }
            p { a href=(format!("/activity?app={}", app.slug)) { "Every event of " (app.name) } }
        }
    }
}

/// The top of the page: health banner, actions, people, drift, latest events.
pub fn panel(admin: &CurrentAdmin, app: &AppRow, p: &Panel, zone: &TimeZone) -> Markup {
    html! {
        @if let Some(h) = &p.health { (app_health::banner(h, &app.name, zone)) }
        @else if !app.installed {
            p.note { (app.name) " is not installed, so nobody is provisioned in it." }
        }
        (actions(admin, app, p.health.as_ref()))
        div.app-panel {
            (people(app, p.unmanaged))
            @if app.scim { (drift(admin, app, p.drift.as_ref(), zone)) }
        }
        (recent(app, p, zone))
    }
}
