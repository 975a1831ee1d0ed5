//! The page shell and the small pieces every page uses: badges, the poller,
//! pagination, times. maud escapes everything; nothing here uses PreEscaped.

use actix_web::HttpResponse;
use maud::{DOCTYPE, Markup, html};
use uuid::Uuid;

use super::assets;
use super::session::CurrentAdmin;
use crate::domain::{ProvisionStatus, Role};

/// htmx settings: no inline styles (CSP), no eval, and swap 422 (validation) answers.
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0,"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"422","swap":true},{"code":"[45]..","swap":false,"error":true}]}"#;

/// Which section of the navigation is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Users,
    Groups,
    Apps,
    Activity,
    Audit,
    /// No section (an error page).
    Nowhere,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=(HTMX_CONFIG);
            title { (title) " · accessboard" }
            link rel="stylesheet" href=(assets::css_url());
            // No favicon request on every page (it would hit the sign-in guard).
            link rel="icon" href="data:,";
            script src=(assets::htmx_url()) defer {}
        }
    }
}

/// The main navigation; `current` is marked for screen readers and the eye.
fn nav_links(current: Option<Nav>) -> Markup {
    let item = |n: Nav, href: &str, label: &str| {
        html! {
            @if Some(n) == current { a href=(href) aria-current="page" { (label) } }
            @else { a href=(href) { (label) } }
        }
    };
    // On a phone the links fold behind "Menu": a checkbox and its label, no script.
    html! {
        a.brand href="/" { "accessboard" }
        input #nav-toggle.nav-toggle type="checkbox";
        label.nav-button for="nav-toggle" { "Menu" }
        nav aria-label="Main" {
            (item(Nav::Overview, "/", "Overview"))
            (item(Nav::Users, "/users", "People"))
            (item(Nav::Groups, "/groups", "Groups"))
            (item(Nav::Apps, "/apps", "Apps"))
            (item(Nav::Activity, "/activity", "Activity"))
            (item(Nav::Audit, "/audit", "Audit"))
        }
    }
}

/// A page for a signed-in admin: navigation, sign-out, the CSRF header for htmx.
pub fn page(title: &str, admin: &CurrentAdmin, nav: Nav, body: Markup) -> Markup {
    let hx_headers = serde_json::json!({ "X-CSRF-Token": admin.csrf }).to_string();
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-headers=(hx_headers) {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    (nav_links(Some(nav)))
                    form.signout method="post" action="/logout" {
                        (csrf_field(&admin.csrf))
                        span.who title=(admin.email) { (admin.name) }
                        button.link type="submit" { "Sign out" }
                    }
                }
                @if let Some(outage) = &admin.identity_outage {
                    div.alert.outage role="alert" { (outage) }
                }
                main #main {
                    @if let Some(flash) = &admin.flash { (flash.render()) }
                    (body)
                }
            }
        }
    }
}

/// An error page: the navigation stays (its links lead to sign-in when signed out),
/// without the sign-out form, since errors are drawn without the session.
pub fn error_shell(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top { (nav_links(None)) }
                main #main { (body) }
            }
        }
    }
}

/// A page without navigation (sign-in, setup, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare { main #main.narrow { (body) } }
        }
    }
}

/// The hidden CSRF field of a form.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// An HTML response.
pub fn respond(status: actix_web::http::StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// 200 with HTML.
pub fn ok(markup: Markup) -> HttpResponse {
    respond(actix_web::http::StatusCode::OK, markup)
}

/// Sends the browser elsewhere: 303 for forms, `HX-Redirect` for htmx.
pub fn redirect(req: &actix_web::HttpRequest, to: &str) -> HttpResponse {
    if super::guard::is_htmx(req) {
        HttpResponse::Ok()
            .insert_header(("HX-Redirect", to))
            .finish()
    } else {
        HttpResponse::SeeOther()
            .insert_header((actix_web::http::header::LOCATION, to))
            .finish()
    }
}

/// The words and colour class of a status.
pub fn status_label(s: ProvisionStatus) -> (&'static str, &'static str) {
    match s {
        ProvisionStatus::Provisioned => ("provisioned", "ok"),
        ProvisionStatus::SyncNeeded => ("sync needed", "pending"),
        ProvisionStatus::Syncing => ("syncing", "pending"),
        ProvisionStatus::Error => ("error", "warn"),
        ProvisionStatus::Failed => ("failed", "bad"),
        ProvisionStatus::Deprovisioned => ("disabled", "off"),
        ProvisionStatus::NotProvisioned => ("—", "none"),
        ProvisionStatus::Held => ("held", "warn"),
    }
}

/// The id of a pair's badge (or row), for out-of-band swaps.
pub fn pair_id(prefix: &str, user: Uuid, app: &str) -> String {
    format!("{prefix}-{}-{app}", user.simple())
}

/// What the poller sends back for a pair: who, which app, and what the page shows.
pub fn watch_value(user: Uuid, app: &str, status: ProvisionStatus, attempts: i64) -> String {
    format!("{}:{app}:{}:{attempts}", user.simple(), status.as_str())
}

/// A status badge: colour and text; transient ones carry a watch field for the poller.
pub fn badge(user: Uuid, app: &str, status: ProvisionStatus) -> Markup {
    badge_el(user, app, status, false)
}

/// A pair's badge; `oob` marks it for an out-of-band swap (the poller's answers).
pub fn badge_el(user: Uuid, app: &str, status: ProvisionStatus, oob: bool) -> Markup {
    let (text, class) = status_label(status);
    html! {
        span class=(format!("badge {class}")) id=(pair_id("b", user, app)) hx-swap-oob=[oob.then_some("true")] {
            @if status.is_transient() {
                input.watch type="hidden" name="w" value=(watch_value(user, app, status, 0));
            }
            @if status == ProvisionStatus::NotProvisioned {
                span aria-hidden="true" { "—" }
                span.sr { "not provisioned" }
            } @else {
                (text)
            }
        }
    }
}

/// A badge that is not tied to a pair (legends, counts).
pub fn plain_badge(status: ProvisionStatus) -> Markup {
    let (text, class) = status_label(status);
    html! { span class=(format!("badge {class}")) { (text) } }
}

/// A role as people read it.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::User => "user",
        Role::None => "no access",
    }
}

/// The poller of a page: polling while `active`, an inert placeholder otherwise.
/// `view` tells /poll how to draw what changed (`badge` or `row`).
pub fn poller(active: bool, view: &str, oob: bool) -> Markup {
    let url = format!("/poll?view={view}");
    html! {
        @if active {
            div #poller hx-get=(url) hx-trigger="every 2s" hx-include=".watch" hx-swap="none"
                hx-swap-oob=[oob.then_some("true")] {}
        } @else {
            div #poller hx-swap-oob=[oob.then_some("true")] {}
        }
    }
}

pub use super::times::when;

/// Page links: previous / "page x of y" / next, keeping the other query parameters.
pub fn pagination(
    base: &str,
    params: &[(&str, String)],
    page: usize,
    total: usize,
    per_page: usize,
) -> Markup {
    let pages = total.div_ceil(per_page).max(1);
    let link = |p: usize| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
            q.append_pair(k, v);
        }
        q.append_pair("page", &p.to_string());
        format!("{base}?{}", q.finish())
    };
    html! {
        @if pages > 1 {
            nav.pages aria-label="Pages" {
                @if page > 1 { a href=(link(page - 1)) rel="prev" { "← Previous" } }
                span { "Page " (page) " of " (pages) " · " (total) " in all" }
                @if page < pages { a href=(link(page + 1)) rel="next" { "Next →" } }
            }
        }
    }
}

/// The 1-based page number from a query value.
pub fn page_number(raw: Option<usize>) -> usize {
    raw.unwrap_or(1).clamp(1, 1_000_000)
}
