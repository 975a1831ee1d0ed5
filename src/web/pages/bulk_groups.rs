//! The group actions of the people list's bulk bar, "Add to group…" and "Remove from
//! group…": their review (who joins or leaves, and who gains or loses access where, from
//! the service's plan) and what the confirmed change says it did.

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse};
use maud::{Markup, html};
use uuid::Uuid;

use super::bulk::{people, people_do};
use crate::db::read::AppRow;
use crate::users::{BulkAction, BulkPlan, Effect, GroupOutcome, RoleMove, ServiceError};
use crate::web::layout::{self, role_label};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

/// The group action of the form: `group-add` (else `group-remove`) of the group `group`.
pub(super) fn parse(action: &str, group: Option<&str>) -> Result<BulkAction, WebError> {
    let raw = group.unwrap_or_default();
    let id = Uuid::parse_str(raw)
        .map_err(|_| WebError::BadRequest(format!("{raw:?} is not a group; choose one.")))?;
    Ok(if action == "group-add" {
        BulkAction::AddToGroup(id)
    } else {
        BulkAction::RemoveFromGroup(id)
    })
}

/// The name of the group of a group action; empty for the others.
pub(super) async fn name(state: &AppState, action: &BulkAction) -> Result<String, WebError> {
    let (BulkAction::AddToGroup(id) | BulkAction::RemoveFromGroup(id)) = *action else {
        return Ok(String::new());
    };
    let detail = state
        .service
        .db()
        .run(move |c| crate::db::groups::group(c, id))
        .await?;
    Ok(detail.map(|d| d.group.name).unwrap_or_default())
}

/// POST /users/bulk/apply of a group action: through the groups service, all or
/// nobody; back to the list saying what it did.
pub(super) async fn apply(
    req: &HttpRequest,
    state: &AppState,
    admin: &CurrentAdmin,
    session: &Session,
    ids: Vec<Uuid>,
    action: BulkAction,
    force: bool,
) -> Result<HttpResponse, WebError> {
    let adding = matches!(action, BulkAction::AddToGroup(_));
    match state
        .service
        .as_actor(admin.actor())
        .lifting_guard(force)
        .apply_bulk_group(ids, action)
        .await
    {
        Ok(o) => {
            super::group_edit::say(session, &o, done(adding, &o))?;
            Ok(layout::redirect(req, "/users"))
        }
        Err(e @ ServiceError::Identity(_)) => Err(e.into()),
        Err(e) => super::bulk::refused(req, session, super::bulk::service_refusal(e)?),
    }
}

/// The hidden fields that post the action again from the review.
pub(super) fn hidden(action: &BulkAction) -> Markup {
    html! {
        @match action {
            BulkAction::AddToGroup(g) => {
                input type="hidden" name="action" value="group-add";
                input type="hidden" name="group" value=(g);
            },
            BulkAction::RemoveFromGroup(g) => {
                input type="hidden" name="action" value="group-remove";
                input type="hidden" name="group" value=(g);
            },
            _ => {},
        }
    }
}

/// The review's question.
pub(super) fn title(adding: bool, group: &str) -> String {
    if adding {
        format!("Add them to {group}?")
    } else {
        format!("Remove them from {group}?")
    }
}

fn app_name<'a>(apps: &'a [AppRow], slug: &'a str) -> &'a str {
    apps.iter()
        .find(|a| a.slug == slug)
        .map_or(slug, |a| a.name.as_str())
}

/// Per app, how many people gain access, change role, lose access.
fn per_app(plan: &BulkPlan) -> BTreeMap<String, [usize; 3]> {
    let mut out: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    for p in &plan.people {
        if let Effect::Joins(moves) | Effect::Leaves(moves) = &p.effect {
            for m in moves {
                let n = out.entry(m.app.clone()).or_default();
                let i = if m.gains() {
                    0
                } else if m.loses() {
                    2
                } else {
                    1
                };
                n[i] += 1;
            }
        }
    }
    out
}

/// The sentences of the impact: who joins or leaves, then per app who gains or loses.
pub(super) fn impact(plan: &BulkPlan, adding: bool, group: &str, apps: &[AppRow]) -> Vec<String> {
    let t = plan.tally();
    let mut out = Vec::new();
    if t.members > 0 {
        out.push(if adding {
            format!("{} {group}.", people_do(t.members, "joins", "join"))
        } else {
            format!("{} {group}.", people_do(t.members, "leaves", "leave"))
        });
    }
    for (slug, [gain, change, lose]) in per_app(plan) {
        let name = app_name(apps, &slug);
        if gain > 0 {
            out.push(format!(
                "{} access to {name}.",
                people_do(gain, "gets", "get")
            ));
        }
        if change > 0 {
            out.push(format!(
                "{} role in {name}.",
                people_do(change, "changes", "change")
            ));
        }
        if lose > 0 {
            out.push(format!(
                "{} access to {name}: their accounts there are disabled (or deleted, as {name} is set up).",
                people_do(lose, "loses", "lose")
            ));
        }
    }
    if t.members > 0 && t.gain + t.change + t.lose == 0 {
        out.push("Nobody's access to any app changes.".into());
    }
    if t.unchanged > 0 {
        let why = if adding {
            format!("already in {group}")
        } else {
            format!("not in {group}")
        };
        out.push(format!(
            "Nothing changes for {} ({why}).",
            people(t.unchanged)
        ));
    }
    out
}

fn moves_text(moves: &[RoleMove], apps: &[AppRow]) -> String {
    moves
        .iter()
        .map(|m| {
            let name = app_name(apps, &m.app);
            if m.gains() {
                format!("gets {name} as {}", role_label(m.to))
            } else if m.loses() {
                format!("loses {name}")
            } else {
                format!("{} → {} in {name}", role_label(m.from), role_label(m.to))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What happens to one person.
pub(super) fn effect_text(e: &Effect, group: &str, apps: &[AppRow]) -> String {
    match e {
        Effect::Joins(m) if m.is_empty() => "joins; their access stays".into(),
        Effect::Joins(m) => format!("joins; {}", moves_text(m, apps)),
        Effect::Leaves(m) if m.is_empty() => "leaves; their access stays".into(),
        Effect::Leaves(m) => format!("leaves; {}", moves_text(m, apps)),
        Effect::Unchanged => format!("no change (already so in {group})"),
        _ => "no change".into(),
    }
}

/// What the confirmed change did, from the groups service's outcome.
pub(super) fn done(adding: bool, o: &GroupOutcome) -> String {
    match (adding, o.members_changed) {
        (true, 0) => format!("Everyone selected was already in {}.", o.group),
        (false, 0) => format!("Nobody selected was in {}.", o.group),
        (true, n) => format!(
            "{} added to {}; {}.",
            people_do(n, "was", "were"),
            o.group,
            people_do(o.gain_access, "gains access", "gain access")
        ),
        (false, n) => format!(
            "{} removed from {}; {}.",
            people_do(n, "was", "were"),
            o.group,
            people_do(o.lose_access, "loses access", "lose access")
        ),
    }
}
