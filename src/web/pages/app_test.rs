//! "Test connection" on an app: the `app test` checklist, and the mapping check before Install.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::html;

use super::apps::{app_name, known};
use crate::provisioning::probe::{self, MappingCheck};
use crate::web::layout::{self, Nav, page};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

/// POST /apps/{slug}/test: reaches the app and shows the checklist; never writes to it.
pub async fn test(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &slug).await?;
    let report = probe::test_app(&state.engine, &slug)
        .await
        .map_err(|e| WebError::NotFound(e.to_string()))?;
    let status = if report.usable {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    Ok(layout::respond(
        status,
        page(
            "Test connection",
            &admin,
            Nav::Apps,
            html! {
                p.crumbs { a href="/apps" { "Apps" } " / " a href=(format!("/apps/{slug}")) { (app_name(&state, &slug)) } " / " }
                h1 { "Connection test: " (app_name(&state, &slug)) }
                @if report.usable {
                    p.saved role="status" { "The app can be provisioned as configured." }
                } @else {
                    p.alert role="alert" { "The app cannot be provisioned as configured; see what failed below." }
                }
                ul.checklist {
                    @for c in &report.checks {
                        li {
                            @if !c.ok { span.badge.bad { "failed" } }
                            @else if c.warning { span.badge.warn { "warning" } }
                            @else { span.badge.ok { "ok" } }
                            " " strong { (c.name) } ": " (c.detail)
                        }
                    }
                }
                p { a href="/apps" { "Back to apps" } }
            },
        ),
    ))
}

/// Refuses an install whose role mapping the app cannot take; `None` lets it go ahead.
pub async fn refuse_install(
    state: &AppState,
    admin: &CurrentAdmin,
    slug: &crate::domain::Slug,
) -> Option<HttpResponse> {
    match probe::check_mapping(&state.engine, slug).await {
        MappingCheck::Unusable(why) => Some(layout::respond(
            StatusCode::CONFLICT,
            page(
                "Install",
                admin,
                Nav::Apps,
                html! {
                    h1 { "Cannot install " (app_name(state, slug)) }
                    p.alert role="alert" { (why) }
                    p { "Change the role mapping in settings.toml, restart, and try again." }
                    p { a href="/apps" { "Back to apps" } }
                },
            ),
        )),
        MappingCheck::Usable | MappingCheck::Unknown(_) => None,
    }
}
