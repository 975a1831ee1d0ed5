//! The alert tables: conditions while they last (`raise`, `resolve`: any layer may call
//! them inside its own transaction), the failed pairs already named (`failures`), and
//! the messages waiting for each channel (`outbox`).
//!
//! Nothing here sends anything: the alerts task (`crate::alerts`) reads these rows and
//! delivers them, so raising a condition never waits on a channel.

mod failures;
mod outbox;

pub use failures::{FailedPair, apps_to_watch, failed_count, named_unsettled, take_new_failures};
pub use outbox::{Message, MessageState, Queued, drop_channel, enqueue, next, not_sent, sent};

use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;
use crate::domain::{AlertKind, Condition, Slug};

/// The condition `kind` of one app, named by its slug as stored.
pub fn of_app(kind: AlertKind, app: &str) -> Result<Condition, DbError> {
    let slug = Slug::parse(app)
        .map_err(|_| DbError::Corrupt(format!("an app's slug {app:?} is not a slug")))?;
    Ok(Condition::of_app(kind, slug))
}

/// A condition as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionRow {
    /// Which condition.
    pub condition: Condition,
    /// What the raise said.
    pub detail: String,
    /// When it was raised.
    pub raised_at: i64,
    /// When its last message was queued, if one was.
    pub announced_at: Option<i64>,
    /// When it was resolved, if it was.
    pub resolved_at: Option<i64>,
    /// What resolved it.
    pub resolution: Option<String>,
}

fn app_key(condition: &Condition) -> &str {
    condition.app.as_ref().map(Slug::as_str).unwrap_or("")
}

fn stored_app(raw: String, table: &str) -> Result<Option<Slug>, DbError> {
    if raw.is_empty() {
        return Ok(None);
    }
    Slug::parse(&raw)
        .map(Some)
        .map_err(|_| DbError::Corrupt(format!("{table}.app_slug holds {raw:?}, not an app slug")))
}

fn stored_kind(raw: &str, table: &str) -> Result<AlertKind, DbError> {
    AlertKind::parse(raw)
        .ok_or_else(|| DbError::Corrupt(format!("{table}.kind holds {raw:?}, not an alert kind")))
}

/// Raises `condition` with `detail` (no secret: it goes out as written). Whether it is
/// new: a condition already standing is left as it is, so it alerts once.
pub fn raise(
    conn: &Connection,
    condition: &Condition,
    detail: &str,
    now: i64,
) -> Result<bool, DbError> {
    // Resolved but not yet told: it came back before anyone heard it had gone.
    let reopened = conn.execute(
        "UPDATE alert_conditions SET resolved_at = NULL, resolution = NULL
         WHERE kind = ?1 AND app_slug = ?2 AND resolved_at IS NOT NULL",
        params![condition.kind.as_str(), app_key(condition)],
    )?;
    if reopened > 0 {
        return Ok(false);
    }
    Ok(conn.execute(
        "INSERT INTO alert_conditions (kind, app_slug, detail, raised_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, app_slug) DO NOTHING",
        params![condition.kind.as_str(), app_key(condition), detail, now],
    )? == 1)
}

/// Resolves `condition` if it stands, saying what resolved it; whether it stood.
pub fn resolve(
    conn: &Connection,
    condition: &Condition,
    resolution: &str,
    now: i64,
) -> Result<bool, DbError> {
    Ok(conn.execute(
        "UPDATE alert_conditions SET resolved_at = ?3, resolution = ?4
         WHERE kind = ?1 AND app_slug = ?2 AND resolved_at IS NULL",
        params![condition.kind.as_str(), app_key(condition), now, resolution],
    )? == 1)
}

const COLUMNS: &str = "kind, app_slug, detail, raised_at, announced_at, resolved_at, resolution";

fn condition_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, ConditionRow)> {
    let row = ConditionRow {
        // Filled in from the first two columns, checked outside the row callback.
        condition: Condition::global(AlertKind::PairsFailed),
        detail: r.get(2)?,
        raised_at: r.get(3)?,
        announced_at: r.get(4)?,
        resolved_at: r.get(5)?,
        resolution: r.get(6)?,
    };
    Ok((r.get(0)?, r.get(1)?, row))
}

fn checked((kind, app, mut row): (String, String, ConditionRow)) -> Result<ConditionRow, DbError> {
    row.condition = Condition {
        kind: stored_kind(&kind, "alert_conditions")?,
        app: stored_app(app, "alert_conditions")?,
    };
    Ok(row)
}

/// Conditions with news to tell: raised and not yet announced, or resolved.
pub fn to_announce(conn: &Connection) -> Result<Vec<ConditionRow>, DbError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alert_conditions
         WHERE announced_at IS NULL OR resolved_at IS NOT NULL ORDER BY raised_at, kind, app_slug"
    ))?;
    let rows = stmt.query_map([], condition_row)?;
    rows.map(|r| checked(r?)).collect()
}

/// One condition, if raised.
pub fn get(conn: &Connection, condition: &Condition) -> Result<Option<ConditionRow>, DbError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alert_conditions WHERE kind = ?1 AND app_slug = ?2"
    ))?
    .query_row(
        params![condition.kind.as_str(), app_key(condition)],
        condition_row,
    )
    .optional()?
    .map(checked)
    .transpose()
}

/// Notes that a message about `condition` was queued at `now`.
pub fn announced(conn: &Connection, condition: &Condition, now: i64) -> Result<(), DbError> {
    conn.execute(
        "UPDATE alert_conditions SET announced_at = ?3 WHERE kind = ?1 AND app_slug = ?2",
        params![condition.kind.as_str(), app_key(condition), now],
    )?;
    Ok(())
}

/// Forgets a resolved condition once its resolution is queued.
pub fn forget(conn: &Connection, condition: &Condition) -> Result<(), DbError> {
    conn.execute(
        "DELETE FROM alert_conditions WHERE kind = ?1 AND app_slug = ?2 AND resolved_at IS NOT NULL",
        params![condition.kind.as_str(), app_key(condition)],
    )?;
    if condition.kind == AlertKind::PairsFailed {
        conn.execute(
            "DELETE FROM alert_failed_pairs WHERE app_slug = ?1",
            [app_key(condition)],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
