//! The second step of sign-in: after the right password, a person with a second
//! factor is half signed in (no session: a user id, the email and a deadline in the
//! signed cookie of this browser, five minutes) until a code of their app or a
//! recovery code is taken at /login/code, or an answer of one of their passkeys at
//! /login/passkey (its challenge from /login/passkey/options, bound to this cookie).
//! Either is throttled like the password, against the same account, address and
//! device keys. Passwordless sign-in (a passkey alone) is not offered.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use uuid::Uuid;

use super::layout::{self, csrf_field};
use super::pages::passkeys;
use super::{AppState, WebError, assets, client, device, session, throttle};
use crate::db::passkeys::Purpose;
use crate::db::time;
use crate::domain::Actor;

const PENDING_USER: &str = "pending_user";
const PENDING_EMAIL: &str = "pending_email";
const PENDING_UNTIL: &str = "pending_until";
const PENDING_NEXT: &str = "pending_next";
/// How long the half-signed-in state lasts.
pub const PENDING_SECS: i64 = 5 * 60;

/// Who passed the password and waits for their code.
struct Pending {
    user: Uuid,
    email: String,
    next: String,
}

/// Half signs in: a new cookie (the old one is worthless) holding who passed the
/// password, where they were going, and until when.
pub fn begin(session: &Session, user: Uuid, email: &str, next: &str) -> Result<(), WebError> {
    session.renew();
    session.clear();
    session.insert(PENDING_USER, user.to_string())?;
    session.insert(PENDING_EMAIL, email)?;
    session.insert(PENDING_UNTIL, time::now() + PENDING_SECS)?;
    session.insert(PENDING_NEXT, next)?;
    session.insert(session::CSRF, session::random_hex(32))?;
    Ok(())
}

fn pending(session: &Session) -> Option<Pending> {
    let until = session.get::<i64>(PENDING_UNTIL).ok().flatten()?;
    if until < time::now() {
        return None;
    }
    Some(Pending {
        user: session
            .get::<String>(PENDING_USER)
            .ok()
            .flatten()
            .and_then(|u| Uuid::parse_str(&u).ok())?,
        email: session.get::<String>(PENDING_EMAIL).ok().flatten()?,
        next: session
            .get::<String>(PENDING_NEXT)
            .ok()
            .flatten()
            .unwrap_or_else(|| "/".into()),
    })
}

fn forget(session: &Session) {
    for key in [PENDING_USER, PENDING_EMAIL, PENDING_UNTIL, PENDING_NEXT] {
        session.remove(key);
    }
}

/// What this person can answer with.
#[derive(Clone, Copy)]
struct Means {
    code: bool,
    passkey: bool,
}

async fn means(state: &AppState, user: Uuid) -> Result<Means, WebError> {
    Ok(Means {
        code: state.service.has_totp(user).await?,
        passkey: state.service.has_passkey(user).await? && state.service.passkeys_available(),
    })
}

fn code_page(csrf: &str, means: Means, error: Option<&str>) -> Markup {
    layout::bare(
        "Your code",
        html! {
            h1 { @if means.code { "Enter your code" } @else { "Use your passkey" } }
            @if let Some(e) = error { p.alert role="alert" { (e) } }
            @if means.code {
                form.stack method="post" action="/login/code" {
                    (csrf_field(csrf))
                    label for="code" { "The 6-digit code of your authenticator app, or a recovery code" }
                    input #code type="text" name="code" autocomplete="one-time-code" inputmode="text"
                        required autofocus maxlength="40";
                    button.primary type="submit" { "Sign in" }
                }
            }
            @if means.passkey {
                form.stack method="post" action="/login/passkey" data-passkey-options="/login/passkey/options" {
                    (csrf_field(csrf))
                    input type="hidden" name="credential" value="";
                    button.primary type="button" data-passkey="get" { "Use a passkey" }
                    p.muted role="status" data-passkey-status {}
                }
                script src=(assets::passkey_url()) defer {}
            }
            p.muted { "Lost your device? Use one of your recovery codes, or ask an operator to run "
                code { "accessboard user reset-2fa EMAIL" } "." }
        },
    )
}

fn back_to_sign_in() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", "/login"))
        .finish()
}

/// GET /login/code
pub async fn form(state: web::Data<AppState>, session: Session) -> Result<HttpResponse, WebError> {
    let Some(p) = pending(&session) else {
        return Ok(back_to_sign_in());
    };
    let csrf = session::csrf_token(&session)?;
    Ok(layout::ok(code_page(
        &csrf,
        means(&state, p.user).await?,
        None,
    )))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
}

/// POST /login/code
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, WebError> {
    let code = form.code.clone();
    answer(req, state, session, move |state, p| {
        Box::pin(async move {
            let proof = state.service.check_second_factor(p, code).await?;
            Ok(proof.map(|p| p.as_str()).ok_or("wrong code"))
        })
    })
    .await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct PasskeyForm {
    credential: String,
}

/// POST /login/passkey/options: the request options for this person's passkeys.
pub async fn passkey_options(
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, WebError> {
    let Some(p) = pending(&session) else {
        return Ok(passkeys::json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({ "error": "The sign-in expired; sign in with your password again." }),
        ));
    };
    let begun = state
        .service
        .begin_passkey_check(p.user, Purpose::SignIn)
        .await?;
    passkeys::begun(&session, begun)
}

/// POST /login/passkey: the passkey's answer, checked like a code.
pub async fn passkey(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<PasskeyForm>,
) -> Result<HttpResponse, WebError> {
    let answer_json = form.credential.clone();
    let ceremony = passkeys::ceremony(&session);
    answer(req, state, session, move |state, user| {
        Box::pin(async move {
            let checked = state
                .service
                .check_passkey(user, Purpose::SignIn, ceremony, answer_json)
                .await?;
            Ok(checked.map(|_| "passkey").map_err(|r| r.reason()))
        })
    })
    .await
}

type Check<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<Result<&'static str, &'static str>, WebError>> + 'a,
    >,
>;

/// The second step's answer, whatever it is: throttled against the account, address
/// and device keys; a wrong one audited with its reason; a right one starts the session.
async fn answer<F>(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    check: F,
) -> Result<HttpResponse, WebError>
where
    F: for<'a> FnOnce(&'a AppState, Uuid) -> Check<'a>,
{
    let Some(p) = pending(&session) else {
        forget(&session);
        return Ok(back_to_sign_in());
    };
    let db = state.service.db().clone();
    let server = &state.service.settings().server;
    let secure = server.cookies_secure();
    let client_ip = client::address(&req, &server.trusted_proxies);
    let address = client_ip.map_or_else(|| "unknown".into(), |a| a.to_string());
    let csrf = session::csrf_token(&session)?;
    let means = means(&state, p.user).await?;
    let audit = state.service.as_actor(Actor::Admin(p.email.clone()));
    let device = device::read(&req, secure).and_then(|v| state.device_key.verify(&v, p.user));
    let keys = throttle::Keys::new(&p.email, client_ip, device.as_ref());
    let slot = match throttle::reserve(&db, &keys).await? {
        Ok(slot) => slot,
        Err(wait) => {
            let after = serde_json::json!({ "reason": "throttled", "step": "second_factor", "address": address });
            audit.record("sign_in.failed", None, Some(after)).await?;
            let msg = format!("Too many failed sign-ins. Wait {wait} seconds, then try again.");
            return Ok(HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", wait.to_string()))
                .content_type("text/html; charset=utf-8")
                .body(code_page(&csrf, means, Some(&msg)).into_string()));
        }
    };
    let proof = match check(&state, p.user).await? {
        Ok(proof) => proof,
        Err(reason) => {
            let after = serde_json::json!({
                "reason": reason, "step": "second_factor", "address": address,
                "known_browser": slot == throttle::Slot::Known,
            });
            audit.record("sign_in.failed", None, Some(after)).await?;
            let msg = if reason == "wrong code" {
                "That code is wrong, expired or already used. Enter the current one."
            } else {
                "That passkey did not sign you in. Try again, or use a code."
            };
            return Ok(layout::respond(
                StatusCode::UNAUTHORIZED,
                code_page(&csrf, means, Some(msg)),
            ));
        }
    };
    throttle::succeeded(&db, &keys, slot).await?;
    session::start(&db, &session, p.user).await?;
    let after = serde_json::json!({
        "address": address, "known_browser": slot == throttle::Slot::Known,
        "second_factor": proof,
    });
    audit.record("sign_in.ok", None, Some(after)).await?;
    tracing::info!(user = %p.user, "signed in with a second factor");
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", p.next))
        .cookie(device::cookie(state.device_key.issue(p.user), secure))
        .finish())
}
