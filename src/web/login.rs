//! /login and /logout.

use std::sync::LazyLock;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::layout::{self, csrf_field};
use super::{AppState, WebError, client, device, second_factor, session, sso, throttle};
use crate::db::sessions;
use crate::domain::{Actor, Email};
use crate::users::password as auth;

/// A hash to check against when the account does not exist, so both cases take as long.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| auth::hash_password("not-a-real-password-at-all").unwrap_or_default());

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    next: String,
}

/// Only local paths, so the form cannot send people to another site: browsers drop tabs
/// and line breaks and read `\` as `/`, so `/\t/evil.example` would leave the site, and a
/// line break would not even make a valid header.
pub(super) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.chars().all(|c| c.is_ascii_graphic()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Whether nobody can sign in yet, so the page points to the setup link.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FirstRun {
    Yes,
    No,
}

async fn first_run(state: &AppState) -> Result<FirstRun, WebError> {
    let admin = state
        .service
        .db()
        .run(|c| sessions::admin_exists(c))
        .await?;
    Ok(if admin { FirstRun::No } else { FirstRun::Yes })
}

/// The sign-in page with `error` (the refusals of single sign-on).
pub(super) async fn page(
    state: &AppState,
    session: &Session,
    next: &str,
    error: Option<&str>,
) -> Result<Markup, WebError> {
    let csrf = session::csrf_token(session)?;
    let first = first_run(state).await?;
    Ok(form_page(state, &csrf, "", next, error, first))
}

/// The sign-in page; "Forgot your password?" links to the emailed reset when email is set up.
fn form_page(
    state: &AppState,
    csrf: &str,
    email: &str,
    next: &str,
    error: Option<&str>,
    first: FirstRun,
) -> Markup {
    let passwords = !sso::password_hidden(state);
    let mails = state.service.sends_mail();
    layout::bare(
        "Sign in",
        html! {
            h1 { "Sign in to accessboard" }
            @if let Some(e) = error { p.alert role="alert" { (e) } }
            // A new install has nobody to sign in as: the way in is a link only the
            // operator sees, so say where it is instead of leaving them guessing.
            // With single sign-on an admin needs no password here, so "nobody can sign
            // in" (counted by passwords) would not be true.
            @if first == FirstRun::Yes && state.sso.is_none() {
                div.note role="status" {
                    p { strong { "Nobody can sign in yet." } " The first admin is created through a one-time setup link, written to the server's log when "
                        code { "accessboard serve" } " starts:" }
                    p { code { "WARN no dashboard admin yet; open this link within the hour to create one: …/setup?token=…" } }
                    p { "It works for an hour; restart the server for a new one. On the command line instead: "
                        code { "accessboard user create --email E --name N --dashboard-admin" } " then "
                        code { "accessboard user set-password E" } "." }
                }
            }
            (sso::button(state, next))
            @if passwords {
            form.stack method="post" action="/login" {
                (csrf_field(csrf))
                input type="hidden" name="next" value=(next);
                label for="email" { "Email" }
                // After a refusal the email is kept, so the password is what to type again.
                input #email type="email" name="email" value=(email) autocomplete="username" required autofocus[email.is_empty()];
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required autofocus[!email.is_empty()];
                button.primary type="submit" { "Sign in" }
            }
            @if mails {
                p { a href="/login/forgot" { "Forgot your password?" } }
            } @else {
                p.muted { "Forgot your password? An operator can set a new one with "
                    code { "accessboard user set-password EMAIL" } "." }
            }
            }
        },
    )
}

/// GET /login
pub async fn form(
    state: web::Data<AppState>,
    session: Session,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, WebError> {
    let next = safe_next(q.next.as_deref());
    if session::lookup(state.service.db(), &session)
        .await?
        .is_some()
    {
        return Ok(HttpResponse::SeeOther()
            .insert_header(("Location", next))
            .finish());
    }
    let csrf = session::csrf_token(&session)?;
    let first = first_run(&state).await?;
    Ok(layout::ok(form_page(&state, &csrf, "", &next, None, first)))
}

/// POST /login
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, WebError> {
    let db = state.service.db().clone();
    let server = &state.service.settings().server;
    let secure = server.cookies_secure();
    let next = safe_next(Some(&form.next));
    let client_ip = client::address(&req, &server.trusted_proxies);
    let address = client_ip.map_or_else(|| "unknown".into(), |a| a.to_string());
    let csrf = session::csrf_token(&session)?;
    if sso::password_hidden(&state) {
        // sso_only: the form is hidden, and a password posted anyway is not checked.
        let msg = "Passwords are turned off here (sso_only); sign in through single sign-on.";
        return Ok(layout::respond(
            StatusCode::FORBIDDEN,
            form_page(&state, &csrf, "", &next, Some(msg), FirstRun::No),
        ));
    }
    // The audit trail names whoever signs in by the email typed; never the password.
    let typed: String = form
        .email
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(254)
        .collect();
    let audit = state.service.as_actor(Actor::Admin(typed));
    let account = match Email::parse(&form.email) {
        Ok(e) => {
            let norm = e.normalized().to_owned();
            db.run(move |c| sessions::admin_login(c, &norm)).await?
        }
        Err(_) => None,
    };
    let device = account.as_ref().and_then(|(id, _)| {
        device::read(&req, secure).and_then(|v| state.device_key.verify(&v, *id))
    });
    let keys = throttle::Keys::new(&form.email, client_ip, device.as_ref());
    let slot = match throttle::reserve(&db, &keys).await? {
        Ok(slot) => slot,
        Err(wait) => {
            let after = serde_json::json!({ "reason": "throttled", "address": address });
            audit.record("sign_in.failed", None, Some(after)).await?;
            let msg = format!("Too many failed sign-ins. Wait {wait} seconds, then try again.");
            return Ok(HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", wait.to_string()))
                .content_type("text/html; charset=utf-8")
                .body(
                    form_page(&state, &csrf, &form.email, &next, Some(&msg), FirstRun::No)
                        .into_string(),
                ));
        }
    };
    let known = slot == throttle::Slot::Known;
    let password = form.password.clone();
    let (user, hash) = match account {
        Some((id, hash)) => (Some(id), hash),
        None => (None, DUMMY_HASH.clone()),
    };
    let Ok(matches) = state.hashing.verify(password, hash, known).await else {
        return Ok(busy(&state, &csrf, &form.email, &next));
    };
    match user.filter(|_| matches) {
        Some(id) if state.service.has_second_factor(id).await? => {
            // The password's slot stays taken until the code is right, so a known
            // password buys no more guesses at the code than at the password.
            second_factor::begin(&session, id, &form.email, &next)?;
            let after = serde_json::json!({ "address": address, "step": "password" });
            audit
                .record("sign_in.password_ok", None, Some(after))
                .await?;
            Ok(HttpResponse::SeeOther()
                .insert_header(("Location", "/login/code"))
                .finish())
        }
        Some(id) => {
            throttle::succeeded(&db, &keys, slot).await?;
            session::start(&db, &session, id).await?;
            let after = serde_json::json!({ "address": address, "known_browser": known });
            audit.record("sign_in.ok", None, Some(after)).await?;
            tracing::info!(user = %id, "signed in");
            // A fresh device cookie at every sign-in: this browser is known from now on.
            Ok(HttpResponse::SeeOther()
                .insert_header(("Location", next))
                .cookie(device::cookie(state.device_key.issue(id), secure))
                .finish())
        }
        None => {
            let first = first_run(&state).await?;
            // Already counted when the slot was taken.
            let after = serde_json::json!({
                "reason": "no match", "address": address, "known_browser": known,
            });
            audit.record("sign_in.failed", None, Some(after)).await?;
            tracing::info!(address = %address, "failed sign-in");
            Ok(layout::respond(
                StatusCode::UNAUTHORIZED,
                form_page(
                    &state,
                    &csrf,
                    &form.email,
                    &next,
                    Some("That email and password do not match anyone who can sign in here."),
                    first,
                ),
            ))
        }
    }
}

/// 429 at once when the password checks are all taken: no hashing, no waiting.
fn busy(state: &AppState, csrf: &str, email: &str, next: &str) -> HttpResponse {
    HttpResponse::TooManyRequests()
        .insert_header(("Retry-After", "2"))
        .content_type("text/html; charset=utf-8")
        .body(
            form_page(
                state,
                csrf,
                email,
                next,
                Some("The dashboard is busy checking other sign-ins. Try again in a moment."),
                FirstRun::No,
            )
            .into_string(),
        )
}

/// POST /logout; after a sign-in through the provider, on to its end-session endpoint.
pub async fn logout(
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, WebError> {
    let id_token = session.get::<String>(sso::ID_TOKEN).ok().flatten();
    session::end(state.service.db(), &session).await?;
    if let Some(onwards) = sso::end_provider_session(&state, id_token).await {
        return Ok(onwards);
    }
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/login"))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_a_local_path_or_the_people_page() {
        for fine in ["/users", "/apps/files?status=failed", "/users/%C3%A9"] {
            assert_eq!(safe_next(Some(fine)), fine);
        }
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/",
            "/\r\nSet-Cookie: x=1",
            "/ /evil.example",
            "https://evil.example/",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
