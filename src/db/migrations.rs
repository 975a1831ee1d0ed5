//! Numbered migrations from `db/migrations/`, applied forward at every start.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use super::DbError;

const MIGRATIONS: &[&str] = &[
    include_str!("../../db/migrations/0001_initial.sql"),
    include_str!("../../db/migrations/0002_web.sql"),
    include_str!("../../db/migrations/0003_dialects.sql"),
    include_str!("../../db/migrations/0004_audit.sql"),
    include_str!("../../db/migrations/0005_sort_keys.sql"),
    include_str!("../../db/migrations/0006_events.sql"),
    include_str!("../../db/migrations/0007_delete_at.sql"),
    include_str!("../../db/migrations/0008_alerts.sql"),
    include_str!("../../db/migrations/0009_rails.sql"),
    include_str!("../../db/migrations/0010_groups.sql"),
    include_str!("../../db/migrations/0011_proof.sql"),
    include_str!("../../db/migrations/0012_held_changes.sql"),
    include_str!("../../db/migrations/0013_search.sql"),
    include_str!("../../db/migrations/0014_unmanaged.sql"),
    include_str!("../../db/migrations/0015_sign_in.sql"),
    include_str!("../../db/migrations/0016_passkeys.sql"),
];

/// The schema version this binary writes and needs.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// The schema version stored in the file (`user_version`).
pub fn version(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?)
}

/// Refuses, without writing, a schema other than this binary's (read-only opens).
pub fn require_latest(conn: &Connection) -> Result<(), DbError> {
    let current = version(conn)?;
    let latest = latest();
    if current > latest {
        return Err(newer(current));
    }
    if current < latest {
        return Err(DbError::Migration(format!(
            "the database is at schema version {current}, older than this accessboard needs ({latest}); run `accessboard serve` or any command that changes something once to upgrade it"
        )));
    }
    Ok(())
}

fn newer(current: i64) -> DbError {
    DbError::Migration(format!(
        "the database is at schema version {current}, newer than this accessboard (version {}); run a newer accessboard or restore a backup",
        MIGRATIONS.len()
    ))
}

/// Brings the schema up to this binary's version; refuses a newer database.
pub fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
    let current = version(conn)?;
    if current > latest() {
        return Err(newer(current));
    }
    migrations
        .to_latest(conn)
        .map_err(|e| DbError::Migration(format!("cannot migrate the database: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Migration 15 turns the admin flag into a level: admins stay admins, others none.
    #[test]
    fn the_dashboard_migration_keeps_admins_admins() {
        let mut conn = Connection::open_in_memory().unwrap();
        let before = MIGRATIONS
            .iter()
            .position(|sql| sql.contains("ADD COLUMN dashboard"))
            .unwrap();
        Migrations::new(MIGRATIONS[..before].iter().map(|sql| M::up(sql)).collect())
            .to_latest(&mut conn)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, email, email_norm, name, is_admin, created_at, updated_at)
               VALUES ('u1', 'a@example.org', 'a@example.org', 'A', 1, 1, 1),
                      ('u2', 'b@example.org', 'b@example.org', 'B', 0, 1, 1);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let level = |id: &str| -> String {
            conn.query_row("SELECT dashboard FROM users WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap()
        };
        assert_eq!(level("u1"), "admin");
        assert_eq!(level("u2"), "none");
        assert!(
            conn.execute("UPDATE users SET dashboard = 'root'", [])
                .is_err(),
            "only the three levels"
        );
    }

    // Migration 8 copies app_access into a table that allows `held`: rows, the
    // counts the overview reads, and the triggers that keep them must all survive.
    #[test]
    fn the_rails_migration_keeps_pairs_and_their_counts() {
        let mut conn = Connection::open_in_memory().unwrap();
        let before_rails = MIGRATIONS
            .iter()
            .position(|sql| sql.contains("CREATE TABLE app_rails"))
            .unwrap();
        Migrations::new(
            MIGRATIONS[..before_rails]
                .iter()
                .map(|sql| M::up(sql))
                .collect(),
        )
        .to_latest(&mut conn)
        .unwrap();
        conn.execute_batch(
            "INSERT INTO apps (slug, name, url, installed, scim_enabled) VALUES ('files', 'Files', 'http://f', 1, 1);
             INSERT INTO users (id, email, email_norm, name, created_at, updated_at)
               VALUES ('u1', 'a@example.org', 'a@example.org', 'A', 1, 1), ('u2', 'b@example.org', 'b@example.org', 'B', 1, 1);
             INSERT INTO app_access (user_id, app_slug, role, status, scim_id, delete_at)
               VALUES ('u1', 'files', 'user', 'provisioned', 's1', NULL), ('u2', 'files', 'none', 'deprovisioned', 's2', 99);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            count("SELECT count(*) FROM app_access WHERE delete_at = 99 AND scim_id = 's2'"),
            1
        );
        assert_eq!(
            count("SELECT n FROM app_status_counts WHERE status = 'provisioned'"),
            1
        );
        conn.execute(
            "UPDATE app_access SET status = 'held' WHERE user_id = 'u1'",
            [],
        )
        .unwrap();
        assert_eq!(
            count("SELECT n FROM app_status_counts WHERE status = 'held'"),
            1
        );
        assert_eq!(
            count("SELECT n FROM app_status_counts WHERE status = 'provisioned'"),
            0
        );
        assert!(
            conn.execute("UPDATE app_access SET status = 'gone'", [])
                .is_err(),
            "the CHECK constraint still stands"
        );
    }
}
