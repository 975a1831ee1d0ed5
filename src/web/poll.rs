//! GET /poll: the one poll of a page. The page sends what its transient badges
//! show (`w=<user>:<app>:<status>:<attempts>`, one per badge); the answer holds
//! only what changed, as out-of-band swaps, and is 286 (htmx: stop polling)
//! once nothing on the page is transient. The overview sends its version instead
//! (`view=overview&v=…`) and gets its sections back when they changed.

use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use uuid::Uuid;

use crate::db::pairs;
use crate::web::layout::{self, pair_id};
use crate::web::pages::app_detail::pair_row;
use crate::web::pages::overview;
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

/// More watched badges than this in one poll are ignored: as many as fit in
/// `query_limit::MAX_POLL_QUERY` (a page shows 50 rows).
const MAX_WATCH: usize = 150;
/// htmx stops polling on this status.
pub const STOP_POLLING: u16 = 286;

struct Watch {
    user: Uuid,
    app: String,
    status: String,
    attempts: i64,
}

fn parse(v: &str) -> Option<Watch> {
    let mut it = v.split(':');
    let (user, app, status, attempts) = (it.next()?, it.next()?, it.next()?, it.next()?);
    Some(Watch {
        user: Uuid::parse_str(user).ok()?,
        app: app.to_owned(),
        status: status.to_owned(),
        attempts: attempts.parse().ok()?,
    })
}

/// GET /poll?view=badge|row&w=…
pub async fn poll(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
) -> Result<HttpResponse, WebError> {
    let (mut row_view, mut overview_view) = (false, false);
    let mut seen = String::new();
    let mut watches = Vec::new();
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match &*k {
            "view" => (row_view, overview_view) = (v == "row", v == "overview"),
            "v" => seen = v.into_owned(),
            "w" if watches.len() < MAX_WATCH => watches.extend(parse(&v)),
            _ => {}
        }
    }
    if overview_view {
        return overview(&state, &admin, &seen).await;
    }
    let keys: Vec<(Uuid, String)> = watches.iter().map(|w| (w.user, w.app.clone())).collect();
    let rows = state
        .service
        .db()
        .run(move |c| pairs::pairs(c, &keys))
        .await?;
    let mut transient = false;
    let body = html! {
        @for w in &watches {
            @match rows.iter().find(|r| r.user_id == w.user && r.app == w.app) {
                None => {
                    // the person was removed: nothing left to watch
                    @if row_view {
                        tr id=(pair_id("r", w.user, &w.app)) hx-swap-oob="true" {
                            td colspan="8" { span.badge.off { "removed" } }
                        }
                    } @else {
                        span.badge.off id=(pair_id("b", w.user, &w.app)) hx-swap-oob="true" { "removed" }
                    }
                }
                Some(r) => {
                    @if r.status.is_transient() { (mark(&mut transient)) }
                    @if r.status.as_str() != w.status || (row_view && r.attempts != w.attempts) {
                        @if row_view { (pair_row(admin.change_token(), &state.service.settings().server.zone, r, true)) }
                        @else { (layout::badge_el(r.user_id, &r.app, r.status, true)) }
                    }
                }
            }
        }
    };
    let status = if transient {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::from_u16(STOP_POLLING)
            .map_err(|e| WebError::Internal(e.to_string()))?
    };
    Ok(layout::respond(status, body))
}

/// The overview's sections again when they changed since the page's version `seen`;
/// nothing otherwise. The overview keeps polling: new work can come at any time.
async fn overview(
    state: &AppState,
    admin: &CurrentAdmin,
    seen: &str,
) -> Result<HttpResponse, WebError> {
    let o = state.service.db().run(overview::read).await?;
    let (markup, version) = overview::live(
        admin.change_token(),
        &o,
        &state.service.settings().server.zone,
        true,
    );
    Ok(layout::ok(if version == seen {
        html! {}
    } else {
        markup
    }))
}

fn mark(flag: &mut bool) -> maud::Markup {
    *flag = true;
    html! {}
}
