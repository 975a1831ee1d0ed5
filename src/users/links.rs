//! One-time sign-in links: an invitation (or a reset) lets a person who may sign in
//! set their password. The token is shown once; only its hash is stored, and every
//! step is audited without it.

use rand::Rng;
use serde_json::json;
use uuid::Uuid;

use super::{ServiceError, UserKey, UserService, store};
use crate::db::sign_in_links as links;
use crate::domain::{Actor, Email, User};

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// An admin's invitation (or a new start they made for someone).
    Invitation,
    /// Asked for on the sign-in page: "Forgot your password?".
    Reset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Reset => "reset",
        }
    }
}

/// How a link reaches its person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    /// Shown once to whoever made it, to pass on.
    Shown,
    /// Sent by email.
    Email,
}

impl Delivery {
    fn as_str(self) -> &'static str {
        match self {
            Delivery::Shown => "shown",
            Delivery::Email => "email",
        }
    }
}

/// A link just stored, with what its email needs.
pub(super) struct MadeLink {
    pub link: NewLink,
    pub user: User,
    /// Who made it, as the email names them.
    pub by: String,
    /// How long it lasts, in seconds.
    pub ttl: i64,
}

/// `ttl` seconds in words: "48 hours", "1 hour", "30 minutes".
pub fn duration_words(ttl: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if ttl % 3600 == 0 {
        plural(ttl / 3600, "hour")
    } else {
        plural((ttl / 60).max(1), "minute")
    }
}

/// Who acts, as a person reading an email would know them: an admin by name and email.
fn who_acts(tx: &rusqlite::Transaction<'_>, actor: &Actor) -> Result<String, ServiceError> {
    Ok(match actor {
        Actor::Admin(email) => match Email::parse(email).ok() {
            Some(e) => match store::user_by_email(tx, &e) {
                Ok(u) => format!("{} ({})", u.name, u.email),
                Err(_) => email.clone(),
            },
            None => email.clone(),
        },
        Actor::Cli { os_user } => {
            let user: String = os_user
                .chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect();
            format!("{user}, an operator of the accessboard server,")
        }
        Actor::System => "accessboard".to_owned(),
    })
}

/// A link just made: its token (shown once) and when it ends (unix seconds).
pub struct NewLink {
    /// The secret part of the URL.
    pub token: String,
    /// When it stops working.
    pub expires_at: i64,
}

impl UserService {
    /// Makes a one-time link for `user` to set their password, valid for
    /// `[auth] invite_ttl_hours`, to be shown; refused for someone who may not sign in.
    pub async fn create_sign_in_link(&self, user: Uuid) -> Result<NewLink, ServiceError> {
        let ttl = i64::from(self.settings().auth.invite_ttl_hours) * 3600;
        let made = self
            .make_link(UserKey::Id(user), ttl, Purpose::Invitation, Delivery::Shown)
            .await?;
        Ok(made.link)
    }

    /// Makes and stores a link for `who`, valid `ttl` seconds, audited with what it is
    /// for and how it travels; refused for someone who may not sign in.
    pub(super) async fn make_link(
        &self,
        who: UserKey,
        ttl: i64,
        purpose: Purpose,
        delivery: Delivery,
    ) -> Result<MadeLink, ServiceError> {
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes[..]);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let stored = token.clone();
        let inviter = self.actor().clone();
        let (expires_at, user, by) = self
            .write(move |tx, now, audit| {
                let u = match who {
                    UserKey::Id(id) => store::user_by_id(tx, id)?,
                    UserKey::Email(e) => store::user_by_email(tx, &e)?,
                };
                if !u.dashboard.signs_in() {
                    return Err(ServiceError::Invalid(format!(
                        "{} may not sign in here; give them dashboard access first",
                        u.email
                    )));
                }
                links::create(tx, u.id, &stored, now, now + ttl)?;
                let after = json!({
                    "valid": duration_words(ttl),
                    "purpose": purpose.as_str(),
                    "delivery": delivery.as_str(),
                });
                let target = u.email.to_string();
                audit.record(
                    tx,
                    now,
                    "sign_in_link.create",
                    Some(&target),
                    None,
                    Some(after),
                )?;
                let by = who_acts(tx, &inviter)?;
                Ok(((now + ttl, u, by), Vec::new()))
            })
            .await?;
        Ok(MadeLink {
            link: NewLink { token, expires_at },
            user,
            by,
            ttl,
        })
    }

    /// Ends a link that never reached its person (the email was not sent), audited.
    pub(super) async fn withdraw_link(
        &self,
        token: String,
        target: String,
        reason: String,
    ) -> Result<(), ServiceError> {
        self.write(move |tx, now, audit| {
            links::withdraw(tx, &token)?;
            let after = json!({ "reason": reason });
            audit.record(
                tx,
                now,
                "sign_in_link.withdraw",
                Some(&target),
                None,
                Some(after),
            )?;
            Ok(((), Vec::new()))
        })
        .await
    }

    /// The person a live link is for, without using it.
    pub async fn sign_in_link_person(&self, token: String) -> Result<Option<User>, ServiceError> {
        self.write(move |tx, now, _| {
            let Some(id) = links::peek(tx, &token, now)? else {
                return Ok((None, Vec::new()));
            };
            Ok((Some(store::user_by_id(tx, id)?), Vec::new()))
        })
        .await
    }

    /// Uses a link: sets the person's password (`hash`), ends their sessions and their
    /// other links, in one transaction; their email, or `None` when the link is used,
    /// expired or ended.
    pub async fn set_password_by_link(
        &self,
        token: String,
        hash: String,
    ) -> Result<Option<Email>, ServiceError> {
        self.write(move |tx, now, _| {
            let Some(id) = links::take(tx, &token, now)? else {
                return Ok((None, Vec::new()));
            };
            let u = store::user_by_id(tx, id)?;
            if !u.dashboard.signs_in() {
                return Ok((None, Vec::new()));
            }
            tx.execute(
                "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3",
                rusqlite::params![hash, now, id.to_string()],
            )?;
            crate::db::sessions::end_all_of(tx, id)?;
            links::end_all_of(tx, id)?;
            // Recorded as the person themselves: they chose the password.
            let audit = super::Audit {
                actor: Actor::Admin(u.email.to_string()).to_string(),
            };
            let after = json!({ "password": "set", "by": "sign_in_link" });
            let target = u.email.to_string();
            audit.record(tx, now, "password.set", Some(&target), None, Some(after))?;
            Ok((Some(u.email), Vec::new()))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::duration_words;

    #[test]
    fn durations_read_in_hours_when_whole_else_in_minutes() {
        assert_eq!(duration_words(48 * 3600), "48 hours");
        assert_eq!(duration_words(3600), "1 hour");
        assert_eq!(duration_words(30 * 60), "30 minutes");
        assert_eq!(duration_words(90 * 60), "90 minutes");
        assert_eq!(duration_words(60), "1 minute");
    }
}
