//! The SCIM resources accessboard reads and writes, keeping attributes it does not manage.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Schema URN of the core User resource.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Schema URN of the core Group resource.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Schema URN of a list response.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Schema URN of a PATCH request.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

// `null` where the spec wants a list means an empty list.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn user_schemas() -> Vec<String> {
    vec![USER_SCHEMA.to_owned()]
}

fn group_schemas() -> Vec<String> {
    vec![GROUP_SCHEMA.to_owned()]
}

/// A SCIM User. Unknown attributes (extensions, phone numbers, ...) survive a read-modify-PUT.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimUser {
    /// Schema URNs; the core User schema by default.
    #[serde(default = "user_schemas")]
    pub schemas: Vec<String>,
    /// The server's id for the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Our id for the person (accessboard's user uuid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The login name.
    #[serde(default)]
    pub user_name: String,
    /// Structured name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// The name shown to others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Email addresses (Nextcloud sends `null` for none).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub emails: Vec<Email>,
    /// Whether the account may sign in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Server-maintained metadata; read-only, so never sent back.
    #[serde(default, skip_serializing)]
    pub meta: Option<Meta>,
    /// Every other attribute, kept as the server sent it.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ScimUser {
    fn default() -> Self {
        ScimUser {
            schemas: user_schemas(),
            id: None,
            external_id: None,
            user_name: String::new(),
            name: None,
            display_name: None,
            emails: Vec::new(),
            active: None,
            meta: None,
            extra: Map::new(),
        }
    }
}

impl ScimUser {
    /// The externalId, where the app keeps one (Nextcloud answers `""` for none).
    pub fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref().filter(|e| !e.is_empty())
    }

    /// The primary email, else the first one.
    pub fn primary_email(&self) -> Option<&str> {
        self.emails
            .iter()
            .find(|e| e.primary == Some(true))
            .or_else(|| self.emails.first())
            .map(|e| e.value.as_str())
    }

    /// True when any of the account's emails equals `email`, ignoring case.
    pub fn has_email(&self, email: &str) -> bool {
        let wanted = email.to_lowercase();
        self.emails.iter().any(|e| e.value.to_lowercase() == wanted)
    }
}

/// The structured name of a User.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// The full name as displayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Given (first) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family (last) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Other sub-attributes (middleName, honorificPrefix, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One email address of a User.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Email {
    /// The address.
    pub value: String,
    /// Whether this is the preferred address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// `work`, `home`, `other`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Other sub-attributes (display, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Resource metadata maintained by the server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// `User` or `Group`.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// The resource's URL.
    #[serde(default)]
    pub location: Option<String>,
    /// The ETag, for `If-Match`.
    #[serde(default)]
    pub version: Option<String>,
    /// Created, lastModified and the rest.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A SCIM Group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimGroup {
    /// Schema URNs; the core Group schema by default.
    #[serde(default = "group_schemas")]
    pub schemas: Vec<String>,
    /// The server's id for the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The group's name.
    #[serde(default)]
    pub display_name: String,
    /// Members; `None` when the server did not send the attribute at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Member>>,
    /// Server-maintained metadata; never sent back.
    #[serde(default, skip_serializing)]
    pub meta: Option<Meta>,
    /// Every other attribute, kept as the server sent it.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ScimGroup {
    fn default() -> Self {
        ScimGroup {
            schemas: group_schemas(),
            id: None,
            display_name: String::new(),
            members: None,
            meta: None,
            extra: Map::new(),
        }
    }
}

impl ScimGroup {
    /// Some(true/false) when the server listed members; None when it did not say.
    pub fn has_member(&self, user_id: &str) -> Option<bool> {
        self.members
            .as_ref()
            .map(|m| m.iter().any(|m| m.value == user_id))
    }
}

/// One member of a Group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The member's id.
    pub value: String,
    /// The member's name, as the server shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// The member's URL.
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `User` or `Group`, and anything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A page of a query (RFC 7644 §3.4.2).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct ListResponse<T> {
    /// Matches in total, across pages.
    #[serde(default)]
    pub total_results: u64,
    /// 1-based index of the first resource of this page.
    #[serde(default)]
    pub start_index: Option<u64>,
    /// Resources on this page.
    #[serde(default)]
    pub items_per_page: Option<u64>,
    /// The resources; servers send `Resources`, a few lowercase it.
    #[serde(
        default = "Vec::new",
        rename = "Resources",
        alias = "resources",
        deserialize_with = "null_as_empty"
    )]
    pub resources: Vec<T>,
}

/// A PATCH request body (RFC 7644 §3.5.2).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PatchOp {
    /// Always the PatchOp schema.
    pub schemas: Vec<String>,
    /// The operations, applied in order.
    #[serde(rename = "Operations")]
    pub operations: Vec<PatchOperation>,
}

/// One PATCH operation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PatchOperation {
    /// `add`, `remove` or `replace`.
    pub op: &'static str,
    /// The target attribute path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The value to add or set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl PatchOp {
    /// A PATCH with these operations.
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        PatchOp {
            schemas: vec![PATCH_SCHEMA.to_owned()],
            operations,
        }
    }
}
