//! /activity: the provisioning log, newest first, filtered by app, user and outcome.

use actix_web::{HttpResponse, web};
use maud::html;

use super::PER_PAGE;
use crate::db::pairs::{self, ActivityQuery};
use crate::db::read;
use crate::web::layout::{self, Nav, page, pagination, when};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct Filter {
    app: String,
    user: String,
    outcome: String,
    page: Option<usize>,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// GET /activity
pub async fn list(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    f: web::Query<Filter>,
) -> Result<HttpResponse, WebError> {
    let page_no = layout::page_number(f.page);
    let q = ActivityQuery {
        app: some(&f.app),
        user: some(&f.user),
        outcome: some(&f.outcome),
        offset: (page_no - 1) * PER_PAGE,
        limit: PER_PAGE,
    };
    let filtered = q.app.is_some() || q.user.is_some() || q.outcome.is_some();
    let (apps, outcomes, (rows, total)) = state
        .service
        .db()
        .run(move |c| {
            Ok::<_, crate::db::DbError>((
                read::apps(c)?,
                pairs::outcomes(c)?,
                pairs::activity(c, &q)?,
            ))
        })
        .await?;
    Ok(layout::ok(page(
        "Activity",
        &admin,
        Nav::Activity,
        html! {
            h1 { "Activity" }
            p.lead { "Every request accessboard sent to an app, newest first." }
            form.filters method="get" action="/activity" {
                div { label for="app" { "App" }
                    select #app name="app" {
                        option value="" { "all apps" }
                        @for a in &apps { option value=(a.slug) selected[a.slug == f.app] { (a.name) } }
                    } }
                div { label for="user" { "Person (email)" }
                    input #user type="search" name="user" value=(f.user) autocomplete="off"; }
                div { label for="outcome" { "Outcome" }
                    select #outcome name="outcome" {
                        option value="" { "any outcome" }
                        @for o in &outcomes { option value=(o) selected[*o == f.outcome] { (o) } }
                    } }
                button type="submit" { "Filter" }
                @if filtered { a.button href="/activity" { "Clear" } }
            }
            @if rows.is_empty() {
                div.empty {
                    @if filtered { p { "Nothing matches these filters. " a href="/activity" { "Show everything" } } }
                    @else { h2 { "Nothing has happened yet" }
                        p { "Requests to apps appear here once someone has access to an installed app with SCIM settings." } }
                }
            } @else {
                div.table-wrap tabindex="0" role="region" aria-label="Activity" { table {
                    thead { tr {
                        th scope="col" { "Time" } th scope="col" { "Person" } th scope="col" { "App" } th scope="col" { "Operation" }
                        th scope="col" { "HTTP" } th scope="col" { "Duration" } th scope="col" { "Outcome" } th scope="col" { "Message" }
                    } }
                    tbody { @for r in &rows { tr {
                        td { (when(Some(r.at), &state.service.settings().server.zone)) }
                        td { @match (&r.user_id, &r.user_email) {
                            (Some(id), Some(e)) => a href=(format!("/users/{id}")) { bdi { (e) } },
                            (None, Some(e)) => bdi { (e) },
                            _ => span.muted { "—" },
                        } }
                        td { a href=(format!("/apps/{}", r.app)) { (r.app) } }
                        td { code { (r.operation) } }
                        td.num { @if let Some(s) = r.http_status { (s) } @else { span.muted { "—" } } }
                        td.num { @if let Some(d) = r.duration_ms { (d) " ms" } }
                        td { span class=(if r.outcome == "ok" { "badge ok" } else if r.outcome == "error" || r.outcome == "failed" { "badge bad" } else { "badge pending" }) { (r.outcome) } }
                        td.message { @if let Some(m) = &r.message { (m) } }
                    } } }
                } }
                (pagination("/activity", &[("app", f.app.clone()), ("user", f.user.clone()), ("outcome", f.outcome.clone())], page_no, total, PER_PAGE))
            }
        },
    )))
}
