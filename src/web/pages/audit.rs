//! /audit: every change admins made, newest first, filtered by actor and action.

use actix_web::{HttpResponse, web};
use maud::html;

use super::PER_PAGE;
use crate::db::audit::{self, AuditQuery};
use crate::web::layout::{self, Nav, page, pagination, when};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct Filter {
    actor: String,
    action: String,
    page: Option<usize>,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// GET /audit
pub async fn list(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    f: web::Query<Filter>,
) -> Result<HttpResponse, WebError> {
    let page_no = layout::page_number(f.page);
    let q = AuditQuery {
        actor: some(&f.actor),
        action: some(&f.action),
        since: None,
        offset: (page_no - 1) * PER_PAGE,
        limit: PER_PAGE,
    };
    let filtered = q.actor.is_some() || q.action.is_some();
    let (actions, (rows, total)) = state
        .service
        .db()
        .run(move |c| Ok::<_, crate::db::DbError>((audit::actions(c)?, audit::list(c, &q)?)))
        .await?;
    Ok(layout::ok(page(
        "Audit",
        &admin,
        Nav::Audit,
        html! {
            h1 { "Audit trail" }
            p.lead { "Every change made by an admin, in the dashboard or on the command line, newest first." }
            form.filters method="get" action="/audit" {
                div { label for="actor" { "Who (contains)" }
                    input #actor type="search" name="actor" value=(f.actor) autocomplete="off"; }
                div { label for="action" { "Action" }
                    select #action name="action" {
                        option value="" { "any action" }
                        @for a in &actions { option value=(a) selected[*a == f.action] { (a) } }
                    } }
                button type="submit" { "Filter" }
                @if filtered { a.button href="/audit" { "Clear" } }
            }
            @if rows.is_empty() {
                div.empty {
                    @if filtered { p { "Nothing matches these filters. " a href="/audit" { "Show everything" } } }
                    @else { h2 { "Nothing recorded yet" }
                        p { "Changes to people, access and apps, passwords and sign-ins appear here." } }
                }
            } @else {
                div.table-wrap tabindex="0" role="region" aria-label="Audit trail" { table.cards {
                    thead { tr {
                        th scope="col" { "Time" } th scope="col" { "Who" } th scope="col" { "Action" }
                        th scope="col" { "Target" } th scope="col" { "Before" } th scope="col" { "After" }
                    } }
                    tbody { @for r in &rows { tr {
                        td data-label="Time" { (when(Some(r.at), &state.service.settings().server.zone)) }
                        td data-label="Who" { bdi { (r.actor) } }
                        td data-label="Action" { code { (r.action) } }
                        td data-label="Target" { @if let Some(t) = &r.target { bdi { (t) } } @else { span.muted { "—" } } }
                        td.message data-label="Before" { @if let Some(b) = &r.before { code { (b) } } @else { span.muted { "—" } } }
                        td.message data-label="After" { @if let Some(a) = &r.after { code { (a) } } @else { span.muted { "—" } } }
                    } } }
                } }
                (pagination("/audit", &[("actor", f.actor.clone()), ("action", f.action.clone())], page_no, total, PER_PAGE))
            }
        },
    )))
}
