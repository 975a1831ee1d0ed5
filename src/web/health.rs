//! Liveness and readiness.

use actix_web::{HttpResponse, web};

use super::AppState;

/// 200 while the process runs and provisions; 503 with a one-line reason once
/// provisioning has stopped, or the database has refused writes, for longer than
/// `unhealthy_after_secs`. Reads nothing: it stays cheap, and answers on a full disk.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match state.engine.health.verdict() {
        None => HttpResponse::Ok().content_type("text/plain").body("ok"),
        Some(v) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body(v.reason),
    }
}

/// 200 when the database answers a query (the dashboard can serve pages).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ok = state
        .service
        .db()
        .run(|c| {
            c.prepare_cached("SELECT 1")?
                .query_row([], |r| r.get::<_, i64>(0))
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

/// Prometheus text exposition.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    match crate::metrics::render(state.service.db(), &state.queue, &state.engine.health).await {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(e) => {
            tracing::warn!(error = %e, "metrics failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable")
        }
    }
}
