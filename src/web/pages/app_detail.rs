//! /apps/{slug}: the app's panel (`app_page`: health, actions, people, drift, events),
//! then every person's pair with that app, the last attempt in full, Retry.

use actix_web::{HttpRequest, HttpResponse, web};
use jiff::tz::TimeZone;
use maud::{Markup, html};
use uuid::Uuid;

use super::PER_PAGE;
use crate::db::pairs::{self, PairRow};
use crate::db::read;
use crate::domain::{ProvisionStatus, Slug};
use crate::web::guard::is_htmx;
use crate::web::layout::{
    self, Nav, csrf_field, page, pagination, pair_id, poller, role_label, status_label,
    watch_value, when,
};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

/// One pair as a table row; `oob` for the poller's out-of-band swaps.
pub fn pair_row(csrf: Option<&str>, zone: &TimeZone, p: &PairRow, oob: bool) -> Markup {
    let (text, class) = status_label(p.status);
    html! {
        tr id=(pair_id("r", p.user_id, &p.app)) hx-swap-oob=[oob.then_some("true")] {
            th scope="row" {
                a href=(format!("/users/{}", p.user_id)) { bdi { (p.name) } }
                br; span.muted { bdi { (p.email) } }
                @if p.deleting { " " span.tag.removing { "being removed" } }
            }
            td data-label="Role" { (role_label(p.role)) }
            td data-label="Status" {
                span class=(format!("badge {class}")) {
                    @if p.status.is_transient() {
                        input.watch type="hidden" name="w" value=(watch_value(p.user_id, &p.app, p.status, p.attempts));
                    }
                    @if p.status == ProvisionStatus::NotProvisioned {
                        span aria-hidden="true" { "—" } span.sr { "not provisioned" }
                    } @else { (text) }
                }
            }
            td data-label="Last attempt" { (when(p.last_attempt_at, zone)) }
            td.num data-label="Attempts" { (p.attempts) }
            td data-label="Next retry" {
                @if p.status == ProvisionStatus::Error {
                    @if let Some(next) = p.next_attempt_at { "retry at " (when(Some(next), zone)) }
                }
            }
            td.message data-label="Last message" { @if let Some(m) = &p.last_message { (m) } }
            td {
                @if let (true, Some(csrf)) = (matches!(p.status, ProvisionStatus::Error | ProvisionStatus::Failed), csrf) {
                    form method="post" action=(format!("/apps/{}/retry/{}", p.app, p.user_id))
                        hx-post=(format!("/apps/{}/retry/{}", p.app, p.user_id))
                        hx-target=(format!("#{}", pair_id("r", p.user_id, &p.app))) hx-swap="outerHTML" {
                        (csrf_field(csrf))
                        button type="submit" aria-label=(format!("Retry {}", p.email)) { "Retry" }
                    }
                }
            }
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct PairQuery {
    status: String,
    page: Option<usize>,
}

/// GET /apps/{slug}
pub async fn show(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
    q: web::Query<PairQuery>,
    done: web::Query<super::apps::Notice>,
) -> Result<HttpResponse, WebError> {
    let slug = slug.into_inner();
    let status = ProvisionStatus::parse(&q.status).ok();
    let page_no = layout::page_number(q.page);
    let app = slug.clone();
    let (apps, (mut rows, total), rails) = state
        .service
        .db()
        .run(move |c| {
            let apps = read::apps(c)?;
            let pairs = pairs::app_pairs(c, &app, status, (page_no - 1) * PER_PAGE, PER_PAGE)?;
            Ok::<_, crate::db::DbError>((apps, pairs, crate::db::rails::all(c)?))
        })
        .await?;
    let app = apps
        .iter()
        .find(|a| a.slug == slug)
        .ok_or_else(|| WebError::NotFound(format!("There is no app {slug:?} in the catalogue.")))?;
    crate::db::rails::note_waiting(
        &mut rows,
        &rails,
        |_| app.name.clone(),
        crate::db::time::now(),
    );
    let live = rows.iter().any(|p| p.status.is_transient());
    let panel = super::app_page::read(&state, &slug).await?;
    let zone = &state.service.settings().server.zone;
    let learned = state
        .engine
        .targets
        .get(&slug)
        .map(|t| t.client.learned().facts())
        .unwrap_or_default();
    let retryable = app
        .counts
        .iter()
        .any(|(s, n)| matches!(s, ProvisionStatus::Error | ProvisionStatus::Failed) && *n > 0);
    Ok(layout::ok(page(
        &app.name,
        &admin,
        Nav::Apps,
        html! {
            p.crumbs { a href="/apps" { "Apps" } " / " }
            h1 { (app.name) }
            (super::apps::notice(&done, &apps))
            (super::app_page::panel(&admin, app, &panel, zone))
            @if !learned.is_empty() {
                p.note { "What accessboard learned about this app: " (learned.join("; ")) "." }
            }
            div.titlebar {
                h2 #app-pairs { "Each person's account" }
                @if retryable && admin.can_change() {
                    a.button href=(format!("/apps/{slug}/retry")) { "Retry all errors and failures…" }
                }
            }
            form.filters method="get" action=(format!("/apps/{slug}")) {
                label for="status" { "Status" }
                select #status name="status" {
                    option value="" selected[status.is_none()] { "all" }
                    @for s in ProvisionStatus::ALL {
                        option value=(s.as_str()) selected[status == Some(s)] { (status_label(s).0.replace('—', "not provisioned")) }
                    }
                }
                button type="submit" { "Filter" }
            }
            @if rows.is_empty() {
                div.empty { p { @if status.is_some() { "No pairs with this status. " a href=(format!("/apps/{slug}")) { "Show all" } }
                    @else { "Nobody is listed for this app yet. " a href="/users/new" { "Add a person" } } } }
            } @else {
                div.table-wrap tabindex="0" role="region" aria-label=(format!("People in {}", app.name)) { table.cards {
                    caption.sr { "Provisioning of each person in " (app.name) }
                    thead { tr {
                        th scope="col" { "Person" } th scope="col" { "Role" } th scope="col" { "Status" }
                        th scope="col" { "Last attempt" } th scope="col" { "Attempts" } th scope="col" { "Next retry" }
                        th scope="col" { "Last message" } th scope="col" { span.sr { "Actions" } }
                    } }
                    tbody { @for p in &rows { (pair_row(admin.change_token(), zone, p, false)) } }
                } }
                (pagination(&format!("/apps/{slug}"), &[("status", q.status.clone())], page_no, total, PER_PAGE))
            }
            (poller(live, "row", false))
        },
    )))
}

fn slug_of(raw: &str) -> Result<Slug, WebError> {
    Slug::parse(raw).map_err(|_| WebError::NotFound(format!("There is no app {raw:?}.")))
}

/// Where a Retry came from, when not the app's page.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct Back {
    back: String,
}

impl Back {
    /// Whether the action was asked from the app's page (`?back=app`).
    pub fn app(&self) -> bool {
        self.back == "app"
    }
}

/// POST /apps/{slug}/retry/{id}: htmx gets the row back, already "sync needed";
/// a form from the overview (`?back=overview`) goes back there.
pub async fn retry_one(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<(String, Uuid)>,
    back: web::Query<Back>,
) -> Result<HttpResponse, WebError> {
    let (raw, id) = path.into_inner();
    let slug = slug_of(&raw)?;
    let user = state
        .service
        .db()
        .run(move |c| read::user(c, id))
        .await?
        .ok_or_else(|| WebError::NotFound("This person does not exist (any more).".into()))?;
    let email =
        crate::domain::Email::parse(&user.email).map_err(|e| WebError::Internal(e.to_string()))?;
    state
        .service
        .as_actor(admin.actor())
        .retry(Some(slug.clone()), Some(email))
        .await?;
    if back.back == "overview" {
        return Ok(layout::redirect(&req, "/#attention"));
    }
    if !is_htmx(&req) {
        return Ok(layout::redirect(&req, &format!("/apps/{slug}")));
    }
    let key = vec![(id, slug.to_string())];
    let rows = state
        .service
        .db()
        .run(move |c| pairs::pairs(c, &key))
        .await?;
    let live = rows.iter().any(|p| p.status.is_transient());
    Ok(layout::ok(html! {
        @for p in &rows { (pair_row(admin.change_token(), &state.service.settings().server.zone, p, false)) }
        (poller(live, "row", true))
    }))
}

/// POST /apps/{slug}/retry: every error and failure of the app.
pub async fn retry_all(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let slug = slug_of(&slug)?;
    state
        .service
        .as_actor(admin.actor())
        .retry(Some(slug.clone()), None)
        .await?;
    Ok(layout::redirect(&req, &format!("/apps/{slug}")))
}
