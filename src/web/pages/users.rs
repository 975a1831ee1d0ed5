//! /users: the people table with live badges, search as you type, filters by
//! app and status, sorted by name or email (Unicode collation), 50 a page; the
//! rows can be selected for a bulk change (see `bulk`).

use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::PER_PAGE;
use crate::db::groups::{self, GroupRef};
use crate::db::read::{self, AppRow, SortBy, StatusFilter, UserQuery, UserRow};
use crate::domain::Role;
use crate::web::guard::is_htmx;
use crate::web::layout::{self, Nav, badge, csrf_field, page, pagination, poller, role_label};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    app: String,
    status: String,
    sort: String,
    select: String,
    page: Option<usize>,
}

/// The list's filters as parsed; unknown values count as unset.
struct Filters {
    q: String,
    app: Option<String>,
    status: Option<StatusFilter>,
    sort: SortBy,
    /// Every row of the page starts ticked (`select=page`): a select-all without script.
    all: bool,
}

impl Filters {
    fn of(q: &ListQuery, apps: &[AppRow]) -> Filters {
        Filters {
            q: q.q.trim().to_owned(),
            app: apps
                .iter()
                .find(|a| a.slug == q.app)
                .map(|a| a.slug.clone()),
            status: StatusFilter::parse(&q.status),
            sort: SortBy::parse(&q.sort).unwrap_or_default(),
            all: q.select == "page",
        }
    }

    /// This list's address on page `page`, with every row ticked or none.
    fn url(&self, page: usize, all: bool) -> String {
        let mut params = self.params();
        params.retain(|(_, v)| !v.is_empty());
        if page > 1 {
            params.push(("page", page.to_string()));
        }
        if all {
            params.push(("select", "page".into()));
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        if query.is_empty() {
            "/users".into()
        } else {
            format!("/users?{query}")
        }
    }

    fn any(&self) -> bool {
        !self.q.is_empty() || self.app.is_some() || self.status.is_some()
    }

    /// The query parameters that reproduce this list (for page links).
    fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("q", self.q.clone()),
            ("app", self.app.clone().unwrap_or_default()),
            (
                "status",
                self.status
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            (
                "sort",
                if self.sort == SortBy::Name {
                    String::new()
                } else {
                    self.sort.as_str().to_owned()
                },
            ),
        ]
    }
}

/// How a status filter reads in the list.
pub fn status_filter_label(s: StatusFilter) -> &'static str {
    match s {
        StatusFilter::Provisioned => "provisioned",
        StatusFilter::Pending => "waiting for sync",
        StatusFilter::Error => "in error",
        StatusFilter::Failed => "failed",
        StatusFilter::Disabled => "disabled",
        StatusFilter::Held => "held by the revocation guard",
    }
}

/// One row of the table; `pick` offers the bulk bar's checkbox (to admins), ticked or not.
pub fn user_row(u: &UserRow, apps: &[AppRow], pick: Option<bool>) -> Markup {
    html! {
        tr #(format!("u-{}", u.id.simple())) {
            td.pick {
                @if let (false, Some(ticked)) = (u.deleting, pick) {
                    input type="checkbox" name="id" value=(u.id) form="bulk" checked[ticked]
                        aria-label=(format!("Select {}", u.name));
                }
            }
            th scope="row" {
                a href=(format!("/users/{}", u.id)) { bdi { (u.name) } }
                @if u.deleting { " " span.tag.removing { "being removed" } }
            }
            td data-label="Email" { bdi { (u.email) } }
            td data-label="Can sign in here" { @if u.dashboard.signs_in() { (u.dashboard.as_str()) } @else { span.muted { "no" } } }
            @for app in apps {
                td data-label=(app.name) {
                    @if let Some(cell) = u.access.iter().find(|c| c.app == app.slug) {
                        span.role { (role_label(cell.role)) } " " (badge(u.id, &app.slug, cell.status))
                    } @else {
                        span.muted { "—" }
                    }
                }
            }
        }
    }
}

/// Whether any badge of these rows is still changing.
pub fn any_transient(rows: &[UserRow], apps: &[AppRow]) -> bool {
    rows.iter().any(|u| {
        u.access
            .iter()
            .any(|c| c.status.is_transient() && apps.iter().any(|a| a.slug == c.app))
    })
}

fn empty_everyone(admin: &CurrentAdmin) -> Markup {
    html! {
        p { "Add the people who should use your apps, one by one or from a spreadsheet." }
        @if admin.can_change() { p.actions {
            a.button.primary href="/users/new" { "Add a person" }
            a.button href="/users/import" { "Import a CSV file" }
        } }
    }
}

/// The bulk bar: what to do with the selected rows; the confirmation comes next.
fn bulk_bar(
    admin: &CurrentAdmin,
    apps: &[AppRow],
    groups: &[GroupRef],
    f: &Filters,
    page: usize,
) -> Markup {
    html! {
        form #bulk.bulk method="post" action="/users/bulk" {
            (csrf_field(&admin.csrf))
            fieldset {
                legend { "With the selected people" }
                @if !apps.is_empty() {
                    div.bulk-role {
                        label for="bulk-app" { "App" }
                        select #bulk-app name="app" {
                            @for app in apps { option value=(app.slug) { (app.name) } }
                        }
                        label for="bulk-role" { "Role" }
                        select #bulk-role name="role" {
                            @for r in [Role::User, Role::Admin, Role::None] {
                                option value=(r.as_str()) { (role_label(r)) }
                            }
                        }
                        button type="submit" name="action" value="role" { "Set role…" }
                    }
                }
                @if !groups.is_empty() {
                    div.bulk-role {
                        label for="bulk-group" { "Group" }
                        select #bulk-group name="group" {
                            @for g in groups { option value=(g.id) { (g.name) } }
                        }
                        button type="submit" name="action" value="group-add" { "Add to group…" }
                        button type="submit" name="action" value="group-remove" { "Remove from group…" }
                    }
                }
                button type="submit" name="action" value="retry" { "Retry…" }
                button.danger type="submit" name="action" value="delete" { "Delete…" }
                @if f.all { a href=(f.url(page, false)) { "Clear the selection" } }
                @else { a href=(f.url(page, true)) { "Select everyone on this page" } }
            }
        }
    }
}

fn results(
    admin: &CurrentAdmin,
    rows: &[UserRow],
    apps: &[AppRow],
    groups: &[GroupRef],
    total: usize,
    page: usize,
    f: &Filters,
) -> Markup {
    let sort_link = |by: SortBy, label: &str| {
        let mut params = Filters {
            sort: by,
            q: f.q.clone(),
            app: f.app.clone(),
            status: f.status,
            all: false,
        }
        .params();
        params.retain(|(_, v)| !v.is_empty());
        let href = format!(
            "/users?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish()
        );
        html! {
            @if f.sort == by { a href=(href) { (label) span aria-hidden="true" { " ↓" } } }
            @else { a href=(href) { (label) } }
        }
    };
    html! {
        div #results {
            @if total == 0 && !f.any() {
                div.empty { h2 { "No people yet" } (empty_everyone(admin)) }
            } @else if total == 0 {
                div.empty {
                    h2 { @if f.q.is_empty() { "Nobody matches these filters" } @else { "Nobody matches “" (f.q) "”" } }
                    p { "Search looks at names and email addresses; the filters at each person's app access. "
                        a href="/users" { "Show everyone" }
                        @if admin.can_change() { " or " a href="/users/new" { "add a person" } } "." }
                }
            } @else {
                @if total == 1 && !f.any() {
                    div.empty { h2 { "Only you so far" } (empty_everyone(admin)) }
                }
                @if admin.can_change() { (bulk_bar(admin, apps, groups, f, page)) }
                div.table-wrap tabindex="0" role="region" aria-label="People" {
                    table.people.cards {
                        caption.sr { "People and their access per app" }
                        thead { tr {
                            td {}
                            th scope="col" aria-sort=[(f.sort == SortBy::Name).then_some("ascending")] { (sort_link(SortBy::Name, "Name")) }
                            th scope="col" aria-sort=[(f.sort == SortBy::Email).then_some("ascending")] { (sort_link(SortBy::Email, "Email")) }
                            th scope="col" { "Can sign in here" }
                            @for app in apps { th scope="col" { (app.name) } }
                        } }
                        tbody { @for u in rows { (user_row(u, apps, admin.can_change().then_some(f.all))) } }
                    }
                }
                (pagination("/users", &f.params(), page, total, PER_PAGE))
            }
        }
    }
}

/// GET /users (the `#results` fragment for htmx)
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let page_no = layout::page_number(query.page);
    let query = query.into_inner();
    let (apps, groups, f, (rows, total)) = state
        .service
        .db()
        .run(move |c| {
            // One snapshot for the page: its apps, rows and count agree, and the WAL read
            // lock is taken once instead of once per statement.
            let snapshot = c
                .unchecked_transaction()
                .map_err(crate::db::DbError::from)?;
            let apps: Vec<AppRow> = read::installed_apps(c)?;
            let f = Filters::of(&query, &apps);
            let users = read::users(
                c,
                &UserQuery {
                    search: Some(f.q.clone()),
                    include_deleting: true,
                    app: f.app.clone(),
                    status: f.status,
                    sort: f.sort,
                    offset: (page_no - 1) * PER_PAGE,
                    limit: PER_PAGE,
                    ..UserQuery::default()
                },
            )?;
            let groups = groups::names_all(c)?;
            snapshot.commit().map_err(crate::db::DbError::from)?;
            Ok::<_, crate::db::DbError>((apps, groups, f, users))
        })
        .await?;
    let live = any_transient(&rows, &apps);
    let body = results(&admin, &rows, &apps, &groups, total, page_no, &f);
    if is_htmx(&req) {
        return Ok(layout::ok(html! { (body) (poller(live, "badge", true)) }));
    }
    Ok(layout::ok(page(
        "People",
        &admin,
        Nav::Users,
        html! {
            div.titlebar {
                h1 { "People" }
                @if admin.can_change() { p.actions {
                    a.button.primary href="/users/new" { "Add a person" }
                    a.button href="/users/import" { "Import CSV" }
                } }
            }
            @if apps.is_empty() {
                p.note { "No app is installed yet, so nobody is provisioned anywhere. "
                    a href="/apps" { "Install an app" } " to grant access." }
            }
            form.search #people-filters role="search" method="get" action="/users"
                hx-get="/users" hx-target="#results" hx-swap="outerHTML" hx-push-url="true"
                hx-trigger="input changed delay:300ms from:#q, search from:#q, change, submit" {
                div.grow {
                    label for="q" { "Search people" }
                    input #q type="search" name="q" value=(f.q) autocomplete="off" placeholder="Name or email";
                }
                @if !apps.is_empty() {
                    div {
                        label for="f-app" { "App" }
                        select #f-app name="app" {
                            option value="" selected[f.app.is_none()] { "any app" }
                            @for app in &apps { option value=(app.slug) selected[f.app.as_ref() == Some(&app.slug)] { (app.name) } }
                        }
                    }
                    div {
                        label for="f-status" { "Status" }
                        select #f-status name="status" {
                            option value="" selected[f.status.is_none()] { "any status" }
                            @for s in StatusFilter::ALL { option value=(s.as_str()) selected[f.status == Some(s)] { (status_filter_label(s)) } }
                        }
                    }
                }
                div {
                    label for="f-sort" { "Sort by" }
                    select #f-sort name="sort" {
                        option value="name" selected[f.sort == SortBy::Name] { "name" }
                        option value="email" selected[f.sort == SortBy::Email] { "email" }
                    }
                }
                button type="submit" { "Show" }
            }
            (body)
            (poller(live, "badge", false))
        },
    )))
}
