//! Who may sign in to the dashboard: passwords, and ending a person's sessions.

use serde_json::json;
use uuid::Uuid;

use super::audit::update_audited;
use super::{ServiceError, UserService, store};
use crate::domain::{DashboardAccess, Email, User, UserUpdate};

impl UserService {
    /// Sets (or with `None` clears) the dashboard sign-in password hash.
    pub async fn set_password_hash(
        &self,
        email: &Email,
        hash: Option<String>,
    ) -> Result<(), ServiceError> {
        let email = email.clone();
        self.write(move |tx, now, audit| {
            let user = store::user_by_email(tx, &email)?;
            // Only whether a password is set: never the password or its hash.
            let after = json!({ "password": if hash.is_some() { "set" } else { "cleared" } });
            let target = user.email.to_string();
            audit.record(tx, now, "password.set", Some(&target), None, Some(after))?;
            tx.execute(
                "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3",
                rusqlite::params![hash, now, user.id.to_string()],
            )?;
            // A new password ends every session (whoever changed their own signs in
            // afresh) and every sign-in link still open.
            crate::db::sessions::end_all_of(tx, user.id)?;
            crate::db::sign_in_links::end_all_of(tx, user.id)?;
            Ok(((), Vec::new()))
        })
        .await
    }

    /// Sets a person's dashboard access (audited as `person.update`); their level before,
    /// and how many of their sessions ended (every one when the level went down).
    pub async fn set_dashboard(
        &self,
        email: &Email,
        level: DashboardAccess,
    ) -> Result<DashboardChange, ServiceError> {
        let email = email.clone();
        self.write(move |tx, now, audit| {
            let user = store::user_by_email(tx, &email)?;
            let before = user.dashboard;
            // Counted before the update ends them, for a true message.
            let ended = if level < before {
                crate::db::sessions::end_all_of(tx, user.id)?
            } else {
                0
            };
            let update = UserUpdate {
                dashboard: Some(level),
                ..UserUpdate::default()
            };
            let (user, jobs) = update_audited(tx, now, audit, user, update)?;
            let change = DashboardChange {
                email: user.email,
                before,
                after: level,
                sessions_ended: ended,
            };
            Ok((change, jobs))
        })
        .await
    }

    /// Ends every dashboard session of the person ("sign out everywhere"); how many.
    pub async fn sign_out_everywhere(&self, id: Uuid) -> Result<usize, ServiceError> {
        self.sign_out(move |tx| store::user_by_id(tx, id)).await
    }

    /// Same as [`UserService::sign_out_everywhere`], by email (the command line).
    pub async fn sign_out_everywhere_by_email(&self, email: &Email) -> Result<usize, ServiceError> {
        let email = email.clone();
        self.sign_out(move |tx| store::user_by_email(tx, &email))
            .await
    }

    async fn sign_out<F>(&self, find: F) -> Result<usize, ServiceError>
    where
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<User, ServiceError> + Send + 'static,
    {
        self.write(move |tx, now, audit| {
            let user = find(tx)?;
            let n = crate::db::sessions::end_all_of(tx, user.id)?;
            let after = serde_json::json!({ "sessions_ended": n });
            let target = Some(user.email.as_str());
            audit.record(tx, now, "sessions.end", target, None, Some(after))?;
            Ok((n, Vec::new()))
        })
        .await
    }
}

/// What [`UserService::set_dashboard`] did.
#[derive(Debug, Clone)]
pub struct DashboardChange {
    /// Whose access.
    pub email: Email,
    /// Their level before.
    pub before: DashboardAccess,
    /// Their level now.
    pub after: DashboardAccess,
    /// How many of their sessions ended.
    pub sessions_ended: usize,
}

impl DashboardChange {
    /// One line saying what changed.
    pub fn text(&self) -> String {
        if self.before == self.after {
            return format!(
                "{} already has dashboard access {}; nothing changed",
                self.email, self.after
            );
        }
        let mut line = format!(
            "{}: dashboard access {} (was {})",
            self.email, self.after, self.before
        );
        match self.sessions_ended {
            0 => {}
            1 => line.push_str("; their 1 session ended"),
            n => line.push_str(&format!("; their {n} sessions ended")),
        }
        line
    }
}
