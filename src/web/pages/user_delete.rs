//! Deleting a person: a confirmation page, then the person is shown as
//! "being removed" until every app has been told.

use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use uuid::Uuid;

use super::user_form::load;
use crate::db::read::AppRow;
use crate::web::flash;
use crate::web::layout::{self, Nav, csrf_field, page};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

/// GET /users/{id}/delete: the confirmation.
pub async fn confirm_delete(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, WebError> {
    let (apps, user) = load(&state, Some(*id)).await?;
    let u =
        user.ok_or_else(|| WebError::NotFound("This person does not exist (any more).".into()))?;
    let with_access: Vec<&AppRow> = apps
        .iter()
        .filter(|a| {
            u.access
                .iter()
                .any(|c| c.app == a.slug && c.role.grants_access())
        })
        .collect();
    Ok(layout::ok(page(
        "Delete",
        &admin,
        Nav::Users,
        html! {
            h1 { "Delete " bdi { (u.name) } "?" }
            @if with_access.is_empty() {
                p { "They have no access to any installed app." }
            } @else {
                p { "Their accounts will be disabled or deleted (as each app is set up) in: "
                    @for (i, a) in with_access.iter().enumerate() { @if i > 0 { ", " } (a.name) } "." }
            }
            @if u.id == admin.id { p.alert { "This is you: you will be signed out for good." } }
            form.actions method="post" action=(format!("/users/{}/delete", u.id)) {
                (csrf_field(&admin.csrf))
                button.danger type="submit" { "Delete " bdi { (u.name) } }
                a.button href=(format!("/users/{}", u.id)) { "Keep" }
            }
        },
    )))
}

/// POST /users/{id}/delete: back to the list, with what happens next.
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: actix_session::Session,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, WebError> {
    let (_, user) = load(&state, Some(*id)).await?;
    let Some(u) = user.filter(|u| !u.deleting) else {
        // Deleted meanwhile (another tab, another admin): the outcome is the one asked for.
        flash::set(&session, "This person was already deleted.")?;
        return Ok(layout::redirect(&req, "/users"));
    };
    let outcome = state
        .service
        .as_actor(admin.actor())
        .delete_user_by_id(u.id)
        .await?;
    super::bulk::say_outcome(&session, &outcome)?;
    Ok(layout::redirect(&req, "/users"))
}
