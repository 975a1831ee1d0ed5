//! The role each pair should have, stored in `app_access.role`: the highest of the
//! person's own role (`direct_role`) and their groups' roles ([`Role::effective`]).
//!
//! Every change that can move it (a person's own role, a membership, a group's grant,
//! a deleted group) calls [`refresh`] in its transaction, which rewrites the stored role
//! and marks the pairs whose role moved through `pairs::mark_for_sync`. The provisioning
//! side only ever reads the stored role.

use rusqlite::{Transaction, params};
use uuid::Uuid;

use super::ServiceError;
use crate::db::DbError;
use crate::db::columns::RowExt;
use crate::domain::Role;
use crate::pairs::{Pairs, ReconcileJob, mark_for_sync};

/// One pair whose role moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleChange {
    /// The person.
    pub user: Uuid,
    /// The app.
    pub app: String,
    /// The role before.
    pub from: Role,
    /// The role now.
    pub to: Role,
}

/// What a refresh changed: the pairs whose role moved, and the jobs to enqueue.
#[derive(Debug, Default)]
pub struct Refreshed {
    /// Pairs whose role moved.
    pub changes: Vec<RoleChange>,
    /// Jobs for the marked pairs.
    pub jobs: Vec<ReconcileJob>,
}

impl Refreshed {
    /// People who had no access in an app and now have (each person once).
    pub fn gained(&self) -> usize {
        self.people(|c| !c.from.grants_access() && c.to.grants_access())
    }

    /// People who had access in an app and now have none (each person once).
    pub fn lost(&self) -> usize {
        self.people(|c| c.from.grants_access() && !c.to.grants_access())
    }

    fn people(&self, pick: impl Fn(&RoleChange) -> bool) -> usize {
        let people: std::collections::HashSet<Uuid> = self
            .changes
            .iter()
            .filter(|c| pick(c))
            .map(|c| c.user)
            .collect();
        people.len()
    }
}

/// The roles a person's groups give them in one app, from a `group_concat`.
fn group_roles(concat: Option<String>) -> Result<Vec<Role>, DbError> {
    concat
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            Role::parse(s).map_err(|_| DbError::Corrupt(format!("group_grants.role holds {s:?}")))
        })
        .collect()
}

/// Recomputes the role of these people's pairs (in one app, or in all) and marks the
/// pairs whose role moved; people being removed are left to their removal.
pub fn refresh(
    tx: &Transaction<'_>,
    users: &[Uuid],
    app: Option<&str>,
    now: i64,
) -> Result<Refreshed, ServiceError> {
    let mut read = tx.prepare_cached(
        "SELECT a.app_slug, a.role, a.direct_role,
                (SELECT group_concat(g.role) FROM group_members m
                   JOIN group_grants g ON g.group_id = m.group_id
                  WHERE m.user_id = a.user_id AND g.app_slug = a.app_slug)
           FROM app_access a JOIN users u ON u.id = a.user_id
          WHERE a.user_id = ?1 AND (?2 IS NULL OR a.app_slug = ?2) AND u.deleted_at IS NULL",
    )?;
    let mut write =
        tx.prepare_cached("UPDATE app_access SET role = ?3 WHERE user_id = ?1 AND app_slug = ?2")?;
    let mut out = Refreshed::default();
    for user in users {
        let id = user.to_string();
        let mut moved = Vec::new();
        let mut rows = read.query(params![id, app])?;
        while let Some(r) = rows.next()? {
            let slug: String = r.get(0)?;
            let stored: Role = r.typed(1, "app_access")?;
            let direct: Role = r.typed(2, "app_access")?;
            let role = Role::effective(direct, group_roles(r.get(3)?)?);
            if role != stored {
                moved.push((slug, stored, role));
            }
        }
        for (slug, from, to) in moved {
            write.execute(params![id, slug, to])?;
            out.jobs
                .extend(mark_for_sync(tx, Pairs::One(user, &slug), now)?);
            out.changes.push(RoleChange {
                user: *user,
                app: slug,
                from,
                to,
            });
        }
    }
    Ok(out)
}

/// [`refresh`] for many people in one app in one read, without marking: for a caller
/// that marks every one of these pairs itself, once (adopt records their accounts too).
pub fn refresh_unmarked(
    tx: &Transaction<'_>,
    users: &[Uuid],
    app: &str,
) -> Result<Vec<RoleChange>, ServiceError> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = users.iter().map(Uuid::to_string).collect();
    let mut read = tx.prepare_cached(
        "SELECT a.user_id, a.role, a.direct_role,
                (SELECT group_concat(g.role) FROM group_members m
                   JOIN group_grants g ON g.group_id = m.group_id
                  WHERE m.user_id = a.user_id AND g.app_slug = a.app_slug)
           FROM app_access a JOIN users u ON u.id = a.user_id
          WHERE a.app_slug = ?1 AND a.user_id IN (SELECT value FROM json_each(?2))
            AND u.deleted_at IS NULL",
    )?;
    let mut moved = Vec::new();
    let mut rows = read.query(params![app, serde_json::Value::from(ids).to_string()])?;
    while let Some(r) = rows.next()? {
        let user: Uuid = r.typed(0, "app_access")?;
        let stored: Role = r.typed(1, "app_access")?;
        let direct: Role = r.typed(2, "app_access")?;
        let role = Role::effective(direct, group_roles(r.get(3)?)?);
        if role != stored {
            moved.push(RoleChange {
                user,
                app: app.to_owned(),
                from: stored,
                to: role,
            });
        }
    }
    let mut write =
        tx.prepare_cached("UPDATE app_access SET role = ?3 WHERE user_id = ?1 AND app_slug = ?2")?;
    for c in &moved {
        write.execute(params![c.user.to_string(), app, c.to])?;
    }
    Ok(moved)
}
