//! Changes to an app that reach many people ask first, saying how many: Install,
//! Uninstall, Sync now and Retry all. Each GET here shows the impact and a form
//! that posts to the same path, whose handler (in `apps` or `app_detail`) acts; asked
//! from the app's page (`?back=app`), the form and Cancel lead back there.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use rusqlite::Connection;

use super::app_detail::Back;
use super::apps::known;
use super::bulk::{people, people_do};
use crate::db::DbError;
use crate::pairs::{Pairs, count_marked};
use crate::web::layout::{self, Nav, csrf_field, page};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

/// Which change is being confirmed.
#[derive(Clone, Copy)]
enum Change {
    Install,
    Uninstall,
    Sync,
    RetryAll,
}

impl Change {
    fn path(self) -> &'static str {
        match self {
            Change::Install => "install",
            Change::Uninstall => "uninstall",
            Change::Sync => "sync",
            Change::RetryAll => "retry",
        }
    }

    /// How many people the change reaches, read now.
    fn count(self, c: &Connection, app: &str) -> Result<usize, DbError> {
        let count = |sql: &str| -> Result<usize, DbError> {
            let n: i64 = c.prepare_cached(sql)?.query_row([app], |r| r.get(0))?;
            Ok(n as usize)
        };
        match self {
            Change::Install => count(
                "SELECT count(*) FROM app_access a JOIN users u ON u.id = a.user_id
                 WHERE a.app_slug = ?1 AND a.role != 'none' AND u.deleted_at IS NULL",
            ),
            Change::Uninstall => count(
                "SELECT count(*) FROM app_access WHERE app_slug = ?1 AND status != 'not_provisioned'",
            ),
            Change::Sync => count_marked(c, Pairs::AppRelevant(app)),
            Change::RetryAll => count_marked(
                c,
                Pairs::Unsettled {
                    app: Some(app),
                    user: None,
                },
            ),
        }
    }

    /// The question, the impact and the button.
    fn words(self, name: &str, n: usize, scim: bool) -> (String, String, String) {
        let who = people(n);
        let does = |one: &str, many: &str| people_do(n, one, many);
        match self {
            Change::Install if !scim => (
                format!("Install {name}?"),
                format!(
                    "{} a role in {name}. It has no SCIM settings, so nobody gets an account there through accessboard.",
                    does("has", "have")
                ),
                format!("Install {name}"),
            ),
            Change::Install => (
                format!("Install {name}?"),
                format!(
                    "{} an account in {name}, with the role each one has here.",
                    does("gets", "get")
                ),
                format!("Install and provision {who}"),
            ),
            Change::Uninstall => (
                format!("Uninstall {name}?"),
                format!(
                    "accessboard stops managing the accounts of {who} in {name}: they stay as they are in the app, and nobody new gets one."
                ),
                format!("Uninstall {name}"),
            ),
            Change::Sync => (
                format!("Sync everyone in {name}?"),
                format!(
                    "{} checked against one listing of the accounts in {name}; only the accounts that differ from accessboard (name, email, role, disabled or not) are rewritten.",
                    does("is", "are")
                ),
                format!("Sync {who}"),
            ),
            Change::RetryAll => (
                format!("Retry every error in {name}?"),
                format!(
                    "{} synced with {name} again, at once.",
                    does("is in error or failed and is", "in error or failed are")
                ),
                format!("Retry {who}"),
            ),
        }
    }
}

async fn confirm(
    state: &AppState,
    admin: &CurrentAdmin,
    raw: &str,
    change: Change,
    back: &Back,
) -> Result<HttpResponse, WebError> {
    let slug = known(state, raw).await?;
    let app = slug.to_string();
    let n = state
        .service
        .db()
        .run(move |c| change.count(c, &app))
        .await?;
    let settings = state.service.settings().app(slug.as_str());
    let name = settings.map_or_else(|| slug.to_string(), |a| a.name.clone());
    let scim = settings.is_some_and(|a| a.scim.is_some());
    let (question, impact, button) = change.words(&name, n, scim);
    // Nothing to do is said so, with no button (except Install and Uninstall, which
    // change the app's state even with nobody in it).
    let idle = n == 0 && matches!(change, Change::Sync | Change::RetryAll);
    let (action, cancel) = if back.app() {
        (
            format!("/apps/{slug}/{}?back=app", change.path()),
            format!("/apps/{slug}"),
        )
    } else {
        (
            format!("/apps/{slug}/{}", change.path()),
            "/apps".to_owned(),
        )
    };
    let body: Markup = html! {
        p.crumbs { a href="/apps" { "Apps" } " / " a href=(format!("/apps/{slug}")) { (name) } " / " }
        h1 { (question) }
        @if idle {
            p.impact role="status" { "Nobody in " (name) " needs this now." }
            p { a.button href=(format!("/apps/{slug}")) { "Back to " (name) } }
        } @else {
            p.impact role="status" { (impact) }
            form.actions method="post" action=(action) {
                (csrf_field(&admin.csrf))
                @if matches!(change, Change::Uninstall) { button.danger type="submit" { (button) } }
                @else { button.primary type="submit" { (button) } }
                a.button href=(cancel) { "Cancel" }
            }
        }
    };
    Ok(layout::ok(page(&question, admin, Nav::Apps, body)))
}

/// GET /apps/{slug}/install
pub async fn install(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
    back: web::Query<Back>,
) -> Result<HttpResponse, WebError> {
    confirm(&state, &admin, &slug, Change::Install, &back).await
}

/// GET /apps/{slug}/uninstall
pub async fn uninstall(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
    back: web::Query<Back>,
) -> Result<HttpResponse, WebError> {
    confirm(&state, &admin, &slug, Change::Uninstall, &back).await
}

/// GET /apps/{slug}/sync
pub async fn sync(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
    back: web::Query<Back>,
) -> Result<HttpResponse, WebError> {
    confirm(&state, &admin, &slug, Change::Sync, &back).await
}

/// GET /apps/{slug}/retry
pub async fn retry_all(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    slug: web::Path<String>,
    back: web::Query<Back>,
) -> Result<HttpResponse, WebError> {
    confirm(&state, &admin, &slug, Change::RetryAll, &back).await
}
