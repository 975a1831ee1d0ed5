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
    /// The app does not keep the structured `name` as sent (Nextcloud keeps only `formatted`).
    #[serde(default)]
    pub drops_name: bool,
    /// The app does not take several filters joined with `or`: one key per request.
    #[serde(default)]
    pub combined_filter_broken: bool,
    /// The member-removal form the app took last.
    #[serde(default)]
    pub removal: Option<RemovalForm>,
}
