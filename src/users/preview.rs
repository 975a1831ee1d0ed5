//! What one person's change would do, without doing it: `--dry-run` of `user access`
//! and `user delete`, through the same plan as a bulk change of one.

use super::identities::UserKey;
use super::{BulkAction, Effect, GuardWarning, ServiceError, UserService};
use crate::domain::{Email, Role, Slug};

impl UserService {
    /// What [`UserService::set_access`] would do to this person now; changes nothing.
    pub async fn preview_access(
        &self,
        email: &Email,
        app: &Slug,
        role: Role,
    ) -> Result<Effect, ServiceError> {
        let action = BulkAction::SetRole {
            app: app.clone(),
            role,
        };
        self.preview_one(email, action).await
    }

    /// What [`UserService::delete_user`] would do to this person now; changes nothing.
    pub async fn preview_delete(&self, email: &Email) -> Result<Effect, ServiceError> {
        self.preview_one(email, BulkAction::Delete).await
    }

    /// What the revocation guard would hold of [`UserService::set_access`] (`--dry-run`).
    pub async fn guard_preview_access(
        &self,
        email: &Email,
        app: &Slug,
        role: Role,
    ) -> Result<Vec<GuardWarning>, ServiceError> {
        let user = self.user_by(UserKey::Email(email.clone())).await?;
        let action = BulkAction::SetRole {
            app: app.clone(),
            role,
        };
        self.guard_preview_bulk(vec![user.id], action).await
    }

    /// What the revocation guard would hold of [`UserService::delete_user`] (`--dry-run`).
    pub async fn guard_preview_delete(
        &self,
        email: &Email,
    ) -> Result<Vec<GuardWarning>, ServiceError> {
        let user = self.user_by(UserKey::Email(email.clone())).await?;
        self.guard_preview_bulk(vec![user.id], BulkAction::Delete)
            .await
    }

    async fn preview_one(&self, email: &Email, action: BulkAction) -> Result<Effect, ServiceError> {
        let user = self.user_by(UserKey::Email(email.clone())).await?;
        let plan = self.plan_bulk(vec![user.id], action).await?;
        // A plan of one id holds exactly that person, or plan_bulk has failed already.
        plan.people
            .into_iter()
            .next()
            .map(|p| p.effect)
            .ok_or(ServiceError::UnknownUserId(user.id))
    }
}
