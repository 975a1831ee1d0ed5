//! What discovery says of an app's existing account, and what the admin decides for it.

use serde::{Deserialize, Serialize};

use super::Role;

/// Where one account of an app stands against the people here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountClass {
    /// Proved to be a person here who has access.
    Linked,
    /// A person here matches it, but has no access to the app.
    MatchesWithoutAccess,
    /// No person here matches it.
    Unknown,
    /// Several accounts match one person, or one account matches several people.
    Ambiguous,
    /// Carries our `externalId` (or stored id) of someone gone or without access, and is active.
    LeftBehind,
    /// An admin chose to leave it alone.
    Unmanaged,
}

impl AccountClass {
    /// Every class, in the order counts are shown.
    pub const ALL: [AccountClass; 6] = [
        AccountClass::Linked,
        AccountClass::MatchesWithoutAccess,
        AccountClass::Unknown,
        AccountClass::Ambiguous,
        AccountClass::LeftBehind,
        AccountClass::Unmanaged,
    ];

    /// The stored and parsed form.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountClass::Linked => "linked",
            AccountClass::MatchesWithoutAccess => "matches_without_access",
            AccountClass::Unknown => "unknown",
            AccountClass::Ambiguous => "ambiguous",
            AccountClass::LeftBehind => "left_behind",
            AccountClass::Unmanaged => "unmanaged",
        }
    }

    /// How it reads in a sentence or a table.
    pub fn label(self) -> &'static str {
        match self {
            AccountClass::Linked => "linked",
            AccountClass::MatchesWithoutAccess => "matches a person without access",
            AccountClass::Unknown => "unknown",
            AccountClass::Ambiguous => "ambiguous",
            AccountClass::LeftBehind => "left behind",
            AccountClass::Unmanaged => "unmanaged",
        }
    }

    /// Parses the stored form.
    pub fn parse(raw: &str) -> Option<AccountClass> {
        AccountClass::ALL.into_iter().find(|c| c.as_str() == raw)
    }
}

/// What to do with one discovered account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Decision {
    /// Nothing: it is already as it should be.
    Keep,
    /// Link it to the account's person (`person` of the entry) and grant `role`.
    Link {
        /// The role granted.
        role: Role,
    },
    /// Create a person from the account, with `role` in the app.
    Import {
        /// The role granted.
        role: Role,
    },
    /// Disable it in the app (through the revocation guard).
    Disable,
    /// Remember it as unmanaged: never touched again.
    Leave,
}

impl Decision {
    /// The word of the decision in the plan file and on the page.
    pub fn word(&self) -> &'static str {
        match self {
            Decision::Keep => "keep",
            Decision::Link { .. } => "link",
            Decision::Import { .. } => "import",
            Decision::Disable => "disable",
            Decision::Leave => "leave",
        }
    }
}
