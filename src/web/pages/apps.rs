//! /apps: the catalogue from settings.toml with each app's health, install/uninstall,
//! Sync now, Check drift and its Fix. Each action answers where it was asked from:
//! `?back=app` sends the admin back to the app's page instead of the catalogue.

use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::app_detail::Back;
use super::app_health::{self, AppHealth};
use crate::db::read::{self, AppRow};
use crate::domain::{ProvisionStatus, Slug};
use crate::provisioning::drift::{self, DriftItem, DriftReport};
use crate::provisioning::sync::{self, SyncError};
use crate::web::layout::{self, Nav, csrf_field, page, plain_badge};
use crate::web::session::CurrentAdmin;
use crate::web::times::when_text;
use crate::web::{AppState, WebError};

/// The SCIM base URL without credentials, query or fragment.
pub fn public_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "(not a valid URL)".into(),
    }
}

fn slug_of(raw: &str) -> Result<Slug, WebError> {
    Slug::parse(raw).map_err(|_| WebError::NotFound(format!("There is no app {raw:?}.")))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct Notice {
    done: Option<String>,
    app: Option<String>,
    n: Option<usize>,
    u: Option<usize>,
}

/// The line saying what an action just did (`?done=`), on `/apps` or the app's page.
pub fn notice(n: &Notice, apps: &[AppRow]) -> Markup {
    let name = apps
        .iter()
        .find(|a| Some(&a.slug) == n.app.as_ref())
        .map_or("the app", |a| a.name.as_str());
    let count = n.n.unwrap_or(0);
    let text = match n.done.as_deref() {
        Some("installed") => {
            format!("{name} is installed; {count} people with access are being provisioned.")
        }
        Some("uninstalled") => {
            format!("{name} is uninstalled; accessboard no longer changes its accounts.")
        }
        Some("fixed") => match count {
            1 => format!("1 person out of step in {name} is being synced."),
            n => format!("{n} people out of step in {name} are being synced."),
        },
        Some("synced") => match n.u.unwrap_or(0) {
            0 => format!("{count} people of {name} are being synced."),
            u => format!(
                "{u} people of {name} are as they should be in the app; {count} are being synced."
            ),
        },
        _ => return html! {},
    };
    html! { p.saved role="status" { (text) } }
}

/// Where an action on `slug` answers: its page when asked from there, else `/apps`.
fn done_url(slug: &Slug, back: &Back, query: &str) -> String {
    if back.app() {
        format!("/apps/{slug}?{query}")
    } else {
        format!("/apps?{query}")
    }
}

fn app_card(
    state: &AppState,
    admin: &CurrentAdmin,
    app: &AppRow,
    health: Option<&AppHealth>,
) -> Markup {
    let scim_url = state
        .service
        .settings()
        .app(&app.slug)
        .and_then(|a| a.scim.as_ref())
        .map(|s| public_url(&s.base_url));
    let action = |what: &str| format!("/apps/{}/{what}", app.slug);
    html! {
        section.card aria-labelledby=(format!("app-{}", app.slug)) {
            div.titlebar {
                h2 #(format!("app-{}", app.slug)) { a href=(format!("/apps/{}", app.slug)) { (app.name) } }
                span.badges {
                    @if app.installed { span.badge.ok { "installed" } } @else { span.badge.none { "not installed" } }
                    @if let Some(h) = health { " " (app_health::badge(h)) }
                }
            }
            dl.facts {
                dt { "Slug" } dd { code { (app.slug) } }
                @if let Some(u) = &app.url { dt { "Opens at" } dd { a href=(u) rel="noopener noreferrer" { (u) } } }
                dt { "SCIM" }
                dd { @match &scim_url {
                    Some(u) => { "configured: " code.wrap { (u) } },
                    None => span.muted { "not configured; add [apps.scim] in settings.toml to provision this app" },
                } }
            }
            @if !app.counts.is_empty() {
                ul.counts aria-label="People per status" {
                    @for (status, n) in app.counts.iter().filter(|(s, _)| *s != ProvisionStatus::NotProvisioned) {
                        li { a href=(format!("/apps/{}?status={}", app.slug, status.as_str())) { (n) " " (plain_badge(*status)) } }
                    }
                }
            }
            // Uninstall last and in the danger style: the everyday actions come first.
            @if !admin.can_change() {
                @if scim_url.is_some() { div.actions { a.button href=(action("drift")) { "Last drift report" } } }
            } @else { div.actions {
                @if !app.installed {
                    a.button.primary href=(action("install")) { "Install…" }
                } @else if scim_url.is_some() {
                    a.button href=(action("sync")) { "Sync now…" }
                }
                @if scim_url.is_some() {
                    form method="post" action=(action("test")) { (csrf_field(&admin.csrf)) button type="submit" { "Test connection" } }
                    form method="post" action=(action("drift")) { (csrf_field(&admin.csrf)) button type="submit" { "Check drift" } }
                    a.button href=(action("drift")) { "Last drift report" }
                }
                @if app.installed {
                    a.button.danger href=(action("uninstall")) { "Uninstall…" }
                }
            } }
        }
    }
}

/// GET /apps
pub async fn list(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    q: web::Query<Notice>,
) -> Result<HttpResponse, WebError> {
    let (apps, health) = state
        .service
        .db()
        .run(|c| Ok::<_, crate::db::DbError>((read::apps(c)?, app_health::read_all(c)?)))
        .await?;
    let banners = super::rails::banners(&state, &admin).await?;
    Ok(layout::ok(page(
        "Apps",
        &admin,
        Nav::Apps,
        html! {
            h1 { "Apps" }
            (banners)
            (notice(&q, &apps))
            @if apps.is_empty() {
                div.empty {
                    h2 { "The catalogue is empty" }
                    p { "Apps are listed in " code { "settings.toml" } " as " code { "[[apps]]" } " entries; restart accessboard after adding one." }
                }
            }
            @for app in &apps { (app_card(&state, &admin, app, health.get(&app.slug))) }
        },
    )))
}

/// An app's display name from the settings (the slug only if it has none).
pub fn app_name(state: &AppState, slug: &Slug) -> String {
    state
        .service
        .settings()
        .app(slug.as_str())
        .map_or_else(|| slug.to_string(), |a| a.name.clone())
}

/// The slug of an app in the catalogue, or a 404.
pub async fn known(state: &AppState, raw: &str) -> Result<Slug, WebError> {
    let slug = slug_of(raw)?;
    if state.service.settings().app(slug.as_str()).is_none() {
        return Err(WebError::NotFound(format!(
            "There is no app {raw:?} in the catalogue."
        )));
    }
    Ok(slug)
}

/// POST /apps/{slug}/install
pub async fn install(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
    back: web::Query<Back>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &slug).await?;
    if let Some(refused) = super::app_test::refuse_install(&state, &admin, &slug).await {
        return Ok(refused);
    }
    let n = state
        .service
        .as_actor(admin.actor())
        .install_app(&slug)
        .await?;
    Ok(layout::redirect(
        &req,
        &done_url(&slug, &back, &format!("done=installed&app={slug}&n={n}")),
    ))
}

/// POST /apps/{slug}/uninstall
pub async fn uninstall(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
    back: web::Query<Back>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &slug).await?;
    state
        .service
        .as_actor(admin.actor())
        .uninstall_app(&slug)
        .await?;
    Ok(layout::redirect(
        &req,
        &done_url(&slug, &back, &format!("done=uninstalled&app={slug}")),
    ))
}

/// POST /apps/{slug}/sync: one listing; only the pairs the app does not hold as wanted are synced.
pub async fn sync_now(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
    back: web::Query<Back>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &slug).await?;
    let service = state.service.as_actor(admin.actor());
    let (marked, unchanged) = match sync::sync_app(&state.engine, &service, &slug).await {
        Ok(report) => (report.marked, report.unchanged),
        // An app without SCIM settings: every pair marked, as before there were listings.
        Err(SyncError::NotProvisionable(_)) => (service.resync_app(&slug).await?, 0),
        Err(SyncError::Service(e)) => return Err(e.into()),
        Err(SyncError::Db(e)) => return Err(e.into()),
    };
    Ok(layout::redirect(
        &req,
        &done_url(
            &slug,
            &back,
            &format!("done=synced&app={slug}&n={marked}&u={unchanged}"),
        ),
    ))
}

/// Runs one drift check now (with `fix`, marking who is out of step, as
/// `provision check --fix`); `drift::check` keeps its report for the pages.
async fn run_drift_check(
    state: &AppState,
    app: &Slug,
    fix: bool,
) -> Result<DriftReport, drift::DriftError> {
    drift::check(&state.engine, app, fix).await
}

/// The page of a drift check that could not run: refused while the app is paused, else
/// what the app (or the database) answered.
fn drift_failed(
    state: &AppState,
    admin: &CurrentAdmin,
    slug: &Slug,
    error: &drift::DriftError,
) -> HttpResponse {
    let msg = error.to_string();
    let status = match error {
        drift::DriftError::Paused(_) => actix_web::http::StatusCode::CONFLICT,
        _ => actix_web::http::StatusCode::BAD_GATEWAY,
    };
    layout::respond(
        status,
        page(
            "Drift check",
            admin,
            Nav::Apps,
            html! {
                h1 { "Drift check of " (app_name(state, slug)) " failed" }
                p.alert.message role="alert" { (msg) }
                p { a href=(format!("/apps/{slug}")) { "Back to " (app_name(state, slug)) } }
            },
        ),
    )
}

/// POST /apps/{slug}/drift
pub async fn check_drift(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
    back: web::Query<Back>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &slug).await?;
    match run_drift_check(&state, &slug, false).await {
        Ok(_) if back.app() => Ok(layout::redirect(&req, &format!("/apps/{slug}#app-drift"))),
        Ok(_) => Ok(layout::redirect(&req, &format!("/apps/{slug}/drift"))),
        Err(e) => Ok(drift_failed(&state, &admin, &slug, &e)),
    }
}

/// POST /apps/{slug}/drift/fix: checks again and marks everyone out of step for sync,
/// so the report it leaves is of now, not of before the fix.
pub async fn fix_drift(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
    back: web::Query<Back>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &slug).await?;
    let report = match run_drift_check(&state, &slug, true).await {
        Ok(report) => report,
        Err(e) => return Ok(drift_failed(&state, &admin, &slug, &e)),
    };
    let query = format!("done=fixed&app={slug}&n={}", report.fixed);
    let to = if back.app() {
        format!("/apps/{slug}?{query}#app-drift")
    } else {
        format!("/apps/{slug}/drift?{query}")
    };
    Ok(layout::redirect(&req, &to))
}

fn items(title: &str, hint: &str, list: &[DriftItem]) -> Markup {
    html! {
        section {
            h2 { (title) " (" (list.len()) ")" }
            p.hint { (hint) }
            @if list.is_empty() { p.muted { "None." } } @else {
                div.table-wrap tabindex="0" role="region" aria-label=(title) { table {
                    thead { tr { th scope="col" { "Email" } th scope="col" { "User name in the app" } th scope="col" { "Account id" } th scope="col" { "Why" } } }
                    tbody { @for i in list { tr {
                        td { bdi { (i.email) } } td { bdi { (i.user_name.as_deref().unwrap_or("—")) } }
                        td { code { (i.scim_id.as_deref().unwrap_or("—")) } } td { (i.reason) }
                    } } }
                } }
            }
        }
    }
}

fn drift_lists(r: &DriftReport) -> Markup {
    html! {
        (items("Missing", "People who should have an active account and do not.", &r.missing))
        (items("Should be disabled", "Active accounts of people whose access is revoked.", &r.should_be_disabled))
        (items("Wrong role in the app", "Accounts whose group or role attribute in the app does not match their role here.", &r.wrong_role))
        (items("Unknown to accessboard", "Accounts accessboard does not know; it never touches them.", &r.unknown))
    }
}

/// GET /apps/{slug}/drift: the last report.
pub async fn drift_report(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &slug).await?;
    let report = drift::latest(state.service.db(), slug.as_str()).await?;
    let apps = state.service.db().run(|c| read::apps(c)).await?;
    let zone = &state.service.settings().server.zone;
    let sync_needed = ProvisionStatus::SyncNeeded;
    Ok(layout::ok(page(
        "Drift report",
        &admin,
        Nav::Apps,
        html! {
            p.crumbs { a href="/apps" { "Apps" } " / " a href=(format!("/apps/{slug}")) { (app_name(&state, &slug)) } " / " }
            h1 { "Drift report: " (app_name(&state, &slug)) }
            (notice(&q, &apps))
            @match &report {
                None => p { "No drift check has run for this app yet." },
                Some(r) if r.fixed > 0 => {
                    // Its lists are of before the fix: shown as history, not as the app's state.
                    (super::app_page::drift_summary(r, zone))
                    details {
                        summary { "What that check found" }
                        (drift_lists(r))
                    }
                },
                Some(r) => {
                    p.lead { "Checked " (when_text(&r.checked_at, zone)) ": the app holds " (r.remote_accounts) " accounts." }
                    (drift_lists(r))
                    @if admin.can_change() {
                        p.hint { "Fix marks the people in the first three lists for a " (plain_badge(sync_needed)) " pass." }
                    }
                },
            }
            @if admin.can_change() { div.actions {
                @if report.as_ref().is_some_and(|r| r.has_drift() && r.fixed == 0) {
                    form method="post" action=(format!("/apps/{slug}/drift/fix")) {
                        (csrf_field(&admin.csrf))
                        button.primary type="submit" { "Fix: sync who is out of step" }
                    }
                }
                form method="post" action=(format!("/apps/{slug}/drift")) {
                    (csrf_field(&admin.csrf))
                    button type="submit" { "Check again now" }
                }
            } }
        },
    )))
}
