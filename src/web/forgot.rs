//! /login/forgot: "Forgot your password?", offered only when email is set up. Anyone may
//! ask a reset link for an email; the answer is the same sentence whatever the email,
//! given before anyone is looked up: the link is made and sent in the background, and
//! only to someone who may sign in. Requests are throttled per email and per client.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::layout::{self, csrf_field};
use super::{AppState, WebError, client, session, throttle};
use crate::domain::Actor;

/// The one answer, whether or not the email belongs to anyone.
pub const ANSWER: &str =
    "If that address belongs to someone who can sign in here, a link is on its way.";

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ForgotForm {
    email: String,
}

fn form_page(csrf: &str, email: &str, said: Option<&str>, error: Option<&str>) -> Markup {
    layout::bare(
        "Forgot your password?",
        html! {
            h1 { "Forgot your password?" }
            @if let Some(s) = said { p.saved role="status" { (s) } }
            @if let Some(e) = error { p.alert role="alert" { (e) } }
            p { "Type the email you sign in with. If it belongs to someone who can sign in here, a link to set a new password is sent to it." }
            form.stack method="post" action="/login/forgot" {
                (csrf_field(csrf))
                label for="email" { "Email" }
                input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
                button.primary type="submit" { "Send me a link" }
            }
            p { a href="/login" { "Back to sign in" } }
        },
    )
}

fn not_offered() -> WebError {
    WebError::NotFound("Reset links are sent by email, and email is not set up here. An operator can set a new password with accessboard user set-password EMAIL.".into())
}

/// GET /login/forgot
pub async fn form(state: web::Data<AppState>, session: Session) -> Result<HttpResponse, WebError> {
    if !state.service.sends_mail() {
        return Err(not_offered());
    }
    let csrf = session::csrf_token(&session)?;
    Ok(layout::ok(form_page(&csrf, "", None, None)))
}

/// POST /login/forgot
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, WebError> {
    if !state.service.sends_mail() {
        return Err(not_offered());
    }
    let csrf = session::csrf_token(&session)?;
    let server = &state.service.settings().server;
    let client_ip = client::address(&req, &server.trusted_proxies);
    let address = client_ip.map_or_else(|| "unknown".into(), |a| a.to_string());
    let typed: String = form
        .email
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(254)
        .collect();
    let keys = throttle::Keys::reset(&typed, client_ip);
    if let Err(wait) = throttle::reserve(state.service.db(), &keys).await? {
        let msg = format!("Too many requests for a link. Wait {wait} seconds, then try again.");
        return Ok(HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", wait.to_string()))
            .content_type("text/html; charset=utf-8")
            .body(form_page(&csrf, &typed, None, Some(&msg)).into_string()));
    }
    // Looked up and sent after the answer, so its time says nothing about the address.
    let service = state.service.as_actor(Actor::Admin(typed.clone()));
    actix_web::rt::spawn(async move {
        if let Err(e) = service.send_reset_link(&typed, &address).await {
            tracing::warn!(error = %e, "reset link not sent");
        }
    });
    Ok(layout::respond(
        StatusCode::OK,
        form_page(&csrf, "", Some(ANSWER), None),
    ))
}
