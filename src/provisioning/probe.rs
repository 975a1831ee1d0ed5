//! `app test`: checks that an app can be provisioned, without writing anything.

use serde::Serialize;

use super::engine::Engine;
use crate::domain::Slug;
use crate::scim::{ScimError, ScimSession, UserKey};

/// One line of the checklist.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it is usable.
    pub ok: bool,
    /// Usable, but something the admin should know (a broken discovery endpoint).
    pub warning: bool,
    /// What the app said, in its own words where it gave any.
    pub detail: String,
}

/// The outcome of `app test`.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// The app.
    pub app: String,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// Everything accessboard needs works.
    pub usable: bool,
}

/// Why `app test` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no app {0:?} with [apps.scim] settings in the catalogue")]
    NotProvisioned(String),
}

/// Reaches the app, authenticates, reads discovery, makes one harmless read and
/// checks every mapped group and attribute. Never writes.
pub async fn test_app(engine: &Engine, app: &Slug) -> Result<ProbeReport, ProbeError> {
    let target = engine
        .targets
        .get(app.as_str())
        .ok_or_else(|| ProbeError::NotProvisioned(app.to_string()))?;
    // Ask afresh: the point is to see the app as it is now.
    target.client.forget_capabilities();
    let session = target.client.session();
    let mut checks = Vec::new();
    let mut push = |name: &str, ok: bool, detail: String| {
        checks.push(Check {
            name: name.to_owned(),
            ok,
            warning: false,
            detail,
        })
    };
    // Reach and sign-in are what provisioning needs of /Users itself: discovery may be
    // missing or broken in an app that provisions fine.
    if let Err(e) = session.read_one_account().await {
        push("reach and sign in", false, reason(&e));
        return Ok(report(app, checks));
    }
    // Without the query: some apps take a key there, and this text lands on a page.
    let mut shown = target.client.base_url().clone();
    shown.set_query(None);
    push("reach and sign in", true, format!("{shown} answers"));
    match session.capabilities().await {
        Ok(caps) => push(
            "features",
            true,
            format!(
                "filter: {}, PATCH: {}, ETags: {}",
                yes(caps.filter),
                yes(caps.patch),
                yes(caps.etag)
            ),
        ),
        Err(e) => push("features", false, reason(&e)),
    }
    // A random id must match nobody: proves reading works, and that filters filter.
    let random = uuid::Uuid::new_v4().to_string();
    match session.find_user(UserKey::ExternalId(&random)).await {
        Ok(None) => push(
            "read accounts",
            true,
            "a lookup of a random id finds nobody".into(),
        ),
        Ok(Some(_)) => push(
            "read accounts",
            false,
            "a lookup of a random id returned an account: the app ignores filters".into(),
        ),
        Err(e) => push("read accounts", false, reason(&e)),
    }
    let roles = target.scim.roles();
    if roles.uses_groups() {
        check_groups(&session, &roles, &mut push).await;
    }
    if target.scim.push_groups {
        let (ok, detail) = match groups_usable(&session).await {
            Ok(true) => (true, "groups granted in the app are pushed there".into()),
            Ok(false) => (
                false,
                "the app has no Group resource; turn push_groups off for this app".into(),
            ),
            Err(e) => (false, reason(&e)),
        };
        push("push_groups", ok, detail);
    }
    for t in roles.targets() {
        if let Some(attribute) = &t.attribute {
            let (ok, detail) = match user_schema_has(&session, attribute).await {
                Ok(Some(true)) => (true, "in the app's User schema".into()),
                Ok(Some(false)) => (false, "the app's User schema has no such attribute".into()),
                Ok(None) => (
                    true,
                    "the app publishes no schema; cannot check before use".into(),
                ),
                Err(e) => (false, reason(&e)),
            };
            push(&format!("role attribute {attribute:?}"), ok, detail);
        }
    }
    checks.extend(discovery_warnings(&session));
    checks.extend(learned_checks(target));
    Ok(report(app, checks))
}

/// What earlier provisioning learned about the app (it cannot be seen without writing):
/// which deletion it really does, what it does not keep, which filters miss accounts.
fn learned_checks(target: &super::engine::Target) -> Vec<Check> {
    let learned = target.client.learned();
    let mut checks = Vec::new();
    if learned.delete_deactivates
        && target.scim.on_deprovision() == crate::domain::Deprovision::Delete
    {
        checks.push(Check {
            name: "deletion".to_owned(),
            ok: true,
            warning: true,
            detail: "on_deprovision = \"delete\" only deactivates accounts in this app: they stay there, inactive".into(),
        });
    }
    let facts = learned.facts();
    if !facts.is_empty() {
        checks.push(Check {
            name: "learned".to_owned(),
            ok: true,
            warning: false,
            detail: facts.join("; "),
        });
    }
    checks
}

/// One warning per discovery endpoint that failed (5xx): provisioning goes on with the
/// settings' and conservative assumptions, but the admin should know why.
fn discovery_warnings(session: &ScimSession) -> Vec<Check> {
    let mut seen = Vec::new();
    for call in session.calls() {
        let Some(status) = call.status.filter(|s| *s >= 500 && *s != 501) else {
            continue;
        };
        if call.operation != "discovery" || seen.iter().any(|(p, _)| *p == call.path) {
            continue;
        }
        seen.push((call.path, status));
    }
    seen.into_iter()
        .map(|(path, status)| {
            let meaning = match path.as_str() {
                "/ServiceProviderConfig" => {
                    "filter and PATCH as the settings say, else not used; no ETags"
                }
                "/ResourceTypes" => "groups are found by using them",
                _ => "role attributes cannot be checked before use",
            };
            Check {
                name: "discovery".to_owned(),
                ok: true,
                warning: true,
                detail: format!("GET {path} answers {status}; going on without it: {meaning}"),
            }
        })
        .collect()
}

/// Whether the app has a usable Group resource: as its discovery says, else (no
/// discovery) as a harmless read of `/Groups` shows; never writes.
async fn groups_usable(session: &ScimSession) -> Result<bool, ScimError> {
    match session.group_resource().await? {
        Some(known) => Ok(known),
        None => match session.find_group(PROBE_GROUP).await {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.status(), Some(404 | 405 | 501)) => Ok(false),
            Err(e) => Err(e),
        },
    }
}

/// A name no group has: the read that shows `/Groups` answers.
const PROBE_GROUP: &str = "accessboard probe: no group has this name";

async fn check_groups(
    session: &ScimSession,
    roles: &crate::settings::RoleMap,
    push: &mut impl FnMut(&str, bool, String),
) {
    match session.group_resource().await {
        Ok(Some(false)) => {
            push(
                "groups",
                false,
                "the app has no Group resource, but a role is mapped to a group".into(),
            );
            return;
        }
        Err(e) => {
            push("groups", false, reason(&e));
            return;
        }
        Ok(_) => {}
    }
    for group in roles.targets().filter_map(|t| t.group.as_deref()) {
        let (ok, detail) = match session.find_group(group).await {
            Ok(Some(_)) => (true, "exists".into()),
            Ok(None) => (
                true,
                "does not exist yet; made when the first member is added".into(),
            ),
            Err(e) => (false, reason(&e)),
        };
        push(&format!("group {group:?}"), ok, detail);
    }
}

// Some(found) from /Schemas; None when the app publishes none (404/501).
async fn user_schema_has(
    session: &ScimSession,
    attribute: &str,
) -> Result<Option<bool>, ScimError> {
    let Some(schemas) = session.schemas().await? else {
        return Ok(None);
    };
    let (schema, name) = match attribute.rsplit_once(':') {
        Some((urn, name)) if attribute.starts_with("urn:") => (urn, name),
        _ => (crate::scim::models::USER_SCHEMA, attribute),
    };
    Ok(Some(schemas.iter().any(|s| {
        s.get("id").and_then(|v| v.as_str()) == Some(schema)
            && s.get("attributes")
                .and_then(|a| a.as_array())
                .is_some_and(|attrs| {
                    attrs.iter().any(|a| {
                        a.get("name")
                            .and_then(|n| n.as_str())
                            .is_some_and(|n| n.eq_ignore_ascii_case(name))
                    })
                })
    })))
}

fn reason(e: &ScimError) -> String {
    match e.status() {
        Some(401 | 403) if !e.to_string().contains("refused the credentials") => {
            format!("the app refused the credentials: {e}")
        }
        _ => e.to_string(),
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn report(app: &Slug, checks: Vec<Check>) -> ProbeReport {
    ProbeReport {
        app: app.to_string(),
        usable: checks.iter().all(|c| c.ok),
        checks,
    }
}

/// Whether the app can take the role mapping, asked before installing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingCheck {
    /// Nothing speaks against it (or nothing needs checking).
    Usable,
    /// The app answered and cannot do what the mapping needs; the sentence names the key.
    Unusable(String),
    /// The app could not be asked; pairs will show why.
    Unknown(String),
}

/// Checks that every mapped group and attribute exists in the app: the check
/// `app install` makes before anyone is provisioned. Never writes.
pub async fn check_mapping(engine: &Engine, app: &Slug) -> MappingCheck {
    let Some(target) = engine.targets.get(app.as_str()) else {
        return MappingCheck::Usable;
    };
    let session = target.client.session();
    let roles = target.scim.roles();
    for (role, t) in [("admin", &roles.admin), ("user", &roles.user)] {
        let Some(t) = t else { continue };
        if let Some(group) = &t.group {
            match session.group_resource().await {
                Ok(Some(false)) => {
                    return MappingCheck::Unusable(format!(
                        "app {app}: roles.{role}.group {group:?} cannot be used: the app has no Group resource"
                    ));
                }
                Ok(_) => {}
                Err(e) => return MappingCheck::Unknown(reason(&e)),
            }
        }
        if let Some(attribute) = &t.attribute {
            match user_schema_has(&session, attribute).await {
                Ok(Some(false)) => {
                    return MappingCheck::Unusable(format!(
                        "app {app}: roles.{role}.attribute {attribute:?} cannot be used: the app's User schema has no such attribute"
                    ));
                }
                Ok(_) => {}
                Err(e) => return MappingCheck::Unknown(reason(&e)),
            }
        }
    }
    if target.scim.push_groups {
        match groups_usable(&session).await {
            Ok(false) => {
                return MappingCheck::Unusable(format!(
                    "app {app}: push_groups cannot be used: the app has no Group resource"
                ));
            }
            Ok(_) => {}
            Err(e) => return MappingCheck::Unknown(reason(&e)),
        }
    }
    MappingCheck::Usable
}
