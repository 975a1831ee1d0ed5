//! The person page's provisioning part: what each app holds for them (status, account id,
//! last sync, message), their recent events, and "Sync now" for one app with a live trace
//! of each request and answer (`POST /users/{id}/sync/{slug}`, polled at
//! `/users/{id}/trace/{run}`).

use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use uuid::Uuid;

use super::events;
use crate::db::events::{self as log, EventQuery};
use crate::db::groups::{self, GroupRef};
use crate::db::pairs::{self, PairRow};
use crate::db::read::{self, AccessQuery, UserRow};
use crate::domain::{Slug, Via};
use crate::web::guard::is_htmx;
use crate::web::layout::{self, badge, csrf_field, role_label, when};
use crate::web::session::CurrentAdmin;
use crate::web::trace::Trace;
use crate::web::{AppState, WebError};

/// Events of the person shown on their page.
const RECENT: usize = 10;

/// Where a role comes from: their own, or the groups giving it (linked).
fn via(via: Option<&Via>, groups: &[GroupRef]) -> Markup {
    let link = |name: &str| match groups.iter().find(|g| g.name == name) {
        Some(g) => html! { a href=(format!("/groups/{}", g.id)) { bdi { (name) } } },
        None => html! { bdi { (name) } },
    };
    html! {
        @match via {
            Some(Via::Direct) => { br; span.via { "their own role" } },
            Some(Via::Groups(names)) => { br; span.via { "through "
                @for (i, n) in names.iter().enumerate() { @if i > 0 { ", " } (link(n)) } } },
            None => {},
        }
    }
}

/// One app's row; `csrf` (an admin's) offers Sync now, a viewer sees no button.
fn held_row(
    state: &AppState,
    csrf: Option<&str>,
    p: &PairRow,
    app_name: &str,
    role_via: Markup,
) -> Markup {
    let managed = state.engine.targets.contains_key(&p.app);
    let sync = format!("/users/{}/sync/{}", p.user_id, p.app);
    html! {
        tr {
            th scope="row" { a href=(format!("/apps/{}", p.app)) { (app_name) } }
            td { (role_label(p.role)) (role_via) }
            td { (badge(p.user_id, &p.app, p.status)) }
            td { @match &p.scim_id { Some(id) => code.wrap { (id) }, None => span.muted { "none" } } }
            td { (when(p.last_attempt_at, &state.service.settings().server.zone)) }
            td.message { @if let Some(m) = &p.last_message { (m) } }
            td {
                @if let (true, Some(csrf)) = (managed, csrf) {
                    form method="post" action=(sync) hx-post=(sync) hx-target="#trace" hx-swap="outerHTML show:top" {
                        (csrf_field(csrf))
                        button type="submit" aria-label=(format!("Sync now in {app_name}")) { "Sync now" }
                    }
                } @else if managed {
                    span.muted { "provisioned by accessboard" }
                } @else {
                    span.muted { "not provisioned" }
                }
            }
        }
    }
}

/// "In each app": the person's groups, and a table of what each installed app holds,
/// with where each role comes from; `oob` when it refreshes the page after a save.
pub async fn held(
    state: &AppState,
    admin: &CurrentAdmin,
    u: &UserRow,
    oob: bool,
) -> Result<Markup, WebError> {
    let id = u.id;
    let email_norm = u.email.to_lowercase();
    let (apps, mut rows, mut their_groups, access, rails) = state
        .service
        .db()
        .run(move |c| {
            let q = AccessQuery {
                email_norm: Some(email_norm),
                ..AccessQuery::default()
            };
            Ok::<_, crate::db::DbError>((
                read::installed_apps(c)?,
                pairs::user_pairs(c, id)?,
                groups::groups_of(c, &[id])?,
                read::access(c, &q)?,
                crate::db::rails::all(c)?,
            ))
        })
        .await?;
    let their_groups = their_groups.remove(&id).unwrap_or_default();
    let via_of = |app: &str| {
        let v = access
            .iter()
            .find(|a| a.app == app)
            .and_then(|a| a.via.as_ref());
        via(v, &their_groups)
    };
    let name_of = |slug: &str| {
        apps.iter()
            .find(|a| a.slug == slug)
            .map_or(slug.to_owned(), |a| a.name.clone())
    };
    crate::db::rails::note_waiting(&mut rows, &rails, name_of, crate::db::time::now());
    Ok(html! {
        section #in-apps aria-labelledby="in-apps-title" hx-swap-oob=[oob.then_some("true")] {
            h2 #in-apps-title { "In each app" }
            p #their-groups {
                @if their_groups.is_empty() {
                    "In no group. " a href="/groups" { "Groups" } " give many people a role at once."
                } @else {
                    "Groups: "
                    @for (i, g) in their_groups.iter().enumerate() {
                        @if i > 0 { ", " } a href=(format!("/groups/{}", g.id)) { bdi { (g.name) } }
                    }
                }
            }
            @if rows.is_empty() {
                p.muted { "No app is installed." }
            } @else {
                div.table-wrap { table {
                    caption.sr { "What each app holds for " (u.name) }
                    thead { tr {
                        th scope="col" { "App" } th scope="col" { "Role" } th scope="col" { "Status" }
                        th scope="col" { "Account id" } th scope="col" { "Last sync" } th scope="col" { "Message" }
                        th scope="col" { span.sr { "Actions" } }
                    } }
                    tbody { @for p in &rows { (held_row(state, admin.change_token(), p, &name_of(&p.app), via_of(&p.app))) } }
                } }
            }
        }
    })
}

/// The person's latest events, each expandable to its requests.
pub async fn recent(state: &AppState, u: &UserRow, oob: bool) -> Result<Markup, WebError> {
    let id = u.id.to_string();
    let ((rows, total), requests) = state
        .service
        .db()
        .run(move |c| {
            let q = EventQuery {
                user_id: Some(id),
                limit: RECENT,
                ..EventQuery::default()
            };
            let events = log::events(c, &q)?;
            let ids: Vec<i64> = events.0.iter().map(|e| e.id).collect();
            Ok::<_, crate::db::DbError>((events, log::requests(c, &ids)?))
        })
        .await?;
    let all = format!(
        "/activity?user={}",
        url::form_urlencoded::byte_serialize(u.email.as_bytes()).collect::<String>()
    );
    Ok(html! {
        section #recent aria-labelledby="recent-title" hx-swap-oob=[oob.then_some("true")] {
            h2 #recent-title { "Recent events" }
            @if rows.is_empty() {
                p.muted { "Nothing was attempted for this person yet." }
            } @else {
                (events::list(&rows, &requests, &state.service.settings().server.zone))
                @if total > rows.len() { p { a href=(all) { "All " (total) " events of this person" } } }
            }
        }
    })
}

/// The provisioning part of the person page: what each app holds, where a Sync now
/// trace shows (the run `run`, after a browser without htmx started one), recent events.
pub async fn parts(
    state: &AppState,
    admin: &CurrentAdmin,
    u: &UserRow,
    run: Option<Uuid>,
) -> Result<Markup, WebError> {
    let run = match run {
        Some(r) => {
            let t = state.traces.get(r).filter(|t| t.user == u.id);
            let name = match &t {
                Some(t) => app_name(state, &t.app).await?,
                None => String::new(),
            };
            Some((r, t, name))
        }
        None => None,
    };
    let (held, recent) = (
        held(state, admin, u, false).await?,
        recent(state, u, false).await?,
    );
    Ok(html! {
        (held)
        @match run {
            Some((r, t, name)) => (trace_region(u.id, Some((r, t)), &name)),
            None => (trace_region(u.id, None, "")),
        }
        (recent)
    })
}

/// Where a trace shows: empty until a Sync now starts, then polled until it ends.
fn trace_region(user: Uuid, run: Option<(Uuid, Option<Trace>)>, app_name: &str) -> Markup {
    html! {
        div #trace-region aria-live="polite" {
            @match run {
                Some((run, Some(t))) => (trace(user, run, &t, app_name)),
                Some((_, None)) => div #trace { p.muted { "That trace is no longer kept; the events below have its requests." } },
                None => div #trace {},
            }
        }
    }
}

fn trace(user: Uuid, run: Uuid, t: &Trace, app_name: &str) -> Markup {
    let url = format!("/users/{user}/trace/{run}");
    let running = t.done.is_none();
    html! {
        div #trace.card hx-get=[running.then_some(&url)] hx-trigger=[running.then_some("every 500ms")]
            hx-swap=[running.then_some("outerHTML")] {
            h2 { "Sync now: " (app_name) }
            @if t.calls.is_empty() && running { p { "Starting…" } }
            ol.trace {
                @for traced in &t.calls {
                    @let c = &traced.call;
                    li {
                        code { (c.method) " " (c.path) } " → "
                        @match c.status { Some(s) => strong { (s) }, None => strong { "no answer" } }
                        " · " (c.duration.as_millis()) " ms · " span.muted { (c.operation) }
                        @if let Some(e) = &c.error { br; span.message { (e) } }
                        @if traced.sent.is_some() || traced.answer.is_some() {
                            details.bodies {
                                summary { "What was sent and answered" }
                                @if let Some(b) = &traced.sent { p { "Sent:" } pre { (b) } }
                                @if let Some(b) = &traced.answer { p { "Answered:" } pre { (b) } }
                            }
                        }
                    }
                }
            }
            @match &t.done {
                None => p role="status" { "Running… each request appears as it completes." },
                Some(Ok(s)) => p role="status" {
                    (events::outcome_badge(s.outcome)) " " (s.message)
                    " (" (s.requests) (if s.requests == 1 { " request" } else { " requests" }) ")"
                },
                Some(Err(e)) => p.alert role="alert" { "Nothing was sent: " (e) },
            }
        }
    }
}

fn slug_of(raw: &str) -> Result<Slug, WebError> {
    Slug::parse(raw).map_err(|_| WebError::NotFound(format!("There is no app {raw:?}.")))
}

async fn app_name(state: &AppState, slug: &str) -> Result<String, WebError> {
    let apps = state.service.db().run(|c| read::installed_apps(c)).await?;
    Ok(apps
        .into_iter()
        .find(|a| a.slug == slug)
        .map_or(slug.to_owned(), |a| a.name))
}

/// POST /users/{id}/sync/{slug}: starts the run; htmx gets the trace, browsers the page showing it.
pub async fn sync(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, WebError> {
    let (id, raw) = path.into_inner();
    let slug = slug_of(&raw)?;
    let user = state
        .service
        .db()
        .run(move |c| read::user(c, id))
        .await?
        .ok_or_else(|| WebError::NotFound("This person does not exist (any more).".into()))?;
    if !state.engine.targets.contains_key(slug.as_str()) {
        return Err(WebError::Conflict(format!(
            "{slug} is not provisioned by accessboard (no [apps.scim] settings)."
        )));
    }
    state
        .service
        .as_actor(admin.actor())
        .record(
            "sync_now",
            Some(user.email.clone()),
            Some(serde_json::json!({ "app": slug.as_str() })),
        )
        .await?;
    let run = state
        .traces
        .start(state.engine.clone(), id, slug.to_string());
    if !is_htmx(&req) {
        return Ok(layout::redirect(
            &req,
            &format!("/users/{id}?run={run}#trace-region"),
        ));
    }
    let name = app_name(&state, slug.as_str()).await?;
    let t = state.traces.get(run);
    Ok(layout::ok(match t {
        Some(t) => trace(id, run, &t, &name),
        None => html! { div #trace {} },
    }))
}

/// GET /users/{id}/trace/{run}: the trace so far; it stops polling once the run ended,
/// and then brings the table of what each app holds and the recent events up to date.
pub async fn poll_trace(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, WebError> {
    let (user, run) = path.into_inner();
    let t = state
        .traces
        .get(run)
        .filter(|t| t.user == user)
        .ok_or_else(|| WebError::NotFound("That trace is no longer kept.".into()))?;
    let name = app_name(&state, &t.app).await?;
    let held = match &t.done {
        None => None,
        Some(_) => match state.service.db().run(move |c| read::user(c, user)).await? {
            Some(u) => Some(html! {
                (held(&state, &admin, &u, true).await?)
                (recent(&state, &u, true).await?)
            }),
            None => None,
        },
    };
    Ok(layout::ok(html! {
        (trace(user, run, &t, &name))
        @if let Some(h) = held { (h) }
    }))
}
