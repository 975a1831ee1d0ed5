//! Bulk changes on /users: the selected people and an action come to a review
//! page that says what will happen ("3 people lose access to Files"); only its
//! Confirm button changes anything, in one transaction.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use uuid::Uuid;

use super::bulk_groups;
use crate::db::read::{self, AppRow};
use crate::domain::{Role, Slug};
use crate::users::{BulkAction, BulkPlan, Effect, GuardWarning, ServiceError};
use crate::web::flash;
use crate::web::layout::{self, Nav, csrf_field, page, role_label};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

/// "1 person" / "3 people".
pub fn people(n: usize) -> String {
    if n == 1 {
        "1 person".into()
    } else {
        format!("{n} people")
    }
}

/// "1 person gets" / "3 people get": the count with its verb agreed.
pub fn people_do(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", people(n), if n == 1 { one } else { many })
}

/// The box on a confirmation that takes access away: ticked, the revocation guard lets
/// that one change through (a form field `force=1`).
pub(super) fn planned() -> Markup {
    html! {
        label.check {
            input type="checkbox" name="force" value="1";
            " This revocation is planned: carry it out even if the revocation guard would hold it"
        }
    }
}

/// What the guard's warning on a review tells the admin to do.
pub(super) const TICK_PLANNED: &str = "tick \"This revocation is planned\" to carry them out.";

/// The form of the people list (or of the review page), parsed.
struct BulkForm {
    ids: Vec<Uuid>,
    action: BulkAction,
    // "This revocation is planned": the revocation guard lets it through.
    force: bool,
}

fn parse(fields: &[(String, String)]) -> Result<BulkForm, WebError> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut ids = Vec::new();
    for (_, v) in fields.iter().filter(|(n, _)| n == "id") {
        let id = Uuid::parse_str(v)
            .map_err(|_| WebError::BadRequest(format!("{v:?} is not a person's id.")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let action = match get("action") {
        Some(a @ ("group-add" | "group-remove")) => bulk_groups::parse(a, get("group"))?,
        Some("role") => {
            let app = get("app").unwrap_or_default();
            let role = get("role").unwrap_or_default();
            BulkAction::SetRole {
                app: Slug::parse(app)
                    .map_err(|_| WebError::BadRequest(format!("There is no app {app:?}.")))?,
                role: Role::parse(role).map_err(|_| {
                    WebError::BadRequest(format!("{role:?} is not a role (admin, user or none)."))
                })?,
            }
        }
        Some("retry") => BulkAction::Retry,
        Some("delete") => BulkAction::Delete,
        other => {
            return Err(WebError::BadRequest(format!(
                "{:?} is not a bulk action (role, group-add, group-remove, retry or delete).",
                other.unwrap_or("")
            )));
        }
    };
    let force = get("force") == Some("1");
    Ok(BulkForm { ids, action, force })
}

fn app_name<'a>(apps: &'a [AppRow], slug: &'a str) -> &'a str {
    apps.iter()
        .find(|a| a.slug == slug)
        .map_or(slug, |a| a.name.as_str())
}

fn title(action: &BulkAction, apps: &[AppRow], group: &str) -> String {
    match action {
        BulkAction::AddToGroup(_) => bulk_groups::title(true, group),
        BulkAction::RemoveFromGroup(_) => bulk_groups::title(false, group),
        BulkAction::SetRole { app, role } if role.grants_access() => format!(
            "Make them {} in {}?",
            role_label(*role),
            app_name(apps, app.as_str())
        ),
        BulkAction::SetRole { app, .. } => {
            format!("Revoke their access to {}?", app_name(apps, app.as_str()))
        }
        BulkAction::Retry => "Retry their failed syncs?".into(),
        BulkAction::Delete => "Delete these people?".into(),
    }
}

fn per_app_list(per_app: &BTreeMap<String, usize>, apps: &[AppRow]) -> String {
    per_app
        .iter()
        .map(|(slug, n)| format!("{} ({n})", app_name(apps, slug)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sentences of the impact: the first thing the review page says; `group` names the
/// group of a group action.
pub fn impact(plan: &BulkPlan, apps: &[AppRow], group: &str) -> Vec<String> {
    let t = plan.tally();
    let mut out = Vec::new();
    match &plan.action {
        BulkAction::AddToGroup(_) => return bulk_groups::impact(plan, true, group, apps),
        BulkAction::RemoveFromGroup(_) => return bulk_groups::impact(plan, false, group, apps),
        BulkAction::SetRole { app, role } => {
            let name = app_name(apps, app.as_str());
            if t.gain > 0 {
                out.push(format!(
                    "{} access to {name} as {}.",
                    people_do(t.gain, "gets", "get"),
                    role_label(*role)
                ));
            }
            if t.change > 0 {
                out.push(format!(
                    "{} role in {name}, to {}.",
                    people_do(t.change, "changes", "change"),
                    role_label(*role)
                ));
            }
            if t.lose > 0 {
                out.push(format!(
                    "{} access to {name}: their accounts there are disabled (or deleted, as {name} is set up).",
                    people_do(t.lose, "loses", "lose")
                ));
            }
        }
        BulkAction::Retry if t.retry > 0 => out.push(format!(
            "{} synced again in {}.",
            people_do(t.retry, "is", "are"),
            per_app_list(&plan.per_app(), apps)
        )),
        BulkAction::Retry => {}
        BulkAction::Delete => {
            out.push(format!("{} deleted.", people_do(t.delete, "is", "are")));
            let per_app = plan.per_app();
            if !per_app.is_empty() {
                out.push(format!(
                    "Their accounts are disabled or deleted in {}.",
                    per_app_list(&per_app, apps)
                ));
            }
        }
    }
    if t.unchanged > 0 {
        out.push(format!("Nothing changes for {}.", people(t.unchanged)));
    }
    out
}

fn effect_text(e: &Effect, apps: &[AppRow], group: &str) -> String {
    let names = |list: &[String]| {
        list.iter()
            .map(|s| app_name(apps, s).to_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match e {
        Effect::Gains(r) => format!("gets access as {}", role_label(*r)),
        Effect::Loses => "loses access".into(),
        Effect::Changes { from, to } => format!("{} → {}", role_label(*from), role_label(*to)),
        Effect::Unchanged => "no change".into(),
        Effect::Retries(l) if l.is_empty() => "nothing to retry".into(),
        Effect::Retries(l) => format!("synced again in {}", names(l)),
        Effect::Deleted(l) if l.is_empty() => "deleted (no app holds an account)".into(),
        Effect::Deleted(l) => format!("deleted; told: {}", names(l)),
        Effect::Joins(_) | Effect::Leaves(_) => bulk_groups::effect_text(e, group, apps),
    }
}

fn hidden_action(action: &BulkAction) -> Markup {
    html! {
        @match action {
            BulkAction::SetRole { app, role } => {
                input type="hidden" name="action" value="role";
                input type="hidden" name="app" value=(app.as_str());
                input type="hidden" name="role" value=(role.as_str());
            },
            BulkAction::Retry => input type="hidden" name="action" value="retry";,
            BulkAction::Delete => input type="hidden" name="action" value="delete";,
            BulkAction::AddToGroup(_) | BulkAction::RemoveFromGroup(_) => (bulk_groups::hidden(action)),
        }
    }
}

fn review_page(
    admin: &CurrentAdmin,
    plan: &BulkPlan,
    apps: &[AppRow],
    group: &str,
    warnings: &[GuardWarning],
) -> Markup {
    let sentences = impact(plan, apps, group);
    let changes = plan.people.iter().any(|p| {
        !matches!(&p.effect, Effect::Unchanged)
            && !matches!(&p.effect, Effect::Retries(l) if l.is_empty())
    });
    let danger = matches!(plan.action, BulkAction::Delete)
        || (matches!(plan.action, BulkAction::RemoveFromGroup(_)) && plan.tally().lose > 0)
        || matches!(
            plan.action,
            BulkAction::SetRole {
                role: Role::None,
                ..
            }
        );
    page(
        "Review the change",
        admin,
        Nav::Users,
        html! {
            p.crumbs { a href="/users" { "People" } " / " }
            h1 { (title(&plan.action, apps, group)) }
            div.impact role="status" {
                @for s in &sentences { p { (s) } }
                @for w in warnings { p { strong { (w.sentence(TICK_PLANNED)) } } }
            }
            div.table-wrap tabindex="0" role="region" aria-label="Selected people" {
                table.cards {
                    caption.sr { "What happens to each selected person" }
                    thead { tr { th scope="col" { "Person" } th scope="col" { "What happens" } } }
                    tbody {
                        @for p in &plan.people {
                            tr {
                                th scope="row" { bdi { (p.name) } br; span.muted { bdi { (p.email) } } }
                                td data-label="What happens" { (effect_text(&p.effect, apps, group)) }
                            }
                        }
                    }
                }
            }
            form.actions method="post" action="/users/bulk/apply" {
                (csrf_field(&admin.csrf))
                (hidden_action(&plan.action))
                @for p in &plan.people { input type="hidden" name="id" value=(p.id); }
                @if changes && revokes(plan) { (planned()) }
                @if changes {
                    @if danger { button.danger type="submit" { "Confirm for " (people(plan.people.len())) } }
                    @else { button.primary type="submit" { "Confirm for " (people(plan.people.len())) } }
                }
                a.button href="/users" { @if changes { "Cancel" } @else { "Back to people" } }
            }
        },
    )
}

/// Leaves the message of a change's outcome: a warning with a link to the people held
/// when the revocation guard held some of it, else a success.
pub(super) fn say_outcome(
    session: &actix_session::Session,
    outcome: &crate::users::Outcome,
) -> Result<(), WebError> {
    let text = outcome.text();
    match outcome.held.first() {
        Some(h) => flash::warn(session, text, Some((h.link(), "Who is held".to_owned()))),
        None => flash::set(session, text),
    }
}

fn revokes(plan: &BulkPlan) -> bool {
    match &plan.action {
        BulkAction::SetRole { role, .. } => !role.grants_access(),
        BulkAction::Delete => true,
        BulkAction::Retry | BulkAction::AddToGroup(_) => false,
        BulkAction::RemoveFromGroup(_) => plan.tally().lose > 0,
    }
}

async fn installed(state: &AppState) -> Result<Vec<AppRow>, WebError> {
    Ok(state.service.db().run(|c| read::installed_apps(c)).await?)
}

/// A refusal the admin can act on: back to the list with the reason.
pub(super) fn refused(
    req: &HttpRequest,
    session: &actix_session::Session,
    why: String,
) -> Result<HttpResponse, WebError> {
    flash::set(session, why)?;
    Ok(layout::redirect(req, "/users"))
}

fn refusal(admin: &CurrentAdmin, form: &BulkForm) -> Option<String> {
    if form.ids.is_empty() {
        return Some(
            "Select at least one person first, with the boxes in the first column.".into(),
        );
    }
    if form.action == BulkAction::Delete && form.ids.contains(&admin.id) {
        return Some("You selected yourself: delete your own account from your page, not in a bulk change. Nothing was changed.".into());
    }
    None
}

pub(super) fn service_refusal(e: ServiceError) -> Result<String, WebError> {
    match e {
        ServiceError::UnknownUserId(_) | ServiceError::BeingRemoved(_) => Ok(format!(
            "Someone you selected was deleted meanwhile ({e}); nothing was changed. Select again."
        )),
        ServiceError::UnknownGroupId(_) => {
            Ok("The group you chose was deleted meanwhile; nothing was changed.".into())
        }
        ServiceError::UnknownApp(_) | ServiceError::Invalid(_) => {
            Ok(format!("{e}; nothing was changed."))
        }
        other => Err(other.into()),
    }
}

/// POST /users/bulk: the review page; changes nothing.
pub async fn review(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: actix_session::Session,
    fields: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let form = parse(&fields)?;
    if let Some(why) = refusal(&admin, &form) {
        return refused(&req, &session, why);
    }
    let plan = match state
        .service
        .plan_bulk(form.ids.clone(), form.action.clone())
        .await
    {
        Ok(p) => p,
        Err(e) => return refused(&req, &session, service_refusal(e)?),
    };
    let warnings = if revokes(&plan) && !form.force {
        let preview = match form.action {
            BulkAction::AddToGroup(_) | BulkAction::RemoveFromGroup(_) => {
                state
                    .service
                    .guard_preview_bulk_group(form.ids, form.action)
                    .await
            }
            _ => {
                state
                    .service
                    .guard_preview_bulk(form.ids, form.action)
                    .await
            }
        };
        match preview {
            Ok(w) => w,
            Err(e) => return refused(&req, &session, service_refusal(e)?),
        }
    } else {
        Vec::new()
    };
    let apps = installed(&state).await?;
    let group = bulk_groups::name(&state, &plan.action).await?;
    Ok(layout::ok(review_page(
        &admin, &plan, &apps, &group, &warnings,
    )))
}

/// POST /users/bulk/apply: the confirmed change, all or nothing.
pub async fn apply(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: actix_session::Session,
    fields: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let form = parse(&fields)?;
    if let Some(why) = refusal(&admin, &form) {
        return refused(&req, &session, why);
    }
    if let BulkAction::AddToGroup(_) | BulkAction::RemoveFromGroup(_) = form.action {
        return bulk_groups::apply(
            &req,
            &state,
            &admin,
            &session,
            form.ids,
            form.action,
            form.force,
        )
        .await;
    }
    match state
        .service
        .as_actor(admin.actor())
        .lifting_guard(form.force)
        .apply_bulk(form.ids, form.action)
        .await
    {
        Ok(outcome) => {
            say_outcome(&session, &outcome)?;
            Ok(layout::redirect(&req, "/users"))
        }
        Err(e @ ServiceError::Identity(_)) => Err(e.into()),
        Err(e) => {
            let why = service_refusal(e)?;
            Ok(layout::respond(
                StatusCode::CONFLICT,
                page(
                    "Nothing was changed",
                    &admin,
                    Nav::Users,
                    html! { h1 { "Nothing was changed" } p.alert role="alert" { (why) } p { a href="/users" { "Back to people" } } },
                ),
            ))
        }
    }
}
