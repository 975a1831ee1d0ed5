//! The failed pairs an alert has named (`alert_failed_pairs`), so each is named once
//! per time it fails.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::db::DbError;
use crate::db::columns::RowExt;
use crate::domain::Slug;

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
        .prepare_cached(
            "SELECT n FROM app_status_counts WHERE app_slug = ?1 AND status = 'failed'",
        )?
        .query_row([app.as_str()], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The states in which a pair is in step with what the admin decided.
const SETTLED: &str = "('provisioned', 'deprovisioned', 'not_provisioned')";

/// How many pairs of `app` an alert named as failed have not settled since (the pair
/// gone counts as settled): a failure is over only when these are none.
pub fn named_unsettled(conn: &Connection, app: &Slug) -> Result<i64, DbError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM alert_failed_pairs r JOIN app_access a
               ON a.app_slug = r.app_slug AND a.user_id = r.user_id
             WHERE r.app_slug = ?1 AND a.status NOT IN {SETTLED}"
        ))?
        .query_row([app.as_str()], |r| r.get(0))?)
}

/// Takes the failed pairs of `app` no alert has named yet: up to `limit` of them
/// (by name), and how many there are; all of them count as named from now on.
/// Call inside one transaction, so that a pair failing meanwhile is not named unseen.
pub fn take_new_failures(
    conn: &Connection,
    app: &Slug,
    limit: usize,
) -> Result<(Vec<FailedPair>, usize), DbError> {
    // A pair that settled, or failed again since, is no longer the one named; one that
    // waits (quarantine made it `error` again) still is, until it settles.
    conn.execute(
        &format!(
            "DELETE FROM alert_failed_pairs WHERE app_slug = ?1 AND NOT EXISTS (
               SELECT 1 FROM app_access a WHERE a.app_slug = alert_failed_pairs.app_slug
                 AND a.user_id = alert_failed_pairs.user_id AND a.status NOT IN {SETTLED}
                 AND (a.status != 'failed' OR a.status_since = alert_failed_pairs.failed_since))"
        ),
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
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) {unnamed}"))?
        .query_row([app.as_str()], |r| r.get(0))?;
    conn.execute(
        &format!(
            "INSERT INTO alert_failed_pairs (app_slug, user_id, failed_since)
             SELECT a.app_slug, a.user_id, a.status_since {unnamed}"
        ),
        [app.as_str()],
    )?;
    Ok((listed, total as usize))
}
