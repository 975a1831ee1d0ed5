//! The safety rails on the dashboard: a banner on `/` and `/apps` for each paused or
//! quarantined app (held revocations counted, who caused them), and Resume, which asks
//! first (`GET /apps/{slug}/resume`) and acts on the confirmed post.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use rusqlite::Connection;

use super::apps::{app_name, known};
use crate::db::DbError;
use crate::db::rails::{self, AppRails, Pause};
use crate::web::layout::{self, Nav, csrf_field, page};
use crate::web::session::CurrentAdmin;
use crate::web::times::when;
use crate::web::{AppState, WebError, flash};

/// One app's rails with its held pairs, as the banner shows them.
pub struct Railed {
    state: AppRails,
    held: i64,
}

/// Every paused or quarantined app with its held pairs (blocking).
pub fn read(c: &Connection) -> Result<Vec<Railed>, DbError> {
    let mut held = c.prepare_cached(
        "SELECT COALESCE(SUM(n), 0) FROM app_status_counts WHERE app_slug = ?1 AND status = 'held'",
    )?;
    let mut out = Vec::new();
    for state in rails::all(c)? {
        if state.paused.is_none() && !state.quarantined() {
            continue;
        }
        let n: i64 = held.query_row([&state.app], |r| r.get(0))?;
        out.push(Railed { state, held: n });
    }
    Ok(out)
}

/// The banners of `/` and `/apps`; empty when no app is paused or quarantined. Resume is
/// offered to admins only.
pub async fn banners(state: &AppState, admin: &CurrentAdmin) -> Result<Markup, WebError> {
    let railed = state.service.db().run(|c| read(c)).await?;
    let zone = &state.service.settings().server.zone;
    Ok(html! {
        @for r in &railed {
            @let slug = &r.state.app;
            @let name = state.service.settings().app(slug).map_or(slug.as_str(), |a| a.name.as_str());
            div.alert.rails role="alert" {
                @if let Some(how) = r.state.paused {
                    p {
                        strong { (name) }
                        @match how {
                            Pause::Revocations => {
                                " is paused for revocations: " (held(r.held))
                                " held, not disabled or deleted. "
                            }
                            Pause::All => { " is paused: nothing is sent to it. " }
                        }
                        (r.state.pause_reason.as_deref().unwrap_or(""))
                        " — by " (r.state.paused_by.as_deref().unwrap_or("unknown"))
                        @if r.state.paused_at.is_some() { ", " (when(r.state.paused_at, zone)) }
                        "."
                    }
                }
                @if r.state.quarantined() {
                    p {
                        strong { (name) } " is quarantined since " (when(r.state.quarantined_at, zone)) ": "
                        (r.state.quarantine_reason.as_deref().unwrap_or("it failed"))
                        ". Its pairs wait; one probe runs every few minutes and they resume when it answers."
                    }
                }
                p {
                    @if r.held > 0 {
                        a.button href=(format!("/users?app={slug}&status=held")) { "Who is held" }
                        " "
                    }
                    @if admin.can_change() {
                        a.button href=(format!("/apps/{slug}/resume")) { "Resume " (name) "…" }
                    }
                }
            }
        }
    })
}

fn held(n: i64) -> String {
    match n {
        1 => "1 revocation".into(),
        n => format!("{n} revocations"),
    }
}

/// GET /apps/{slug}/resume: what resuming does, and the button.
pub async fn confirm(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    raw: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &raw).await?;
    let name = app_name(&state, &slug);
    let app = slug.to_string();
    let found = state
        .service
        .db()
        .run(move |c| Ok::<_, DbError>(read(c)?.into_iter().find(|r| r.state.app == app)))
        .await?;
    let question = format!("Resume {name}?");
    let body = html! {
        p.crumbs { a href="/apps" { "Apps" } " / " a href=(format!("/apps/{slug}")) { (name) } " / " }
        h1 { (question) }
        @match &found {
            None => {
                p.impact role="status" { (name) " is neither paused nor quarantined." }
                p { a.button href=(format!("/apps/{slug}")) { "Back to " (name) } }
            }
            Some(r) => {
                p.impact role="status" {
                    @if r.held > 0 {
                        (held(r.held)) " held by the guard: carry them out, and those accounts are disabled (or deleted) in " (name) "; "
                        "or cancel them, and each held person gets back the role and groups they had before the change that was held: their accounts in " (name) " stay as they are. "
                        a href=(format!("/users?app={slug}&status=held")) { "Who is held" }
                        ". "
                    }
                    @if r.state.paused == Some(Pause::All) { "Changes waiting for " (name) " are sent to it. " }
                    @if r.state.quarantined() { (name) " is probed at once; its pairs resume if it answers." }
                }
                div.actions {
                    form method="post" action=(format!("/apps/{slug}/resume")) {
                        (csrf_field(&admin.csrf))
                        @if r.held > 0 {
                            button.danger type="submit" { "Carry them out and resume " (name) }
                        } @else {
                            button.primary type="submit" { "Resume " (name) }
                        }
                    }
                    @if r.held > 0 && r.state.paused == Some(Pause::Revocations) {
                        form method="post" action=(format!("/apps/{slug}/cancel-held")) {
                            (csrf_field(&admin.csrf))
                            button.primary type="submit" { "Cancel them: give back their previous access" }
                        }
                    }
                    a.button href="/apps" { "Back" }
                }
            }
        }
    };
    Ok(layout::ok(page(&question, &admin, Nav::Apps, body)))
}

/// POST /apps/{slug}/resume: ends the pause, lets held revocations go, and makes a
/// quarantined app's probe due now (the running server's sweeper makes it).
pub async fn resume(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    raw: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &raw).await?;
    let name = app_name(&state, &slug);
    let resumed = state
        .service
        .as_actor(admin.actor())
        .resume_app(&slug)
        .await?;
    let mut text = match resumed.was {
        Some(_) => format!(
            "{name} resumed: {} pairs released to be synced.",
            resumed.released
        ),
        None => format!("{name} was not paused."),
    };
    if resumed.quarantined {
        text.push_str(" It is probed now and leaves quarantine if it answers.");
    }
    flash::set(&session, text)?;
    Ok(layout::redirect(&req, &format!("/apps/{slug}")))
}

/// POST /apps/{slug}/cancel-held: gives every person held by the revocation guard their
/// previous access back instead of carrying the revocations out.
pub async fn cancel_held(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    raw: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &raw).await?;
    let name = app_name(&state, &slug);
    let cancelled = state
        .service
        .as_actor(admin.actor())
        .cancel_held(&slug)
        .await?;
    let text = cancelled.sentences(&name).join(" ");
    if cancelled.still_held > 0 {
        let link = (
            format!("/users?app={slug}&status=held"),
            "Who is held".to_owned(),
        );
        flash::warn(&session, text, Some(link))?;
    } else {
        flash::set(&session, text)?;
    }
    Ok(layout::redirect(&req, &format!("/apps/{slug}")))
}
