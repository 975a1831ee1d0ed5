//! The overview's reads: each app's counts by status and health (both kept by triggers,
//! see migration 0005), and the pairs that need an admin.

use rusqlite::Connection;

use super::DbError;
use super::columns::RowExt;
use super::pairs::{PAIR_COLUMNS, PairRow, pair_row};
use crate::domain::ProvisionStatus;

/// How an app is doing, as far as provisioning shows.
///
/// Whether it is paused or quarantined is `db::rails`' (the banners above the overview).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Nothing was attempted yet.
    Idle,
    /// The last attempt succeeded.
    Working,
    /// The last attempt failed.
    Failing,
}

/// One installed app on the overview.
#[derive(Debug, Clone)]
pub struct AppSummary {
    /// Slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Has SCIM settings.
    pub scim: bool,
    /// Pairs per status, in [`ProvisionStatus::ALL`] order, only those with pairs.
    pub counts: Vec<(ProvisionStatus, i64)>,
    /// How it is doing.
    pub health: Health,
    /// The last attempt that succeeded (unix seconds).
    pub last_success_at: Option<i64>,
    /// The last attempt that failed (unix seconds).
    pub last_error_at: Option<i64>,
    /// What that failure said.
    pub last_error: Option<String>,
}

impl AppSummary {
    /// Pairs of this app with `status`.
    pub fn count(&self, status: ProvisionStatus) -> i64 {
        self.counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }
}

/// The installed apps in settings order, with counts and health.
pub fn apps(conn: &Connection) -> Result<Vec<AppSummary>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.slug, p.name, p.scim_enabled, h.last_success_at, h.last_error_at, h.last_error
         FROM apps p LEFT JOIN app_health h ON h.app_slug = p.slug
         WHERE p.in_catalogue = 1 AND p.installed = 1 ORDER BY p.rowid",
    )?;
    let mut apps: Vec<AppSummary> = stmt
        .query_map([], |r| {
            let (success, error): (Option<i64>, Option<i64>) = (r.get(3)?, r.get(4)?);
            Ok(AppSummary {
                slug: r.get(0)?,
                name: r.get(1)?,
                scim: r.get(2)?,
                counts: Vec::new(),
                health: health(success, error),
                last_success_at: success,
                last_error_at: error,
                last_error: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut counts = conn
        .prepare_cached("SELECT status, n FROM app_status_counts WHERE app_slug = ?1 AND n != 0")?;
    for app in &mut apps {
        app.counts = counts
            .query_map([&app.slug], |r| {
                Ok((
                    r.typed::<ProvisionStatus>(0, "app_status_counts")?,
                    r.get::<_, i64>(1)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        if let Some((status, n)) = app.counts.iter().find(|(_, n)| *n < 0) {
            return Err(DbError::Corrupt(format!(
                "app_status_counts: {} pairs of {} are {status}",
                n, app.slug
            )));
        }
        app.counts
            .sort_by_key(|(s, _)| ProvisionStatus::ALL.iter().position(|x| x == s));
    }
    Ok(apps)
}

fn health(success: Option<i64>, error: Option<i64>) -> Health {
    match (success, error) {
        (None, None) => Health::Idle,
        (Some(s), Some(e)) if e > s => Health::Failing,
        (None, Some(_)) => Health::Failing,
        _ => Health::Working,
    }
}

/// The pairs needing attention in installed apps: held by the revocation guard (their
/// message says so) first, then in error or failed, most recent first; at most `limit`.
pub fn attention(conn: &Connection, limit: usize) -> Result<Vec<PairRow>, DbError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PAIR_COLUMNS} FROM app_access a JOIN users u ON u.id = a.user_id
         JOIN apps p ON p.slug = a.app_slug
         WHERE a.status IN ('held', 'error', 'failed') AND p.installed = 1 AND p.in_catalogue = 1
         ORDER BY a.status = 'held' DESC, a.last_attempt_at DESC, u.name COLLATE NOCASE LIMIT ?1"
    ))?;
    let rows = stmt
        .query_map([limit as i64], pair_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
