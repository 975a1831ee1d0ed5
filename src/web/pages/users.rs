//! /users: the people table with live badges, search as you type, 50 a page.

use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::PER_PAGE;
use crate::db::read::{self, AppRow, UserQuery, UserRow};
use crate::web::guard::is_htmx;
use crate::web::layout::{self, Nav, badge, page, pagination, poller, role_label};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    page: Option<usize>,
}

/// One row of the table (also returned after saves).
pub fn user_row(u: &UserRow, apps: &[AppRow]) -> Markup {
    html! {
        tr #(format!("u-{}", u.id.simple())) {
            th scope="row" {
                a href=(format!("/users/{}", u.id)) { bdi { (u.name) } }
                @if u.deleting { " " span.tag.removing { "being removed" } }
            }
            td { bdi { (u.email) } }
            td { @if u.admin { "yes" } @else { span.muted { "no" } } }
            @for app in apps {
                td {
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

fn results(rows: &[UserRow], apps: &[AppRow], total: usize, page: usize, q: &str) -> Markup {
    html! {
        div #results {
            @if total == 0 && q.trim().is_empty() {
                div.empty {
                    h2 { "No people yet" }
                    p { "Add the people who should use your apps, one by one or from a spreadsheet." }
                    p.actions {
                        a.button.primary href="/users/new" { "Add a person" }
                        a.button href="/users/import" { "Import a CSV file" }
                    }
                }
            } @else if total == 0 {
                div.empty {
                    h2 { "Nobody matches “" (q.trim()) "”" }
                    p { "Search looks at names and email addresses. "
                        a href="/users" { "Show everyone" } " or " a href="/users/new" { "add a person" } "." }
                }
            } @else {
                @if total == 1 && q.trim().is_empty() {
                    div.empty {
                        h2 { "Only you so far" }
                        p { "Add the people who should use your apps, one by one or from a spreadsheet." }
                        p.actions {
                            a.button.primary href="/users/new" { "Add a person" }
                            a.button href="/users/import" { "Import a CSV file" }
                        }
                    }
                }
                div.table-wrap {
                    table {
                        caption.sr { "People and their access per app" }
                        thead { tr {
                            th scope="col" { "Name" }
                            th scope="col" { "Email" }
                            th scope="col" { "Admin" }
                            @for app in apps { th scope="col" { (app.name) } }
                        } }
                        tbody { @for u in rows { (user_row(u, apps)) } }
                    }
                }
                (pagination("/users", &[("q", q.trim().to_owned())], page, total, PER_PAGE))
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
    let q = query.q.clone();
    let search = q.trim().to_owned();
    let (apps, (rows, total)) = state
        .service
        .db()
        .run(move |c| {
            let apps: Vec<AppRow> = read::installed_apps(c)?;
            let users = read::users(
                c,
                &UserQuery {
                    search: Some(search),
                    include_deleting: true,
                    offset: (page_no - 1) * PER_PAGE,
                    limit: PER_PAGE,
                },
            )?;
            Ok::<_, crate::db::DbError>((apps, users))
        })
        .await?;
    let live = any_transient(&rows, &apps);
    let body = results(&rows, &apps, total, page_no, &q);
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
                p.actions {
                    a.button.primary href="/users/new" { "Add a person" }
                    a.button href="/users/import" { "Import CSV" }
                }
            }
            @if apps.is_empty() {
                p.note { "No app is installed yet, so nobody is provisioned anywhere. "
                    a href="/apps" { "Install an app" } " to grant access." }
            }
            form.search role="search" method="get" action="/users" {
                label for="q" { "Search people" }
                input #q type="search" name="q" value=(q) autocomplete="off" placeholder="Name or email"
                    hx-get="/users" hx-trigger="input changed delay:300ms, search" hx-target="#results"
                    hx-swap="outerHTML" hx-push-url="true";
                button type="submit" { "Search" }
            }
            (body)
            (poller(live, "badge", false))
        },
    )))
}
