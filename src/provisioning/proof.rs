//! Whose account an answer is: every account accessboard reads or writes for a person is
//! proved theirs first, by our `externalId`, else by the matching rules.
//!
//! An answer proves nothing by arriving: a create can be answered with another account
//! (an id mix-up, a proxy's cache), and a stored id can come to name someone else
//! (ids reused after a deletion by hand). Writing to such an account would rename or
//! disable a bystander.

use super::reconcile::Desired;
use crate::scim::{ErrorKind, ScimError, ScimUser};

/// Whether `account` is the one `desired` describes.
///
/// Our `externalId` proves it. Another accessboard id (a uuid) disproves it: that account
/// is another person's here. Otherwise the matching rules decide (userName, the userName
/// the app last confirmed for this pair, or the email, all ignoring case), which also
/// covers apps that never keep `externalId` and accounts made before provisioning.
pub fn is_theirs(account: &ScimUser, desired: &Desired) -> bool {
    if let Some(external) = account.external_id() {
        if external == desired.external_id {
            return true;
        }
        if uuid::Uuid::parse_str(external).is_ok() {
            return false;
        }
    }
    let name = account.user_name.to_lowercase();
    name == desired.user_name.to_lowercase()
        || desired
            .previous_user_name
            .as_ref()
            .is_some_and(|p| p.to_lowercase() == name)
        || account.has_email(&desired.email)
}

/// Whether the account at the pair's stored id is still `desired`'s. A pair confirmed
/// before accessboard recorded the userName (migration 0011) has no record to prove it
/// by: its stored id is trusted, as it was then, unless the account carries another
/// person's accessboard id, until the next confirmation records the name; otherwise a
/// person whose email changed in an app that keeps no `externalId` would get a second
/// account.
pub fn stored_is_theirs(account: &ScimUser, desired: &Desired) -> bool {
    if desired.previous_user_name.is_some() {
        return is_theirs(account, desired);
    }
    is_theirs(account, desired)
        || account
            .external_id()
            .is_none_or(|e| uuid::Uuid::parse_str(e).is_err())
}

/// How an account is named in messages: its id and userName.
pub fn describe(account: &ScimUser) -> String {
    match &account.id {
        Some(id) => format!("account {id} ({})", account.user_name),
        None => format!("an account without id ({})", account.user_name),
    }
}

/// The error of a pair whose account could not be proved: permanent, since retrying
/// meets the same account; it names what was asked and what answered.
pub fn not_theirs(
    method: &'static str,
    path: &str,
    desired: &Desired,
    detail: String,
) -> ScimError {
    ScimError::other(
        ErrorKind::Permanent,
        method,
        path,
        None,
        format!(
            "{detail}; it is not {}'s, so accessboard wrote nothing to it",
            desired.user_name
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Deprovision, DesiredAccess};
    use crate::scim::Email;

    fn desired() -> Desired {
        Desired {
            external_id: "0b7e7f4e-4a7e-4a0f-9b1e-0d5b1b3c2a11".into(),
            user_name: "ann@example.org".into(),
            email: "ann@example.org".into(),
            display_name: "Ann Lee".into(),
            known_scim_id: Some("7".into()),
            previous_user_name: Some("ann.old@example.org".into()),
            access: DesiredAccess::Active { admin: false },
            roles: Default::default(),
            previous_role: None,
            read_roles: false,
            on_deprovision: Deprovision::Disable,
            manage_names: true,
            pushed: Vec::new(),
        }
    }

    fn account(user_name: &str, external_id: Option<&str>, email: Option<&str>) -> ScimUser {
        ScimUser {
            id: Some("7".into()),
            user_name: user_name.into(),
            external_id: external_id.map(str::to_owned),
            emails: email
                .map(|e| {
                    vec![Email {
                        value: e.into(),
                        ..Email::default()
                    }]
                })
                .unwrap_or_default(),
            ..ScimUser::default()
        }
    }

    #[test]
    fn our_external_id_proves_it_even_after_a_rename() {
        let d = desired();
        assert!(is_theirs(
            &account("someone", Some(&d.external_id), None),
            &d
        ));
    }

    #[test]
    fn another_persons_external_id_disproves_a_matching_name() {
        let d = desired();
        let other = "5c3d2e1f-0000-4000-8000-000000000000";
        assert!(!is_theirs(
            &account("ann@example.org", Some(other), None),
            &d
        ));
        // An id from another provisioner is no accessboard id: the matching rules decide.
        assert!(is_theirs(
            &account("ANN@example.org", Some("okta-123"), None),
            &d
        ));
    }

    #[test]
    fn a_pair_without_a_recorded_name_trusts_its_stored_id_unless_disproved() {
        let d = Desired {
            previous_user_name: None,
            ..desired()
        };
        let renamed = account("ann.before@example.org", None, None);
        assert!(!is_theirs(&renamed, &d));
        assert!(stored_is_theirs(&renamed, &d));
        let other = account("bob", Some("5c3d2e1f-0000-4000-8000-000000000000"), None);
        assert!(!stored_is_theirs(&other, &d));
        assert!(!stored_is_theirs(&renamed, &desired()), "recorded: proved");
    }

    #[test]
    fn matching_rules_ignore_case_and_know_the_last_confirmed_name() {
        let d = desired();
        assert!(is_theirs(&account("Ann@Example.org", None, None), &d));
        assert!(is_theirs(
            &account("ann.old@example.org", Some(""), None),
            &d
        ));
        assert!(is_theirs(&account("al", None, Some("ANN@example.org")), &d));
        assert!(!is_theirs(
            &account("bob@example.org", None, Some("bob@example.org")),
            &d
        ));
    }
}
