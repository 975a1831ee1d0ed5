//! Passkeys as a second factor: registering one (named by its owner), the check at
//! sign-in and re-authentication, the list, removal. Ceremonies are stored, taken
//! once, bound to the person and purpose, and expire after [`CEREMONY_SECS`].

use serde_json::json;
use uuid::Uuid;

use super::webauthn::{Refusal, RelyingParty};
use super::{ServiceError, UserService, store};
use crate::db::passkeys::{self as pk, Listed, Purpose};
use crate::db::time;

/// How long a browser has to answer a passkey challenge.
pub const CEREMONY_SECS: i64 = 5 * 60;
/// The longest name a passkey may have.
pub const MAX_NAME: usize = 64;

/// A ceremony begun: its id (kept in the browser's signed session) and the options
/// for the browser (JSON).
pub struct Begun {
    /// The ceremony's id.
    pub id: String,
    /// `PublicKeyCredentialCreationOptionsJSON` or `…RequestOptionsJSON`.
    pub options: String,
}

impl UserService {
    fn relying_party(&self) -> Option<RelyingParty> {
        RelyingParty::from_public_url(&self.settings().server.public_url)
    }

    /// Whether passkeys can work here: `[server] public_url` names a domain.
    pub fn passkeys_available(&self) -> bool {
        self.relying_party().is_some()
    }

    /// `user`'s passkeys, oldest first.
    pub async fn passkeys(&self, user: Uuid) -> Result<Vec<Listed>, ServiceError> {
        Ok(self.db().run(move |c| pk::list(c, user)).await?)
    }

    /// Whether `user` has a passkey.
    pub async fn has_passkey(&self, user: Uuid) -> Result<bool, ServiceError> {
        Ok(self.db().run(move |c| pk::count(c, user)).await? > 0)
    }

    /// Starts registering a passkey named `name`; `None` where passkeys cannot work.
    pub async fn begin_passkey_registration(
        &self,
        user: Uuid,
        name: String,
    ) -> Result<Option<Begun>, ServiceError> {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(ServiceError::Invalid(format!(
                "give the passkey a name of 1 to {MAX_NAME} characters, such as \"YubiKey\""
            )));
        }
        let Some(rp) = self.relying_party() else {
            return Ok(None);
        };
        self.db()
            .run(move |c| {
                let Some(u) = crate::db::read::user(c, user)? else {
                    return Err(ServiceError::UnknownUserId(user));
                };
                let existing = pk::of_user(c, user)?;
                let handle = pk::user_handle(c, user)?;
                let Some((state, options)) =
                    rp.start_registration(&u.email, &name, handle.as_deref(), &existing)
                else {
                    return Ok(None);
                };
                let id = put_ceremony(c, user, Purpose::Register, Some(&name), &state)?;
                Ok::<_, ServiceError>(Some(Begun { id, options }))
            })
            .await
    }

    /// Finishes a registration: the passkey stored and audited (`second_factor.on`),
    /// its name returned; or why it was refused.
    pub async fn finish_passkey_registration(
        &self,
        user: Uuid,
        ceremony: String,
        response: String,
    ) -> Result<Result<String, Refusal>, ServiceError> {
        let Some(rp) = self.relying_party() else {
            return Ok(Err(Refusal::NoChallenge));
        };
        self.write(move |tx, now, audit| {
            let Some(pk::Taken { state, name }) =
                pk::ceremony_take(tx, &ceremony, user, Purpose::Register, now)?
            else {
                return Ok((Err(Refusal::NoChallenge), Vec::new()));
            };
            let new = match rp.finish_registration(&state, &response) {
                Ok(new) => new,
                Err(refusal) => return Ok((Err(refusal), Vec::new())),
            };
            let name = name.unwrap_or_else(|| "Passkey".into());
            if !pk::insert(tx, user, &name, &new, now)? {
                return Ok((Err(Refusal::AlreadyRegistered), Vec::new()));
            }
            let u = store::user_by_id(tx, user)?;
            let after = json!({ "second_factor": "passkey", "name": name });
            audit.record(
                tx,
                now,
                "second_factor.on",
                Some(u.email.as_str()),
                None,
                Some(after),
            )?;
            Ok((Ok(name), Vec::new()))
        })
        .await
    }

    /// Starts a passkey check of `user` for `purpose`; `None` without passkeys (or
    /// where they cannot work).
    pub async fn begin_passkey_check(
        &self,
        user: Uuid,
        purpose: Purpose,
    ) -> Result<Option<Begun>, ServiceError> {
        let Some(rp) = self.relying_party() else {
            return Ok(None);
        };
        self.db()
            .run(move |c| {
                let existing = pk::of_user(c, user)?;
                let Some((state, options)) = rp.start_check(&existing) else {
                    return Ok(None);
                };
                let id = put_ceremony(c, user, purpose, None, &state)?;
                Ok::<_, ServiceError>(Some(Begun { id, options }))
            })
            .await
    }

    /// Checks a passkey's answer to the ceremony `ceremony` of `user` for `purpose`:
    /// the passkey's name, its counter and last use recorded; or why it was refused
    /// (a counter that went backwards refuses it; the caller audits the refusal).
    pub async fn check_passkey(
        &self,
        user: Uuid,
        purpose: Purpose,
        ceremony: String,
        response: String,
    ) -> Result<Result<String, Refusal>, ServiceError> {
        let Some(rp) = self.relying_party() else {
            return Ok(Err(Refusal::NoChallenge));
        };
        self.db()
            .run(move |c| {
                let now = time::now();
                let Some(pk::Taken { state, .. }) =
                    pk::ceremony_take(c, &ceremony, user, purpose, now)?
                else {
                    return Ok(Err(Refusal::NoChallenge));
                };
                let existing = pk::of_user(c, user)?;
                match rp.finish_check(&state, &response, &existing) {
                    Ok(used) => {
                        pk::used(c, &used.credential_id, &used.state, used.sign_count, now)?;
                        Ok(Ok(used.name))
                    }
                    Err(refusal) => Ok::<_, ServiceError>(Err(refusal)),
                }
            })
            .await
    }

    /// Removes one of `user`'s passkeys, audited (`second_factor.passkey_removed`);
    /// its name, or `None` when it was not theirs (or already gone).
    pub async fn remove_passkey(
        &self,
        user: Uuid,
        credential_id: Vec<u8>,
    ) -> Result<Option<String>, ServiceError> {
        self.write(move |tx, now, audit| {
            let Some(name) = pk::remove(tx, user, &credential_id)? else {
                return Ok((None, Vec::new()));
            };
            let u = store::user_by_id(tx, user)?;
            let after = json!({ "second_factor": "passkey", "name": name });
            audit.record(
                tx,
                now,
                "second_factor.passkey_removed",
                Some(u.email.as_str()),
                None,
                Some(after),
            )?;
            Ok((Some(name), Vec::new()))
        })
        .await
    }
}

/// Stores a ceremony's server state for [`CEREMONY_SECS`] under a new random id, returned.
fn put_ceremony(
    c: &rusqlite::Connection,
    user: Uuid,
    purpose: Purpose,
    name: Option<&str>,
    state: &[u8],
) -> Result<String, ServiceError> {
    let id = Uuid::new_v4().simple().to_string();
    let now = time::now();
    let ceremony = pk::Ceremony {
        id: &id,
        user,
        purpose,
        name,
        state,
        expires_at: now + CEREMONY_SECS,
    };
    pk::ceremony_put(c, &ceremony, now)?;
    Ok(id)
}
