//! Roles expressed as a user attribute: top-level (`role`, Zulip), the multi-valued
//! `roles` of RFC 7643, or an extension attribute `urn:…:name`.

use serde_json::{Map, Value, json};

use crate::scim::ScimUser;
use crate::settings::RoleMap;

/// Where an attribute lives in the resource.
enum Path<'a> {
    /// `roles`: a list of `{value}` objects.
    Multi(&'a str),
    /// `urn:…:name`: `name` inside the extension object `urn:…`.
    Extension { urn: &'a str, name: &'a str },
    /// A top-level single value.
    Single(&'a str),
}

fn path(attribute: &str) -> Path<'_> {
    if attribute.starts_with("urn:")
        && let Some((urn, name)) = attribute.rsplit_once(':')
    {
        return Path::Extension { urn, name };
    }
    if attribute == "roles" {
        Path::Multi(attribute)
    } else {
        Path::Single(attribute)
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("value").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn read(map: &Map<String, Value>, name: &str) -> Vec<String> {
    match map.get(name) {
        Some(Value::Array(list)) => list.iter().filter_map(as_text).collect(),
        Some(v) => as_text(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The values the account holds in `attribute`.
pub fn values(user: &ScimUser, attribute: &str) -> Vec<String> {
    match path(attribute) {
        Path::Multi(name) | Path::Single(name) => read(&user.extra, name),
        Path::Extension { urn, name } => user
            .extra
            .get(urn)
            .and_then(Value::as_object)
            .map(|ext| read(ext, name))
            .unwrap_or_default(),
    }
}

/// Every value accessboard maps to a role through `attribute`.
pub fn mapped_values(roles: &RoleMap, attribute: &str) -> Vec<String> {
    roles
        .targets()
        .filter(|t| t.attribute.as_deref() == Some(attribute))
        .filter_map(|t| t.value.clone())
        .collect()
}

/// Sets `attribute` to `value`; in a multi-valued attribute only the values in `ours`
/// are replaced, and nothing changes when the account already holds just what is wanted.
pub fn set(user: &mut ScimUser, attribute: &str, ours: &[String], value: &str) {
    let current = values(user, attribute);
    match path(attribute) {
        Path::Single(name) => {
            if current != [value] {
                user.extra.insert(name.to_owned(), json!(value));
            }
        }
        Path::Multi(name) => {
            let other_ours = current.iter().any(|v| v != value && ours.contains(v));
            if current.iter().any(|v| v == value) && !other_ours {
                return;
            }
            let mut list: Vec<Value> = match user.extra.remove(name) {
                Some(Value::Array(list)) => list
                    .into_iter()
                    .filter(|v| as_text(v).is_none_or(|t| !ours.contains(&t)))
                    .collect(),
                _ => Vec::new(),
            };
            list.push(json!({ "value": value }));
            user.extra.insert(name.to_owned(), Value::Array(list));
        }
        Path::Extension { urn, name } => {
            if current == [value] {
                return;
            }
            let ext = user
                .extra
                .entry(urn.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            if let Some(obj) = ext.as_object_mut() {
                obj.insert(name.to_owned(), json!(value));
            }
            if !user.schemas.iter().any(|s| s == urn) {
                user.schemas.push(urn.to_owned());
            }
        }
    }
}

/// Takes the values in `ours` out of `attribute`: a multi-valued attribute keeps the
/// others, a single value of ours is cleared (a PUT without it clears it in the app).
pub fn unset(user: &mut ScimUser, attribute: &str, ours: &[String]) {
    let keep = |v: &Value| as_text(v).is_none_or(|t| !ours.contains(&t));
    let (map, name) = match path(attribute) {
        Path::Multi(name) | Path::Single(name) => (Some(&mut user.extra), name),
        Path::Extension { urn, name } => {
            (user.extra.get_mut(urn).and_then(Value::as_object_mut), name)
        }
    };
    let Some(map) = map else { return };
    match map.get_mut(name) {
        Some(Value::Array(list)) => list.retain(keep),
        Some(v) if !keep(v) => {
            map.remove(name);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::RoleTarget;

    fn map(attribute: &str) -> RoleMap {
        let t = |v: &str| {
            Some(RoleTarget {
                group: None,
                attribute: Some(attribute.into()),
                value: Some(v.into()),
            })
        };
        RoleMap {
            admin: t("administrator"),
            user: t("member"),
        }
    }

    #[test]
    fn single_valued_role_is_set_and_read() {
        let mut u = ScimUser::default();
        let ours = mapped_values(&map("role"), "role");
        set(&mut u, "role", &ours, "administrator");
        assert_eq!(values(&u, "role"), ["administrator"]);
        let before = u.clone();
        set(&mut u, "role", &ours, "administrator");
        assert_eq!(u, before, "no change when it already holds the value");
    }

    #[test]
    fn multi_valued_roles_replace_only_our_values() {
        let mut u = ScimUser::default();
        u.extra.insert(
            "roles".into(),
            json!([{"value": "billing"}, {"value": "member", "primary": true}]),
        );
        let ours = mapped_values(&map("roles"), "roles");
        let before = u.clone();
        set(&mut u, "roles", &ours, "member");
        assert_eq!(u, before, "already holds it: untouched");
        set(&mut u, "roles", &ours, "administrator");
        assert_eq!(values(&u, "roles"), ["billing", "administrator"]);
    }

    #[test]
    fn unset_takes_only_our_values_out() {
        let mut u = ScimUser::default();
        u.extra.insert(
            "roles".into(),
            json!([{"value": "billing"}, {"value": "administrator"}]),
        );
        unset(&mut u, "roles", &["administrator".into()]);
        assert_eq!(values(&u, "roles"), ["billing"]);
        u.extra.insert("role".into(), json!("administrator"));
        unset(&mut u, "role", &["administrator".into()]);
        assert!(values(&u, "role").is_empty());
        u.extra.insert("role".into(), json!("owner"));
        unset(&mut u, "role", &["administrator".into()]);
        assert_eq!(values(&u, "role"), ["owner"], "a value set by hand stays");
    }

    #[test]
    fn extension_attribute_lands_in_its_schema() {
        let mut u = ScimUser::default();
        let a = "urn:example:params:scim:schemas:extension:app:2.0:User:level";
        set(&mut u, a, &[], "admin");
        assert_eq!(values(&u, a), ["admin"]);
        assert!(
            u.schemas
                .iter()
                .any(|s| s == "urn:example:params:scim:schemas:extension:app:2.0:User")
        );
    }
}
