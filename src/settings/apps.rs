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
    /// `bearer`, `basic`, `jwt`, `oauth2` or `none`.
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
    /// The shared HS256 secret accessboard signs JWTs with (`auth = "jwt"`).
    #[serde(default)]
    pub jwt_secret: Option<Secret>,
    /// File holding the JWT secret.
    #[serde(default)]
    pub jwt_secret_file: Option<PathBuf>,
    /// Claims the app wants in each JWT, e.g. `{ user = "admin" }`; `iat` and `exp` are added.
    #[serde(default)]
    pub jwt_claims: serde_json::Map<String, serde_json::Value>,
    /// How long each signed JWT is valid.
    #[serde(default = "default_jwt_ttl_secs")]
    pub jwt_ttl_secs: u64,
    /// The OAuth2 token endpoint (`auth = "oauth2"`, client-credentials grant).
    #[serde(default)]
    pub token_url: Option<String>,
    /// The OAuth2 client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The OAuth2 client secret.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// File holding the OAuth2 client secret.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// The `scope` asked for with each token, if any.
    #[serde(default)]
    pub scope: Option<String>,
    /// How the client authenticates at the token endpoint: `basic` or `post`.
    #[serde(default)]
    pub token_auth: TokenAuthKind,
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
    /// Days an account accessboard disabled stays so before it is deleted; 0: never.
    #[serde(default)]
    pub delete_after_days: u32,
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
    /// Requests in flight to this app at most (within `[provisioning] workers`).
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency: usize,
    /// Requests per second to this app at most; unset: no limit.
    #[serde(default)]
    pub max_requests_per_second: Option<f64>,
    /// Push accessboard's groups granted in this app as its groups (issue 17).
    #[serde(default)]
    pub push_groups: bool,
    /// Put before each pushed group's name in the app (e.g. `"ab-"`).
    #[serde(default)]
    pub group_prefix: String,
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
    /// Seconds a disabled account waits before it is deleted; `None`: it is never deleted.
    pub fn delete_after_secs(&self) -> Option<i64> {
        (self.delete_after_days > 0).then(|| i64::from(self.delete_after_days) * 86_400)
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
    /// HS256 JWTs accessboard signs from a shared secret.
    Jwt,
    /// Tokens fetched with the OAuth2 client-credentials grant.
    Oauth2,
    /// No credentials.
    None,
}

/// How the OAuth2 client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenAuthKind {
    /// HTTP basic auth (`client_secret_basic`).
    #[default]
    Basic,
    /// In the form body (`client_secret_post`).
    Post,
}

fn default_auth() -> AuthKind {
    AuthKind::Bearer
}
fn default_max_concurrency() -> usize {
    4
}

fn default_jwt_ttl_secs() -> u64 {
    300
}
fn default_user_name() -> String {
    "{email}".into()
}

const TEMPLATE_FIELDS: [&str; 4] = ["{email}", "{id}", "{name}", "{email_local}"];

pub(super) fn validate_scim(at: &str, scim: &mut ScimSettings) -> Result<(), SettingsError> {
    let err =
        |key: &str, msg: String| Err(SettingsError(format!("setting {at}.scim.{key}: {msg}")));
    if scim.max_concurrency == 0 {
        return err("max_concurrency", "must be at least 1".into());
    }
    if let Some(rate) = scim.max_requests_per_second
        && !(rate.is_finite() && rate > 0.0)
    {
        return err(
            "max_requests_per_second",
            "must be a number above 0 (leave it out for no limit)".into(),
        );
    }
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
            return err("base_url", super::not_a_url(&scim.base_url));
        }
    }
    // The value behind a `*_file` key replaces the inline one; setting both is a mistake.
    for (inline, file_key, secret, file) in [
        ("token", "token_file", &mut scim.token, &scim.token_file),
        (
            "password",
            "password_file",
            &mut scim.password,
            &scim.password_file,
        ),
        (
            "jwt_secret",
            "jwt_secret_file",
            &mut scim.jwt_secret,
            &scim.jwt_secret_file,
        ),
        (
            "client_secret",
            "client_secret_file",
            &mut scim.client_secret,
            &scim.client_secret_file,
        ),
    ] {
        let Some(file) = file else { continue };
        if secret.is_some() {
            return err(
                file_key,
                format!("set either {inline} or {file_key}, not both"),
            );
        }
        *secret = Some(match read_secret_file(file) {
            Ok(value) => value,
            Err(m) => return err(file_key, m),
        });
    }
    let missing = |s: &Option<Secret>| s.as_ref().is_none_or(|v| v.expose().is_empty());
    match scim.auth {
        AuthKind::Bearer if missing(&scim.token) => {
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
        AuthKind::Jwt => validate_jwt(scim).or_else(|(key, m)| err(key, m))?,
        AuthKind::Oauth2 => validate_oauth2(scim).or_else(|(key, m)| err(key, m))?,
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
    if scim.group_prefix.chars().any(char::is_control)
        || scim.group_prefix.chars().count() > crate::domain::MAX_GROUP_NAME
    {
        return err(
            "group_prefix",
            "must be one line of at most 100 characters".into(),
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

fn validate_jwt(scim: &ScimSettings) -> Result<(), (&'static str, String)> {
    if scim
        .jwt_secret
        .as_ref()
        .is_none_or(|v| v.expose().is_empty())
    {
        return Err((
            "jwt_secret",
            "is required when auth = \"jwt\" (or set jwt_secret_file)".into(),
        ));
    }
    if scim.jwt_ttl_secs == 0 {
        return Err(("jwt_ttl_secs", "must be at least 1".into()));
    }
    if let Some(key) = ["iat", "exp"]
        .into_iter()
        .find(|k| scim.jwt_claims.contains_key(*k))
    {
        return Err((
            "jwt_claims",
            format!("{key} is set by accessboard (from jwt_ttl_secs); leave it out"),
        ));
    }
    Ok(())
}

fn validate_oauth2(scim: &ScimSettings) -> Result<(), (&'static str, String)> {
    let Some(raw) = scim.token_url.as_deref().filter(|u| !u.trim().is_empty()) else {
        return Err(("token_url", "is required when auth = \"oauth2\"".into()));
    };
    match url::Url::parse(raw) {
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            return Err((
                "token_url",
                "must not contain credentials; use client_id and client_secret".into(),
            ));
        }
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => return Err(("token_url", super::not_a_url(raw))),
    }
    if scim
        .client_id
        .as_deref()
        .is_none_or(|c| c.trim().is_empty())
    {
        return Err(("client_id", "is required when auth = \"oauth2\"".into()));
    }
    if scim
        .client_secret
        .as_ref()
        .is_none_or(|v| v.expose().is_empty())
    {
        return Err((
            "client_secret",
            "is required when auth = \"oauth2\" (or set client_secret_file)".into(),
        ));
    }
    Ok(())
}
