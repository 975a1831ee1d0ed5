//! The alert tables: conditions while they last (`raise`, `resolve`: any layer may call
//! them inside its own transaction), the failed pairs already named, and the outbox.
//!
//! Nothing here sends anything: the alerts task (`crate::alerts`) reads these rows and
//! delivers them, so raising a condition never waits on a channel.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::DbError;
use super::columns::RowExt;
use crate::domain::{AlertKind, Condition, Slug};

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

/// Where a message stands in a condition's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    /// The condition began.
    Raised,
    /// More of the same (more pairs failed) while it lasts.
    Update,
    /// The condition ended.
    Resolved,
    /// `accessboard alerts test`: sent at once, never queued.
    Test,
}

impl MessageState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Raised => "raised",
            MessageState::Update => "update",
            MessageState::Resolved => "resolved",
            MessageState::Test => "test",
        }
    }

    fn parse(raw: &str) -> Option<MessageState> {
        [
            MessageState::Raised,
            MessageState::Update,
            MessageState::Resolved,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// One message, as queued for every channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// What it is about.
    pub kind: AlertKind,
    /// The app, if it is about one.
    pub app: Option<Slug>,
    /// Raised, more of it, or resolved.
    pub state: MessageState,
    /// One line (the email's subject).
    pub title: String,
    /// The rest, plain text.
    pub body: String,
    /// When it was queued.
    pub at: i64,
}

/// A queued message for one channel.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The outbox row.
    pub id: i64,
    /// The message.
    pub message: Message,
    /// Failed tries so far.
    pub attempts: i64,
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

fn condition_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, ConditionRowParts)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        (r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?),
    ))
}

type ConditionRowParts = (String, i64, Option<i64>, Option<i64>, Option<String>);

fn conditions(conn: &Connection, filter: &str) -> Result<Vec<ConditionRow>, DbError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT kind, app_slug, detail, raised_at, announced_at, resolved_at, resolution
         FROM alert_conditions {filter} ORDER BY raised_at, kind, app_slug"
    ))?;
    let rows = stmt
        .query_map([], condition_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |(kind, app, (detail, raised_at, announced_at, resolved_at, resolution))| {
                Ok(ConditionRow {
                    condition: Condition {
                        kind: stored_kind(&kind, "alert_conditions")?,
                        app: stored_app(app, "alert_conditions")?,
                    },
                    detail,
                    raised_at,
                    announced_at,
                    resolved_at,
                    resolution,
                })
            },
        )
        .collect()
}

/// Conditions with news to tell: raised and not yet announced, or resolved.
pub fn to_announce(conn: &Connection) -> Result<Vec<ConditionRow>, DbError> {
    conditions(
        conn,
        "WHERE announced_at IS NULL OR resolved_at IS NOT NULL",
    )
}

/// Every condition standing now.
pub fn standing(conn: &Connection) -> Result<Vec<ConditionRow>, DbError> {
    conditions(conn, "WHERE resolved_at IS NULL")
}

/// One condition, if raised.
pub fn get(conn: &Connection, condition: &Condition) -> Result<Option<ConditionRow>, DbError> {
    let row = conn
        .query_row(
            "SELECT kind, app_slug, detail, raised_at, announced_at, resolved_at, resolution
             FROM alert_conditions WHERE kind = ?1 AND app_slug = ?2",
            params![condition.kind.as_str(), app_key(condition)],
            |r| {
                Ok((
                    r.get::<_, String>(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()?;
    Ok(row.map(
        |(detail, raised_at, announced_at, resolved_at, resolution)| ConditionRow {
            condition: condition.clone(),
            detail,
            raised_at,
            announced_at,
            resolved_at,
            resolution,
        },
    ))
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

/// A failed pair, as an alert names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedPair {
    /// The person.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// Their email.
    pub email: String,
    /// Why it failed (the app's words, already cut and cleaned).
    pub message: Option<String>,
}

/// Apps with failed pairs now, or with a failure condition standing.
pub fn apps_to_watch(conn: &Connection) -> Result<Vec<Slug>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT app_slug FROM app_status_counts WHERE status = 'failed' AND n > 0
         UNION SELECT app_slug FROM alert_conditions WHERE kind = 'pairs_failed'",
    )?;
    let rows = stmt.query_map([], |r| r.typed::<Slug>(0, "app_status_counts"))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many of `app`'s pairs are failed.
pub fn failed_count(conn: &Connection, app: &Slug) -> Result<i64, DbError> {
    Ok(conn
        .query_row(
            "SELECT n FROM app_status_counts WHERE app_slug = ?1 AND status = 'failed'",
            [app.as_str()],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Takes the failed pairs of `app` no alert has named yet: up to `limit` of them
/// (by name), and how many there are; all of them count as named from now on.
/// Call inside one transaction, so that a pair failing meanwhile is not named unseen.
pub fn take_new_failures(
    conn: &Connection,
    app: &Slug,
    limit: usize,
) -> Result<(Vec<FailedPair>, usize), DbError> {
    // A pair that recovered, or failed again since, is no longer the one named.
    conn.execute(
        "DELETE FROM alert_failed_pairs WHERE app_slug = ?1 AND NOT EXISTS (
           SELECT 1 FROM app_access a WHERE a.app_slug = alert_failed_pairs.app_slug
             AND a.user_id = alert_failed_pairs.user_id AND a.status = 'failed'
             AND a.status_since = alert_failed_pairs.failed_since)",
        [app.as_str()],
    )?;
    let unnamed = "FROM app_access a JOIN users u ON u.id = a.user_id
         WHERE a.app_slug = ?1 AND a.status = 'failed' AND NOT EXISTS (
           SELECT 1 FROM alert_failed_pairs r WHERE r.app_slug = a.app_slug AND r.user_id = a.user_id)";
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT a.user_id, u.name, u.email, a.last_message {unnamed}
         ORDER BY u.name_key, u.email_norm LIMIT ?2"
    ))?;
    let listed = stmt
        .query_map(params![app.as_str(), limit as i64], |r| {
            Ok(FailedPair {
                user_id: r.typed(0, "app_access")?,
                name: r.get(1)?,
                email: r.get(2)?,
                message: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let total: i64 =
        conn.query_row(&format!("SELECT count(*) {unnamed}"), [app.as_str()], |r| {
            r.get(0)
        })?;
    conn.execute(
        &format!(
            "INSERT INTO alert_failed_pairs (app_slug, user_id, failed_since)
             SELECT a.app_slug, a.user_id, a.status_since {unnamed}"
        ),
        [app.as_str()],
    )?;
    Ok((listed, total as usize))
}

/// Queues `message` for each of `channels`, keeping at most `keep` waiting per channel
/// (the oldest go first); how many old ones were dropped.
pub fn enqueue(
    conn: &Connection,
    channels: &[&str],
    message: &Message,
    keep: usize,
) -> Result<usize, DbError> {
    let mut dropped = 0;
    for channel in channels {
        conn.execute(
            "INSERT INTO alert_outbox (channel, kind, app_slug, state, title, body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                channel,
                message.kind.as_str(),
                message.app.as_ref().map(Slug::as_str).unwrap_or(""),
                message.state.as_str(),
                message.title,
                message.body,
                message.at
            ],
        )?;
        dropped += conn.execute(
            "DELETE FROM alert_outbox WHERE channel = ?1 AND id NOT IN (
               SELECT id FROM alert_outbox WHERE channel = ?1 ORDER BY id DESC LIMIT ?2)",
            params![channel, keep as i64],
        )?;
    }
    Ok(dropped)
}

/// Drops what waits for a channel no longer configured; how many.
pub fn drop_channel(conn: &Connection, channel: &str) -> Result<usize, DbError> {
    Ok(conn.execute("DELETE FROM alert_outbox WHERE channel = ?1", [channel])?)
}

/// The oldest message waiting for `channel`.
pub fn next(conn: &Connection, channel: &str) -> Result<Option<Queued>, DbError> {
    let row = conn
        .query_row(
            "SELECT id, kind, app_slug, state, title, body, created_at, attempts
             FROM alert_outbox WHERE channel = ?1 ORDER BY id LIMIT 1",
            [channel],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            },
        )
        .optional()?;
    let Some((id, kind, app, state, title, body, at, attempts)) = row else {
        return Ok(None);
    };
    let state = MessageState::parse(&state).ok_or_else(|| {
        DbError::Corrupt(format!(
            "alert_outbox.state holds {state:?}, not a message state"
        ))
    })?;
    Ok(Some(Queued {
        id,
        message: Message {
            kind: stored_kind(&kind, "alert_outbox")?,
            app: stored_app(app, "alert_outbox")?,
            state,
            title,
            body,
            at,
        },
        attempts,
    }))
}

/// Removes a message its channel took.
pub fn sent(conn: &Connection, id: i64) -> Result<(), DbError> {
    conn.execute("DELETE FROM alert_outbox WHERE id = ?1", [id])?;
    Ok(())
}

/// Records a failed try of a message (it stays queued).
pub fn not_sent(conn: &Connection, id: i64, error: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::migrate(&mut c).unwrap();
        c
    }

    fn quarantine(app: &str) -> Condition {
        Condition::of_app(AlertKind::AppQuarantined, Slug::parse(app).unwrap())
    }

    #[test]
    fn a_condition_is_raised_once_until_its_resolution_is_told() {
        let c = db();
        let q = quarantine("files");
        assert!(raise(&c, &q, "every request failed for 15 minutes", 10).unwrap());
        assert!(
            !raise(&c, &q, "again", 20).unwrap(),
            "a standing condition is raised once"
        );
        assert_eq!(
            get(&c, &q).unwrap().unwrap().detail,
            "every request failed for 15 minutes"
        );
        assert_eq!(to_announce(&c).unwrap().len(), 1);
        announced(&c, &q, 11).unwrap();
        assert!(to_announce(&c).unwrap().is_empty());
        assert!(resolve(&c, &q, "a probe succeeded", 30).unwrap());
        assert!(!resolve(&c, &q, "twice", 31).unwrap());
        let told = to_announce(&c).unwrap();
        assert_eq!(told[0].resolution.as_deref(), Some("a probe succeeded"));
        forget(&c, &q).unwrap();
        assert!(get(&c, &q).unwrap().is_none());
        assert!(
            raise(&c, &q, "down again", 40).unwrap(),
            "a new episode is new"
        );
    }

    #[test]
    fn a_condition_back_before_its_resolution_was_told_stands_on() {
        let c = db();
        let g = Condition::of_app(AlertKind::RevocationGuard, Slug::parse("chat").unwrap());
        raise(&c, &g, "35 revocations in 5 minutes", 1).unwrap();
        announced(&c, &g, 2).unwrap();
        resolve(&c, &g, "released", 3).unwrap();
        assert!(!raise(&c, &g, "tripped again", 4).unwrap());
        let row = get(&c, &g).unwrap().unwrap();
        assert_eq!((row.resolved_at, row.announced_at), (None, Some(2)));
        assert_eq!(standing(&c).unwrap().len(), 1);
    }

    #[test]
    fn the_outbox_keeps_the_newest_per_channel() {
        let c = db();
        let m = |n: i64| Message {
            kind: AlertKind::IdentitySyncHeldBack,
            app: None,
            state: MessageState::Raised,
            title: format!("m{n}"),
            body: String::new(),
            at: n,
        };
        for n in 0..5 {
            enqueue(&c, &["webhook", "email"], &m(n), 3).unwrap();
        }
        let first = next(&c, "webhook").unwrap().unwrap();
        assert_eq!(first.message.title, "m2");
        not_sent(&c, first.id, "connection refused").unwrap();
        assert_eq!(next(&c, "webhook").unwrap().unwrap().attempts, 1);
        sent(&c, first.id).unwrap();
        assert_eq!(next(&c, "webhook").unwrap().unwrap().message.title, "m3");
        assert_eq!(drop_channel(&c, "email").unwrap(), 3);
        assert!(next(&c, "email").unwrap().is_none());
    }
}
