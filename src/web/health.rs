//! Liveness and readiness.

use actix_web::{HttpResponse, web};

use super::AppState;

/// 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// 200 when the database answers a query.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ok = state
        .service
        .db()
        .run(|c| {
            c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map_err(crate::db::DbError::from)
        })
        .await
        .is_ok();
    if ok {
        HttpResponse::Ok().content_type("text/plain").body("ready")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable")
    }
}

/// Until the dashboard lands: a plain page saying where things are.
pub async fn index() -> HttpResponse {
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="en" { head { meta charset="utf-8"; title { "accessboard" } }
        body { h1 { "accessboard" } p { "The dashboard is coming; use the accessboard command line for now." } } }
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}
