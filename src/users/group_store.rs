//! The SQL behind group changes; every function runs inside the caller's transaction.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::ServiceError;
use super::groups::GroupKey;
use super::roles::Refreshed;
use crate::db::columns::RowExt;
use crate::domain::{GroupName, Role, Slug};
use crate::pairs::{Pairs, ReconcileJob, mark_for_sync};

/// Marks the pairs of `users` in `apps` (which push this group) that the refresh did not
/// mark already: their membership in the pushed group changes even where their role stays.
pub(super) fn mark_pushed(
    tx: &Transaction<'_>,
    users: &[Uuid],
    apps: &[String],
    refreshed: &Refreshed,
    now: i64,
) -> Result<Vec<ReconcileJob>, ServiceError> {
    let done: HashSet<(Uuid, &str)> = refreshed
        .changes
        .iter()
        .map(|c| (c.user, c.app.as_str()))
        .collect();
    let mut jobs = Vec::new();
    for app in apps {
        for user in users {
            if !done.contains(&(*user, app.as_str())) {
                jobs.extend(mark_for_sync(tx, Pairs::One(user, app), now)?);
            }
        }
    }
    Ok(jobs)
}

/// The group's id and name, or `UnknownGroup`.
pub(super) fn find(tx: &Transaction<'_>, key: &GroupKey) -> Result<(Uuid, String), ServiceError> {
    let row: Option<(Uuid, String)> = match key {
        GroupKey::Name(name) => tx
            .prepare_cached("SELECT id, name FROM access_groups WHERE name_norm = ?1")?
            .query_row([name.normalized()], |r| {
                Ok((r.typed(0, "access_groups")?, r.get(1)?))
            })
            .optional()?,
        GroupKey::Id(id) => tx
            .prepare_cached("SELECT id, name FROM access_groups WHERE id = ?1")?
            .query_row([id.to_string()], |r| {
                Ok((r.typed(0, "access_groups")?, r.get(1)?))
            })
            .optional()?,
    };
    row.ok_or_else(|| match key {
        GroupKey::Name(name) => ServiceError::UnknownGroup(name.to_string()),
        GroupKey::Id(id) => ServiceError::UnknownGroupId(*id),
    })
}

/// Fails with `GroupNameTaken` if another group has this name in any case.
fn ensure_name_free(
    tx: &Transaction<'_>,
    name: &GroupName,
    except: Option<Uuid>,
) -> Result<(), ServiceError> {
    let holder: Option<Uuid> = tx
        .prepare_cached("SELECT id FROM access_groups WHERE name_norm = ?1")?
        .query_row([name.normalized()], |r| r.typed(0, "access_groups"))
        .optional()?;
    match holder {
        Some(id) if Some(id) != except => Err(ServiceError::GroupNameTaken(name.to_string())),
        _ => Ok(()),
    }
}

/// Inserts a new group; returns its id.
pub(super) fn insert_group(
    tx: &Transaction<'_>,
    name: &GroupName,
    description: &str,
    now: i64,
) -> Result<Uuid, ServiceError> {
    ensure_name_free(tx, name, None)?;
    let id = Uuid::new_v4();
    tx.execute(
        "INSERT INTO access_groups (id, name, name_norm, description, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![
            id.to_string(),
            name.as_str(),
            name.normalized(),
            description,
            now
        ],
    )?;
    Ok(id)
}

pub(super) fn rename(
    tx: &Transaction<'_>,
    id: Uuid,
    new: &GroupName,
    now: i64,
) -> Result<(), ServiceError> {
    ensure_name_free(tx, new, Some(id))?;
    tx.execute(
        "UPDATE access_groups SET name = ?1, name_norm = ?2, updated_at = ?3 WHERE id = ?4",
        params![new.as_str(), new.normalized(), now, id.to_string()],
    )?;
    Ok(())
}

/// Sets a group's description; the one it had.
pub(super) fn describe(
    tx: &Transaction<'_>,
    id: Uuid,
    description: &str,
    now: i64,
) -> Result<String, ServiceError> {
    let was: String = tx
        .prepare_cached("SELECT description FROM access_groups WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))?;
    if was != description {
        tx.execute(
            "UPDATE access_groups SET description = ?1, updated_at = ?2 WHERE id = ?3",
            params![description, now, id.to_string()],
        )?;
    }
    Ok(was)
}

/// The people in a group (including any being removed: their refresh skips them).
pub(super) fn members(tx: &Transaction<'_>, id: Uuid) -> Result<Vec<Uuid>, ServiceError> {
    let mut stmt = tx.prepare_cached("SELECT user_id FROM group_members WHERE group_id = ?1")?;
    let rows = stmt.query_map([id.to_string()], |r| r.typed(0, "group_members"))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn grants(tx: &Transaction<'_>, id: Uuid) -> Result<Vec<(String, Role)>, ServiceError> {
    let mut stmt = tx.prepare_cached(
        "SELECT app_slug, role FROM group_grants WHERE group_id = ?1 ORDER BY app_slug",
    )?;
    let rows = stmt.query_map([id.to_string()], |r| {
        Ok((r.get(0)?, r.typed(1, "group_grants")?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The role a group gives in an app; `none` without a grant.
pub(super) fn grant_of(tx: &Transaction<'_>, id: Uuid, app: &Slug) -> Result<Role, ServiceError> {
    Ok(tx
        .prepare_cached("SELECT role FROM group_grants WHERE group_id = ?1 AND app_slug = ?2")?
        .query_row(params![id.to_string(), app.as_str()], |r| {
            r.typed(0, "group_grants")
        })
        .optional()?
        .unwrap_or(Role::None))
}
