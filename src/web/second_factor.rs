//! The second step of sign-in: after the right password, a person with a second
//! factor is half signed in (no session: a user id, the email and a deadline in the
//! signed cookie of this browser, five minutes) until a code of their app or a
//! recovery code is taken at /login/code. The code is throttled like the password,
//! against the same account, address and device keys.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use uuid::Uuid;

use super::layout::{self, csrf_field};
use super::{AppState, WebError, client, device, session, throttle};
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

fn code_page(csrf: &str, error: Option<&str>) -> Markup {
    layout::bare(
        "Your code",
        html! {
            h1 { "Enter your code" }
            @if let Some(e) = error { p.alert role="alert" { (e) } }
            form.stack method="post" action="/login/code" {
                (csrf_field(csrf))
                label for="code" { "The 6-digit code of your authenticator app, or a recovery code" }
                input #code type="text" name="code" autocomplete="one-time-code" inputmode="text"
                    required autofocus maxlength="40";
                button.primary type="submit" { "Sign in" }
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
pub async fn form(session: Session) -> Result<HttpResponse, WebError> {
    if pending(&session).is_none() {
        return Ok(back_to_sign_in());
    }
    let csrf = session::csrf_token(&session)?;
    Ok(layout::ok(code_page(&csrf, None)))
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
                .body(code_page(&csrf, Some(&msg)).into_string()));
        }
    };
    let proof = state
        .service
        .check_second_factor(p.user, form.code.clone())
        .await?;
    let Some(proof) = proof else {
        let after = serde_json::json!({
            "reason": "wrong code", "step": "second_factor", "address": address,
            "known_browser": slot == throttle::Slot::Known,
        });
        audit.record("sign_in.failed", None, Some(after)).await?;
        return Ok(layout::respond(
            StatusCode::UNAUTHORIZED,
            code_page(
                &csrf,
                Some("That code is wrong, expired or already used. Enter the current one."),
            ),
        ));
    };
    throttle::succeeded(&db, &keys, slot).await?;
    session::start(&db, &session, p.user).await?;
    let after = serde_json::json!({
        "address": address, "known_browser": slot == throttle::Slot::Known,
        "second_factor": proof.as_str(),
    });
    audit.record("sign_in.ok", None, Some(after)).await?;
    tracing::info!(user = %p.user, "signed in with a second factor");
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", p.next))
        .cookie(device::cookie(state.device_key.issue(p.user), secure))
        .finish())
}
