//! The actix-web app: routes, sign-in, CSRF, maud pages and htmx fragments.
//!
//! Every route is registered once, in [`register`]; the same list feeds the
//! router and [`route_table`], which the tests walk so a new route cannot slip
//! past the sign-in check. The guard is deny-by-default: only [`is_public`]
//! paths are served without a signed-in dashboard admin.

mod assets;
mod client;
mod csrf;
mod device;
mod error;
mod flash;
mod guard;
mod hashing;
mod health;
mod layout;
mod login;
mod multipart;
mod pages;
mod poll;
mod query_limit;
mod session;
mod setup;
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
}

/// Paths served without signing in.
pub fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/setup" | "/healthz" | "/readyz" | "/metrics"
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

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    register(&mut Config(cfg));
}

/// Every route as (method, path pattern), for tests that walk them all.
pub fn route_table() -> Vec<(Method, &'static str)> {
    let mut r = Recorder(Vec::new());
    register(&mut r);
    r.0
}

/// Where routes go: the real router, or the list of routes.
trait Registry {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static;
}

struct Config<'a>(&'a mut web::ServiceConfig);
struct Recorder(Vec<(Method, &'static str)>);

impl Registry for Config<'_> {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.0.route(path, web::method(method).to(handler));
    }
}

impl Registry for Recorder {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, _: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.0.push((method, path));
    }
}

fn register(r: &mut impl Registry) {
    use pages::{
        activity, app_confirm, app_detail, app_pause, app_test, apps, audit, bulk, discover,
        group_confirm, group_edit, group_page, groups, import, overview, person, rails,
        user_delete, user_form, user_sessions, users,
    };
    let (get, post) = (Method::GET, Method::POST);
    // public
    r.add(get.clone(), "/healthz", health::healthz);
    r.add(get.clone(), "/readyz", health::readyz);
    r.add(get.clone(), "/metrics", health::metrics);
    r.add(get.clone(), "/assets/{name}", assets::serve);
    r.add(get.clone(), "/login", login::form);
    r.add(post.clone(), "/login", login::submit);
    r.add(get.clone(), "/setup", setup::form);
    r.add(post.clone(), "/setup", setup::submit);
    // signed-in admins
    r.add(post.clone(), "/logout", login::logout);
    r.add(get.clone(), "/", overview::show);
    r.add(get.clone(), "/poll", poll::poll);
    r.add(get.clone(), "/users", users::list);
    r.add(get.clone(), "/users/new", user_form::new_form);
    r.add(post.clone(), "/users/new", user_form::create);
    r.add(get.clone(), "/users/import", import::form);
    r.add(post.clone(), "/users/import/preview", import::preview);
    r.add(post.clone(), "/users/import", import::confirm);
    r.add(post.clone(), "/users/bulk", bulk::review);
    r.add(post.clone(), "/users/bulk/apply", bulk::apply);
    r.add(get.clone(), "/users/{id}", user_form::edit_form);
    r.add(post.clone(), "/users/{id}", user_form::save);
    r.add(
        get.clone(),
        "/users/{id}/delete",
        user_delete::confirm_delete,
    );
    r.add(post.clone(), "/users/{id}/delete", user_delete::delete);
    r.add(post.clone(), "/users/{id}/sync/{slug}", person::sync);
    r.add(get.clone(), "/users/{id}/trace/{run}", person::poll_trace);
    r.add(
        post.clone(),
        "/users/{id}/sign-out",
        user_sessions::sign_out_everywhere,
    );
    r.add(get.clone(), "/groups", groups::list);
    r.add(post.clone(), "/groups", groups::create);
    r.add(get.clone(), "/groups/{id}", group_page::show);
    r.add(post.clone(), "/groups/{id}/rename", group_edit::rename);
    r.add(post.clone(), "/groups/{id}/describe", group_edit::describe);
    r.add(post.clone(), "/groups/{id}/members", group_edit::add);
    r.add(
        post.clone(),
        "/groups/{id}/members/remove",
        group_edit::remove,
    );
    r.add(post.clone(), "/groups/{id}/grant/{slug}", group_edit::grant);
    r.add(
        get.clone(),
        "/groups/{id}/delete",
        group_confirm::confirm_delete,
    );
    r.add(post.clone(), "/groups/{id}/delete", group_confirm::delete);
    r.add(get.clone(), "/apps", apps::list);
    r.add(get.clone(), "/apps/{slug}/install", app_confirm::install);
    r.add(post.clone(), "/apps/{slug}/install", apps::install);
    r.add(
        get.clone(),
        "/apps/{slug}/uninstall",
        app_confirm::uninstall,
    );
    r.add(post.clone(), "/apps/{slug}/uninstall", apps::uninstall);
    r.add(get.clone(), "/apps/{slug}/sync", app_confirm::sync);
    r.add(post.clone(), "/apps/{slug}/sync", apps::sync_now);
    r.add(post.clone(), "/apps/{slug}/drift", apps::check_drift);
    r.add(post.clone(), "/apps/{slug}/drift/fix", apps::fix_drift);
    r.add(post.clone(), "/apps/{slug}/test", app_test::test);
    r.add(get.clone(), "/apps/{slug}/drift", apps::drift_report);
    r.add(get.clone(), "/apps/{slug}/discover", discover::show);
    r.add(post.clone(), "/apps/{slug}/discover", discover::run);
    r.add(
        post.clone(),
        "/apps/{slug}/discover/decide",
        discover::decide,
    );
    r.add(
        get.clone(),
        "/apps/{slug}/discover/review",
        discover::review,
    );
    r.add(post.clone(), "/apps/{slug}/discover/apply", discover::apply);
    r.add(get.clone(), "/apps/{slug}", app_detail::show);
    r.add(get.clone(), "/apps/{slug}/retry", app_confirm::retry_all);
    r.add(post.clone(), "/apps/{slug}/retry", app_detail::retry_all);
    r.add(
        post.clone(),
        "/apps/{slug}/retry/{id}",
        app_detail::retry_one,
    );
    r.add(get.clone(), "/apps/{slug}/resume", rails::confirm);
    r.add(post.clone(), "/apps/{slug}/resume", rails::resume);
    r.add(get.clone(), "/apps/{slug}/pause", app_pause::confirm);
    r.add(post.clone(), "/apps/{slug}/pause", app_pause::pause);
    r.add(post.clone(), "/apps/{slug}/cancel-held", rails::cancel_held);
    r.add(get.clone(), "/activity", activity::list);
    r.add(get, "/audit", audit::list);
}
