//! People and their access.

use uuid::Uuid;

use super::{Email, ProvisionStatus, Role, Slug};

/// A person's display name: trimmed, non-empty, without control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("name is empty")]
    Empty,
    #[error("name is longer than 200 characters")]
    TooLong,
    #[error("name contains a control character")]
    Control,
}

impl PersonName {
    /// Parses a name as typed; HTML, quotes, emoji and right-to-left text are kept as given.
    pub fn parse(raw: &str) -> Result<PersonName, NameError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.chars().count() > 200 {
            return Err(NameError::TooLong);
        }
        if s.chars().any(char::is_control) {
            return Err(NameError::Control);
        }
        Ok(PersonName(s.to_owned()))
    }

    /// The name text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PersonName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a person may do in accessboard's own dashboard (nothing to do with apps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DashboardAccess {
    /// May not sign in.
    #[default]
    None,
    /// Sees every page, changes nothing, is shown no secrets.
    Viewer,
    /// Sees and changes everything.
    Admin,
}

/// A dashboard access word that is none of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dashboard access is none, viewer or admin")]
pub struct DashboardAccessError;

impl DashboardAccess {
    /// Every level, lowest first.
    pub const ALL: [DashboardAccess; 3] = [Self::None, Self::Viewer, Self::Admin];

    /// Parses `none`, `viewer` or `admin` (any case, trimmed).
    pub fn parse(raw: &str) -> Result<DashboardAccess, DashboardAccessError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "viewer" => Ok(Self::Viewer),
            "admin" => Ok(Self::Admin),
            _ => Err(DashboardAccessError),
        }
    }

    /// The word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Viewer => "viewer",
            Self::Admin => "admin",
        }
    }

    /// Whether this level signs in at all.
    pub fn signs_in(self) -> bool {
        self != Self::None
    }

    /// Whether this level may change anything.
    pub fn can_change(self) -> bool {
        self == Self::Admin
    }
}

impl std::str::FromStr for DashboardAccess {
    type Err = DashboardAccessError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DashboardAccess::parse(s)
    }
}

impl std::fmt::Display for DashboardAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person as stored.
#[derive(Debug, Clone)]
pub struct User {
    /// Stable id; sent to apps as the SCIM `externalId`.
    pub id: Uuid,
    /// Sign-in and contact address.
    pub email: Email,
    /// Display name.
    pub name: PersonName,
    /// What they may do in the dashboard.
    pub dashboard: DashboardAccess,
    /// Set while the user is being removed from apps.
    pub deleted: bool,
}

/// A new person to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Their address.
    pub email: Email,
    /// Their name.
    pub name: PersonName,
    /// Dashboard access.
    pub dashboard: DashboardAccess,
    /// Roles per app; apps not listed get `none`.
    pub access: Vec<(Slug, Role)>,
}

/// Changes to a person; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// New name.
    pub name: Option<PersonName>,
    /// New address.
    pub email: Option<Email>,
    /// New dashboard access.
    pub dashboard: Option<DashboardAccess>,
}

/// One (user, app) pair with its provisioning record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Access {
    /// The user's id.
    pub user_id: Uuid,
    /// The user's address.
    pub email: String,
    /// The app's slug.
    pub app: String,
    /// Role in the app.
    pub role: Role,
    /// Where the role comes from: `"direct"` or the groups giving it; null without access.
    pub via: Option<super::Via>,
    /// Provisioning status.
    pub status: ProvisionStatus,
    /// The account id inside the app.
    pub scim_id: Option<String>,
    /// Attempts since the last change.
    pub attempts: i64,
    /// Time of the last attempt (RFC 3339).
    pub last_attempt_at: Option<String>,
    /// What the last attempt said.
    pub last_message: Option<String>,
    /// When the next retry is due (RFC 3339).
    pub next_attempt_at: Option<String>,
    /// When the disabled account is to be deleted (RFC 3339; `delete_after_days`).
    pub delete_at: Option<String>,
}
