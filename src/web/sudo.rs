//! Re-authentication for sensitive changes, like GitHub's sudo mode: making someone a
//! dashboard admin or setting another admin's password asks for your own password, so
//! a session left open (or a stolen cookie) cannot hand out admin rights. A correct
//! password, a code of the admin's second factor, or one of their passkeys, holds for [`SUDO_SECS`] in this
//! session. (A code has 6 digits; no password is that short, so the field takes both.)
//! With `[sso]`, signing in again at the provider confirms too ([`super::sso_confirm`]):
//! someone who signs in there may have neither a password nor a code here.

use actix_session::Session;
use maud::{Markup, html};

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

/// What a form asks to confirm a sensitive change: the password field, and with `[sso]`
/// a link to confirm through the provider instead.
#[derive(Debug, Clone)]
pub struct Ask {
    /// The provider's label and the link that starts the confirmation.
    sso: Option<(String, String)>,
}

/// `None` when this session confirmed a moment ago; else what to ask, the provider's
/// confirmation coming back to `next`.
pub fn ask(state: &AppState, session: &Session, next: &str) -> Option<Ask> {
    if fresh(session) {
        return None;
    }
    let sso = state.sso.as_ref().map(|p| {
        let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        (p.label().to_owned(), format!("{CONFIRM_PATH}?next={next}"))
    });
    Some(Ask { sso })
}

/// Where a confirmation through the provider of `[sso]` starts.
pub const CONFIRM_PATH: &str = "/account/confirm-sso";

impl Ask {
    /// The "Confirm with {label}" link, when `[sso]` is on; nothing otherwise.
    pub fn sso_link(&self) -> Markup {
        html! {
            @if let Some((label, href)) = &self.sso {
                p.hint #confirm-sso-hint {
                    "No password here? "
                    a #confirm-sso href=(href) { "Confirm with " (label) }
                    " first: you sign in there again, come back to this page, and make the change within five minutes."
                }
            }
        }
    }
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
    let sso = state.sso.as_ref().map(|p| p.label().to_owned());
    if password.is_empty() {
        return Ok(Err(match sso {
            Some(label) => {
                format!("enter your own password, or confirm with {label}, to confirm this change")
            }
            None => "enter your own password to confirm this change".into(),
        }));
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
        return Ok(Err(match sso {
            Some(label) => format!("you have no password here; confirm with {label} instead"),
            None => "your account can no longer sign in".into(),
        }));
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

/// Someone just signed in again at the provider of `[sso]` (checked by the caller):
/// the session is fresh for [`SUDO_SECS`], as after a password, audited.
pub async fn granted_by_provider(
    state: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
) -> Result<(), WebError> {
    session.insert(SESSION_KEY, time::now() + SUDO_SECS)?;
    state
        .service
        .as_actor(admin.actor())
        .record("reauth.ok", None, Some(serde_json::json!({ "via": "sso" })))
        .await?;
    Ok(())
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
