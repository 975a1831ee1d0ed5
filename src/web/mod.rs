//! The actix-web app: routes, sign-in, CSRF, maud pages and htmx fragments.
//!
//! Every route is registered once, in [`register`]; the same list feeds the
//! router and [`route_table`], which the tests walk so a new route cannot slip
//! past the sign-in check. The guard is deny-by-default: only [`is_public`]
//! paths are served without a signed-in viewer or admin, and each route declares the
//! level it needs ([`Need`]): a viewer gets 403 on every route that changes something.

mod assets;
mod client;
mod csrf;
mod device;
mod error;
mod flash;
mod forgot;
mod guard;
mod hashing;
mod health;
mod layout;
mod login;
mod multipart;
mod pages;
mod poll;
mod query_limit;
mod routes;
mod second_factor;
mod session;
mod setup;
mod sign_in_link;
mod sso;
mod sso_confirm;
mod sso_error;
mod sso_http;
mod sso_provider;
mod sudo;
mod throttle;
mod times;
mod trace;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, FromRequest, Handler, Responder, web};

pub use error::WebError;
pub use routes::{Need, route_needs, route_table, routes};
pub use setup::ensure_setup_link;

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    /// The service (and through it, the database and settings).
    pub service: crate::users::UserService,
    /// The job queue, for /metrics.
    pub queue: crate::pairs::JobQueue,
    /// The provisioning engine, for drift checks.
    pub engine: std::sync::Arc<crate::provisioning::engine::Engine>,
    /// Where the password checks of sign-in and setup run, bounded.
    pub hashing: hashing::HashPool,
    /// The traces of "Sync now" runs, while their pages read them.
    pub traces: trace::Traces,
    /// Signs the device cookies of browsers that signed in before.
    pub device_key: device::DeviceKey,
    /// The OpenID Connect provider of `[sso]`, when configured.
    pub sso: Option<std::sync::Arc<sso_provider::Provider>>,
}

/// Paths served without signing in.
pub fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login"
            | "/login/code"
            | "/login/passkey"
            | "/login/passkey/options"
            | "/login/link"
            | "/login/forgot"
            | "/login/sso"
            | "/login/sso/callback"
            | "/setup"
            | "/healthz"
            | "/readyz"
            | "/metrics"
    ) || path.starts_with("/assets/")
}

/// The security headers of every response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Everything the dashboard needs that is read once at start.
#[derive(Clone)]
pub struct WebApp {
    state: web::Data<AppState>,
    key: actix_web::cookie::Key,
    secure: bool,
}

impl WebApp {
    /// Loads (or creates, first time) the session key from the database; blocking.
    pub fn new(app: &crate::app::App) -> Result<WebApp, WebError> {
        let key = session::load_or_create_key(app.service.db())?;
        let device_bytes = session::load_or_create_secret(app.service.db(), device::KEY_META, 32)?;
        let device_key = device::DeviceKey::new(&device_bytes)
            .ok_or_else(|| WebError::Internal("the device cookie key is empty".into()))?;
        let secure = app.settings.server.cookies_secure();
        Ok(WebApp {
            state: web::Data::new(AppState {
                service: app.service.clone(),
                queue: app.queue.clone(),
                engine: app.engine.clone(),
                hashing: hashing::HashPool::new(),
                traces: trace::Traces::default(),
                device_key,
                sso: sso_provider::Provider::new(&app.settings)
                    .map_err(WebError::Internal)?
                    .map(std::sync::Arc::new),
            }),
            key,
            secure,
        })
    }

    /// The app with its middleware: headers, session, sign-in guard, CSRF, routes.
    pub fn app(
        self,
    ) -> App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<impl MessageBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    > {
        App::new()
            .app_data(self.state)
            .app_data(web::FormConfig::default().limit(csrf::FORM_LIMIT))
            .configure(routes)
            .default_service(web::to(error::not_found))
            .wrap(from_fn(csrf::check))
            .wrap(from_fn(guard::require_admin))
            .wrap(session::middleware(self.key, self.secure))
            .wrap(from_fn(query_limit::check))
            .wrap(from_fn(guard::trace_request))
            .wrap(
                DefaultHeaders::new()
                    .add(("Content-Security-Policy", CSP))
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Referrer-Policy", "same-origin"))
                    .add(("X-Frame-Options", "DENY")),
            )
    }
}
