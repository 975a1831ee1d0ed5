//! The CSV import's `groups` column: names separated by `;`; names no group has yet
//! are created with the import (the preview lists them).

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::json;
use uuid::Uuid;

use super::ServiceError;
use super::audit::Audit;
use super::group_store::insert_group;
use crate::db::columns::RowExt;
use crate::domain::GroupName;

/// Parses a `groups` cell: `design; board` (empty: none); a name twice counts once.
pub(super) fn parse_cell(cell: &str) -> Result<Vec<GroupName>, String> {
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for part in cell.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let name = GroupName::parse(part).map_err(|e| format!("column groups: {e}"))?;
        if seen.insert(name.normalized()) {
            names.push(name);
        }
    }
    Ok(names)
}

fn id_of(conn: &Connection, name: &GroupName) -> Result<Option<Uuid>, ServiceError> {
    Ok(conn
        .prepare_cached("SELECT id FROM access_groups WHERE name_norm = ?1")?
        .query_row([name.normalized()], |r| r.typed(0, "access_groups"))
        .optional()?)
}

/// The names among `names` that no group has yet, each once, in first-seen order.
pub(super) fn unknown<'a>(
    conn: &Connection,
    names: impl IntoIterator<Item = &'a GroupName>,
) -> Result<Vec<GroupName>, ServiceError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for name in names {
        if seen.insert(name.normalized()) && id_of(conn, name)?.is_none() {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// Puts each new person into their groups, creating the groups that do not exist;
/// returns the names of the groups created. Roles are refreshed by the caller.
pub(super) fn join(
    tx: &Transaction<'_>,
    now: i64,
    audit: &Audit,
    members: &[(Uuid, &[GroupName])],
) -> Result<Vec<String>, ServiceError> {
    let mut created = Vec::new();
    let mut add = tx.prepare_cached(
        "INSERT OR IGNORE INTO group_members (group_id, user_id, added_at) VALUES (?1, ?2, ?3)",
    )?;
    for (user, groups) in members {
        for name in *groups {
            let id = match id_of(tx, name)? {
                Some(id) => id,
                None => {
                    let id = insert_group(tx, name, "", now)?;
                    audit.record(
                        tx,
                        now,
                        "group.create",
                        Some(name.as_str()),
                        None,
                        Some(json!({ "name": name.as_str(), "description": "", "by": "import" })),
                    )?;
                    created.push(name.to_string());
                    id
                }
            };
            add.execute(params![id.to_string(), user.to_string(), now])?;
        }
    }
    Ok(created)
}
