//! The role a person has in one app.

use std::fmt;

/// A person's role in one app: what the admin decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May use the app and is a member of its admin group.
    Admin,
    /// May use the app.
    User,
    /// No access; an existing account is disabled.
    None,
}

/// A role string that is not `admin`, `user` or `none`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role {0:?} is not one of admin, user, none")]
pub struct RoleError(pub String);

impl Role {
    /// Parses `admin`, `user` or `none` (any case, surrounding space ignored).
    pub fn parse(raw: &str) -> Result<Role, RoleError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            "none" => Ok(Role::None),
            _ => Err(RoleError(raw.to_owned())),
        }
    }

    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
            Role::None => "none",
        }
    }

    /// Whether this role means the person should have an account in the app.
    pub fn grants_access(self) -> bool {
        !matches!(self, Role::None)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_roles_and_nothing_else() {
        assert_eq!(Role::parse(" Admin").unwrap(), Role::Admin);
        assert_eq!(Role::parse("user").unwrap(), Role::User);
        assert_eq!(Role::parse("NONE").unwrap(), Role::None);
        assert!(Role::parse("owner").is_err());
        assert!(Role::parse("").is_err());
    }
}
