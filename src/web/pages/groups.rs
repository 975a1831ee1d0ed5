//! /groups: every group with its member count and the apps it gives a role in, and the
//! form that creates one (a bad or taken name comes back as one line beside the field,
//! nothing stored).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use std::collections::HashMap;

use uuid::Uuid;

use crate::db::groups::{self, Grant, GroupRow};
use crate::domain::{GroupName, MAX_GROUP_NAME};
use crate::users::{MAX_DESCRIPTION, ServiceError};
use crate::web::flash;
use crate::web::layout::{self, Nav, csrf_field, page, role_label};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

/// The create form as typed, and why it was refused.
#[derive(Default)]
struct Typed {
    name: String,
    description: String,
    error: Option<String>,
}

fn create_form(admin: &CurrentAdmin, t: &Typed) -> Markup {
    let invalid = t.error.as_ref().map(|_| "true");
    html! {
        section aria-labelledby="new-group-title" {
            h2 #new-group-title { "New group" }
            form.stack method="post" action="/groups" novalidate {
                (csrf_field(&admin.csrf))
                label for="group-name" { "Name" }
                input #group-name type="text" name="name" value=(t.name) required
                    maxlength=(MAX_GROUP_NAME) autocomplete="off"
                    aria-invalid=[invalid] aria-describedby=[t.error.as_ref().map(|_| "group-name-error")];
                @if let Some(e) = &t.error { p.field-error #group-name-error role="alert" { (e) } }
                label for="group-description" { "Description (optional)" }
                input #group-description type="text" name="description" value=(t.description)
                    maxlength=(MAX_DESCRIPTION) autocomplete="off";
                div.actions { button.primary type="submit" { "Create group" } }
            }
        }
    }
}

/// What a group gives, as the list names it: "Files (user), Chat (admin)".
fn grants_text(grants: Option<&Vec<Grant>>) -> Markup {
    html! {
        @match grants.filter(|g| !g.is_empty()) {
            None => span.muted { "none" },
            Some(list) => {
                @for (i, g) in list.iter().enumerate() {
                    @if i > 0 { ", " }
                    (g.app_name) " " span.muted { "(" (role_label(g.role)) ")" }
                }
            },
        }
    }
}

fn table(rows: &[GroupRow], grants: &HashMap<Uuid, Vec<Grant>>) -> Markup {
    html! {
        div.table-wrap tabindex="0" role="region" aria-label="Groups" {
            table.cards {
                caption.sr { "Groups with their members and the apps they give access to" }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Description" }
                    th.num scope="col" { "Members" } th scope="col" { "Apps" }
                } }
                tbody { @for g in rows { tr {
                    th scope="row" { a href=(format!("/groups/{}", g.id)) { bdi { (g.name) } } }
                    td data-label="Description" { bdi { (g.description) } }
                    td.num data-label="Members" { (g.members) }
                    td data-label="Apps" { (grants_text(grants.get(&g.id))) }
                } } }
            }
        }
    }
}

fn list_page(admin: &CurrentAdmin, (rows, grants): &Rows, t: &Typed) -> Markup {
    page(
        "Groups",
        admin,
        Nav::Groups,
        html! {
            h1 { "Groups" }
            p.hint { "A group gives everyone in it a role in apps. A person's role in an app is the highest of their own and their groups' roles." }
            @if rows.is_empty() {
                div.empty { h2 { "No groups yet" } p { @if admin.can_change() { "Create one below, then add people and give it a role in apps." } @else { "An admin creates them." } } }
            } @else {
                (table(rows, grants))
            }
            @if admin.can_change() { (create_form(admin, t)) }
        },
    )
}

/// The groups, and what each gives in which app.
type Rows = (Vec<GroupRow>, HashMap<Uuid, Vec<Grant>>);

async fn rows(state: &AppState) -> Result<Rows, WebError> {
    Ok(state
        .service
        .db()
        .run(|c| Ok::<_, crate::db::DbError>((groups::groups(c)?, groups::grants_by_group(c)?)))
        .await?)
}

/// GET /groups
pub async fn list(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
) -> Result<HttpResponse, WebError> {
    let rows = rows(&state).await?;
    Ok(layout::ok(list_page(&admin, &rows, &Typed::default())))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CreateForm {
    name: String,
    description: String,
}

/// POST /groups: to the new group's page, or the list with the reason.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, WebError> {
    let CreateForm { name, description } = form.into_inner();
    let refused = match GroupName::parse(&name) {
        Err(e) => e.to_string(),
        Ok(parsed) => match state
            .service
            .as_actor(admin.actor())
            .create_group(parsed.clone(), description.clone())
            .await
        {
            Ok(id) => {
                flash::set(
                    &session,
                    format!(
                        "The group {parsed} was created; add people and give it a role in apps."
                    ),
                )?;
                return Ok(layout::redirect(&req, &format!("/groups/{id}")));
            }
            Err(e) => refusal(e)?,
        },
    };
    let rows = rows(&state).await?;
    let typed = Typed {
        name,
        description,
        error: Some(refusal_sentence(&refused)),
    };
    Ok(layout::respond(
        StatusCode::UNPROCESSABLE_ENTITY,
        list_page(&admin, &rows, &typed),
    ))
}

/// The one line a form shows for a refusal the admin can correct; anything else is an
/// error page.
pub(super) fn refusal(e: ServiceError) -> Result<String, WebError> {
    match e {
        ServiceError::GroupNameTaken(_)
        | ServiceError::Invalid(_)
        | ServiceError::UnknownUser(_)
        | ServiceError::UnknownApp(_)
        | ServiceError::BeingRemoved(_) => Ok(e.to_string()),
        other => Err(other.into()),
    }
}

/// A refusal as a sentence: capitalised, nothing stored.
pub(super) fn refusal_sentence(why: &str) -> String {
    let mut chars = why.chars();
    let head: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    format!("{head}{}; nothing was changed.", chars.as_str())
}
