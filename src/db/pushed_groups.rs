//! The groups accessboard created in apps that push groups (`pushed_groups`), and what
//! a batch needs to push: the groups granted in the app and who is in them.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, params};
use uuid::Uuid;

use super::DbError;
use super::columns::RowExt;

/// A group accessboard created in an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// Our group (it may have been deleted since).
    pub group: Uuid,
    /// The group's id in the app.
    pub scim_id: String,
    /// Its displayName as last written.
    pub name: String,
}

/// A group granted in an app, which that app should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    /// Our group.
    pub group: Uuid,
    /// Its name here (without the app's prefix).
    pub name: String,
    /// Its id in the app, when accessboard created it there.
    pub scim_id: Option<String>,
}

/// Every group accessboard created in `app`.
pub fn pushed(conn: &Connection, app: &str) -> Result<Vec<Pushed>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT group_id, scim_id, name FROM pushed_groups WHERE app_slug = ?1 ORDER BY name",
    )?;
    let rows = stmt.query_map([app], |r| {
        Ok(Pushed {
            group: r.typed(0, "pushed_groups")?,
            scim_id: r.get(1)?,
            name: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records (or updates) a group accessboard created in `app`.
pub fn record(conn: &Connection, app: &str, p: &Pushed) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO pushed_groups (app_slug, group_id, scim_id, name) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (app_slug, group_id) DO UPDATE SET scim_id = excluded.scim_id, name = excluded.name",
    )?
    .execute(params![app, p.group.to_string(), p.scim_id, p.name])?;
    Ok(())
}

/// Forgets a group accessboard created in `app` (deleted there).
pub fn forget(conn: &Connection, app: &str, group: Uuid) -> Result<(), DbError> {
    conn.prepare_cached("DELETE FROM pushed_groups WHERE app_slug = ?1 AND group_id = ?2")?
        .execute(params![app, group.to_string()])?;
    Ok(())
}

/// The groups granted in `app` (a group granted is pushed) by name; ours are ours.
pub fn granted(conn: &Connection, app: &str) -> Result<Vec<Granted>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT g.id, g.name, p.scim_id FROM group_grants r JOIN access_groups g ON g.id = r.group_id
           LEFT JOIN pushed_groups p ON p.app_slug = r.app_slug AND p.group_id = g.id
          WHERE r.app_slug = ?1 ORDER BY g.name_norm",
    )?;
    let rows = stmt.query_map([app], |r| {
        Ok(Granted {
            group: r.typed(0, "access_groups")?,
            name: r.get(1)?,
            scim_id: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Which of these people are in which of the groups granted in `app`.
pub fn members_in(
    conn: &Connection,
    app: &str,
    users: &[Uuid],
) -> Result<HashMap<Uuid, HashSet<Uuid>>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.group_id FROM group_members m JOIN group_grants r ON r.group_id = m.group_id
          WHERE m.user_id = ?1 AND r.app_slug = ?2",
    )?;
    let mut out = HashMap::new();
    for user in users {
        let groups: HashSet<Uuid> = stmt
            .query_map(params![user.to_string(), app], |r| {
                r.typed(0, "group_members")
            })?
            .collect::<Result<_, _>>()?;
        out.insert(*user, groups);
    }
    Ok(out)
}
