//! The account as it should be: accessboard's attributes merged into what the app holds.
//!
//! Pure: used by the reconcile before a write, and by "Sync now" to tell an unchanged
//! account from one that needs a write.

use super::reconcile::Desired;
use super::roles;
use crate::domain::{DesiredAccess, Role};
use crate::scim::{Email, Learned, Name, ScimUser};

/// The user attribute and value the desired role sets, when roles are attributes here.
pub(super) fn role_attribute(desired: &Desired) -> Option<(String, String)> {
    let DesiredAccess::Active { admin } = desired.access else {
        return None;
    };
    let target = if admin {
        &desired.roles.admin
    } else {
        &desired.roles.user
    };
    let t = target.as_ref()?;
    Some((t.attribute.clone()?, t.value.clone()?))
}

/// The attribute holding the admin role, when demoting must take it away: the role here
/// is `user` and no attribute value stands for it.
pub(super) fn demoted_attribute(desired: &Desired) -> Option<String> {
    if desired.access != (DesiredAccess::Active { admin: false }) {
        return None;
    }
    if desired
        .roles
        .user
        .as_ref()
        .is_some_and(|t| t.attribute.is_some())
    {
        return None;
    }
    desired.roles.admin.as_ref()?.attribute.clone()
}

/// The role attribute accessboard manages for this pair, whatever its wanted value.
pub(super) fn managed_attribute(desired: &Desired) -> Option<String> {
    role_attribute(desired)
        .map(|(a, _)| a)
        .or_else(|| demoted_attribute(desired))
}

/// The account as it should be: the remote resource (unknown attributes kept) with our attributes set.
/// Attributes the app is known not to keep (`learned`) are left as the app has them.
pub fn merge(remote: &ScimUser, desired: &Desired, learned: &Learned) -> ScimUser {
    let mut user = remote.clone();
    if !learned.drops_external_id {
        user.external_id = Some(desired.external_id.clone());
    }
    // Servers that lowercase userName would otherwise get a PUT on every reconcile.
    if !learned.drops_user_name && user.user_name.to_lowercase() != desired.user_name.to_lowercase()
    {
        user.user_name = desired.user_name.clone();
    }
    user.active = Some(true);
    let same_email = remote.emails.len() == 1
        && remote.emails[0].value.to_lowercase() == desired.email.to_lowercase()
        && remote.emails[0].primary != Some(false);
    if !same_email && !learned.drops_emails {
        user.emails = emails_of(&desired.email, &remote.emails);
    }
    if desired.manage_names {
        if !learned.drops_display_name {
            user.display_name = Some(desired.display_name.clone());
        }
        user.name = kept_name(&desired.display_name, remote.name.as_ref(), learned);
    }
    if let Some((attribute, value)) = role_attribute(desired) {
        let role = match desired.access {
            DesiredAccess::Active { admin: true } => Role::Admin,
            _ => Role::User,
        };
        let ours = roles::mapped_values(&desired.roles, &attribute);
        let current = roles::values(remote, &attribute);
        // A value set by hand that we do not map (a Zulip owner) stays, unless the role here changed.
        let foreign = current.iter().any(|v| !ours.contains(v));
        if !(foreign && desired.previous_role.is_none_or(|p| p == role)) {
            roles::set(&mut user, &attribute, &ours, &value);
        }
    } else if let Some(attribute) = demoted_attribute(desired) {
        roles::unset(
            &mut user,
            &attribute,
            &roles::mapped_values(&desired.roles, &attribute),
        );
    }
    user
}

// The email is ours to own: one primary address. A remote entry for the same address keeps its extras.
pub(super) fn emails_of(email: &str, remote: &[Email]) -> Vec<Email> {
    let wanted = email.to_lowercase();
    let mut entry = remote
        .iter()
        .find(|e| e.value.to_lowercase() == wanted)
        .cloned()
        .unwrap_or_default();
    entry.value = email.to_owned();
    entry.primary = Some(true);
    entry.kind.get_or_insert_with(|| "work".to_owned());
    vec![entry]
}

// The name in the form the app keeps: formatted, the parts, or both; what it drops is
// left as it answers, so an unchanged account compares equal and a rename still arrives.
fn kept_name(full: &str, remote: Option<&Name>, learned: &Learned) -> Option<Name> {
    if learned.drops_name_formatted && learned.drops_name_parts {
        return remote.cloned();
    }
    let ours = name_of(full, remote);
    let mut name = remote.cloned().unwrap_or_default();
    if !learned.drops_name_formatted {
        name.formatted = ours.formatted;
    }
    if !learned.drops_name_parts {
        name.given_name = ours.given_name;
        name.family_name = ours.family_name;
    }
    Some(name)
}

// Apps want given and family names; we only hold one full name, so split at the first space.
pub(super) fn name_of(full: &str, remote: Option<&Name>) -> Name {
    let mut name = remote.cloned().unwrap_or_default();
    let full = full.trim();
    let (given, family) = match full.split_once(char::is_whitespace) {
        Some((g, f)) => (g.to_owned(), Some(f.trim().to_owned())),
        None => (full.to_owned(), None),
    };
    name.formatted = Some(full.to_owned());
    name.given_name = Some(given);
    name.family_name = family;
    name
}
