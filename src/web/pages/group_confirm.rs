//! Changes to a group that take access away ask first, saying how many people lose it
//! (read by the groups service's dry run, `preview_group_change`, so the count is the
//! one the change itself would reach): deleting the group, and lowering its role in an
//! app to none while some members have no other way in.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use uuid::Uuid;

use super::group_edit::lose;
use crate::db::groups;
use crate::domain::{Role, Slug};
use crate::users::{GroupChange, GroupKey, GroupOutcome, ServiceError};
use crate::web::flash;
use crate::web::layout::{self, Nav, csrf_field, page, role_label};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

/// The confirmation of a grant that takes access away from `o.lose_access` people; its
/// form posts the same change again, confirmed.
pub(super) fn revoke(
    admin: &CurrentAdmin,
    id: Uuid,
    slug: &Slug,
    app: &str,
    role: Role,
    o: &GroupOutcome,
) -> HttpResponse {
    let question = format!("Take {app} away from {}?", o.group);
    layout::ok(page(
        &question,
        admin,
        Nav::Groups,
        html! {
            p.crumbs { a href="/groups" { "Groups" } " / " a href=(format!("/groups/{id}")) { bdi { (o.group) } } " / " }
            h1 { "Take " (app) " away from " bdi { (o.group) } "?" }
            p.impact role="status" {
                (lose(o)) " to " (app) ": they have no role of their own there and no other group gives them one. "
                "Their accounts are disabled or deleted, as " (app) " is set up."
                (guard_warnings(o))
            }
            form.actions method="post" action=(format!("/groups/{id}/grant/{slug}")) {
                (csrf_field(&admin.csrf))
                input type="hidden" name="role" value=(role.as_str());
                input type="hidden" name="confirmed" value="yes";
                (super::bulk::planned())
                button.danger type="submit" { "Set " (role_label(role)) " for " (super::bulk::people(o.lose_access)) }
                a.button href=(format!("/groups/{id}#grants")) { "Cancel" }
            }
        },
    ))
}

// What the revocation guard would hold of the change, with the numbers.
fn guard_warnings(o: &GroupOutcome) -> maud::Markup {
    html! {
        @for w in &o.guard { " " strong { (w.sentence(super::bulk::TICK_PLANNED)) } }
    }
}

/// GET /groups/{id}/delete: what deleting the group would do, and the button.
pub async fn confirm_delete(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, WebError> {
    let id = *id;
    let detail = state
        .service
        .db()
        .run(move |c| groups::group(c, id))
        .await?
        .ok_or_else(|| WebError::NotFound("This group does not exist (any more).".into()))?;
    let o = state
        .service
        .as_actor(admin.actor())
        .preview_group_change(GroupKey::Id(id), GroupChange::Delete)
        .await?;
    let g = &detail.group;
    let members = super::bulk::people(g.members);
    Ok(layout::ok(page(
        "Delete group",
        &admin,
        Nav::Groups,
        html! {
            p.crumbs { a href="/groups" { "Groups" } " / " a href=(format!("/groups/{id}")) { bdi { (g.name) } } " / " }
            h1 { "Delete the group " bdi { (g.name) } "?" }
            @if detail.grant_list.is_empty() {
                p { "It gives no role in any app; its " (members) " keep the access they have." }
            } @else {
                p { "It has " (members) " and gives: "
                    @for (i, gr) in detail.grant_list.iter().enumerate() {
                        @if i > 0 { ", " } (role_label(gr.role)) " in " (gr.app_name)
                    } "." }
            }
            @if o.lose_access > 0 {
                p.impact role="status" {
                    (lose(&o)) " to at least one app: nothing else gives it to them. "
                    "Their accounts there are disabled or deleted, as each app is set up."
                    (guard_warnings(&o))
                }
            } @else {
                p.impact role="status" { "Nobody loses access to any app: every member who has it keeps it some other way." }
            }
            form.actions method="post" action=(format!("/groups/{id}/delete")) {
                (csrf_field(&admin.csrf))
                @if o.lose_access > 0 { (super::bulk::planned()) }
                button.danger type="submit" { "Delete " bdi { (g.name) } }
                a.button href=(format!("/groups/{id}")) { "Keep" }
            }
        },
    )))
}

/// The delete confirmation's form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct DeleteForm {
    /// "This revocation is planned": the revocation guard lets it through.
    force: String,
}

/// POST /groups/{id}/delete: back to the list, saying how many people lost access.
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    id: web::Path<Uuid>,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, WebError> {
    let text = match state
        .service
        .as_actor(admin.actor())
        .lifting_guard(form.force == "1")
        .change_group(GroupKey::Id(*id), GroupChange::Delete)
        .await
    {
        Ok(o) => {
            let text = format!("The group {} was deleted; {}.", o.group, lose(&o));
            super::group_edit::say(&session, &o, text)?;
            return Ok(layout::redirect(&req, "/groups"));
        }
        // Deleted meanwhile (another tab, another admin): the outcome is the one asked for.
        Err(ServiceError::UnknownGroupId(_)) => "This group was already deleted.".to_owned(),
        Err(e) => return Err(e.into()),
    };
    flash::set(&session, text)?;
    Ok(layout::redirect(&req, "/groups"))
}
