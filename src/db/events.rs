//! Reads of the provisioning events (`provision_attempts`) and their requests: /activity,
//! the overview's latest events and a person's history.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::DbError;

/// The outcomes an event can have, in the order the filter offers them.
pub const OUTCOMES: [&str; 5] = [
    "provisioned",
    "deprovisioned",
    "not_provisioned",
    "error",
    "failed",
];

/// One reconcile attempt of a pair.
#[derive(Debug, Clone)]
pub struct Event {
    /// Row id.
    pub id: i64,
    /// When it was recorded (unix seconds).
    pub at: i64,
    /// The person, while they exist.
    pub user_id: Option<String>,
    /// Email at the time.
    pub user_email: String,
    /// Name at the time.
    pub user_name: String,
    /// App slug.
    pub app: String,
    /// The app's display name (the slug when it left the catalogue).
    pub app_name: String,
    /// A settled status, `error` or `failed` (`ok` for events kept from before version 5).
    pub outcome: String,
    /// What it did, in a few words.
    pub summary: String,
    /// The full message.
    pub message: Option<String>,
    /// Requests it made.
    pub requests: i64,
    /// Milliseconds spent in those requests.
    pub duration_ms: i64,
}

/// One request of an event.
#[derive(Debug, Clone)]
pub struct Request {
    /// SCIM operation, e.g. `find_user`.
    pub operation: String,
    /// HTTP method (absent on rows from before version 5).
    pub method: Option<String>,
    /// Path under the base URL (absent on rows from before version 5).
    pub path: Option<String>,
    /// HTTP status, when the app answered.
    pub http_status: Option<i64>,
    /// Milliseconds.
    pub duration_ms: Option<i64>,
    /// `ok` or `error`.
    pub outcome: String,
    /// What went wrong, in the app's words.
    pub message: Option<String>,
}

/// Which events to show.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only this app.
    pub app: Option<String>,
    /// Only people whose name or email contains this (case-insensitive).
    pub person: Option<String>,
    /// Only this person (by id).
    pub user_id: Option<String>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// Rows to skip.
    pub offset: usize,
    /// Rows to return.
    pub limit: usize,
}

const FILTER: &str = "(?1 IS NULL OR e.app_slug = ?1)
    AND (?2 IS NULL OR e.user_name LIKE ?2 ESCAPE '\\' OR lower(e.user_email) LIKE lower(?2) ESCAPE '\\')
    AND (?3 IS NULL OR e.outcome = ?3) AND (?4 IS NULL OR e.user_id = ?4)";

fn event(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        id: r.get(0)?,
        at: r.get(1)?,
        user_id: r.get(2)?,
        user_email: r.get(3)?,
        user_name: r.get(4)?,
        app: r.get(5)?,
        app_name: r.get(6)?,
        outcome: r.get(7)?,
        summary: r.get(8)?,
        message: r.get(9)?,
        requests: r.get(10)?,
        duration_ms: r.get(11)?,
    })
}

/// Events, newest first, with how many match.
pub fn events(conn: &Connection, q: &EventQuery) -> Result<(Vec<Event>, usize), DbError> {
    let person = q
        .person
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(super::contains_pattern);
    let args = params![q.app, person, q.outcome, q.user_id];
    let unfiltered =
        q.app.is_none() && person.is_none() && q.outcome.is_none() && q.user_id.is_none();
    let total: i64 = if unfiltered {
        conn.prepare_cached("SELECT count(*) FROM provision_attempts")?
            .query_row([], |r| r.get(0))?
    } else {
        conn.prepare_cached(&format!(
            "SELECT count(*) FROM provision_attempts e WHERE {FILTER}"
        ))?
        .query_row(args, |r| r.get(0))?
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT e.id, e.at, e.user_id, e.user_email, e.user_name, e.app_slug, COALESCE(p.name, e.app_slug),
                e.outcome, e.summary, e.message, e.requests, e.duration_ms
         FROM provision_attempts e LEFT JOIN apps p ON p.slug = e.app_slug
         WHERE {FILTER} ORDER BY e.id DESC LIMIT ?5 OFFSET ?6"
    ))?;
    let rows = stmt
        .query_map(
            params![
                q.app,
                person,
                q.outcome,
                q.user_id,
                q.limit as i64,
                q.offset as i64
            ],
            event,
        )?
        .collect::<Result<_, _>>()?;
    Ok((rows, total as usize))
}

/// The requests of these events, in the order they were made, by event id.
pub fn requests(conn: &Connection, events: &[i64]) -> Result<HashMap<i64, Vec<Request>>, DbError> {
    let mut out: HashMap<i64, Vec<Request>> = HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT attempt_id, operation, method, path, http_status, duration_ms, outcome, message
         FROM provision_log WHERE attempt_id = ?1 ORDER BY id",
    )?;
    for id in events {
        let mut rows = stmt.query([id])?;
        while let Some(r) = rows.next()? {
            out.entry(r.get(0)?).or_default().push(Request {
                operation: r.get(1)?,
                method: r.get(2)?,
                path: r.get(3)?,
                http_status: r.get(4)?,
                duration_ms: r.get(5)?,
                outcome: r.get(6)?,
                message: r.get(7)?,
            });
        }
    }
    Ok(out)
}
