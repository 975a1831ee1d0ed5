//! Sign-in links that travel by email: an admin's invitation (`Invite`, `user invite`)
//! and the sign-in page's "Forgot your password?". A link whose email was not sent is
//! withdrawn at once, so no link is left valid that nobody received.

use super::links::{Delivery, MadeLink, Purpose, duration_words};
use super::{ServiceError, UserKey, UserService};
use crate::domain::Email;
use crate::mail::Mail;

/// How an invitation reached its person.
pub enum Invitation {
    /// Emailed to them.
    Sent {
        /// Their address.
        to: Email,
        /// How long the link lasts, in words ("48 hours").
        valid: String,
    },
    /// To pass on: shown once, here.
    Shown {
        /// Their address.
        to: Email,
        /// The whole link.
        url: String,
        /// When it stops working (unix seconds).
        expires_at: i64,
    },
}

impl Invitation {
    /// The sentence an admin reads after an invitation was emailed.
    pub fn sent_text(to: &Email, valid: &str) -> String {
        format!("Invitation sent to {to} (valid {valid})")
    }
}

/// The whole URL of a link's token: `[server] public_url` + `/login/link`.
pub fn link_url(public_url: &str, token: &str) -> String {
    format!(
        "{}/login/link?token={token}",
        public_url.trim_end_matches('/')
    )
}

impl UserService {
    /// Whether email can be sent (`[alerts] smtp_url` is set).
    pub fn sends_mail(&self) -> bool {
        self.mailer.is_some()
    }

    /// Invites `user` to set their password: emailed when email is set up and `show` is
    /// false, else shown. Valid for `[auth] invite_ttl_hours`; refused for someone who
    /// may not sign in. A send that fails withdraws the link: [`ServiceError::NotSent`].
    pub async fn invite(&self, user: uuid::Uuid, show: bool) -> Result<Invitation, ServiceError> {
        self.invite_key(UserKey::Id(user), show).await
    }

    /// [`UserService::invite`] by email (the command line).
    pub async fn invite_by_email(
        &self,
        email: &Email,
        show: bool,
    ) -> Result<Invitation, ServiceError> {
        self.invite_key(UserKey::Email(email.clone()), show).await
    }

    async fn invite_key(&self, who: UserKey, show: bool) -> Result<Invitation, ServiceError> {
        let ttl = i64::from(self.settings().auth.invite_ttl_hours) * 3600;
        let by_mail = !show && self.sends_mail();
        let delivery = if by_mail {
            Delivery::Email
        } else {
            Delivery::Shown
        };
        let made = self
            .make_link(who, ttl, Purpose::Invitation, delivery)
            .await?;
        let url = link_url(&self.settings().server.public_url, &made.link.token);
        if !by_mail {
            return Ok(Invitation::Shown {
                to: made.user.email,
                url,
                expires_at: made.link.expires_at,
            });
        }
        let mail = self.invitation_mail(&made, &url);
        self.deliver(made, mail, Purpose::Invitation).await
    }

    /// "Forgot your password?": when `typed` belongs to someone who may sign in, emails
    /// them a reset link valid for `[auth] reset_ttl_minutes`; whether it did is for the
    /// audit trail only (the page says the same either way). Needs email set up.
    pub async fn send_reset_link(&self, typed: &str, address: &str) -> Result<bool, ServiceError> {
        let refused = |why: &str| serde_json::json!({ "address": address, "why": why });
        let Some(email) = Email::parse(typed).ok() else {
            let after = refused("not an email address");
            self.record(
                "sign_in_link.reset_refused",
                Some(clean(typed)),
                Some(after),
            )
            .await?;
            return Ok(false);
        };
        if !self.sends_mail() {
            return Ok(false);
        }
        let ttl = i64::from(self.settings().auth.reset_ttl_minutes) * 60;
        let made = match self
            .make_link(
                UserKey::Email(email.clone()),
                ttl,
                Purpose::Reset,
                Delivery::Email,
            )
            .await
        {
            Ok(made) => made,
            Err(ServiceError::UnknownUser(_) | ServiceError::Invalid(_)) => {
                let after = refused("nobody who may sign in has this address");
                self.record(
                    "sign_in_link.reset_refused",
                    Some(email.to_string()),
                    Some(after),
                )
                .await?;
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        let url = link_url(&self.settings().server.public_url, &made.link.token);
        let mail = reset_mail(&made, &url, address);
        self.deliver(made, mail, Purpose::Reset).await?;
        Ok(true)
    }

    /// Sends `mail`; a failure withdraws the link it carries.
    async fn deliver(
        &self,
        made: MadeLink,
        mail: Mail,
        purpose: Purpose,
    ) -> Result<Invitation, ServiceError> {
        let Some(mailer) = self.mailer.clone() else {
            return Err(ServiceError::Invalid(
                "email is not set up ([alerts] smtp_url)".into(),
            ));
        };
        let to = made.user.email.clone();
        match mailer.send(&mail).await {
            Ok(()) => {
                tracing::info!(to = %to, purpose = ?purpose, "sign-in link emailed");
                Ok(Invitation::Sent {
                    to,
                    valid: duration_words(made.ttl),
                })
            }
            Err(e) => {
                // Info, not warn: the caller says it (a page, the command's one line).
                tracing::info!(to = %to, error = %e, "sign-in link not sent; withdrawn");
                self.withdraw_link(made.link.token, to.to_string(), e.to_string())
                    .await?;
                Err(ServiceError::NotSent {
                    to: to.to_string(),
                    reason: e.to_string(),
                })
            }
        }
    }

    fn invitation_mail(&self, made: &MadeLink, url: &str) -> Mail {
        let site = self.settings().server.public_url.trim_end_matches('/');
        let valid = duration_words(made.ttl);
        Mail {
            to: made.user.email.to_string(),
            subject: "You are invited to accessboard".into(),
            body: format!(
                "Hello {name},\n\n\
                 {by} invited you to sign in to accessboard at {site}.\n\n\
                 Set your password with this link within {valid}; it works once:\n\n\
                 {url}\n\n\
                 If you did not expect this, ignore this email: without the link, nothing changes.\n",
                name = made.user.name,
                by = made.by,
            ),
        }
    }
}

fn reset_mail(made: &MadeLink, url: &str, address: &str) -> Mail {
    let valid = duration_words(made.ttl);
    Mail {
        to: made.user.email.to_string(),
        subject: "Set a new accessboard password".into(),
        body: format!(
            "Hello {name},\n\n\
             Someone (from the address {address}) asked for a link to set a new password for {email} on accessboard.\n\n\
             Set it with this link within {valid}; it works once:\n\n\
             {url}\n\n\
             If it was not you, ignore this email: your password stays as it is.\n",
            name = made.user.name,
            email = made.user.email,
        ),
    }
}

/// What someone typed, fit for the audit trail: no control characters, not too long.
fn clean(typed: &str) -> String {
    typed
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(254)
        .collect()
}
