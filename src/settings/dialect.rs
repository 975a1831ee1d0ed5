//! How an app speaks SCIM: `preset`, the role mapping and what the app really does.
//!
//! A preset fills in every key the admin left out with what that app needs; every key
//! can still be set by hand. The facts behind each preset are in the README and in
//! `tests/standins/README.md`, with their sources.

use serde::Deserialize;

use super::SettingsError;
use super::apps::ScimSettings;
use crate::domain::Deprovision;

/// `[apps.scim] preset`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Standard SCIM 2.0: trust what the server announces.
    #[default]
    Generic,
    /// Nextcloud's `scimserviceprovider` app.
    Nextcloud,
    /// Zulip's SCIM API.
    Zulip,
}

/// How one accessboard role is expressed in the app: a group membership and/or a user attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleTarget {
    /// Members of this group have the role.
    #[serde(default)]
    pub group: Option<String>,
    /// A user attribute: top-level (`role`), `roles` (RFC 7643 multi-valued) or `urn:…:attr`.
    #[serde(default)]
    pub attribute: Option<String>,
    /// The attribute's value for this role.
    #[serde(default)]
    pub value: Option<String>,
}

/// `[apps.scim.roles]`: the role mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMap {
    /// accessboard's `admin`.
    #[serde(default)]
    pub admin: Option<RoleTarget>,
    /// accessboard's `user`.
    #[serde(default)]
    pub user: Option<RoleTarget>,
}

impl RoleMap {
    /// Whether any role is expressed through a group (so the app needs a Group resource).
    pub fn uses_groups(&self) -> bool {
        self.targets().any(|t| t.group.is_some())
    }

    /// The mapped roles, admin first.
    pub fn targets(&self) -> impl Iterator<Item = &RoleTarget> {
        self.admin.iter().chain(self.user.iter())
    }
}

/// What a preset sets when the admin did not.
struct Defaults {
    content_type: &'static str,
    manage_names: bool,
    on_deprovision: Deprovision,
    roles: RoleMap,
    filter: Option<bool>,
    patch: Option<bool>,
}

fn defaults(preset: Preset) -> Defaults {
    let attr = |value: &str| RoleTarget {
        group: None,
        attribute: Some("role".into()),
        value: Some(value.into()),
    };
    match preset {
        Preset::Generic => Defaults {
            content_type: crate::scim::SCIM_MEDIA_TYPE,
            manage_names: true,
            on_deprovision: Deprovision::Disable,
            roles: RoleMap::default(),
            filter: None,
            patch: None,
        },
        // Up to Nextcloud 25 a body sent as application/scim+json is read as empty;
        // its filters keep the quotes of the value (never match) and answer 500 on
        // emails.value; PATCH answers 405: list and PUT instead.
        Preset::Nextcloud => Defaults {
            content_type: "application/json",
            manage_names: true,
            on_deprovision: Deprovision::Disable,
            roles: RoleMap {
                admin: Some(RoleTarget {
                    group: Some("admin".into()),
                    attribute: None,
                    value: None,
                }),
                user: None,
            },
            filter: Some(false),
            patch: Some(false),
        },
        // Admins are a single-valued `role` attribute; people rename themselves;
        // DELETE is refused, so accounts are deactivated.
        Preset::Zulip => Defaults {
            content_type: crate::scim::SCIM_MEDIA_TYPE,
            manage_names: false,
            on_deprovision: Deprovision::Disable,
            roles: RoleMap {
                admin: Some(attr("administrator")),
                user: Some(attr("member")),
            },
            // Zulip answers 501 to /ServiceProviderConfig but filters on userName and
            // takes PATCH replace: without this, every lookup would list everyone.
            filter: Some(true),
            patch: Some(true),
        },
    }
}

/// Fills what the admin left out from the preset and checks the role mapping.
pub(super) fn resolve(at: &str, scim: &mut ScimSettings) -> Result<(), SettingsError> {
    let err = |key: &str, msg: &str| Err(SettingsError(format!("setting {at}.scim.{key}: {msg}")));
    if scim.admin_group.is_some() && scim.roles.as_ref().is_some_and(|r| r.admin.is_some()) {
        return err(
            "admin_group",
            "set either admin_group or roles.admin, not both (admin_group is short for roles.admin.group)",
        );
    }
    let d = defaults(scim.preset);
    scim.content_type
        .get_or_insert_with(|| d.content_type.to_owned());
    scim.manage_names.get_or_insert(d.manage_names);
    scim.on_deprovision.get_or_insert(d.on_deprovision);
    scim.filter = scim.filter.or(d.filter);
    scim.patch = scim.patch.or(d.patch);
    let mut roles = scim.roles.take().unwrap_or(d.roles);
    if let Some(group) = scim.admin_group.take() {
        roles.admin = Some(RoleTarget {
            group: Some(group),
            attribute: None,
            value: None,
        });
    }
    for (role, target) in [("admin", &roles.admin), ("user", &roles.user)] {
        let Some(t) = target else { continue };
        let key = format!("roles.{role}");
        if t.group.as_deref().is_some_and(|g| g.trim().is_empty()) {
            return err(&format!("{key}.group"), "must not be empty");
        }
        match (&t.attribute, &t.value) {
            (Some(a), Some(v)) if !a.trim().is_empty() && !v.trim().is_empty() => {}
            (None, None) if t.group.is_some() => {}
            (None, None) => return err(&key, "needs a group, or an attribute and its value"),
            _ => return err(&key, "attribute and value go together, both non-empty"),
        }
    }
    if scim.preset == Preset::Zulip && scim.on_deprovision == Some(Deprovision::Delete) {
        return err(
            "on_deprovision",
            "Zulip refuses DELETE over SCIM; use \"disable\" (people are deactivated)",
        );
    }
    if scim.delete_after_days > 0 {
        if scim.preset == Preset::Zulip {
            return err(
                "delete_after_days",
                "Zulip refuses DELETE over SCIM; leave it out (accounts stay deactivated)",
            );
        }
        if scim.on_deprovision == Some(Deprovision::Delete) {
            return err(
                "delete_after_days",
                "only works with on_deprovision = \"disable\" (\"delete\" deletes at once)",
            );
        }
    }
    scim.roles = Some(roles);
    Ok(())
}
