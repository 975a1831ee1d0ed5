//! The outbox (`alert_outbox`): messages waiting for each channel, oldest first.

use rusqlite::{Connection, OptionalExtension, params};

use super::{stored_app, stored_kind};
use crate::db::DbError;
use crate::domain::{AlertKind, Slug};

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
        .prepare_cached(
            "SELECT id, kind, app_slug, state, title, body, created_at, attempts
             FROM alert_outbox WHERE channel = ?1 ORDER BY id LIMIT 1",
        )?
        .query_row([channel], |r| {
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
        })
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
