//! /login/link: the page of a one-time sign-in link (an invitation or a reset), where
//! the person sets their password. The token travels in the query string (which the
//! request log leaves out) and in the form; only its hash is stored.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};

use super::layout::{self, csrf_field};
use super::{AppState, WebError, session};
use crate::users::password as auth;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct LinkQuery {
    token: String,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct LinkForm {
    token: String,
    password: String,
}

const GONE: &str = "This link no longer works: it was used, it expired, or the password or access it was made for changed. Ask an admin for a new one.";

fn gone() -> HttpResponse {
    layout::respond(
        StatusCode::GONE,
        layout::bare(
            "Link expired",
            html! { h1 { "This link no longer works" } p.lead { (GONE) } p { a href="/login" { "Sign in" } } },
        ),
    )
}

fn form_page(csrf: &str, token: &str, email: &str, error: Option<&str>) -> Markup {
    layout::bare(
        "Set your password",
        html! {
            h1 { "Set your password" }
            p { "For " bdi { (email) } ". The link works once." }
            @if let Some(e) = error { p.alert role="alert" { (e) } }
            form.stack method="post" action="/login/link" {
                (csrf_field(csrf))
                input type="hidden" name="token" value=(token);
                // The account's name, for password managers.
                input type="hidden" name="username" autocomplete="username" value=(email);
                label for="password" { "New password (at least " (auth::MIN_PASSWORD_CHARS) " characters)" }
                input #password type="password" name="password" autocomplete="new-password" required autofocus;
                button.primary type="submit" { "Set password" }
            }
        },
    )
}

/// GET /login/link?token=…
pub async fn form(
    state: web::Data<AppState>,
    session: Session,
    q: web::Query<LinkQuery>,
) -> Result<HttpResponse, WebError> {
    let Some(user) = state.service.sign_in_link_person(q.token.clone()).await? else {
        return Ok(gone());
    };
    let csrf = session::csrf_token(&session)?;
    Ok(layout::ok(form_page(
        &csrf,
        &q.token,
        user.email.as_str(),
        None,
    )))
}

/// POST /login/link
pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LinkForm>,
) -> Result<HttpResponse, WebError> {
    let Some(user) = state
        .service
        .sign_in_link_person(form.token.clone())
        .await?
    else {
        return Ok(gone());
    };
    let pw = form.password.clone();
    let hashed = web::block(move || auth::hash_password(&pw))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let hash = match hashed {
        Ok(h) => h,
        Err(why) => {
            let csrf = session::csrf_token(&session)?;
            return Ok(layout::respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                form_page(&csrf, &form.token, user.email.as_str(), Some(&why)),
            ));
        }
    };
    // Taken in the same transaction that sets the password: a link works once.
    match state
        .service
        .set_password_by_link(form.token.clone(), hash)
        .await?
    {
        Some(email) => Ok(layout::ok(layout::bare(
            "Password set",
            html! {
                h1 { "Your password is set" }
                p role="status" { "Sign in as " bdi { (email) } " with it now." }
                p { a.button.primary href="/login" { "Sign in" } }
            },
        ))),
        None => Ok(gone()),
    }
}
