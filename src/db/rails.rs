//! `app_rails`: which apps are paused or quarantined, since when, why and by whom.
//!
//! A plain state with timestamps, so that pages, metrics, the command line and alerts
//! all read the same thing: [`all`] lists it. What it does to pairs is `pairs::rails`'.

use rusqlite::{Connection, OptionalExtension, params};

use super::{DbError, alerts};
use crate::domain::{AlertKind, ProvisionStatus};

/// How far an app is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pause {
    /// The revocation guard tripped: disabling and deleting accounts waits (`held`).
    Revocations,
    /// An admin paused it (maintenance): nothing is sent to the app.
    All,
}

impl Pause {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Pause::Revocations => "revocations",
            Pause::All => "all",
        }
    }

    fn parse(raw: &str) -> Option<Pause> {
        match raw {
            "revocations" => Some(Pause::Revocations),
            "all" => Some(Pause::All),
            _ => None,
        }
    }
}

/// One app's pause and quarantine state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppRails {
    /// The app's slug.
    pub app: String,
    /// Paused, and how far.
    pub paused: Option<Pause>,
    /// Why (the guard's count, or the admin's words).
    pub pause_reason: Option<String>,
    /// Who caused the pause: the admin who paused it, or whose change tripped the guard.
    pub paused_by: Option<String>,
    /// Since when (unix seconds).
    pub paused_at: Option<i64>,
    /// The first failed request since the last success, while every request fails.
    pub failing_since: Option<i64>,
    /// Quarantined since (unix seconds).
    pub quarantined_at: Option<i64>,
    /// Why.
    pub quarantine_reason: Option<String>,
    /// When the next probe is due.
    pub next_probe_at: Option<i64>,
}

impl AppRails {
    /// Whether the app is quarantined.
    pub fn quarantined(&self) -> bool {
        self.quarantined_at.is_some()
    }

    /// What a pair of this app in `status` says while the app is quarantined, in place of
    /// its last attempt's words (whose "attempt 2 of 4, next in 2s" no longer holds):
    /// "waiting for Zulip to answer again (next probe in 3 min)". `None` otherwise.
    pub fn waiting_note(
        &self,
        app_name: &str,
        status: ProvisionStatus,
        now: i64,
    ) -> Option<String> {
        if !self.quarantined()
            || !matches!(status, ProvisionStatus::Error | ProvisionStatus::SyncNeeded)
        {
            return None;
        }
        let next = match self.next_probe_at {
            Some(at) => format!(" (next probe {})", super::time::until(at, now)),
            None => String::new(),
        };
        Some(format!("waiting for {app_name} to answer again{next}"))
    }
}

/// Pairs of a quarantined app say what they wait for instead of their last attempt's
/// words ([`AppRails::waiting_note`]), wherever a page lists them; `name_of` names an app.
pub fn note_waiting(
    rows: &mut [super::pairs::PairRow],
    rails: &[AppRails],
    name_of: impl Fn(&str) -> String,
    now: i64,
) {
    for p in rows {
        let note = rails
            .iter()
            .find(|r| r.app == p.app)
            .and_then(|r| r.waiting_note(&name_of(&p.app), p.status, now));
        if let Some(note) = note {
            p.last_message = Some(note);
        }
    }
}

const COLUMNS: &str = "app_slug, paused, pause_reason, paused_by, paused_at, failing_since,
    quarantined_at, quarantine_reason, next_probe_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AppRails> {
    let paused = match r.get::<_, Option<String>>(1)? {
        None => None,
        Some(raw) => Some(Pause::parse(&raw).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                Box::new(super::columns::BadValue {
                    table: "app_rails",
                    column: "paused".into(),
                    value: raw,
                    expected: "pause (revocations or all)",
                }),
            )
        })?),
    };
    Ok(AppRails {
        app: r.get(0)?,
        paused,
        pause_reason: r.get(2)?,
        paused_by: r.get(3)?,
        paused_at: r.get(4)?,
        failing_since: r.get(5)?,
        quarantined_at: r.get(6)?,
        quarantine_reason: r.get(7)?,
        next_probe_at: r.get(8)?,
    })
}

/// Every app that is paused, quarantined or failing, by slug.
pub fn all(conn: &Connection) -> Result<Vec<AppRails>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM app_rails
         WHERE paused IS NOT NULL OR quarantined_at IS NOT NULL OR failing_since IS NOT NULL
         ORDER BY app_slug"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One app's state; `None` when it was never paused, failing or quarantined.
pub fn of(conn: &Connection, app: &str) -> Result<Option<AppRails>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM app_rails WHERE app_slug = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([app], row)
        .optional()?)
}

/// Pauses `app`; a pause already in force keeps its time, and a full pause is never
/// narrowed to revocations.
pub fn pause(
    conn: &Connection,
    app: &str,
    how: Pause,
    reason: &str,
    by: &str,
    now: i64,
) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO app_rails (app_slug, paused, pause_reason, paused_by, paused_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (app_slug) DO UPDATE SET
            paused = CASE WHEN paused = 'all' THEN 'all' ELSE excluded.paused END,
            pause_reason = CASE WHEN paused = 'all' AND excluded.paused != 'all'
                THEN pause_reason ELSE excluded.pause_reason END,
            paused_by = CASE WHEN paused = 'all' AND excluded.paused != 'all'
                THEN paused_by ELSE excluded.paused_by END,
            paused_at = COALESCE(paused_at, excluded.paused_at)",
    )?
    .execute(params![app, how.as_str(), reason, by, now])?;
    Ok(())
}

/// Ends a pause; returns how far the app was paused.
pub fn end_pause(conn: &Connection, app: &str) -> Result<Option<Pause>, DbError> {
    let before = of(conn, app)?.and_then(|r| r.paused);
    conn.prepare_cached(
        "UPDATE app_rails SET paused = NULL, pause_reason = NULL, paused_by = NULL, paused_at = NULL
         WHERE app_slug = ?1",
    )?
    .execute([app])?;
    Ok(before)
}

/// Notes that a request of `app` failed at `now` with every request failing since.
/// Returns since when they have been failing.
pub fn note_failing(conn: &Connection, app: &str, now: i64) -> Result<i64, DbError> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO app_rails (app_slug, failing_since) VALUES (?1, ?2)
             ON CONFLICT (app_slug) DO UPDATE SET failing_since = COALESCE(failing_since, excluded.failing_since)
             RETURNING failing_since",
        )?
        .query_row(params![app, now], |r| r.get(0))?)
}

/// Notes that a request of `app` succeeded; returns whether that ended a quarantine.
pub fn note_success(conn: &Connection, app: &str, now: i64) -> Result<bool, DbError> {
    let was = of(conn, app)?.is_some_and(|r| r.quarantined());
    conn.prepare_cached(
        "UPDATE app_rails SET failing_since = NULL, quarantined_at = NULL, quarantine_reason = NULL,
            next_probe_at = NULL
         WHERE app_slug = ?1 AND (failing_since IS NOT NULL OR quarantined_at IS NOT NULL)",
    )?
    .execute([app])?;
    if was {
        let condition = alerts::of_app(AlertKind::AppQuarantined, app)?;
        alerts::resolve(
            conn,
            &condition,
            "The app answers again: it left quarantine.",
            now,
        )?;
    }
    Ok(was)
}

/// Quarantines `app` (keeping an earlier start), with the next probe at `next_probe_at`;
/// returns whether it was not quarantined before.
pub fn quarantine(
    conn: &Connection,
    app: &str,
    reason: &str,
    now: i64,
    next_probe_at: i64,
) -> Result<bool, DbError> {
    let was = of(conn, app)?.is_some_and(|r| r.quarantined());
    conn.prepare_cached(
        "INSERT INTO app_rails (app_slug, failing_since, quarantined_at, quarantine_reason, next_probe_at)
         VALUES (?1, ?2, ?2, ?3, ?4)
         ON CONFLICT (app_slug) DO UPDATE SET
            failing_since = COALESCE(failing_since, excluded.failing_since),
            quarantined_at = COALESCE(quarantined_at, excluded.quarantined_at),
            quarantine_reason = excluded.quarantine_reason,
            next_probe_at = excluded.next_probe_at",
    )?
    .execute(params![app, now, reason, next_probe_at])?;
    // Raised again on every failed probe, harmlessly: a condition alerts once.
    alerts::raise(
        conn,
        &alerts::of_app(AlertKind::AppQuarantined, app)?,
        reason,
        now,
    )?;
    Ok(!was)
}

/// Quarantined apps whose probe is due at `now`.
pub fn due_probes(conn: &Connection, now: i64) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT app_slug FROM app_rails WHERE quarantined_at IS NOT NULL AND next_probe_at <= ?1",
    )?;
    let rows = stmt.query_map([now], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Makes the probe of a quarantined app due now (`app resume`).
pub fn probe_now(conn: &Connection, app: &str, now: i64) -> Result<bool, DbError> {
    let n = conn
        .prepare_cached(
            "UPDATE app_rails SET next_probe_at = ?2 WHERE app_slug = ?1 AND quarantined_at IS NOT NULL",
        )?
        .execute(params![app, now])?;
    Ok(n > 0)
}
