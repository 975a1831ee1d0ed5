//! Pause on an app's page: `GET /apps/{slug}/pause` says what pausing does and asks
//! why; the post pauses it (`UserService::pause_app`, the same as `app pause`).
//! Resume is `rails`' (`/apps/{slug}/resume`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::apps::{app_name, known};
use crate::domain::Slug;
use crate::web::layout::{self, Nav, csrf_field, page};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError, flash};

/// The longest reason kept; the banner shows it on every page.
const MAX_REASON: usize = 500;

/// The pause form's field.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct PauseForm {
    reason: String,
}

fn form(
    admin: &CurrentAdmin,
    slug: &Slug,
    name: &str,
    reason: &str,
    error: Option<&str>,
) -> Markup {
    let question = format!("Pause {name}?");
    let body = html! {
        p.crumbs { a href="/apps" { "Apps" } " / " a href=(format!("/apps/{slug}")) { (name) } " / " }
        h1 { (question) }
        p.impact role="status" {
            "Nothing is sent to " (name) " until it is resumed: new accounts, changes and revocations wait, "
            "and every page shows who paused it and why."
        }
        form.stack method="post" action=(format!("/apps/{slug}/pause")) {
            (csrf_field(&admin.csrf))
            label for="reason" { "Why (shown to every admin)" }
            @if let Some(e) = error {
                p.field-error #reason-error { (e) }
                input #reason type="text" name="reason" value=(reason) required maxlength=(MAX_REASON)
                    aria-invalid="true" aria-describedby="reason-error";
            } @else {
                input #reason type="text" name="reason" value=(reason) required maxlength=(MAX_REASON);
            }
            div.actions {
                button.primary type="submit" { "Pause " (name) }
                a.button href=(format!("/apps/{slug}")) { "Cancel" }
            }
        }
    };
    page(&question, admin, Nav::Apps, body)
}

/// GET /apps/{slug}/pause: what pausing does, and the reason to give.
pub async fn confirm(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    raw: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &raw).await?;
    let name = app_name(&state, &slug);
    Ok(layout::ok(form(&admin, &slug, &name, "", None)))
}

/// POST /apps/{slug}/pause: pauses the app with the admin's reason; back to its page.
pub async fn pause(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    raw: web::Path<String>,
    input: web::Form<PauseForm>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &raw).await?;
    let name = app_name(&state, &slug);
    let reason = input.into_inner().reason.trim().to_owned();
    let refusal = if reason.is_empty() {
        Some("Say why, so that the other admins know.")
    } else if reason.chars().count() > MAX_REASON {
        Some("Keep it under 500 characters.")
    } else {
        None
    };
    if let Some(why) = refusal {
        return Ok(layout::respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            form(&admin, &slug, &name, &reason, Some(why)),
        ));
    }
    state
        .service
        .as_actor(admin.actor())
        .pause_app(&slug, Some(reason))
        .await?;
    flash::set(
        &session,
        format!("{name} is paused: nothing is sent to it until it is resumed."),
    )?;
    Ok(layout::redirect(&req, &format!("/apps/{slug}")))
}
