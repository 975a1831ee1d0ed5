//! The route registry: every route once, with the dashboard level it needs; the router
//! and the auth route walk are both built from it.

use super::*;

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    register(&mut Config(cfg));
}

/// Every route as (method, path pattern), for tests that walk them all.
pub fn route_table() -> Vec<(Method, &'static str)> {
    route_needs()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect()
}

/// Every route with the level it needs, for tests that walk them all.
pub fn route_needs() -> Vec<(Method, &'static str, Need)> {
    let mut r = Recorder(Vec::new());
    register(&mut r);
    r.0
}

/// What a route needs of whoever asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing: served before signing in ([`is_public`] agrees).
    Public,
    /// A viewer or an admin: pages that only show.
    View,
    /// A viewer or an admin, changing only their own sign-in (sign out, second factor).
    Own,
    /// An admin: every change, and the pages that confirm one.
    Change,
}

/// Where routes go: the real router, or the list of routes.
trait Registry {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, need: Need, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static;
}

struct Config<'a>(&'a mut web::ServiceConfig);
struct Recorder(Vec<(Method, &'static str, Need)>);

impl Registry for Config<'_> {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, need: Need, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        // One resource per (method, path), guarded by its method as `ServiceConfig::route`
        // makes it, so another method falls through to its own resource.
        let resource = web::resource(path)
            .guard(actix_web::guard::Method(method))
            .route(web::route().to(handler));
        match need {
            Need::Change => self
                .0
                .service(resource.wrap(from_fn(guard::require_change))),
            Need::Public | Need::View | Need::Own => self.0.service(resource),
        };
    }
}

impl Registry for Recorder {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, need: Need, _: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.0.push((method, path, need));
    }
}

fn register(r: &mut impl Registry) {
    use pages::{
        account, activity, app_confirm, app_detail, app_pause, app_test, apps, audit, bulk,
        discover, group_confirm, group_edit, group_page, groups, import, overview, passkeys,
        person, rails, user_delete, user_form, user_invite, user_sessions, users,
    };
    let (get, post) = (Method::GET, Method::POST);
    // public
    r.add(get.clone(), "/healthz", Need::Public, health::healthz);
    r.add(get.clone(), "/readyz", Need::Public, health::readyz);
    r.add(get.clone(), "/metrics", Need::Public, health::metrics);
    r.add(get.clone(), "/assets/{name}", Need::Public, assets::serve);
    r.add(get.clone(), "/login", Need::Public, login::form);
    r.add(post.clone(), "/login", Need::Public, login::submit);
    r.add(
        get.clone(),
        "/login/code",
        Need::Public,
        second_factor::form,
    );
    r.add(
        post.clone(),
        "/login/code",
        Need::Public,
        second_factor::submit,
    );
    r.add(
        post.clone(),
        "/login/passkey/options",
        Need::Public,
        second_factor::passkey_options,
    );
    r.add(
        post.clone(),
        "/login/passkey",
        Need::Public,
        second_factor::passkey,
    );
    r.add(get.clone(), "/login/link", Need::Public, sign_in_link::form);
    r.add(
        post.clone(),
        "/login/link",
        Need::Public,
        sign_in_link::submit,
    );
    r.add(get.clone(), "/login/forgot", Need::Public, forgot::form);
    r.add(post.clone(), "/login/forgot", Need::Public, forgot::submit);
    r.add(get.clone(), "/login/sso", Need::Public, sso::start);
    r.add(
        get.clone(),
        "/login/sso/callback",
        Need::Public,
        sso::callback,
    );
    r.add(get.clone(), "/setup", Need::Public, setup::form);
    r.add(post.clone(), "/setup", Need::Public, setup::submit);
    // signed in: viewers see, admins change (and confirm changes)
    r.add(post.clone(), "/logout", Need::Own, login::logout);
    r.add(
        get.clone(),
        sudo::CONFIRM_PATH,
        Need::Change,
        sso_confirm::start,
    );
    r.add(
        get.clone(),
        "/account/two-factor",
        Need::View,
        account::show,
    );
    r.add(
        post.clone(),
        "/account/two-factor",
        Need::Own,
        account::start,
    );
    r.add(
        post.clone(),
        "/account/two-factor/confirm",
        Need::Own,
        account::confirm,
    );
    r.add(
        post.clone(),
        "/account/passkeys/options",
        Need::Own,
        passkeys::options,
    );
    r.add(
        post.clone(),
        "/account/passkeys",
        Need::Own,
        passkeys::register,
    );
    r.add(
        post.clone(),
        "/account/passkeys/reauth-options",
        Need::Own,
        passkeys::reauth_options,
    );
    r.add(
        post.clone(),
        "/account/passkeys/remove",
        Need::Own,
        passkeys::remove,
    );
    r.add(
        post.clone(),
        "/account/reauth/passkey",
        Need::Own,
        passkeys::reauth,
    );
    r.add(get.clone(), "/", Need::View, overview::show);
    r.add(get.clone(), "/poll", Need::View, poll::poll);
    r.add(get.clone(), "/users", Need::View, users::list);
    r.add(get.clone(), "/users/new", Need::Change, user_form::new_form);
    r.add(post.clone(), "/users/new", Need::Change, user_form::create);
    r.add(get.clone(), "/users/import", Need::Change, import::form);
    r.add(
        post.clone(),
        "/users/import/preview",
        Need::Change,
        import::preview,
    );
    r.add(post.clone(), "/users/import", Need::Change, import::confirm);
    r.add(post.clone(), "/users/bulk", Need::Change, bulk::review);
    r.add(post.clone(), "/users/bulk/apply", Need::Change, bulk::apply);
    r.add(get.clone(), "/users/{id}", Need::View, user_form::edit_form);
    r.add(post.clone(), "/users/{id}", Need::Change, user_form::save);
    r.add(
        get.clone(),
        "/users/{id}/delete",
        Need::Change,
        user_delete::confirm_delete,
    );
    r.add(
        post.clone(),
        "/users/{id}/delete",
        Need::Change,
        user_delete::delete,
    );
    r.add(
        post.clone(),
        "/users/{id}/sync/{slug}",
        Need::Change,
        person::sync,
    );
    r.add(
        get.clone(),
        "/users/{id}/trace/{run}",
        Need::View,
        person::poll_trace,
    );
    r.add(
        post.clone(),
        "/users/{id}/sign-out",
        Need::Change,
        user_sessions::sign_out_everywhere,
    );
    r.add(
        post.clone(),
        "/users/{id}/invite",
        Need::Change,
        user_invite::invite,
    );
    r.add(get.clone(), "/groups", Need::View, groups::list);
    r.add(post.clone(), "/groups", Need::Change, groups::create);
    r.add(get.clone(), "/groups/{id}", Need::View, group_page::show);
    r.add(
        post.clone(),
        "/groups/{id}/rename",
        Need::Change,
        group_edit::rename,
    );
    r.add(
        post.clone(),
        "/groups/{id}/describe",
        Need::Change,
        group_edit::describe,
    );
    r.add(
        post.clone(),
        "/groups/{id}/members",
        Need::Change,
        group_edit::add,
    );
    r.add(
        post.clone(),
        "/groups/{id}/members/remove",
        Need::Change,
        group_edit::remove,
    );
    r.add(
        post.clone(),
        "/groups/{id}/grant/{slug}",
        Need::Change,
        group_edit::grant,
    );
    r.add(
        get.clone(),
        "/groups/{id}/delete",
        Need::Change,
        group_confirm::confirm_delete,
    );
    r.add(
        post.clone(),
        "/groups/{id}/delete",
        Need::Change,
        group_confirm::delete,
    );
    r.add(get.clone(), "/apps", Need::View, apps::list);
    r.add(
        get.clone(),
        "/apps/{slug}/install",
        Need::Change,
        app_confirm::install,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/install",
        Need::Change,
        apps::install,
    );
    r.add(
        get.clone(),
        "/apps/{slug}/uninstall",
        Need::Change,
        app_confirm::uninstall,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/uninstall",
        Need::Change,
        apps::uninstall,
    );
    r.add(
        get.clone(),
        "/apps/{slug}/sync",
        Need::Change,
        app_confirm::sync,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/sync",
        Need::Change,
        apps::sync_now,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/drift",
        Need::Change,
        apps::check_drift,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/drift/fix",
        Need::Change,
        apps::fix_drift,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/test",
        Need::Change,
        app_test::test,
    );
    r.add(
        get.clone(),
        "/apps/{slug}/drift",
        Need::View,
        apps::drift_report,
    );
    // Discovery lists the app's accounts and its page offers decisions: admins only.
    r.add(
        get.clone(),
        "/apps/{slug}/discover",
        Need::Change,
        discover::show,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/discover",
        Need::Change,
        discover::run,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/discover/decide",
        Need::Change,
        discover::decide,
    );
    r.add(
        get.clone(),
        "/apps/{slug}/discover/review",
        Need::Change,
        discover::review,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/discover/apply",
        Need::Change,
        discover::apply,
    );
    r.add(get.clone(), "/apps/{slug}", Need::View, app_detail::show);
    r.add(
        get.clone(),
        "/apps/{slug}/retry",
        Need::Change,
        app_confirm::retry_all,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/retry",
        Need::Change,
        app_detail::retry_all,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/retry/{id}",
        Need::Change,
        app_detail::retry_one,
    );
    r.add(
        get.clone(),
        "/apps/{slug}/resume",
        Need::Change,
        rails::confirm,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/resume",
        Need::Change,
        rails::resume,
    );
    r.add(
        get.clone(),
        "/apps/{slug}/pause",
        Need::Change,
        app_pause::confirm,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/pause",
        Need::Change,
        app_pause::pause,
    );
    r.add(
        post.clone(),
        "/apps/{slug}/cancel-held",
        Need::Change,
        rails::cancel_held,
    );
    r.add(get.clone(), "/activity", Need::View, activity::list);
    r.add(get, "/audit", Need::View, audit::list);
}
