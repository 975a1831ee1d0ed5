//! / (the landing page): each installed app's counts by status and health, the pairs
//! that need an admin (with Retry), and the latest events. It stays live through the
//! page's one poll (`/poll?view=overview`), which sends the sections again only when
//! they changed.

use std::hash::{DefaultHasher, Hash, Hasher};

use actix_web::{HttpResponse, web};
use jiff::tz::TimeZone;
use maud::{Markup, html};

use super::events;
use crate::db::events::{self as log, Event, EventQuery, Request};
use crate::db::overview::{self, AppSummary, Health};
use crate::db::pairs::PairRow;
use crate::db::{Conn, DbError};
use crate::domain::ProvisionStatus;
use crate::web::layout::{self, Nav, csrf_field, page, plain_badge, when};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

/// Pairs needing attention shown at most; the rest are a link away on each app's page.
const ATTENTION: usize = 20;
/// Latest events shown.
const LATEST: usize = 10;

/// What the overview shows, read in one go.
pub struct Overview {
    apps: Vec<AppSummary>,
    attention: Vec<PairRow>,
    events: Vec<Event>,
    requests: std::collections::HashMap<i64, Vec<Request>>,
}

/// Reads the overview (blocking).
pub fn read(c: &mut Conn) -> Result<Overview, DbError> {
    // One snapshot for all the reads: the counts and the lists agree.
    let tx = c.transaction()?;
    let apps = overview::apps(&tx)?;
    let attention = overview::attention(&tx, ATTENTION)?;
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
        attention,
        events,
        requests,
    })
}

fn health(app: &AppSummary, zone: &TimeZone) -> Markup {
    html! {
        p.health {
            @match app.health {
                Health::Idle => span.muted { "Nothing attempted yet." },
                Health::Working => { span.badge.ok { "working" } " last success " (when(app.last_success_at, zone)) },
                Health::Failing => { span.badge.bad { "failing" } " last error " (when(app.last_error_at, zone)) },
            }
        }
        @if app.health == Health::Failing {
            @if let Some(e) = &app.last_error { p.message { (e) } }
        } @else if let Some(at) = app.last_error_at {
            p.muted { "Last error " (when(Some(at), zone)) }
        }
    }
}

fn app_card(app: &AppSummary, zone: &TimeZone) -> Markup {
    html! {
        section.card aria-labelledby=(format!("ov-{}", app.slug)) {
            h3 #(format!("ov-{}", app.slug)) { a href=(format!("/apps/{}", app.slug)) { (app.name) } }
            @if !app.scim {
                p.muted { "Not provisioned: no SCIM settings." }
            } @else {
                (health(app, zone))
            }
            @if app.counts.is_empty() {
                p.muted { "Nobody has access yet." }
            } @else {
                ul.counts aria-label=(format!("People per status in {}", app.name)) {
                    @for (status, n) in &app.counts {
                        li { a href=(format!("/apps/{}?status={}", app.slug, status.as_str())) {
                            // The people table's "—" needs its column; here it needs words.
                            @if *status == ProvisionStatus::NotProvisioned { span.badge.none { "not provisioned" } }
                            @else { (plain_badge(*status)) }
                            " " (n)
                        } }
                    }
                }
            }
        }
    }
}

fn attention_row(csrf: &str, p: &PairRow, app_name: &str, zone: &TimeZone) -> Markup {
    let retry = format!("/apps/{}/retry/{}?back=overview", p.app, p.user_id);
    html! {
        tr {
            th scope="row" { a href=(format!("/users/{}", p.user_id)) { bdi { (p.name) } } }
            td { a href=(format!("/apps/{}?status={}", p.app, p.status.as_str())) { (app_name) } }
            td { (plain_badge(p.status)) }
            td { (when(p.last_attempt_at, zone)) }
            td.message { @if let Some(m) = &p.last_message { (m) } }
            td { form method="post" action=(retry) {
                (csrf_field(csrf))
                button type="submit" aria-label=(format!("Retry {} in {app_name}", p.name)) { "Retry" }
            } }
        }
    }
}

/// The live part of the page (times in `zone`): apps, attention, latest events, and its fingerprint.
pub fn live(csrf: &str, o: &Overview, zone: &TimeZone, oob: bool) -> (Markup, String) {
    let name_of = |slug: &str| {
        o.apps
            .iter()
            .find(|a| a.slug == slug)
            .map_or(slug.to_owned(), |a| a.name.clone())
    };
    let waiting: i64 = o
        .apps
        .iter()
        .map(|a| a.count(ProvisionStatus::Error) + a.count(ProvisionStatus::Failed))
        .sum();
    let inner = html! {
        h2 { "Apps" }
        @if o.apps.is_empty() {
            div.empty { p { "No app is installed yet. " a href="/apps" { "Install an app" } " to start provisioning." } }
        } @else {
            div.overview { @for a in &o.apps { (app_card(a, zone)) } }
        }
        h2 #attention { "Needs attention" }
        @if o.attention.is_empty() {
            p.muted { "Nothing: no person is in error or failed in any app." }
        } @else {
            div.table-wrap { table {
                caption.sr { "People whose provisioning failed or is waiting to retry" }
                thead { tr {
                    th scope="col" { "Person" } th scope="col" { "App" } th scope="col" { "Status" }
                    th scope="col" { "Last attempt" } th scope="col" { "Message" } th scope="col" { span.sr { "Actions" } }
                } }
                tbody { @for p in &o.attention { (attention_row(csrf, p, &name_of(&p.app), zone)) } }
            } }
            @if waiting > o.attention.len() as i64 {
                p { (waiting) " in all; each app's page lists the rest." }
            }
        }
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
    let banners = super::rails::banners(&state).await?;
    // The same words as /healthz: what an operator's probe sees, the admin sees here.
    let stopped = state.engine.health.verdict();
    let (live, _) = live(
        &admin.csrf,
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
