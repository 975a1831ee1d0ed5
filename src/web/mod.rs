//! The actix-web app: routes, pages and fragments.

pub mod auth;
mod health;

use actix_web::web;

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    /// The service (and through it, the database).
    pub service: crate::users::UserService,
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/", web::get().to(health::index));
}
