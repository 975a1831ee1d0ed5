//! What accessboard learns about one app by talking to it: the record of its dialect.
//!
//! Learned once (a filter that does not work, the one form of member removal it
//! takes, an externalId it never keeps), remembered per app and stored, so the next
//! start does not pay to learn it again.

use serde::{Deserialize, Serialize};

/// The ways RFC 7644 allows to remove one member from a group, in the order tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalForm {
    /// PATCH `remove` with path `members[value eq "ID"]`.
    FilterPath,
    /// PATCH `remove` with path `members` and a `value` list (django-scim2 takes only this).
    ValueList,
    /// PUT of the whole group with the full member list.
    Put,
}

impl RemovalForm {
    /// Every form, in the order they are tried.
    pub const ALL: [RemovalForm; 3] = [
        RemovalForm::FilterPath,
        RemovalForm::ValueList,
        RemovalForm::Put,
    ];
}

/// What a filter on one attribute has shown: an empty answer counts as "no such
/// account" only once the filter was seen to find an account known to exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterTrust {
    /// Not tried on a known account yet: an empty answer is checked by a listing.
    #[default]
    Unproved,
    /// It found an account known to exist.
    Proved,
    /// It answered nothing for an account known to exist: a listing is used instead.
    Lies,
}

/// The trust earned by the filter on each attribute a person is looked up by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterTrusts {
    /// `externalId eq`.
    #[serde(default)]
    pub external_id: FilterTrust,
    /// `userName eq`.
    #[serde(default)]
    pub user_name: FilterTrust,
    /// `emails.value eq`.
    #[serde(default)]
    pub email: FilterTrust,
    /// `displayName eq` on groups.
    #[serde(default)]
    pub group_name: FilterTrust,
}

/// Where one filter's trust is kept in the record.
pub type TrustSlot = fn(&mut Learned) -> &mut FilterTrust;

/// The stored record of one app's dialect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Learned {
    /// The app announces filters that do not work (a 5xx, or no match for an account that exists).
    #[serde(default)]
    pub filter_broken: bool,
    /// The app does not keep `externalId` (Zulip, Nextcloud's PUT): never compare it.
    #[serde(default)]
    pub drops_external_id: bool,
    /// The app does not rename accounts (Nextcloud: the userName is the account's id).
    #[serde(default)]
    pub drops_user_name: bool,
    /// The app does not keep `name.formatted` (django-scim2-server keeps only the parts).
    #[serde(default)]
    pub drops_name_formatted: bool,
    /// The app does not keep `name.givenName`/`familyName` (Nextcloud, Zulip keep only `formatted`).
    #[serde(default)]
    pub drops_name_parts: bool,
    /// The app does not take several filters joined with `or`: one key per request.
    #[serde(default)]
    pub combined_filter_broken: bool,
    /// The app does not keep or return emails (scim-server-php, Zulip): no account can be
    /// found by email there, and comparing emails would write on every run.
    #[serde(default)]
    pub drops_emails: bool,
    /// The app does not keep `displayName` (django-scim2-server): never compare it.
    #[serde(default)]
    pub drops_display_name: bool,
    /// What each lookup filter has shown.
    #[serde(default)]
    pub filters: FilterTrusts,
    /// A DELETE answered with success left the account there, inactive: the app only
    /// deactivates (django-scim2-server).
    #[serde(default)]
    pub delete_deactivates: bool,
    /// The member-removal form the app took last.
    #[serde(default)]
    pub removal: Option<RemovalForm>,
}

impl Learned {
    /// What was learned, one short sentence each, for `app test` and the app's page.
    pub fn facts(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.delete_deactivates {
            out.push("DELETE only deactivates accounts: they stay in the app, inactive".into());
        }
        let dropped: Vec<&str> = [
            (self.drops_external_id, "externalId"),
            (self.drops_user_name, "userName changes"),
            (self.drops_display_name, "displayName"),
            (self.drops_name_formatted, "name.formatted"),
            (self.drops_name_parts, "given and family names"),
            (self.drops_emails, "emails"),
        ]
        .into_iter()
        .filter_map(|(dropped, what)| dropped.then_some(what))
        .collect();
        if !dropped.is_empty() {
            out.push(format!("does not keep {}", dropped.join(", ")));
        }
        if self.filter_broken {
            out.push("filters fail or are ignored: accounts are found by listing".into());
        } else {
            let lying: Vec<&str> = [
                (self.filters.external_id, "externalId"),
                (self.filters.user_name, "userName"),
                (self.filters.email, "emails"),
                (self.filters.group_name, "group names"),
            ]
            .into_iter()
            .filter_map(|(t, what)| (t == FilterTrust::Lies).then_some(what))
            .collect();
            if !lying.is_empty() {
                out.push(format!(
                    "filters on {} miss existing resources: listed instead",
                    lying.join(", ")
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_name_what_the_app_does_not_keep() {
        assert!(Learned::default().facts().is_empty());
        let learned = Learned {
            delete_deactivates: true,
            drops_display_name: true,
            drops_name_formatted: true,
            filters: FilterTrusts {
                email: FilterTrust::Lies,
                ..FilterTrusts::default()
            },
            ..Learned::default()
        };
        assert_eq!(
            learned.facts(),
            [
                "DELETE only deactivates accounts: they stay in the app, inactive",
                "does not keep displayName, name.formatted",
                "filters on emails miss existing resources: listed instead",
            ]
        );
    }
}
