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
    include_str!("../../db/migrations/0008_rails.sql"),
];

/// Brings the schema up to this binary's version; refuses a newer database.
pub fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
    let current: usize =
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if current > MIGRATIONS.len() {
        return Err(DbError::Migration(format!(
            "the database is at schema version {current}, newer than this accessboard (version {}); run a newer accessboard or restore a backup",
            MIGRATIONS.len()
        )));
    }
    migrations
        .to_latest(conn)
        .map_err(|e| DbError::Migration(format!("cannot migrate the database: {e}")))
}
