//! One-time sign-in links: an invitation (or a reset) lets a person who may sign in
//! set their password. The token is shown once; only its hash is stored, and every
//! step is audited without it.

use rand::Rng;
use serde_json::json;
use uuid::Uuid;

use super::{ServiceError, UserService, store};
use crate::db::sign_in_links as links;
use crate::domain::{Actor, Email, User};

/// A link just made: its token (shown once) and when it ends (unix seconds).
pub struct NewLink {
    /// The secret part of the URL.
    pub token: String,
    /// When it stops working.
    pub expires_at: i64,
}

impl UserService {
    /// Makes a one-time link for `user` to set their password, valid for
    /// `[auth] invite_ttl_hours`; refused for someone who may not sign in.
    pub async fn create_sign_in_link(&self, user: Uuid) -> Result<NewLink, ServiceError> {
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes[..]);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let ttl = i64::from(self.settings().auth.invite_ttl_hours) * 3600;
        let stored = token.clone();
        let expires_at = self
            .write(move |tx, now, audit| {
                let u = store::user_by_id(tx, user)?;
                if !u.dashboard.signs_in() {
                    return Err(ServiceError::Invalid(format!(
                        "{} may not sign in here; give them dashboard access first",
                        u.email
                    )));
                }
                links::create(tx, user, &stored, now, now + ttl)?;
                let after = json!({ "valid_hours": ttl / 3600 });
                let target = u.email.to_string();
                audit.record(
                    tx,
                    now,
                    "sign_in_link.create",
                    Some(&target),
                    None,
                    Some(after),
                )?;
                Ok((now + ttl, Vec::new()))
            })
            .await?;
        Ok(NewLink { token, expires_at })
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
