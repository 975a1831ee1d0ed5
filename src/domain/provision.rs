//! The provisioning state of one (user, app) pair, and what that pair should be.

use std::fmt;

use super::Role;

/// Where a (user, app) pair stands with the app; stored in `app_access.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisionStatus {
    /// The desired state changed; a job will reconcile it.
    SyncNeeded,
    /// A worker holds the pair now.
    Syncing,
    /// The app has the account, active, with the right admin-group membership.
    Provisioned,
    /// The app's account is disabled or deleted, as configured.
    Deprovisioned,
    /// The last attempt failed; it is retried at `next_attempt_at`.
    Error,
    /// Gave up (permanent error or attempts exhausted); an admin can retry.
    Failed,
    /// The app is not installed or has no SCIM settings: nothing to do.
    NotProvisioned,
    /// A revocation the guard holds back (the app is paused for revocations) until an
    /// admin resumes the app or changes the pair again.
    Held,
}

/// A status string the database or a user gave that is not a known state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "status {0:?} is not one of sync_needed, syncing, provisioned, deprovisioned, error, failed, not_provisioned, held"
)]
pub struct StatusError(pub String);

impl ProvisionStatus {
    /// Every state, in the order the UI lists them.
    pub const ALL: [ProvisionStatus; 8] = [
        ProvisionStatus::SyncNeeded,
        ProvisionStatus::Syncing,
        ProvisionStatus::Held,
        ProvisionStatus::Error,
        ProvisionStatus::Failed,
        ProvisionStatus::Provisioned,
        ProvisionStatus::Deprovisioned,
        ProvisionStatus::NotProvisioned,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisionStatus::SyncNeeded => "sync_needed",
            ProvisionStatus::Syncing => "syncing",
            ProvisionStatus::Provisioned => "provisioned",
            ProvisionStatus::Deprovisioned => "deprovisioned",
            ProvisionStatus::Error => "error",
            ProvisionStatus::Failed => "failed",
            ProvisionStatus::NotProvisioned => "not_provisioned",
            ProvisionStatus::Held => "held",
        }
    }

    /// Parses the stored form.
    pub fn parse(raw: &str) -> Result<ProvisionStatus, StatusError> {
        ProvisionStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| StatusError(raw.to_owned()))
    }

    /// Whether the pair is at rest: no job will touch it without a new change.
    ///
    /// `held` is not: it waits for an admin, and `provision run --wait` counts it as unsettled.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            ProvisionStatus::Provisioned
                | ProvisionStatus::Deprovisioned
                | ProvisionStatus::NotProvisioned
                | ProvisionStatus::Failed
        )
    }

    /// Whether the status can still change on its own (the UI polls these); a held
    /// pair waits for an admin, so pages do not poll for it.
    pub fn is_transient(self) -> bool {
        !self.is_settled() && self != ProvisionStatus::Held
    }
}

impl fmt::Display for ProvisionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a pair should look like in a provisioned app, derived from the admin's decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesiredAccess {
    /// The account should exist and be active; `admin` gives it the app's admin role.
    Active {
        /// Whether the account has the app's admin role.
        admin: bool,
    },
    /// Any existing account should be disabled or deleted.
    Absent,
}

impl DesiredAccess {
    /// The one rule that turns decisions into a desired state (see DESIGN.md).
    ///
    /// Only for apps that are installed and have SCIM settings; others are not provisioned at all.
    pub fn of(role: Role, user_deleted: bool) -> Self {
        match (user_deleted, role) {
            (false, Role::Admin) => DesiredAccess::Active { admin: true },
            (false, Role::User) => DesiredAccess::Active { admin: false },
            _ => DesiredAccess::Absent,
        }
    }
}

/// What "no access" does to an existing account; `[apps.scim] on_deprovision`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deprovision {
    /// Set `active: false` (the default: reversible, like Okta and Entra do).
    #[default]
    Disable,
    /// DELETE the account.
    Delete,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_its_stored_form() {
        for s in ProvisionStatus::ALL {
            assert_eq!(ProvisionStatus::parse(s.as_str()).unwrap(), s);
        }
        assert!(ProvisionStatus::parse("done").is_err());
    }

    #[test]
    fn desired_state_follows_role_and_deletion() {
        use DesiredAccess::*;
        assert_eq!(
            DesiredAccess::of(Role::Admin, false),
            Active { admin: true }
        );
        assert_eq!(
            DesiredAccess::of(Role::User, false),
            Active { admin: false }
        );
        assert_eq!(DesiredAccess::of(Role::None, false), Absent);
        assert_eq!(DesiredAccess::of(Role::Admin, true), Absent);
    }
}
