//! Sign-in through the provider of `[sso]`: `/login/sso` sends the browser there with
//! state, nonce and a PKCE challenge; `/login/sso/callback` takes the flow of that state
//! once (it must be this browser's, named in its signed cookie), and signs in the viewer
//! or admin whose email the provider verified. The provider's own second factor is
//! trusted (proven by `acr`/`amr` when `[sso]` asks): no code is asked here. Every
//! refusal is one sentence on the sign-in page. A confirmation's answer comes back to the
//! same callback and goes on to [`super::sso_confirm`]. Starts are throttled per address.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use super::sso_provider::SsoError;
use super::{AppState, WebError, client, device, layout, login, session, throttle};
use crate::db::sessions;
use crate::domain::{Actor, Email};

/// Session key of the state this browser must bring back.
pub(super) const FLOW: &str = "sso_state";
/// Session key of the provider's `sub` of whoever signed in through it.
pub(super) const SUBJECT: &str = "sso_subject";
/// Session key of the ID token, the hint of the provider's logout.
pub const ID_TOKEN: &str = "sso_id_token";

/// `?next=` of /login/sso.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct StartQuery {
    next: Option<String>,
}

/// What the provider sends back.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CallbackQuery {
    code: Option<String>,
    state: String,
    error: Option<String>,
}

/// GET /login/sso
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    q: web::Query<StartQuery>,
) -> Result<HttpResponse, WebError> {
    let Some(provider) = state.sso.clone() else {
        return Ok(super::error::not_found(req).await);
    };
    let next = login::safe_next(q.next.as_deref());
    let address = client::address(&req, &state.service.settings().server.trusted_proxies);
    let db = state.service.db();
    if let Err(wait) = throttle::reserve(db, &throttle::Keys::sso_start(address)).await? {
        // Not audited: a flood would write a row per request.
        tracing::info!(address = ?address, "SSO starts throttled");
        let msg = format!(
            "Too many sign-ins were started from your network; wait {wait} seconds, then try again."
        );
        let page = login::page(&state, &session, &next, Some(&msg)).await?;
        let mut res = layout::respond(StatusCode::TOO_MANY_REQUESTS, page);
        res.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(wait),
        );
        return Ok(res);
    }
    // One sign-in in progress per browser: starting again forgets the one before.
    if let Ok(Some(old)) = session.get::<String>(FLOW) {
        provider.drop_flow(&old);
    }
    match provider.begin(&next, false).await {
        Ok((url, flow)) => {
            session.insert(FLOW, flow)?;
            Ok(HttpResponse::SeeOther()
                .insert_header(("Location", url))
                .finish())
        }
        Err(e) => refuse(&req, &state, &session, &next, &e).await,
    }
}

/// GET /login/sso/callback
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    q: web::Query<CallbackQuery>,
) -> Result<HttpResponse, WebError> {
    let Some(provider) = state.sso.clone() else {
        return Ok(super::error::not_found(req).await);
    };
    // Single use: whatever happens next, this browser's state is spent.
    let expected = session.get::<String>(FLOW).ok().flatten();
    session.remove(FLOW);
    let verified = match provider
        .finish(
            expected.as_deref(),
            &q.state,
            q.code.as_deref(),
            q.error.is_some(),
        )
        .await
    {
        Ok(v) if v.confirm => return super::sso_confirm::finish(&state, &session, v).await,
        Ok(v) => v,
        Err(f) if f.confirm => {
            return super::sso_confirm::refuse(&state, &session, &f.next, &f.error).await;
        }
        Err(f) => return refuse(&req, &state, &session, &f.next, &f.error).await,
    };
    let db = state.service.db().clone();
    let user = match Email::parse(&verified.email) {
        Ok(e) => {
            let norm = e.normalized().to_owned();
            db.run(move |c| sessions::sso_login(c, &norm)).await?
        }
        Err(_) => None,
    };
    let Some(id) = user else {
        // The provider vouched for this email: the audit trail names it, as the
        // password form's refusals name the email typed.
        let who: String = verified
            .email
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(254)
            .collect();
        let e = SsoError::UnknownPerson;
        return refuse_as(&req, &state, &session, &verified.next, &e, who).await;
    };
    session::start(&db, &session, id).await?;
    session.insert(ID_TOKEN, &verified.id_token)?;
    session.insert(SUBJECT, &verified.subject)?;
    let server = &state.service.settings().server;
    let address = client::address(&req, &server.trusted_proxies)
        .map_or_else(|| "unknown".into(), |a| a.to_string());
    let after = serde_json::json!({ "address": address, "via": "sso" });
    state
        .service
        .as_actor(Actor::Admin(verified.email.clone()))
        .record("sign_in.sso", None, Some(after))
        .await?;
    tracing::info!(user = %id, "signed in through SSO");
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", verified.next))
        .cookie(device::cookie(
            state.device_key.issue(id),
            server.cookies_secure(),
        ))
        .finish())
}

/// The sign-in page with the sentence of `e`, audited; never a 500, never a secret.
async fn refuse(
    req: &HttpRequest,
    state: &AppState,
    session: &Session,
    next: &str,
    e: &SsoError,
) -> Result<HttpResponse, WebError> {
    refuse_as(req, state, session, next, e, "(single sign-on)".into()).await
}

/// [`refuse`], audited under `who`.
async fn refuse_as(
    req: &HttpRequest,
    state: &AppState,
    session: &Session,
    next: &str,
    e: &SsoError,
    who: String,
) -> Result<HttpResponse, WebError> {
    let server = &state.service.settings().server;
    let address = client::address(req, &server.trusted_proxies)
        .map_or_else(|| "unknown".into(), |a| a.to_string());
    let after = serde_json::json!({ "reason": format!("sso: {}", e.reason()), "address": address });
    state
        .service
        .as_actor(Actor::Admin(who))
        .record("sign_in.failed", None, Some(after))
        .await?;
    tracing::info!(address = %address, reason = e.reason(), "SSO sign-in refused");
    let status = match e {
        SsoError::ProviderDown | SsoError::ClientRefused => StatusCode::BAD_GATEWAY,
        SsoError::Busy => StatusCode::TOO_MANY_REQUESTS,
        SsoError::WrongState | SsoError::CodeRefused | SsoError::Declined => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::UNAUTHORIZED,
    };
    let page = login::page(state, session, next, Some(e.sentence())).await?;
    Ok(layout::respond(status, page))
}

/// The "Sign in with …" link of the sign-in page (a link, not a form: the page's
/// `form-action 'self'` would stop a form's redirect to the provider).
pub fn button(state: &AppState, next: &str) -> maud::Markup {
    html! {
        @if let Some(p) = &state.sso {
            p {
                a.button.primary #sso href={ "/login/sso?next=" (encode(next)) } {
                    "Sign in with " (p.label())
                }
            }
        }
    }
}

/// Whether this session signed in through the provider, which then stands for
/// `[auth] require_second_factor` (SSO sign-ins are trusted to the provider's factor).
pub fn factor_confirmed(state: &AppState, session: &Session) -> bool {
    // The provider's sign-in is trusted to its own second factor; with `acr_values`/`amr`
    // a sign-in that did not prove one never got this far.
    state.sso.is_some() && session.get::<String>(SUBJECT).ok().flatten().is_some()
}

/// Whether the password form is hidden (`sso_only`).
pub fn password_hidden(state: &AppState) -> bool {
    state.sso.as_ref().is_some_and(|p| p.sso_only())
}

/// After sign-out here from a sign-in through the provider: a page that goes on to its
/// end-session endpoint, when it offers one (by `Refresh`: the signing-out page's
/// `form-action 'self'` would stop a redirect to another site).
pub async fn end_provider_session(
    state: &AppState,
    id_token: Option<String>,
) -> Option<HttpResponse> {
    let url = state
        .sso
        .as_ref()?
        .logout_url(Some(id_token?.as_str()))
        .await?;
    let page = layout::bare(
        "Signed out",
        html! {
            h1 { "Signed out" }
            p { "You are signed out of accessboard. "
                a #sso-logout href=(url) { "Sign out of the sign-in provider too" } "." }
        },
    );
    Some(
        HttpResponse::Ok()
            .insert_header(("Refresh", format!("0; url={url}")))
            .content_type("text/html; charset=utf-8")
            .body(page.into_string()),
    )
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
