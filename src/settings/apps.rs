//! `[[apps]]` and `[apps.scim]`: the catalogue and how each app is reached.

use std::path::PathBuf;

use serde::Deserialize;

use super::dialect::{Preset, RoleMap};
use super::{SettingsError, read_secret_file};
use crate::domain::Deprovision;
use crate::domain::Slug;
use crate::secret::Secret;

/// One `[[apps]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    /// Short identifier used on the command line and in CSV headers.
    pub slug: Slug,
    /// Display name.
    pub name: String,
    /// Where people open the app.
    #[serde(default)]
    pub url: Option<String>,
    /// SCIM target; without it the app is not provisioned.
    #[serde(default)]
    pub scim: Option<ScimSettings>,
}

/// `[apps.scim]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimSettings {
    /// The SCIM base URL; `/Users` and `/Groups` live under it.
    pub base_url: String,
    /// `bearer`, `basic` or `none`.
    #[serde(default = "default_auth")]
    pub auth: AuthKind,
    /// Bearer token.
    #[serde(default)]
    pub token: Option<Secret>,
    /// File holding the bearer token (Docker/Kubernetes secrets).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Basic-auth user.
    #[serde(default)]
    pub username: Option<String>,
    /// Basic-auth password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// File holding the basic-auth password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// userName template: `{email}`, `{id}`, `{name}`, `{email_local}`.
    #[serde(default = "default_user_name")]
    pub user_name: String,
    /// Short for `roles.admin.group`; folded into `roles` once the settings are read.
    #[serde(default)]
    pub admin_group: Option<String>,
    /// Which app this is, for the defaults it needs.
    #[serde(default)]
    pub preset: Preset,
    /// How accessboard's roles are expressed in the app; filled from the preset when left out.
    #[serde(default)]
    pub roles: Option<RoleMap>,
    /// What revoking access does to the account (preset default: disable).
    #[serde(default)]
    pub on_deprovision: Option<Deprovision>,
    /// Content-Type of request bodies (preset default).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Whether accessboard owns the account's name (off: names changed in the app stay).
    #[serde(default)]
    pub manage_names: Option<bool>,
    /// Use the app's filters (unset: as its ServiceProviderConfig announces).
    #[serde(default)]
    pub filter: Option<bool>,
    /// Use PATCH (unset: as its ServiceProviderConfig announces).
    #[serde(default)]
    pub patch: Option<bool>,
}

impl ScimSettings {
    /// The role mapping in force.
    pub fn roles(&self) -> RoleMap {
        self.roles.clone().unwrap_or_default()
    }
    /// Disable or delete on revoke.
    pub fn on_deprovision(&self) -> Deprovision {
        self.on_deprovision.unwrap_or_default()
    }
    /// Content-Type of request bodies.
    pub fn content_type(&self) -> &str {
        self.content_type
            .as_deref()
            .unwrap_or(crate::scim::SCIM_MEDIA_TYPE)
    }
    /// Whether accessboard owns names.
    pub fn manage_names(&self) -> bool {
        self.manage_names.unwrap_or(true)
    }
}

/// How accessboard authenticates to an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    /// `Authorization: Bearer …`
    Bearer,
    /// HTTP basic auth.
    Basic,
    /// No credentials.
    None,
}

fn default_auth() -> AuthKind {
    AuthKind::Bearer
}
fn default_user_name() -> String {
    "{email}".into()
}

const TEMPLATE_FIELDS: [&str; 4] = ["{email}", "{id}", "{name}", "{email_local}"];

pub(super) fn validate_scim(at: &str, scim: &mut ScimSettings) -> Result<(), SettingsError> {
    let err =
        |key: &str, msg: String| Err(SettingsError(format!("setting {at}.scim.{key}: {msg}")));
    match url::Url::parse(&scim.base_url) {
        // Never echo this URL: it holds a password.
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            return err(
                "base_url",
                "must not contain a user name or password; use auth = \"basic\" with username and password_file".into(),
            );
        }
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => {
            return err(
                "base_url",
                format!("{:?} is not an http(s) URL", scim.base_url),
            );
        }
    }
    if let Some(file) = scim.token_file.clone() {
        if scim.token.is_some() {
            return err(
                "token_file",
                "set either token or token_file, not both".into(),
            );
        }
        scim.token = Some(match read_secret_file(&file) {
            Ok(secret) => secret,
            Err(m) => return err("token_file", m),
        });
    }
    if let Some(file) = scim.password_file.clone() {
        if scim.password.is_some() {
            return err(
                "password_file",
                "set either password or password_file, not both".into(),
            );
        }
        scim.password = Some(match read_secret_file(&file) {
            Ok(secret) => secret,
            Err(m) => return err("password_file", m),
        });
    }
    match scim.auth {
        AuthKind::Bearer if scim.token.as_ref().is_none_or(|t| t.expose().is_empty()) => {
            return err(
                "token",
                "is required when auth = \"bearer\" (or set token_file)".into(),
            );
        }
        AuthKind::Basic if scim.username.as_deref().is_none_or(str::is_empty) => {
            return err("username", "is required when auth = \"basic\"".into());
        }
        AuthKind::Basic if scim.password.is_none() => {
            return err(
                "password",
                "is required when auth = \"basic\" (or set password_file)".into(),
            );
        }
        _ => {}
    }
    let mut rest = scim.user_name.clone();
    for field in TEMPLATE_FIELDS {
        rest = rest.replace(field, "");
    }
    if scim.user_name.trim().is_empty() || rest.contains('{') || rest.contains('}') {
        return err(
            "user_name",
            format!(
                "{:?} may only use {{email}}, {{id}}, {{name}} and {{email_local}}",
                scim.user_name
            ),
        );
    }
    if let Some(group) = &scim.admin_group
        && group.trim().is_empty()
    {
        return err(
            "admin_group",
            "must not be empty; leave it out to not provision admin rights".into(),
        );
    }
    super::dialect::resolve(at, scim)?;
    if !scim.content_type().contains('/') {
        return err(
            "content_type",
            format!("{:?} is not a media type", scim.content_type()),
        );
    }
    Ok(())
}
