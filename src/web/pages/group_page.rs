//! /groups/{id}: one group: its name, its role in each app, its members (find people
//! to add, remove one) and the way to delete it. Each form posts to a path of its own
//! (`group_edit`, `group_confirm`), which comes back here with a one-time message, or
//! draws this page again with the refusal beside the form it came from.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use uuid::Uuid;

use super::PER_PAGE;
use crate::db::groups::{self, GroupDetail};
use crate::db::read::{self, UserQuery, UserRow};
use crate::domain::{MAX_GROUP_NAME, Role};
use crate::users::{GroupOutcome, MAX_DESCRIPTION};
use crate::web::layout::{self, Nav, csrf_field, page, pagination, role_label};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

/// People a search offers to add, at most.
const MATCHES: usize = 10;

/// An app a group can be given a role in: the installed ones, and any other it holds a
/// grant in (so that grant can be seen and taken away).
pub(super) struct GrantRow {
    slug: String,
    name: String,
    installed: bool,
    role: Role,
}

/// What the page shows, read in one go.
pub(super) struct Loaded {
    pub(super) detail: GroupDetail,
    grants: Vec<GrantRow>,
    matches: Vec<UserRow>,
}

/// What the page was asked for, and the refusals to show beside their forms.
#[derive(Default)]
pub(super) struct Shown {
    /// The search for people to add.
    pub(super) q: String,
    /// The page of the member list.
    pub(super) page: usize,
    /// The name as typed, and why it was refused.
    pub(super) rename: Option<(String, String)>,
    /// The description as typed, and why it was refused.
    pub(super) describe: Option<(String, String)>,
    /// Why adding someone was refused.
    pub(super) add: Option<String>,
    /// What an add or remove made by htmx did, said in the members' part.
    pub(super) done: Option<String>,
    /// A removal that takes access away, asked first: who, and the service's preview.
    pub(super) removing: Option<(String, GroupOutcome)>,
    /// Why a grant was refused (the app's slug, or `None` when the app is unknown).
    pub(super) grant: Option<(Option<String>, String)>,
}

/// The group, its apps and the people matching `q`; a 404 page when it does not exist.
pub(super) async fn load(state: &AppState, id: Uuid, q: &str) -> Result<Loaded, WebError> {
    let q = q.trim().to_owned();
    let loaded = state
        .service
        .db()
        .run(move |c| {
            let Some(detail) = groups::group(c, id)? else {
                return Ok(None);
            };
            let installed = read::installed_apps(c)?;
            let mut grants: Vec<GrantRow> = installed
                .iter()
                .map(|a| GrantRow {
                    slug: a.slug.clone(),
                    name: a.name.clone(),
                    installed: true,
                    role: Role::None,
                })
                .collect();
            for g in &detail.grant_list {
                match grants.iter_mut().find(|r| r.slug == g.app) {
                    Some(row) => row.role = g.role,
                    None => grants.push(GrantRow {
                        slug: g.app.clone(),
                        name: g.app_name.clone(),
                        installed: false,
                        role: g.role,
                    }),
                }
            }
            let matches = if q.is_empty() {
                Vec::new()
            } else {
                read::users(
                    c,
                    &UserQuery {
                        search: Some(q),
                        limit: MATCHES,
                        ..UserQuery::default()
                    },
                )?
                .0
            };
            Ok::<_, crate::db::DbError>(Some(Loaded {
                detail,
                grants,
                matches,
            }))
        })
        .await?;
    loaded.ok_or_else(|| WebError::NotFound("This group does not exist (any more).".into()))
}

fn rename_form(admin: &CurrentAdmin, l: &Loaded, s: &Shown) -> Markup {
    let id = l.detail.group.id;
    let (value, error) = match &s.rename {
        Some((typed, why)) => (typed.as_str(), Some(why)),
        None => (l.detail.group.name.as_str(), None),
    };
    html! {
        form.inline-form method="post" action=(format!("/groups/{id}/rename")) novalidate {
            (csrf_field(&admin.csrf))
            div.grow {
                label for="rename" { "Name" }
                input #rename type="text" name="name" value=(value) required maxlength=(MAX_GROUP_NAME)
                    autocomplete="off" aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| "rename-error")];
            }
            button type="submit" { "Rename" }
        }
        @if let Some(e) = error { p.field-error #rename-error role="alert" { (e) } }
    }
}

fn describe_form(admin: &CurrentAdmin, l: &Loaded, s: &Shown) -> Markup {
    let id = l.detail.group.id;
    let (value, error) = match &s.describe {
        Some((typed, why)) => (typed.as_str(), Some(why)),
        None => (l.detail.group.description.as_str(), None),
    };
    html! {
        form.inline-form method="post" action=(format!("/groups/{id}/describe")) novalidate {
            (csrf_field(&admin.csrf))
            div.grow {
                label for="describe" { "Description" }
                input #describe type="text" name="description" value=(value) maxlength=(MAX_DESCRIPTION)
                    autocomplete="off" placeholder="What the group is for"
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| "describe-error")];
            }
            button type="submit" { "Save description" }
        }
        @if let Some(e) = error { p.field-error #describe-error role="alert" { (e) } }
    }
}

fn grants(admin: &CurrentAdmin, l: &Loaded, s: &Shown) -> Markup {
    let id = l.detail.group.id;
    let error_for = |slug: Option<&str>| {
        s.grant
            .as_ref()
            .filter(|(at, _)| at.as_deref() == slug)
            .map(|(_, why)| why)
    };
    html! {
        section #grants.grants aria-labelledby="grants-title" {
            h2 #grants-title { "Access per app" }
            p.hint { "Everyone in the group gets this role in the app, unless they have a higher one of their own or through another group." }
            @if let Some(e) = error_for(None) { p.alert role="alert" { (e) } }
            @if l.grants.is_empty() {
                p.muted { "No app is installed. " a href="/apps" { "Install one" } " to give the group access." }
            }
            // A viewer reads the roles; only an admin gets the forms that change them.
            @if !admin.can_change() && !l.grants.is_empty() {
                dl.facts {
                    @for g in &l.grants {
                        dt { (g.name) @if !g.installed { " " span.muted { "(not installed)" } } }
                        dd { (role_label(g.role)) }
                    }
                }
            }
            @for g in l.grants.iter().filter(|_| admin.can_change()) {
                @let field = format!("grant-{}", g.slug);
                @let error = error_for(Some(&g.slug));
                form method="post" action=(format!("/groups/{id}/grant/{}", g.slug)) {
                    (csrf_field(&admin.csrf))
                    div.app-role {
                        label for=(field) {
                            (g.name)
                            @if !g.installed { " " span.muted { "(not installed)" } }
                        }
                        select id=(field) name="role" aria-invalid=[error.map(|_| "true")]
                            aria-describedby=[error.map(|_| format!("{field}-error"))] {
                            @for r in [Role::None, Role::User, Role::Admin] {
                                option value=(r.as_str()) selected[r == g.role] { (role_label(r)) }
                            }
                        }
                        button type="submit" aria-label=(format!("Save the role in {}", g.name)) { "Save" }
                    }
                    @if let Some(e) = error { p.field-error id=(format!("{field}-error")) role="alert" { (e) } }
                }
            }
        }
    }
}

fn candidates(admin: &CurrentAdmin, l: &Loaded, s: &Shown) -> Markup {
    let g = &l.detail.group;
    let member = |u: &UserRow| l.detail.member_list.iter().any(|m| m.id == u.id);
    html! {
        div #candidates aria-live="polite" {
            @if let Some(e) = &s.add { p.alert role="alert" { (e) } }
            @if !s.q.trim().is_empty() {
                @if l.matches.is_empty() {
                    p.muted { "Nobody matches “" (s.q.trim()) "”. " a href="/users/new" { "Add the person" } " first, then add them here." }
                } @else {
                    ul.picks aria-label="People matching the search" {
                        @for u in &l.matches { li {
                            span { bdi { (u.name) } " " span.muted { bdi { (u.email) } } }
                            @if member(u) {
                                span.muted { "in the group" }
                            } @else {
                                form method="post" action=(format!("/groups/{}/members", g.id))
                                    hx-post=(format!("/groups/{}/members", g.id)) hx-target="#members" hx-swap="outerHTML" {
                                    (csrf_field(&admin.csrf))
                                    input type="hidden" name="email" value=(u.email);
                                    input type="hidden" name="q" value=(s.q);
                                    button type="submit" aria-label=(format!("Add {} to {}", u.name, g.name)) { "Add" }
                                }
                            }
                        } }
                    }
                }
            }
        }
    }
}

/// A removal that takes access away, asked in place: how many lose it, and the buttons.
fn removing(admin: &CurrentAdmin, l: &Loaded, s: &Shown) -> Markup {
    let g = &l.detail.group;
    let action = format!("/groups/{}/members/remove", g.id);
    html! {
        @if let Some((email, o)) = &s.removing {
            div.confirm.card #remove-confirm role="alert" {
                p.impact { "Remove " bdi { (email) } " from " bdi { (g.name) } "? "
                    (super::group_edit::lose(o)) ": nothing else gives it to them. "
                    "Their accounts are disabled or deleted, as each app is set up." }
                form.actions method="post" action=(action) hx-post=(action) hx-target="#members" hx-swap="outerHTML" {
                    (csrf_field(&admin.csrf))
                    input type="hidden" name="email" value=(email);
                    input type="hidden" name="q" value=(s.q);
                    input type="hidden" name="confirmed" value="yes";
                    (super::bulk::planned())
                    button.danger type="submit" { "Remove and take access away" }
                    a.button href=(format!("/groups/{}#members", g.id)) { "Keep them" }
                }
            }
        }
    }
}

/// The members' part alone: what an htmx add or remove gets back.
pub(super) fn members_part(admin: &CurrentAdmin, l: &Loaded, s: &Shown) -> Markup {
    members(admin, l, s)
}

fn members(admin: &CurrentAdmin, l: &Loaded, s: &Shown) -> Markup {
    let g = &l.detail.group;
    let all = &l.detail.member_list;
    let page_no = s.page.max(1);
    let shown = all.iter().skip((page_no - 1) * PER_PAGE).take(PER_PAGE);
    let base = format!("/groups/{}", g.id);
    html! {
        section #members aria-labelledby="members-title" {
            h2 #members-title { "Members (" (all.len()) ")" }
            @if admin.can_change() { form.search role="search" method="get" action=(base)
                hx-get=(base) hx-select="#candidates" hx-target="#candidates" hx-swap="outerHTML"
                hx-trigger="input changed delay:300ms from:#q, search from:#q, submit" {
                div.grow {
                    label for="q" { "Find people to add" }
                    input #q type="search" name="q" value=(s.q) autocomplete="off" placeholder="Name or email";
                }
                button type="submit" { "Find" }
            } }
            @if let Some(done) = &s.done { p.saved #members-done role="status" { (done) } }
            @if admin.can_change() {
                (removing(admin, l, s))
                (candidates(admin, l, s))
            }
            @if all.is_empty() {
                p.muted { "Nobody is in this group yet." }
            } @else {
                div.table-wrap tabindex="0" role="region" aria-label="Members" {
                    table.cards {
                        caption.sr { "The members of " (g.name) }
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { span.sr { "Actions" } } } }
                        tbody { @for m in shown { tr {
                            th scope="row" { a href=(format!("/users/{}", m.id)) { bdi { (m.name) } } }
                            td data-label="Email" { bdi { (m.email) } }
                            td { @if admin.can_change() {
                                form method="post" action=(format!("/groups/{}/members/remove", g.id))
                                    hx-post=(format!("/groups/{}/members/remove", g.id)) hx-target="#members" hx-swap="outerHTML" {
                                    (csrf_field(&admin.csrf))
                                    input type="hidden" name="email" value=(m.email);
                                    input type="hidden" name="q" value=(s.q);
                                    button type="submit" aria-label=(format!("Remove {} from {}", m.name, g.name)) { "Remove" }
                                }
                            } }
                        } } }
                    }
                }
                (pagination(&base, &[("q", s.q.clone())], page_no, all.len(), PER_PAGE))
            }
        }
    }
}

/// The whole page.
pub(super) fn render(admin: &CurrentAdmin, l: &Loaded, s: &Shown) -> Markup {
    let g = &l.detail.group;
    page(
        &g.name,
        admin,
        Nav::Groups,
        html! {
            p.crumbs { a href="/groups" { "Groups" } " / " }
            h1 { bdi { (g.name) } }
            @if !g.description.is_empty() { p.lead { bdi { (g.description) } } }
            @if admin.can_change() {
                (rename_form(admin, l, s))
                (describe_form(admin, l, s))
            }
            (grants(admin, l, s))
            (members(admin, l, s))
            @if admin.can_change() {
                p.danger-zone { a.button.danger href=(format!("/groups/{}/delete", g.id)) { "Delete this group…" } }
            }
        },
    )
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct GroupQuery {
    q: String,
    page: Option<usize>,
}

/// GET /groups/{id} (htmx's search takes the `#candidates` part of it)
pub async fn show(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    id: web::Path<Uuid>,
    query: web::Query<GroupQuery>,
) -> Result<HttpResponse, WebError> {
    let q = query.into_inner();
    let loaded = load(&state, *id, &q.q).await?;
    let shown = Shown {
        q: q.q,
        page: layout::page_number(q.page),
        ..Shown::default()
    };
    Ok(layout::ok(render(&admin, &loaded, &shown)))
}
