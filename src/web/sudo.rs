//! Re-authentication for sensitive changes, like GitHub's sudo mode: making someone a
//! dashboard admin or setting another admin's password asks for your own password, so
//! a session left open (or a stolen cookie) cannot hand out admin rights. A correct
//! password, a code of the admin's second factor, or one of their passkeys, holds for [`SUDO_SECS`] in this
//! session. (A code has 6 digits; no password is that short, so the field takes both.)

use actix_session::Session;

use super::session::CurrentAdmin;
use super::throttle::{self, Slot};
use super::{AppState, WebError};
use crate::db::passkeys::Purpose;
use crate::db::{sessions, time};

/// The form field that carries the admin's own password.
pub const FIELD: &str = "current_password";
/// How long a confirmation holds.
pub const SUDO_SECS: i64 = 5 * 60;
const SESSION_KEY: &str = "sudo_until";

/// Whether this session confirmed its password within the last [`SUDO_SECS`].
pub fn fresh(session: &Session) -> bool {
    session
        .get::<i64>(SESSION_KEY)
        .ok()
        .flatten()
        .is_some_and(|until| until > time::now())
}

/// `Ok(())` when the session is fresh or `password` is the admin's own (the session is
/// then fresh for [`SUDO_SECS`]); otherwise the one-line reason for the form. Checks
/// are throttled like sign-ins, under a key of their own, and recorded in the audit trail.
pub async fn confirm(
    state: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
    password: &str,
) -> Result<Result<(), String>, WebError> {
    if fresh(session) {
        return Ok(Ok(()));
    }
    if password.is_empty() {
        return Ok(Err("enter your own password to confirm this change".into()));
    }
    let db = state.service.db().clone();
    let keys = throttle::Keys::reauth(admin.id);
    if let Err(wait) = throttle::reserve(&db, &keys).await? {
        return Ok(Err(format!(
            "too many wrong passwords; wait {wait} seconds, then try again"
        )));
    }
    let audit = state.service.as_actor(admin.actor());
    if admin.second_factor && crate::users::totp::looks_like_code(password) {
        let proof = state
            .service
            .check_second_factor(admin.id, password.to_owned())
            .await?;
        if proof.is_none() {
            audit.record("reauth.failed", None, None).await?;
            return Ok(Err("that code is wrong, expired or already used".into()));
        }
        return Ok(Ok(fresh_now(state, session, &keys, admin).await?));
    }
    let id = admin.id;
    let Some(hash) = db
        .run(move |c| sessions::admin_password_hash(c, id))
        .await?
    else {
        return Ok(Err("your account can no longer sign in".into()));
    };
    let Ok(matches) = state.hashing.verify(password.to_owned(), hash, true).await else {
        return Ok(Err(
            "the dashboard is busy checking passwords; try again in a moment".into(),
        ));
    };
    if !matches {
        audit.record("reauth.failed", None, None).await?;
        return Ok(Err("that is not your password".into()));
    }
    fresh_now(state, session, &keys, admin).await?;
    Ok(Ok(()))
}

/// Like [`confirm`], with an answer of one of the admin's passkeys to the challenge
/// this session began (`/account/passkeys/reauth-options`), throttled the same way.
pub async fn confirm_passkey(
    state: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
    answer: String,
) -> Result<Result<(), String>, WebError> {
    if fresh(session) {
        return Ok(Ok(()));
    }
    let db = state.service.db().clone();
    let keys = throttle::Keys::reauth(admin.id);
    if let Err(wait) = throttle::reserve(&db, &keys).await? {
        return Ok(Err(format!(
            "too many failed confirmations; wait {wait} seconds, then try again"
        )));
    }
    let ceremony = super::pages::passkeys::ceremony(session);
    let checked = state
        .service
        .check_passkey(admin.id, Purpose::Reauth, ceremony, answer)
        .await?;
    if let Err(refusal) = checked {
        let after = serde_json::json!({ "reason": refusal.reason() });
        state
            .service
            .as_actor(admin.actor())
            .record("reauth.failed", None, Some(after))
            .await?;
        return Ok(Err("the passkey did not confirm it".into()));
    }
    fresh_now(state, session, &keys, admin).await?;
    Ok(Ok(()))
}

/// The confirmation succeeded: the session is fresh for [`SUDO_SECS`].
async fn fresh_now(
    state: &AppState,
    session: &Session,
    keys: &throttle::Keys,
    admin: &CurrentAdmin,
) -> Result<(), WebError> {
    throttle::succeeded(state.service.db(), keys, Slot::Stranger).await?;
    session.insert(SESSION_KEY, time::now() + SUDO_SECS)?;
    state
        .service
        .as_actor(admin.actor())
        .record("reauth.ok", None, None)
        .await?;
    Ok(())
}
