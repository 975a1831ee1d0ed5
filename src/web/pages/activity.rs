//! /activity: one event per reconcile attempt, newest first, each expandable to its
//! requests; filtered by app, person and outcome.

use actix_web::{HttpResponse, web};
use maud::html;

use super::{PER_PAGE, events};
use crate::db::events::{self as log, EventQuery, OUTCOMES};
use crate::db::read;
use crate::web::layout::{self, Nav, page, pagination};
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
    let q = EventQuery {
        app: some(&f.app),
        person: some(&f.user),
        outcome: some(&f.outcome),
        user_id: None,
        offset: (page_no - 1) * PER_PAGE,
        limit: PER_PAGE,
    };
    let filtered = q.app.is_some() || q.person.is_some() || q.outcome.is_some();
    let (apps, (rows, total), requests) = state
        .service
        .db()
        .run(move |c| {
            let apps = read::installed_apps(c)?;
            let events = log::events(c, &q)?;
            let ids: Vec<i64> = events.0.iter().map(|e| e.id).collect();
            let requests = log::requests(c, &ids)?;
            Ok::<_, crate::db::DbError>((apps, events, requests))
        })
        .await?;
    Ok(layout::ok(page(
        "Activity",
        &admin,
        Nav::Activity,
        html! {
            h1 { "Activity" }
            p.lead { "Every attempt to bring a person's account in an app in line, newest first. Open one to see its requests." }
            form.filters method="get" action="/activity" {
                div { label for="app" { "App" }
                    select #app name="app" {
                        option value="" { "all apps" }
                        @for a in &apps { option value=(a.slug) selected[a.slug == f.app] { (a.name) } }
                    } }
                div { label for="user" { "Person (name or email)" }
                    input #user type="search" name="user" value=(f.user) autocomplete="off"; }
                div { label for="outcome" { "Outcome" }
                    select #outcome name="outcome" {
                        option value="" { "any outcome" }
                        @for o in OUTCOMES { option value=(o) selected[o == f.outcome] { (o.replace('_', " ")) } }
                    } }
                button type="submit" { "Filter" }
                @if filtered { a.button href="/activity" { "Clear" } }
            }
            @if rows.is_empty() {
                div.empty {
                    @if filtered { p { "Nothing matches these filters. " a href="/activity" { "Show everything" } } }
                    @else { h2 { "Nothing has happened yet" }
                        p { "Attempts appear here once someone has access to an installed app with SCIM settings." } }
                }
            } @else {
                (events::list(&rows, &requests, &state.service.settings().server.zone))
                (pagination("/activity", &[("app", f.app.clone()), ("user", f.user.clone()), ("outcome", f.outcome.clone())], page_no, total, PER_PAGE))
            }
        },
    )))
}
