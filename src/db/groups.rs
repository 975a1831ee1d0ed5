//! Read models of groups: the list with counts, one group with members and grants,
//! and each person's groups.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use super::DbError;
use super::columns::RowExt;
use crate::domain::Role;

/// A group as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupRow {
    /// The id (the `externalId` of a pushed group).
    pub id: Uuid,
    /// The name.
    pub name: String,
    /// What it is for; may be empty.
    pub description: String,
    /// How many people are in it.
    pub members: usize,
    /// How many apps it is granted a role in.
    pub grants: usize,
}

/// A member of a group.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Member {
    /// The person's id.
    pub id: Uuid,
    /// Their address.
    pub email: String,
    /// Their name.
    pub name: String,
}

/// A group's role in one app.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Grant {
    /// The app's slug.
    pub app: String,
    /// The app's name.
    pub app_name: String,
    /// The role the group gives there.
    pub role: Role,
}

/// One group with its members and grants.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupDetail {
    /// The group.
    #[serde(flatten)]
    pub group: GroupRow,
    /// Its members, by name.
    pub member_list: Vec<Member>,
    /// Its grants, in catalogue order.
    pub grant_list: Vec<Grant>,
}

const ROW: &str = "SELECT g.id, g.name, g.description,
        (SELECT count(*) FROM group_members m JOIN users u ON u.id = m.user_id
          WHERE m.group_id = g.id AND u.deleted_at IS NULL),
        (SELECT count(*) FROM group_grants r WHERE r.group_id = g.id)
   FROM access_groups g";

fn group_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GroupRow> {
    Ok(GroupRow {
        id: r.typed(0, "access_groups")?,
        name: r.get(1)?,
        description: r.get(2)?,
        members: r.get::<_, i64>(3)? as usize,
        grants: r.get::<_, i64>(4)? as usize,
    })
}

/// Every group, by name.
pub fn groups(conn: &Connection) -> Result<Vec<GroupRow>, DbError> {
    let mut stmt = conn.prepare_cached(&format!("{ROW} ORDER BY g.name_norm"))?;
    let rows = stmt.query_map([], group_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The id of the group with this name (lower-cased).
pub fn id_by_name(conn: &Connection, name_norm: &str) -> Result<Option<Uuid>, DbError> {
    Ok(conn
        .prepare_cached("SELECT id FROM access_groups WHERE name_norm = ?1")?
        .query_row([name_norm], |r| r.typed(0, "access_groups"))
        .optional()?)
}

/// One group with its members and grants.
pub fn group(conn: &Connection, id: Uuid) -> Result<Option<GroupDetail>, DbError> {
    let row = conn
        .prepare_cached(&format!("{ROW} WHERE g.id = ?1"))?
        .query_row([id.to_string()], group_row)
        .optional()?;
    let Some(group) = row else { return Ok(None) };
    let member_list = conn
        .prepare_cached(
            "SELECT u.id, u.email, u.name FROM group_members m JOIN users u ON u.id = m.user_id
              WHERE m.group_id = ?1 AND u.deleted_at IS NULL ORDER BY u.name_key, u.email_norm",
        )?
        .query_map([id.to_string()], |r| {
            Ok(Member {
                id: r.typed(0, "users")?,
                email: r.get(1)?,
                name: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let grant_list = conn
        .prepare_cached(
            "SELECT r.app_slug, p.name, r.role FROM group_grants r JOIN apps p ON p.slug = r.app_slug
              WHERE r.group_id = ?1 ORDER BY p.rowid",
        )?
        .query_map([id.to_string()], |r| {
            Ok(Grant {
                app: r.get(0)?,
                app_name: r.get(1)?,
                role: r.typed(2, "group_grants")?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(GroupDetail {
        group,
        member_list,
        grant_list,
    }))
}

/// The groups of these people, each list by name.
pub fn groups_of(
    conn: &Connection,
    users: &[Uuid],
) -> Result<HashMap<Uuid, Vec<GroupRef>>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT g.id, g.name FROM group_members m JOIN access_groups g ON g.id = m.group_id
          WHERE m.user_id = ?1 ORDER BY g.name_norm",
    )?;
    let mut out = HashMap::new();
    for user in users {
        let refs: Vec<GroupRef> = stmt
            .query_map([user.to_string()], |r| {
                Ok(GroupRef {
                    id: r.typed(0, "access_groups")?,
                    name: r.get(1)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        out.insert(*user, refs);
    }
    Ok(out)
}

/// A group named on a person's page or in their JSON.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupRef {
    /// The group's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
}

/// Group names from a `group_concat(name, char(31))` (names never hold control characters).
pub(crate) fn names(concat: Option<String>) -> Vec<String> {
    let mut names: Vec<String> = concat
        .as_deref()
        .unwrap_or("")
        .split('\u{1f}')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    names.sort_by_key(|n| n.to_lowercase());
    names
}

/// Per app, the names of this person's groups that give the highest role their groups
/// give there (the groups a role "from groups" comes from), by name.
pub fn giving(conn: &Connection, user: Uuid) -> Result<HashMap<String, Vec<String>>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT gg.app_slug, g.name, gg.role FROM group_members m
           JOIN group_grants gg ON gg.group_id = m.group_id
           JOIN access_groups g ON g.id = m.group_id
          WHERE m.user_id = ?1 ORDER BY g.name_norm",
    )?;
    let rows = stmt.query_map([user.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.typed::<Role>(2, "group_grants")?,
        ))
    })?;
    let mut best: HashMap<String, (Role, Vec<String>)> = HashMap::new();
    for row in rows {
        let (app, name, role) = row?;
        let entry = best.entry(app).or_insert((Role::None, Vec::new()));
        if Role::effective(entry.0, [role]) != entry.0 {
            *entry = (role, vec![name]);
        } else if role == entry.0 && role.grants_access() {
            entry.1.push(name);
        }
    }
    Ok(best
        .into_iter()
        .map(|(app, (_, names))| (app, names))
        .collect())
}

/// Every group's grants, as "role in app" lines per group, in catalogue order (the list).
pub fn grants_by_group(conn: &Connection) -> Result<HashMap<Uuid, Vec<Grant>>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.group_id, r.app_slug, p.name, r.role FROM group_grants r
           JOIN apps p ON p.slug = r.app_slug ORDER BY p.rowid",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.typed::<Uuid>(0, "group_grants")?,
            Grant {
                app: r.get(1)?,
                app_name: r.get(2)?,
                role: r.typed(3, "group_grants")?,
            },
        ))
    })?;
    let mut out: HashMap<Uuid, Vec<Grant>> = HashMap::new();
    for row in rows {
        let (group, grant) = row?;
        out.entry(group).or_default().push(grant);
    }
    Ok(out)
}

/// Every group's id and name, by name (the people list's bulk actions).
pub fn names_all(conn: &Connection) -> Result<Vec<GroupRef>, DbError> {
    let mut stmt = conn.prepare_cached("SELECT id, name FROM access_groups ORDER BY name_norm")?;
    let rows = stmt.query_map([], |r| {
        Ok(GroupRef {
            id: r.typed(0, "access_groups")?,
            name: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
