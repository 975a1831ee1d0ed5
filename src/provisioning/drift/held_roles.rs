//! The roles an app's groups and attributes give, as the drift check reads them.

use std::collections::HashMap;

use crate::domain::Role;
use crate::scim::ScimError;

/// The member ids of every mapped group, by group name (a group that does not exist has
/// none): one read by id where the group's id is known, else one lookup, and one read
/// more where the lookup's answer omits members.
pub(crate) async fn group_members(
    session: &crate::scim::ScimSession,
    roles: &crate::settings::RoleMap,
) -> Result<HashMap<String, std::collections::HashSet<String>>, ScimError> {
    let mut out = HashMap::new();
    for group in roles.targets().filter_map(|t| t.group.clone()) {
        if out.contains_key(&group) {
            continue;
        }
        // A group whose id is known is read by it: one request, members included (an
        // answer without them is an empty group).
        let known = session.client().group_ids().await.get(&group).cloned();
        if let Some(id) = known
            && let Some(g) = session.get_group(&id).await?
        {
            let members = g.members.unwrap_or_default();
            out.insert(group, members.into_iter().map(|m| m.value).collect());
            continue;
        }
        let found = session.find_group(&group).await?;
        let members = match found {
            Some(g) if g.members.is_none() => match &g.id {
                Some(id) => session.get_group(id).await?.and_then(|g| g.members),
                None => None,
            },
            Some(g) => g.members,
            None => None,
        };
        let members = members
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.value)
            .collect();
        out.insert(group, members);
    }
    Ok(out)
}

/// The groups roles are mapped to.
pub(super) fn role_groups(roles: &crate::settings::RoleMap) -> impl Iterator<Item = &String> {
    roles.targets().filter_map(|t| t.group.as_ref())
}

/// Why the account's role in the app is not `role`, if it is not.
pub(super) fn role_mismatch(
    roles: &crate::settings::RoleMap,
    groups: &HashMap<String, std::collections::HashSet<String>>,
    account: &crate::scim::ScimUser,
    role: Role,
) -> Option<String> {
    let id = account.id.as_deref()?;
    for (mapped, target) in [(Role::Admin, &roles.admin), (Role::User, &roles.user)] {
        let Some(t) = target else { continue };
        if let Some(group) = &t.group {
            let is = groups.get(group).is_some_and(|m| m.contains(id));
            if is != (mapped == role) {
                return Some(if is {
                    format!("in group {group:?} but not {mapped} here")
                } else {
                    format!("not in group {group:?} though {mapped} here")
                });
            }
        }
        if let (Some(attribute), Some(value), true) = (&t.attribute, &t.value, mapped == role) {
            let held = crate::provisioning::roles::values(account, attribute);
            let ours = crate::provisioning::roles::mapped_values(roles, attribute);
            // A value we do not map (set by hand in the app) is not ours to judge.
            if !held.iter().any(|v| v == value) && held.iter().all(|v| ours.contains(v)) {
                return Some(format!(
                    "{attribute} is {:?}, not {value:?}",
                    held.join(",")
                ));
            }
        }
    }
    None
}
