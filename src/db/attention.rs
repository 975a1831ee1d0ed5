//! "Needs attention" on the overview: the pairs that wait, failed or are held, grouped by
//! app and cause. The counts come from `app_status_counts` (kept by triggers) and the
//! cause from `app_rails`; each group reads a few of its people through the
//! `(app_slug, status)` index, so an outage of thousands costs no more than one of three.

use rusqlite::{Connection, params};
use uuid::Uuid;

use super::DbError;
use super::columns::RowExt;
use super::overview::AppSummary;
use super::rails::{AppRails, Pause};
use crate::domain::ProvisionStatus;

/// Why a group of pairs needs an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// An admin paused the app: nothing is sent to it.
    Paused,
    /// Every request failed for long enough: one probe at a time until it answers.
    Quarantined,
    /// Every request fails, not for long enough to quarantine it yet.
    Unreachable,
    /// The app answers, but with errors; each pair is retried by itself.
    Retrying,
    /// Gave up: retrying cannot help until an admin acts.
    Failed,
    /// Revocations the revocation guard holds until an admin resumes the app.
    Held,
}

impl Cause {
    /// The pair states a group of this cause counts.
    pub fn statuses(self) -> &'static [ProvisionStatus] {
        match self {
            Cause::Paused | Cause::Quarantined => {
                &[ProvisionStatus::Error, ProvisionStatus::SyncNeeded]
            }
            Cause::Unreachable | Cause::Retrying => &[ProvisionStatus::Error],
            Cause::Failed => &[ProvisionStatus::Failed],
            Cause::Held => &[ProvisionStatus::Held],
        }
    }
}

/// One person of a group.
#[derive(Debug, Clone)]
pub struct Person {
    /// Their id.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// Their email.
    pub email: String,
    /// The pair's last attempt (unix seconds).
    pub last_attempt_at: Option<i64>,
}

/// Pairs of one app that need an admin for one cause.
#[derive(Debug, Clone)]
pub struct Group {
    /// The app's slug.
    pub app: String,
    /// Why.
    pub cause: Cause,
    /// How many pairs.
    pub count: i64,
    /// Some of them (at most the `per_group` asked for), by name.
    pub people: Vec<Person>,
}

/// The groups of every app in `apps` (their order), each with up to `per_group` people.
pub fn groups(
    conn: &Connection,
    apps: &[AppSummary],
    rails: &[AppRails],
    per_group: usize,
) -> Result<Vec<Group>, DbError> {
    let mut out = Vec::new();
    for app in apps {
        let state = rails.iter().find(|r| r.app == app.slug);
        let waiting = match state {
            Some(s) if s.paused == Some(Pause::All) => Cause::Paused,
            Some(s) if s.quarantined() => Cause::Quarantined,
            Some(s) if s.failing_since.is_some() => Cause::Unreachable,
            _ => Cause::Retrying,
        };
        for cause in [waiting, Cause::Failed, Cause::Held] {
            let count: i64 = cause.statuses().iter().map(|s| app.count(*s)).sum();
            if count > 0 {
                let people = people(conn, &app.slug, cause.statuses(), per_group)?;
                out.push(Group {
                    app: app.slug.clone(),
                    cause,
                    count,
                    people,
                });
            }
        }
    }
    Ok(out)
}

// Up to `limit` people of `app` in `statuses`, by name. The index gives any `limit` of
// them without a sort (in id order); a group that fits is shown whole, a larger one is a
// sample with a link to the full list.
fn people(
    conn: &Connection,
    app: &str,
    statuses: &[ProvisionStatus],
    limit: usize,
) -> Result<Vec<Person>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.user_id, u.name, u.email, a.last_attempt_at, u.name_key, u.email_norm
         FROM app_access a JOIN users u ON u.id = a.user_id
         WHERE a.app_slug = ?1 AND a.status = ?2 ORDER BY a.user_id LIMIT ?3",
    )?;
    let mut found: Vec<(Vec<u8>, String, Person)> = Vec::new();
    for status in statuses {
        let rows = stmt.query_map(params![app, status.as_str(), limit as i64], |r| {
            Ok((
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, String>(5)?,
                Person {
                    user_id: r.typed(0, "app_access")?,
                    name: r.get(1)?,
                    email: r.get(2)?,
                    last_attempt_at: r.get(3)?,
                },
            ))
        })?;
        for row in rows {
            found.push(row?);
        }
    }
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(found.into_iter().take(limit).map(|(_, _, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_reads_its_people_through_the_index_without_sorting_the_app() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut c).unwrap();
        let plan: Vec<String> = c
            .prepare(
                "EXPLAIN QUERY PLAN SELECT a.user_id, u.name, u.email, a.last_attempt_at, u.name_key, u.email_norm
                 FROM app_access a JOIN users u ON u.id = a.user_id
                 WHERE a.app_slug = ?1 AND a.status = ?2 ORDER BY a.user_id LIMIT ?3",
            )
            .unwrap()
            .query_map(params!["files", "error", 10], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("app_access_app_status"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
