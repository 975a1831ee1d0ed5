//! Who may sign in to the dashboard: passwords, and ending a person's sessions.

use serde_json::json;
use uuid::Uuid;

use super::{ServiceError, UserService, store};
use crate::domain::{Email, User};

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
            // A new password ends every session; whoever changed their own signs in afresh.
            crate::db::sessions::end_all_of(tx, user.id)?;
            Ok(((), Vec::new()))
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
