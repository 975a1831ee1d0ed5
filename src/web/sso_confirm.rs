//! Confirming a sensitive change through the provider of `[sso]`, for someone who signed
//! in there and has no password or code here: `/account/confirm-sso` sends them to the
//! provider with `prompt=login` and `max_age=0`; its answer comes back to the sign-in
//! callback, which hands a confirmation here. It counts only if the provider signed them
//! in just now (`auth_time`, checked by the provider module) and it is the same person:
//! the same account here by email and, when this session came through the provider, the
//! same `sub`. Then sudo holds as after a password; a refusal is one sentence, audited.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};

use super::session::{self, CurrentAdmin};
use super::sso_provider::{SsoError, Verified};
use super::{AppState, WebError, flash, login, sso, sudo};
use crate::db::sessions;
use crate::domain::Email;

/// `?next=`: the page of the change, to come back to.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct StartQuery {
    next: Option<String>,
}

/// GET /account/confirm-sso
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    _admin: CurrentAdmin,
    session: Session,
    q: web::Query<StartQuery>,
) -> Result<HttpResponse, WebError> {
    let Some(provider) = state.sso.clone() else {
        return Ok(super::error::not_found(req).await);
    };
    let next = login::safe_next(q.next.as_deref());
    if let Ok(Some(old)) = session.get::<String>(sso::FLOW) {
        provider.drop_flow(&old);
    }
    match provider.begin(&next, true).await {
        Ok((url, flow)) => {
            session.insert(sso::FLOW, flow)?;
            Ok(HttpResponse::SeeOther()
                .insert_header(("Location", url))
                .finish())
        }
        Err(e) => refuse(&state, &session, &next, &e).await,
    }
}

/// The provider's answer to a confirmation, verified and fresh: sudo for this session if
/// it is the same person.
pub(super) async fn finish(
    state: &AppState,
    session: &Session,
    v: Verified,
) -> Result<HttpResponse, WebError> {
    let db = state.service.db().clone();
    let Some(admin) = session::lookup(&db, session).await? else {
        // Signed out (or the session ended) while at the provider: nothing to confirm.
        return Ok(to(&format!("/login?next={}", encode(&v.next))));
    };
    let found = match Email::parse(&v.email) {
        Ok(e) => {
            let norm = e.normalized().to_owned();
            db.run(move |c| sessions::sso_login(c, &norm)).await?
        }
        Err(_) => None,
    };
    let subject = session.get::<String>(sso::SUBJECT).ok().flatten();
    let same_subject = subject.is_none_or(|s| s == v.subject);
    if found != Some(admin.id) || !same_subject {
        return refuse_as(state, session, &admin, &v.next, &SsoError::SomeoneElse).await;
    }
    sudo::granted_by_provider(state, session, &admin).await?;
    let label = state
        .sso
        .as_ref()
        .map_or("the sign-in provider", |p| p.label());
    flash::set(
        session,
        format!("Confirmed with {label}: for five minutes, sensitive changes ask nothing more."),
    )?;
    Ok(to(&v.next))
}

/// A confirmation that did not happen: back to the change's page with the sentence,
/// audited as `reauth.failed`.
pub(super) async fn refuse(
    state: &AppState,
    session: &Session,
    next: &str,
    e: &SsoError,
) -> Result<HttpResponse, WebError> {
    let db = state.service.db().clone();
    match session::lookup(&db, session).await? {
        Some(admin) => refuse_as(state, session, &admin, next, e).await,
        None => Ok(to(&format!("/login?next={}", encode(next)))),
    }
}

async fn refuse_as(
    state: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
    next: &str,
    e: &SsoError,
) -> Result<HttpResponse, WebError> {
    let after = serde_json::json!({ "via": "sso", "reason": e.reason() });
    state
        .service
        .as_actor(admin.actor())
        .record("reauth.failed", None, Some(after))
        .await?;
    tracing::info!(user = %admin.id, reason = e.reason(), "SSO confirmation refused");
    flash::warn(session, e.sentence(), None)?;
    Ok(to(next))
}

fn to(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location.to_owned()))
        .finish()
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
