//! The TOTP second factor of the people who sign in: enrolment, the check at sign-in
//! and re-authentication, recovery codes, and the reset on the server. Codes and
//! secrets are never logged nor written to the audit trail.

use serde_json::json;
use uuid::Uuid;

use super::{ServiceError, UserService, store, totp};
use crate::db::second_factor as sf;
use crate::domain::Email;

/// What an enrolment shows once: the secret, by hand and in the QR code's URI.
pub struct Enrolment {
    /// The base32 secret, for typing into an app.
    pub key: String,
    /// The `otpauth://` URI the QR code carries.
    pub uri: String,
}

/// How a second factor was proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// A code of the authenticator app.
    Code,
    /// A one-time recovery code.
    Recovery,
}

impl Proof {
    /// Its word in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Proof::Code => "totp",
            Proof::Recovery => "recovery_code",
        }
    }
}

fn now_unix() -> u64 {
    u64::try_from(crate::db::time::now()).unwrap_or(0)
}

impl UserService {
    /// Whether `user` has a confirmed second factor, a TOTP or a passkey (then it is
    /// asked at sign-in).
    pub async fn has_second_factor(&self, user: Uuid) -> Result<bool, ServiceError> {
        Ok(self.db().run(move |c| sf::enrolled(c, user)).await?)
    }

    /// Whether `user` has a confirmed authenticator app (then codes are asked).
    pub async fn has_totp(&self, user: Uuid) -> Result<bool, ServiceError> {
        Ok(self.db().run(move |c| sf::totp_on(c, user)).await?)
    }

    /// Starts (or starts again) an enrolment; `None` when one is already on.
    pub async fn start_totp(&self, user: Uuid) -> Result<Option<Enrolment>, ServiceError> {
        let secret = totp::new_secret();
        let key = totp::encoded(&secret);
        let stored = key.clone();
        let email = self
            .write(move |tx, now, _| {
                let u = store::user_by_id(tx, user)?;
                let started = sf::begin(tx, user, &stored, now)?;
                Ok((started.then_some(u.email), Vec::new()))
            })
            .await?;
        Ok(email.map(|email| Enrolment {
            uri: totp::otpauth_uri(&secret, email.as_str()),
            key,
        }))
    }

    /// The secret of an enrolment not yet confirmed, to show its QR code again.
    pub async fn pending_totp(&self, user: Uuid) -> Result<Option<Enrolment>, ServiceError> {
        let found = self
            .db()
            .run(move |c| {
                let t = sf::totp(c, user)?;
                let u = crate::db::read::user(c, user)?;
                Ok::<_, crate::db::DbError>(t.zip(u))
            })
            .await?;
        Ok(found.and_then(|(t, u)| {
            let secret = totp::decode(&t.secret).filter(|_| !t.confirmed)?;
            Some(Enrolment {
                uri: totp::otpauth_uri(&secret, &u.email),
                key: t.secret,
            })
        }))
    }

    /// Confirms an enrolment with a code of the app; on success it is on and the ten
    /// recovery codes are returned (to show once); `None` for a wrong code.
    pub async fn confirm_totp(
        &self,
        user: Uuid,
        code: String,
    ) -> Result<Option<Vec<String>>, ServiceError> {
        let now = now_unix();
        self.write(move |tx, at, audit| {
            let u = store::user_by_id(tx, user)?;
            let Some(t) = sf::totp(tx, user)?.filter(|t| !t.confirmed) else {
                return Ok((None, Vec::new()));
            };
            let Some(secret) = totp::decode(&t.secret) else {
                return Err(ServiceError::Invalid(
                    "the stored second factor is unreadable; start again".into(),
                ));
            };
            let Some(step) = totp::matching_step(&secret, &code, now) else {
                return Ok((None, Vec::new()));
            };
            if !sf::take_step(tx, user, step as i64, false)? {
                return Ok((None, Vec::new()));
            }
            let codes = totp::new_recovery_codes();
            let hashes: Vec<String> = codes.iter().map(|c| totp::recovery_hash(c)).collect();
            sf::confirm(tx, user, &hashes, at)?;
            let after = json!({ "second_factor": "totp", "recovery_codes": codes.len() });
            let target = u.email.to_string();
            audit.record(tx, at, "second_factor.on", Some(&target), None, Some(after))?;
            Ok((Some(codes), Vec::new()))
        })
        .await
    }

    /// Checks a code (or a recovery code) of `user`'s confirmed second factor; a code
    /// of a step already taken, or a recovery code already used, is refused.
    pub async fn check_second_factor(
        &self,
        user: Uuid,
        typed: String,
    ) -> Result<Option<Proof>, ServiceError> {
        let now = now_unix();
        Ok(self
            .db()
            .run(move |c| {
                let Some(t) = sf::totp(c, user)?.filter(|t| t.confirmed) else {
                    return Ok::<_, crate::db::DbError>(None);
                };
                if totp::looks_like_code(&typed) {
                    let step =
                        totp::decode(&t.secret).and_then(|s| totp::matching_step(&s, &typed, now));
                    return Ok(match step {
                        Some(step) if sf::take_step(c, user, step as i64, true)? => {
                            Some(Proof::Code)
                        }
                        _ => None,
                    });
                }
                let hash = totp::recovery_hash(&typed);
                Ok(sf::use_recovery(c, user, &hash, crate::db::time::now())?
                    .then_some(Proof::Recovery))
            })
            .await?)
    }

    /// How many unused recovery codes `user` has.
    pub async fn recovery_codes_left(&self, user: Uuid) -> Result<i64, ServiceError> {
        Ok(self.db().run(move |c| sf::recovery_left(c, user)).await?)
    }

    /// Removes a person's second factor, TOTP and passkeys (a lost device), audited
    /// as `second_factor.reset`; whether one was on.
    pub async fn reset_second_factor(&self, email: &Email) -> Result<FactorsRemoved, ServiceError> {
        let email = email.clone();
        self.write(move |tx, now, audit| {
            let u = store::user_by_email(tx, &email)?;
            let totp = sf::reset(tx, u.id)?;
            let passkeys = crate::db::passkeys::remove_all(tx, u.id)?;
            let removed = FactorsRemoved { totp, passkeys };
            let after = json!({
                "second_factor": if removed.any() { "removed" } else { "none was on" },
                "totp": totp, "passkeys_removed": passkeys,
            });
            let target = u.email.to_string();
            audit.record(
                tx,
                now,
                "second_factor.reset",
                Some(&target),
                None,
                Some(after),
            )?;
            Ok((removed, Vec::new()))
        })
        .await
    }
}

/// What `reset_second_factor` took away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactorsRemoved {
    /// The authenticator app (TOTP) and its recovery codes.
    pub totp: bool,
    /// How many passkeys.
    pub passkeys: usize,
}

impl FactorsRemoved {
    /// Whether anything was on.
    pub fn any(self) -> bool {
        self.totp || self.passkeys > 0
    }

    /// "the authenticator app and 2 passkeys", for the command line.
    pub fn describe(self) -> String {
        let keys = match self.passkeys {
            0 => None,
            1 => Some("1 passkey".to_owned()),
            n => Some(format!("{n} passkeys")),
        };
        match (self.totp, keys) {
            (true, Some(k)) => format!("the authenticator app and {k}"),
            (true, None) => "the authenticator app".into(),
            (false, Some(k)) => k,
            (false, None) => "nothing".into(),
        }
    }
}
