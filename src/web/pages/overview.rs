//! / (the landing page): each installed app's counts by status and health, the pairs
//! that need an admin grouped by app and cause (`overview_attention`), and the latest
//! events. It stays live through the page's one poll (`/poll?view=overview`), which
//! sends the sections again only when they changed.

use std::hash::{DefaultHasher, Hash, Hasher};

use actix_web::{HttpResponse, web};
use jiff::tz::TimeZone;
use maud::{Markup, html};

use super::events;
use super::overview_attention::{self as attention_view, AppOf, PER_GROUP};
use crate::db::attention::{self, Group};
use crate::db::events::{self as log, Event, EventQuery, Request};
use crate::db::overview::{self, AppSummary, Health};
use crate::db::rails::{self, AppRails, Pause};
use crate::db::{Conn, DbError};
use crate::domain::ProvisionStatus;
use crate::provisioning::engine::app_error;
use crate::web::layout::{self, Nav, page, plain_badge};
use crate::web::session::CurrentAdmin;
use crate::web::times::ago;
use crate::web::{AppState, WebError};

/// Latest events shown.
const LATEST: usize = 10;

/// What the overview shows, read in one go.
pub struct Overview {
    apps: Vec<AppSummary>,
    rails: Vec<AppRails>,
    attention: Vec<Group>,
    events: Vec<Event>,
    requests: std::collections::HashMap<i64, Vec<Request>>,
}

/// Reads the overview (blocking).
pub fn read(c: &mut Conn) -> Result<Overview, DbError> {
    // One snapshot for all the reads: the counts and the lists agree.
    let tx = c.transaction()?;
    let apps = overview::apps(&tx)?;
    let rails = rails::all(&tx)?;
    let attention = attention::groups(&tx, &apps, &rails, PER_GROUP)?;
    let (events, _) = log::events(
        &tx,
        &EventQuery {
            limit: LATEST,
            ..EventQuery::default()
        },
    )?;
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let requests = log::requests(&tx, &ids)?;
    tx.commit()?;
    Ok(Overview {
        apps,
        rails,
        attention,
        events,
        requests,
    })
}

fn health(app: &AppSummary, rails: Option<&AppRails>, zone: &TimeZone) -> Markup {
    // While quarantined or paused, the last attempt's words ("attempt 2 of 4, next in
    // 2s") no longer say what happens next; the rails do.
    let now = jiff::Timestamp::now().as_second();
    if let Some(note) = rails.and_then(|r| r.waiting_note(&app.name, ProvisionStatus::Error, now)) {
        return html! {
            p.health { span.badge.bad { "quarantined" } " last error " (ago(app.last_error_at, zone)) }
            p.message { (note) }
        };
    }
    if rails.is_some_and(|r| r.paused == Some(Pause::All)) {
        return html! {
            p.health { span.badge.warn { "paused" } " nothing is sent to it until it is resumed" }
        };
    }
    html! {
        p.health {
            @match app.health {
                Health::Idle => span.muted { "Nothing attempted yet." },
                Health::Working => { span.badge.ok { "working" } " last success " (ago(app.last_success_at, zone)) },
                Health::Failing => { span.badge.bad { "failing" } " last error " (ago(app.last_error_at, zone)) },
            }
        }
        @if app.health == Health::Failing {
            @if let Some(e) = &app.last_error { p.message { (app_error(e)) } }
        } @else if let Some(at) = app.last_error_at {
            p.muted { "Last error " (ago(Some(at), zone)) }
        }
    }
}

fn app_card(app: &AppSummary, rails: Option<&AppRails>, zone: &TimeZone) -> Markup {
    html! {
        section.card aria-labelledby=(format!("ov-{}", app.slug)) {
            h3 #(format!("ov-{}", app.slug)) { a href=(format!("/apps/{}", app.slug)) { (app.name) } }
            @if !app.scim {
                p.muted { "Not provisioned: no SCIM settings." }
            } @else {
                (health(app, rails, zone))
            }
            @if app.counts.is_empty() {
                p.muted { "Nobody has access yet." }
            } @else {
                ul.counts aria-label=(format!("People per status in {}", app.name)) {
                    @for (status, n) in &app.counts {
                        li { a href=(format!("/apps/{}?status={}", app.slug, status.as_str())) {
                            // Not a state to worry about: people who simply have no access
                            // (or, without SCIM, whom accessboard does not provision).
                            @if *status == ProvisionStatus::NotProvisioned {
                                span.neutral { @if app.scim { "no access" } @else { "not provisioned here" } }
                            }
                            @else { (plain_badge(*status)) }
                            " " (n)
                        } }
                    }
                }
            }
        }
    }
}

/// The live part of the page (times in `zone`): apps, attention, latest events, and its
/// fingerprint; `csrf` (an admin's) offers the changes, a viewer's page has none.
pub fn live(csrf: Option<&str>, o: &Overview, zone: &TimeZone, oob: bool) -> (Markup, String) {
    let rails_of = |slug: &str| o.rails.iter().find(|r| r.app == slug);
    let app_of = |slug: &str| AppOf {
        name: o
            .apps
            .iter()
            .find(|a| a.slug == slug)
            .map_or(slug, |a| a.name.as_str())
            .to_owned(),
        rails: rails_of(slug),
    };
    let inner = html! {
        h2 { "Apps" }
        @if o.apps.is_empty() {
            div.empty { p { "No app is installed yet. " a href="/apps" { "Install an app" } " to start provisioning." } }
        } @else {
            div.overview { @for a in &o.apps { (app_card(a, rails_of(&a.slug), zone)) } }
        }
        h2 #attention { "Needs attention" }
        (attention_view::section(csrf, &o.attention, app_of, zone))
        h2 { "Latest events" }
        @if o.events.is_empty() {
            p.muted { "Nothing has happened yet." }
        } @else {
            (events::list(&o.events, &o.requests, zone))
            p { a href="/activity" { "All activity" } }
        }
    };
    let mut h = DefaultHasher::new();
    inner.0.hash(&mut h);
    let version = format!("{:016x}", h.finish());
    let transient = o
        .apps
        .iter()
        .any(|a| a.count(ProvisionStatus::SyncNeeded) + a.count(ProvisionStatus::Syncing) > 0);
    let markup = html! {
        div #overview-live hx-swap-oob=[oob.then_some("true")] {
            input.watch type="hidden" name="v" value=(version);
            (inner)
        }
        (poller(transient, oob))
    };
    (markup, version)
}

/// Polls quickly while pairs are on their way, slowly otherwise; never stops, since
/// new work can arrive at any time.
fn poller(fast: bool, oob: bool) -> Markup {
    html! {
        div #poller hx-get="/poll?view=overview" hx-trigger=(if fast { "every 2s" } else { "every 10s" })
            hx-include=".watch" hx-swap="none" hx-swap-oob=[oob.then_some("true")] {}
    }
}

/// GET /
pub async fn show(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
) -> Result<HttpResponse, WebError> {
    let o = state.service.db().run(read).await?;
    let banners = super::rails::banners(&state, &admin).await?;
    // The same words as /healthz: what an operator's probe sees, the admin sees here.
    let stopped = state.engine.health.verdict();
    let (live, _) = live(
        admin.change_token(),
        &o,
        &state.service.settings().server.zone,
        false,
    );
    Ok(layout::ok(page(
        "Overview",
        &admin,
        Nav::Overview,
        html! {
            h1 { "Overview" }
            @if let Some(v) = &stopped {
                div.alert.outage role="alert" {
                    p { strong { "Provisioning is not working. " } (v.reason) }
                    p { "It is retried by itself and resumes once the cause is gone; nothing is lost meanwhile." }
                }
            }
            (banners)
            (live)
        },
    )))
}
