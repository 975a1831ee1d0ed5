//! The person's own passkeys on /account/two-factor: the list with when each was last
//! used, registering one by name, removing one after re-authentication (a password, a
//! code, or another passkey). The browser side is `assets/passkey.js`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use base64::Engine;
use maud::{Markup, html};

use crate::db::passkeys::{Listed, Purpose};
use crate::web::layout::csrf_field;
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError, assets, flash, sudo, times};

const PATH: &str = "/account/two-factor";
/// The session key of the ceremony this browser waits on.
pub const CEREMONY: &str = "passkey_ceremony";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A JSON answer for the script: the options, or one sentence.
pub fn json(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .body(body.to_string())
}

/// The options for the browser, the ceremony's id kept in this session.
pub fn begun(
    session: &Session,
    begun: Option<crate::users::passkeys::Begun>,
) -> Result<HttpResponse, WebError> {
    let Some(b) = begun else {
        return Ok(json(
            StatusCode::CONFLICT,
            serde_json::json!({ "error": "Passkeys cannot be used here: the dashboard's public_url must be a domain name." }),
        ));
    };
    session.insert(CEREMONY, &b.id)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .body(b.options))
}

/// The ceremony this browser began, taken from the session (used once).
pub fn ceremony(session: &Session) -> String {
    let id = session
        .get::<String>(CEREMONY)
        .ok()
        .flatten()
        .unwrap_or_default();
    session.remove(CEREMONY);
    id
}

/// The passkeys part of the page.
pub fn section(
    state: &AppState,
    admin: &CurrentAdmin,
    keys: &[Listed],
    error: Option<&str>,
) -> Markup {
    let zone = &state.service.settings().server.zone;
    html! {
        section aria-labelledby="passkeys-h" {
            h2 #passkeys-h { "Passkeys" }
            @if keys.is_empty() {
                p { "No passkeys yet. A passkey (a security key such as a YubiKey, or your device's own) can be used instead of a code after your password." }
            } @else {
                ul.passkeys {
                    @for k in keys {
                        li {
                            h3 { (k.name) }
                            p.muted {
                                "Added " (times::ago(Some(k.created_at), zone)) "; last used "
                                @if k.last_used_at.is_some() { (times::ago(k.last_used_at, zone)) } @else { "never" }
                                "."
                            }
                            (remove_form(admin, k))
                        }
                    }
                }
            }
            @if !keys.is_empty() && state.service.passkeys_available() {
                form.stack method="post" action="/account/reauth/passkey" data-passkey-options="/account/passkeys/reauth-options" {
                    (csrf_field(&admin.csrf))
                    input type="hidden" name="credential" value="";
                    p.hint { "Before a sensitive change (letting someone sign in here, setting someone else's password), confirm it is you: it then holds for five minutes." }
                    div.actions { button type="button" data-passkey="get" { "Confirm it is you with a passkey" } }
                    p.muted role="status" data-passkey-status {}
                }
            }
            @if state.service.passkeys_available() {
                form.stack method="post" action="/account/passkeys" data-passkey-options="/account/passkeys/options" {
                    (csrf_field(&admin.csrf))
                    input type="hidden" name="credential" value="";
                    @if let Some(e) = error { p.alert role="alert" { (e) } }
                    label for="passkey-name" { "Name of the new passkey" }
                    input #passkey-name type="text" name="name" required maxlength="64" placeholder="YubiKey" autocomplete="off";
                    button.primary type="button" data-passkey="create" { "Add a passkey" }
                    p.muted role="status" data-passkey-status {}
                }
                script src=(assets::passkey_url()) defer {}
            } @else {
                p.muted { "Passkeys need the dashboard at a domain name: set " code { "[server] public_url" } " to one (https, or http://localhost)." }
            }
        }
    }
}

fn remove_form(admin: &CurrentAdmin, k: &Listed) -> Markup {
    let label = format!("Remove {}", k.name);
    html! {
        form.stack method="post" action="/account/passkeys/remove" data-passkey-options="/account/passkeys/reauth-options" {
            (csrf_field(&admin.csrf))
            input type="hidden" name="id" value=(b64(&k.credential_id));
            input type="hidden" name="credential" value="";
            label for=(format!("pw-{}", b64(&k.credential_id))) { "Your password or a code, to confirm" }
            input id=(format!("pw-{}", b64(&k.credential_id))) type="password" name=(sudo::FIELD) autocomplete="current-password";
            div.actions {
                button.danger type="submit" aria-label=(label) { "Remove" }
                button type="button" data-passkey="get" { "Confirm with a passkey and remove" }
            }
            p.muted role="status" data-passkey-status {}
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct NameForm {
    name: String,
}

/// POST /account/passkeys/options: the creation options for a new passkey.
pub async fn options(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, WebError> {
    match state
        .service
        .begin_passkey_registration(admin.id, form.name.clone())
        .await
    {
        Ok(b) => begun(&session, b),
        Err(crate::users::ServiceError::Invalid(msg)) => Ok(json(
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({ "error": capitalised(&msg) }),
        )),
        Err(e) => Err(e.into()),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct RegisterForm {
    credential: String,
}

/// POST /account/passkeys: the browser's new passkey, checked and stored.
pub async fn register(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, WebError> {
    let id = ceremony(&session);
    match state
        .service
        .finish_passkey_registration(admin.id, id, form.credential.clone())
        .await?
    {
        Ok(name) => {
            flash::set(
                &session,
                format!(
                    "Passkey \u{201c}{name}\u{201d} added: it can be used instead of a code after your password."
                ),
            )?;
            Ok(back())
        }
        Err(refusal) => {
            let keys = state.service.passkeys(admin.id).await?;
            let msg = format!(
                "The passkey was not added ({}); nothing was changed. Try again.",
                refusal.reason()
            );
            Ok(crate::web::layout::respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                super::account::shell(&admin, section(&state, &admin, &keys, Some(&msg))),
            ))
        }
    }
}

/// POST /account/passkeys/reauth-options: request options to confirm a change with a passkey.
pub async fn reauth_options(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
) -> Result<HttpResponse, WebError> {
    let b = state
        .service
        .begin_passkey_check(admin.id, Purpose::Reauth)
        .await?;
    begun(&session, b)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct RemoveForm {
    id: String,
    current_password: String,
    credential: String,
}

/// POST /account/passkeys/remove: after re-authentication, one passkey less.
pub async fn remove(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    form: web::Form<RemoveForm>,
) -> Result<HttpResponse, WebError> {
    let confirmed = if form.credential.is_empty() {
        sudo::confirm(&state, &session, &admin, &form.current_password).await?
    } else {
        sudo::confirm_passkey(&state, &session, &admin, form.credential.clone()).await?
    };
    if let Err(why) = confirmed {
        let keys = state.service.passkeys(admin.id).await?;
        let msg = format!("Nothing was removed: {why}.");
        return Ok(crate::web::layout::respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            super::account::shell(&admin, section(&state, &admin, &keys, Some(&msg))),
        ));
    }
    let Ok(id) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(form.id.as_bytes()) else {
        return Err(WebError::BadRequest("no such passkey".into()));
    };
    match state.service.remove_passkey(admin.id, id).await? {
        Some(name) => flash::set(&session, format!("Passkey \u{201c}{name}\u{201d} removed."))?,
        None => flash::set(
            &session,
            "That passkey was already removed; nothing changed.",
        )?,
    }
    Ok(back())
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ReauthForm {
    credential: String,
}

/// POST /account/reauth/passkey: re-authentication by passkey, holding five minutes
/// for every sensitive change (the forms then ask no password).
pub async fn reauth(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    form: web::Form<ReauthForm>,
) -> Result<HttpResponse, WebError> {
    match sudo::confirm_passkey(&state, &session, &admin, form.credential.clone()).await? {
        Ok(()) => flash::set(
            &session,
            "Confirmed: for five minutes, sensitive changes ask for no password.",
        )?,
        Err(why) => flash::warn(&session, format!("Not confirmed: {why}."), None)?,
    }
    Ok(back())
}

fn back() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", PATH))
        .finish()
}
