//! The signed-in person's own second factor (/account/two-factor): set up an
//! authenticator app by QR code or key, confirm it with a code, see the recovery codes
//! once; their passkeys (`passkeys.rs`). Viewers use it too: it changes nobody but themselves.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use base64::Engine;
use maud::{Markup, html};

use crate::users::second_factor::Enrolment;
use crate::web::layout::{self, Nav, csrf_field, page};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

const PATH: &str = "/account/two-factor";

/// The QR code of the URI as an SVG image, drawn here (no request leaves the server).
fn qr(uri: &str) -> Markup {
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else {
        return html! { p.muted { "The QR code cannot be drawn; type the key instead." } };
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    let src = format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    );
    html! { img.qr src=(src) width="200" height="200" alt="QR code of the key below, for your authenticator app"; }
}

fn enrolment(admin: &CurrentAdmin, e: &Enrolment, error: Option<&str>) -> Markup {
    html! {
        p { "Scan this with your authenticator app (Aegis, 2FAS, Google Authenticator, a password manager…), or type the key." }
        (qr(&e.uri))
        p { "Key: " code.wrap #totp-key { (e.key) } }
        form.stack method="post" action=(format!("{PATH}/confirm")) {
            (csrf_field(&admin.csrf))
            @if let Some(e) = error { p.alert role="alert" { (e) } }
            label for="code" { "The 6-digit code your app shows now" }
            input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="10";
            button.primary type="submit" { "Turn on" }
        }
    }
}

/// The page around a part of it.
pub fn shell(admin: &CurrentAdmin, body: Markup) -> Markup {
    page(
        "Two-factor sign-in",
        admin,
        Nav::Nowhere,
        html! { h1 { "Two-factor sign-in" } (body) },
    )
}

/// GET /account/two-factor
pub async fn show(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
) -> Result<HttpResponse, WebError> {
    let id = admin.id;
    let keys = state.service.passkeys(id).await?;
    let passkeys = super::passkeys::section(&state, &admin, &keys, None);
    if state.service.has_totp(id).await? {
        let left = state.service.recovery_codes_left(id).await?;
        return Ok(layout::ok(shell(
            &admin,
            html! {
                p role="status" { "On: every sign-in asks for a code of your authenticator app (or a passkey) after your password." }
                p { (left) " unused recovery codes left." }
                p.muted { "Lost your device and your codes? An operator can turn it off with "
                    code { "accessboard user reset-2fa EMAIL" } "; then set it up again here." }
                (passkeys)
            },
        )));
    }
    let body = match state.service.pending_totp(id).await? {
        Some(e) => html! { (enrolment(&admin, &e, None)) (passkeys) },
        None => html! {
            @if keys.is_empty() && state.service.settings().auth.require_second_factor {
                p.alert role="alert" { "This dashboard requires two-factor sign-in: set it up to go on." }
            }
            @if keys.is_empty() {
                p { "Off: your password alone signs you in." }
            } @else {
                p role="status" { "On: every sign-in asks for one of your passkeys after your password." }
            }
            form method="post" action=(PATH) {
                (csrf_field(&admin.csrf))
                button.primary type="submit" { "Set up an authenticator app" }
            }
            (passkeys)
        },
    };
    Ok(layout::ok(shell(&admin, body)))
}

/// POST /account/two-factor: a new key (replacing one not yet confirmed).
pub async fn start(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
) -> Result<HttpResponse, WebError> {
    match state.service.start_totp(admin.id).await? {
        Some(e) => Ok(layout::ok(shell(&admin, enrolment(&admin, &e, None)))),
        None => Err(WebError::Conflict(
            "Two-factor sign-in is already on; nothing was changed.".into(),
        )),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
}

/// POST /account/two-factor/confirm: on with the right code, and the recovery codes once.
pub async fn confirm(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, WebError> {
    match state
        .service
        .confirm_totp(admin.id, form.code.clone())
        .await?
    {
        Some(codes) => Ok(layout::ok(shell(
            &admin,
            html! {
                p.saved role="status" { "Two-factor sign-in is on." }
                p { strong { "Your recovery codes, shown this once." } " Each signs you in once instead of a code; keep them apart from your device." }
                ul.recovery-codes { @for c in &codes { li { code { (c) } } } }
                p { a.button href="/" { "Done" } }
            },
        ))),
        None => {
            let Some(e) = state.service.pending_totp(admin.id).await? else {
                return Ok(HttpResponse::SeeOther()
                    .insert_header(("Location", PATH))
                    .finish());
            };
            Ok(layout::respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                shell(
                    &admin,
                    enrolment(
                        &admin,
                        &e,
                        Some(
                            "That code is not the current one; nothing was turned on. Check your device's clock and enter the code it shows now.",
                        ),
                    ),
                ),
            ))
        }
    }
}
