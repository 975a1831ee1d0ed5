//! The per-app cells and the group names of a page of people: two statements for the
//! whole page, whatever its size, joined to the page by position.

use rusqlite::Connection;

use super::DbError;
use super::columns::RowExt;
use super::read::{PairCell, UserRow};
use crate::domain::Role;

/// Fills `access` (in catalogue order) and `groups` (by name) of every row.
pub(crate) fn fill(conn: &Connection, rows: &mut [UserRow]) -> Result<(), DbError> {
    if rows.is_empty() {
        return Ok(());
    }
    // The page's ids as one JSON array: `json_each` hands each back with its position, so
    // neither statement binds one parameter per person nor builds an index of the list.
    let mut ids = String::with_capacity(rows.len() * 39 + 2);
    ids.push('[');
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            ids.push(',');
        }
        ids.push('"');
        ids.push_str(
            row.id
                .as_hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        );
        ids.push('"');
    }
    ids.push(']');

    let catalogue: Vec<String> = conn
        .prepare_cached("SELECT slug FROM apps WHERE in_catalogue = 1 ORDER BY rowid")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    // (app, role) that each person's groups give, by position in the page.
    let mut granted: Vec<Vec<(usize, Role)>> = vec![Vec::new(); rows.len()];
    let mut stmt = conn.prepare_cached(
        "SELECT j.key, g.id, g.name, gg.app_slug, gg.role
           FROM json_each(?1) j
           JOIN group_members m ON m.user_id = j.value
           JOIN access_groups g ON g.id = m.group_id
           LEFT JOIN group_grants gg ON gg.group_id = m.group_id
          ORDER BY g.name_norm, g.id, j.key",
    )?;
    let mut members = stmt.query([&ids])?;
    // Ordered by group, then by person: one group's grants to one person are adjacent.
    let mut last: Option<(usize, String)> = None;
    while let Some(r) = members.next()? {
        let at = position(r.get(0)?, rows.len())?;
        let group: String = r.get(1)?;
        if last.as_ref() != Some(&(at, group.clone())) {
            rows[at].groups.push(r.get(2)?);
            last = Some((at, group));
        }
        let app = r
            .get_ref(3)?
            .as_str_or_null()
            .map_err(rusqlite::Error::from)?;
        if let Some(app) = app.and_then(|slug| catalogue.iter().position(|c| c == slug)) {
            granted[at].push((app, r.typed(4, "group_grants")?));
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT j.key, a.app_slug, a.role, a.status, a.direct_role
           FROM json_each(?1) j JOIN app_access a ON a.user_id = j.value",
    )?;
    let mut cells = stmt.query([&ids])?;
    let mut placed: Vec<Vec<(usize, PairCell)>> = vec![Vec::new(); rows.len()];
    while let Some(r) = cells.next()? {
        let at = position(r.get(0)?, rows.len())?;
        let slug = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
        let Some(app) = catalogue.iter().position(|c| c == slug) else {
            // An app no longer in settings.toml is not shown.
            continue;
        };
        let groups = Role::effective(
            Role::None,
            granted[at]
                .iter()
                .filter(|(a, _)| *a == app)
                .map(|&(_, role)| role),
        );
        placed[at].push((
            app,
            PairCell {
                app: catalogue[app].clone(),
                role: r.typed(2, "app_access")?,
                direct: r.typed(4, "app_access")?,
                groups,
                status: r.typed(3, "app_access")?,
            },
        ));
    }
    for (row, mut cells) in rows.iter_mut().zip(placed) {
        cells.sort_by_key(|&(app, _)| app);
        row.access = cells.into_iter().map(|(_, cell)| cell).collect();
    }
    Ok(())
}

/// A position `json_each` gave back, checked against the page.
fn position(key: i64, len: usize) -> Result<usize, DbError> {
    usize::try_from(key)
        .ok()
        .filter(|&i| i < len)
        .ok_or_else(|| DbError::Corrupt(format!("json_each gave position {key} of {len}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::db::read::{self, UserQuery};
    use crate::domain::ProvisionStatus;

    #[test]
    fn cells_come_in_catalogue_order_with_their_groups_roles_and_each_group_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let conn = db.conn().unwrap();
        conn.execute_batch(
            "INSERT INTO apps (slug, name, installed) VALUES ('files', 'Files', 1), ('chat', 'Chat', 1),
                 ('gone', 'Gone', 1);
             UPDATE apps SET in_catalogue = 0 WHERE slug = 'gone';
             INSERT INTO users (id, email, email_norm, name, created_at, updated_at) VALUES
                 ('00000000-0000-4000-8000-000000000001', 'ann@example.org', 'ann@example.org', 'Ann', 0, 0),
                 ('00000000-0000-4000-8000-000000000002', 'bob@example.org', 'bob@example.org', 'Bob', 0, 0),
                 ('00000000-0000-4000-8000-000000000003', 'cy@example.org', 'cy@example.org', 'Cy', 0, 0);
             -- Inserted chat first: the order must come from the catalogue, not the rows.
             INSERT INTO app_access (user_id, app_slug, role, direct_role, status) VALUES
                 ('00000000-0000-4000-8000-000000000001', 'chat', 'admin', 'user', 'provisioned'),
                 ('00000000-0000-4000-8000-000000000001', 'files', 'user', 'none', 'sync_needed'),
                 ('00000000-0000-4000-8000-000000000001', 'gone', 'user', 'user', 'provisioned'),
                 ('00000000-0000-4000-8000-000000000002', 'files', 'user', 'user', 'provisioned');
             INSERT INTO access_groups (id, name, name_norm, created_at, updated_at) VALUES
                 ('g-design', 'design', 'design', 0, 0), ('g-admins', 'Admins', 'admins', 0, 0),
                 ('g-empty', 'bystanders', 'bystanders', 0, 0);
             INSERT INTO group_grants (group_id, app_slug, role) VALUES
                 ('g-design', 'files', 'user'), ('g-design', 'chat', 'user'), ('g-admins', 'chat', 'admin');
             INSERT INTO group_members (group_id, user_id, added_at) VALUES
                 ('g-design', '00000000-0000-4000-8000-000000000001', 0),
                 ('g-admins', '00000000-0000-4000-8000-000000000001', 0),
                 ('g-empty', '00000000-0000-4000-8000-000000000001', 0),
                 ('g-empty', '00000000-0000-4000-8000-000000000003', 0);",
        )
        .unwrap();
        let query = UserQuery {
            include_deleting: true,
            limit: 50,
            ..UserQuery::default()
        };
        let (rows, _) = read::users(&conn, &query).unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Ann", "Bob", "Cy"]);

        let ann = &rows[0];
        assert_eq!(ann.groups, ["Admins", "bystanders", "design"]);
        let cells: Vec<(&str, Role, Role, Role, ProvisionStatus)> = ann
            .access
            .iter()
            .map(|c| (c.app.as_str(), c.role, c.direct, c.groups, c.status))
            .collect();
        assert_eq!(
            cells,
            [
                (
                    "files",
                    Role::User,
                    Role::None,
                    Role::User,
                    ProvisionStatus::SyncNeeded
                ),
                (
                    "chat",
                    Role::Admin,
                    Role::User,
                    Role::Admin,
                    ProvisionStatus::Provisioned
                ),
            ],
            "catalogue order, no app removed from the settings, the highest group role"
        );
        let bob = &rows[1];
        assert!(bob.groups.is_empty());
        assert_eq!(bob.access.len(), 1);
        assert_eq!(bob.access[0].groups, Role::None);
        let cy = &rows[2];
        assert_eq!(cy.groups, ["bystanders"]);
        assert!(cy.access.is_empty());

        // The same cells as the one-person read of the person page.
        let one = read::user(&conn, ann.id).unwrap().unwrap();
        let apps = |r: &UserRow| -> Vec<(String, Role, Role)> {
            r.access
                .iter()
                .map(|c| (c.app.clone(), c.role, c.groups))
                .collect()
        };
        assert_eq!(apps(&one), apps(ann));
    }

    #[test]
    fn everyone_is_listed_with_their_cells_past_sqlites_limit_of_bound_values() {
        // `user list` reads everyone at once: one bound value per person (as an IN list
        // had) fails past SQLite's 32,766.
        const PEOPLE: usize = 33_000;
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let mut conn = db.conn().unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute(
            "INSERT INTO apps (slug, name, installed) VALUES ('files', 'Files', 1)",
            [],
        )
        .unwrap();
        {
            let mut person = tx
                .prepare(
                    "INSERT INTO users (id, email, email_norm, name, created_at, updated_at)
                     VALUES (?1, ?2, ?2, ?2, 0, 0)",
                )
                .unwrap();
            let mut cell = tx
                .prepare(
                    "INSERT INTO app_access (user_id, app_slug, role, direct_role, status)
                     VALUES (?1, 'files', 'user', 'user', 'provisioned')",
                )
                .unwrap();
            for i in 0..PEOPLE {
                let id = format!("00000000-0000-4000-8000-{i:012}");
                person
                    .execute(rusqlite::params![id, format!("p{i}@example.org")])
                    .unwrap();
                cell.execute([&id]).unwrap();
            }
        }
        tx.commit().unwrap();
        let (rows, total) = read::users(&conn, &UserQuery::default()).unwrap();
        assert_eq!((rows.len(), total), (PEOPLE, PEOPLE));
        assert!(rows.iter().all(|r| r.access.len() == 1));
    }
}
