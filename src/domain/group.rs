//! Groups: a name many people share, and the rule that turns grants into a role.

use super::Role;

/// The longest group name, in characters.
pub const MAX_GROUP_NAME: usize = 100;

/// A group's name: trimmed, not empty, at most 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupName(String);

/// Why a group name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupNameError {
    #[error("group name is empty")]
    Empty,
    #[error("group name is longer than {MAX_GROUP_NAME} characters")]
    TooLong,
    #[error("group name contains a control character")]
    Control,
}

impl GroupName {
    /// Parses a name as typed.
    pub fn parse(raw: &str) -> Result<GroupName, GroupNameError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(GroupNameError::Empty);
        }
        if s.chars().count() > MAX_GROUP_NAME {
            return Err(GroupNameError::TooLong);
        }
        if s.chars().any(char::is_control) {
            return Err(GroupNameError::Control);
        }
        Ok(GroupName(s.to_owned()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked on: two names differing only in case are one group.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl std::fmt::Display for GroupName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for GroupName {
    type Err = GroupNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GroupName::parse(s)
    }
}

impl Role {
    /// How much a role allows: admin > user > none.
    fn rank(self) -> u8 {
        match self {
            Role::None => 0,
            Role::User => 1,
            Role::Admin => 2,
        }
    }

    /// The role a person has in an app: the highest of their own and their groups' roles.
    ///
    /// The one rule from grants to the role that is provisioned; everything that
    /// stores or shows a person's role in an app goes through it.
    pub fn effective(direct: Role, groups: impl IntoIterator<Item = Role>) -> Role {
        groups
            .into_iter()
            .fold(direct, |a, b| if b.rank() > a.rank() { b } else { a })
    }
}

/// Where a person's role in an app comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Via {
    /// Their own role ("direct"), which is at least as high as any group's.
    #[serde(serialize_with = "direct")]
    Direct,
    /// These groups, each giving the role; their own role is lower.
    Groups(Vec<String>),
}

fn direct<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("direct")
}

impl Via {
    /// Where `role` comes from, given the person's own role and the groups that give
    /// exactly `role`; `None` when the person has no access.
    pub fn of(role: Role, direct: Role, groups_giving_role: Vec<String>) -> Option<Via> {
        if !role.grants_access() {
            None
        } else if direct == role || groups_giving_role.is_empty() {
            Some(Via::Direct)
        } else {
            Some(Via::Groups(groups_giving_role))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(GroupName::parse("  Design ").unwrap().as_str(), "Design");
        assert_eq!(GroupName::parse(" \t"), Err(GroupNameError::Empty));
        assert_eq!(GroupName::parse("a\u{7}b"), Err(GroupNameError::Control));
        assert_eq!(
            GroupName::parse(&"é".repeat(101)),
            Err(GroupNameError::TooLong)
        );
        assert!(GroupName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(GroupName::parse("Ünïon").unwrap().normalized(), "ünïon");
    }

    #[test]
    fn via_names_the_groups_only_when_they_give_more() {
        let groups = vec!["design".to_owned()];
        assert_eq!(
            Via::of(Role::User, Role::User, groups.clone()),
            Some(Via::Direct)
        );
        assert_eq!(
            Via::of(Role::Admin, Role::User, groups.clone()),
            Some(Via::Groups(groups))
        );
        assert_eq!(Via::of(Role::None, Role::None, Vec::new()), None);
        assert_eq!(serde_json::to_string(&Via::Direct).unwrap(), "\"direct\"");
    }

    fn role() -> impl Strategy<Value = Role> {
        prop_oneof![Just(Role::None), Just(Role::User), Just(Role::Admin)]
    }

    proptest! {
        // Any mix of a direct role and group grants: admin if any says admin, else
        // user if any says user, else none; the order never matters.
        #[test]
        fn the_effective_role_is_the_highest_grant(direct in role(), groups in proptest::collection::vec(role(), 0..8)) {
            let got = Role::effective(direct, groups.iter().copied());
            let all: Vec<Role> = std::iter::once(direct).chain(groups.iter().copied()).collect();
            let expected = if all.contains(&Role::Admin) {
                Role::Admin
            } else if all.contains(&Role::User) {
                Role::User
            } else {
                Role::None
            };
            prop_assert_eq!(got, expected);
            let mut reversed = groups.clone();
            reversed.reverse();
            prop_assert_eq!(Role::effective(direct, reversed), got);
        }
    }
}
