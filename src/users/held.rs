//! The held wave, both ways: what the revocation guard would hold of a change before it
//! is made (the reviews' warning), and cancelling what it held: each held person's own
//! role and removed group memberships put back as they were before the change, in one
//! audited transaction.

use std::collections::BTreeMap;

use rusqlite::{Transaction, TransactionBehavior, params};
use serde_json::json;

use super::audit::Audit;
use super::outcome::{Held, HeldIn, held_of};
use super::write::guard_rules;
use super::{ServiceError, UserService, roles, store};
use crate::db::alerts;
use crate::db::columns::RowExt;
use crate::db::{Conn, time};
use crate::domain::{AlertKind, Condition, Role, Slug};
use crate::pairs::{ReconcileJob, rails};

/// A review's warning: this many of the change's revocations in one app would be held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GuardWarning {
    /// The app's slug.
    pub app: String,
    /// Its name.
    pub name: String,
    /// The change's revocations the guard would hold there.
    pub held: usize,
    /// The change's revocations there (people losing access).
    pub revocations: usize,
    /// The guard's limit, in words.
    pub limit: String,
}

impl GuardWarning {
    /// The warning as one sentence, ending with what ticking "planned" does.
    pub fn sentence(&self, planned: &str) -> String {
        format!(
            "{} of these {} revocations in {} would be held by the revocation guard (limit: {}); {planned}",
            self.held, self.revocations, self.name, self.limit
        )
    }
}

/// What cancelling a held wave did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cancelled {
    /// People whose previous access was put back.
    pub restored: usize,
    /// Of them, those the app still holds as before: nothing is sent to it.
    pub unchanged_in_app: usize,
    /// People still held: deleted, or no previous access on record (their group is gone).
    pub still_held: usize,
    /// The app's pause for revocations ended (nothing held any more).
    pub resumed: bool,
}

impl Cancelled {
    /// The sentences that report it (the web's message, the CLI's lines).
    pub fn sentences(&self, name: &str) -> Vec<String> {
        let mut out = vec![match self.restored {
            0 => format!("No held revocation in {name} could be cancelled."),
            n => format!(
                "{} held revocations in {name} cancelled: each person has the role they had before.",
                n
            ),
        }];
        if self.unchanged_in_app > 0 {
            out.push(format!(
                "{} of their accounts are as {name} holds them: nothing is sent there for them.",
                self.unchanged_in_app
            ));
        }
        if self.still_held > 0 {
            out.push(format!(
                "{} held: deleted, or with no previous access on record; carry {} out, or give access back by hand.",
                match self.still_held {
                    1 => "1 person stays".to_owned(),
                    n => format!("{n} people stay"),
                },
                if self.still_held == 1 { "it" } else { "them" }
            ));
        }
        if self.resumed {
            out.push(format!("{name} is no longer paused for revocations."));
        }
        out
    }
}

impl UserService {
    /// Every app's name by slug (for the words of an outcome).
    pub(super) fn app_names(&self) -> BTreeMap<String, String> {
        self.settings
            .apps
            .iter()
            .map(|a| (a.slug.to_string(), a.name.clone()))
            .collect()
    }

    /// A change's held pairs per app, with the apps' names.
    pub(super) fn held_in(&self, held: Held) -> Vec<HeldIn> {
        let names = self.app_names();
        held.into_iter()
            .map(|(app, count)| HeldIn {
                name: names.get(&app).cloned().unwrap_or_else(|| app.clone()),
                app,
                count,
            })
            .collect()
    }

    /// Runs a change and the revocation guard over it in a transaction that is rolled
    /// back: per app, how many of its revocations the guard would hold.
    pub(super) async fn guard_preview<F>(&self, f: F) -> Result<Vec<GuardWarning>, ServiceError>
    where
        F: FnOnce(&Transaction<'_>, i64, &Audit) -> Result<Vec<ReconcileJob>, ServiceError>
            + Send
            + 'static,
    {
        if self.lift_guard {
            return Ok(Vec::new());
        }
        let audit = Audit {
            actor: self.actor.to_string(),
        };
        let rules = guard_rules(&self.settings);
        let names = self.app_names();
        self.db
            .run(move |conn: &mut Conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
                let now = time::now();
                let jobs = f(&tx, now, &audit)?;
                let out = warnings(&tx, jobs, &rules, &audit.actor, now, &names)?;
                // The same code path as the change, rolled back.
                tx.rollback()?;
                Ok::<_, ServiceError>(out)
            })
            .await
    }

    /// Cancels the revocations the guard holds in `app`: each held person's own role
    /// there and the memberships of groups granting it that the held change removed are
    /// put back, one audit entry per person; pairs the app still holds as before are
    /// provisioned again with no request; the pause ends once nothing is held.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn cancel_held(&self, app: &Slug) -> Result<Cancelled, ServiceError> {
        let app = app.clone();
        self.write(move |tx, now, audit| {
            store::app_exists(tx, &app)?;
            let slug = app.as_str();
            let people = rails::held_people(tx, slug)?;
            let mut restore_role = tx.prepare_cached(
                "UPDATE app_access SET direct_role = (SELECT direct_role FROM prior_roles p
                    WHERE p.user_id = app_access.user_id AND p.app_slug = app_access.app_slug)
                 WHERE user_id = ?1 AND app_slug = ?2 AND EXISTS (SELECT 1 FROM prior_roles p
                    WHERE p.user_id = app_access.user_id AND p.app_slug = app_access.app_slug)",
            )?;
            let mut rejoin = tx.prepare_cached(
                "INSERT OR IGNORE INTO group_members (group_id, user_id, added_at)
                 SELECT p.group_id, p.user_id, ?3 FROM prior_memberships p
                   JOIN access_groups g ON g.id = p.group_id
                   JOIN group_grants gg ON gg.group_id = p.group_id AND gg.app_slug = ?2
                  WHERE p.user_id = ?1
                 RETURNING group_id",
            )?;
            let mut jobs = Vec::new();
            let mut restored = Vec::new();
            for user in &people {
                // A deleted person's access is not given back: their deletion stays held.
                if deleted(tx, *user)? {
                    continue;
                }
                let was = pair_state(tx, *user, slug)?;
                restore_role.execute(params![user.to_string(), slug])?;
                let groups: Vec<String> = rejoin
                    .query_map(params![user.to_string(), slug, now], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                let refreshed = roles::refresh(tx, &[*user], None, now)?;
                let now_role = pair_state(tx, *user, slug)?;
                jobs.extend(refreshed.jobs);
                if !now_role.1.grants_access() {
                    continue;
                }
                let email = store::user_by_id(tx, *user)?.email.to_string();
                audit.record(
                    tx,
                    now,
                    "held.cancel",
                    Some(&format!("{email} / {slug}")),
                    Some(json!({ "role": was.0.as_str(), "effective": was.1.as_str() })),
                    Some(
                        json!({ "role": now_role.0.as_str(), "effective": now_role.1.as_str(),
                        "groups_rejoined": groups.len() }),
                    ),
                )?;
                restored.push(*user);
            }
            let marked = jobs.len();
            let jobs = rails::settle_cancelled(tx, slug, jobs, now)?;
            let unchanged_in_app = marked - jobs.len();
            let still_held = people.len() - restored.len();
            let resumed = rails::end_guard_pause(tx, slug)?;
            if resumed {
                let condition = Condition::of_app(AlertKind::RevocationGuard, app.clone());
                let said = format!(
                    "{} held revocations cancelled by {}",
                    restored.len(),
                    audit.actor
                );
                alerts::resolve(tx, &condition, &said, now)?;
                audit.record(
                    tx,
                    now,
                    "app.resume",
                    Some(slug),
                    Some(json!({ "paused": "revocations" })),
                    Some(json!({ "paused": null, "pairs_cancelled": restored.len() })),
                )?;
            }
            Ok((
                Cancelled {
                    restored: restored.len(),
                    unchanged_in_app,
                    still_held,
                    resumed,
                },
                jobs,
            ))
        })
        .await
    }
}

/// Runs the revocation guard over a change's marked pairs (`jobs`) in a transaction the
/// caller rolls back: per app, how many of its revocations would be held.
pub(super) fn warnings(
    tx: &Transaction<'_>,
    jobs: Vec<ReconcileJob>,
    rules: &rails::GuardRules,
    actor: &str,
    now: i64,
    names: &BTreeMap<String, String>,
) -> Result<Vec<GuardWarning>, ServiceError> {
    let mut revocations: BTreeMap<String, usize> = BTreeMap::new();
    for job in &jobs {
        if revokes(tx, job)? {
            *revocations.entry(job.app.clone()).or_insert(0) += 1;
        }
    }
    let marked: Vec<(uuid::Uuid, String)> =
        jobs.iter().map(|j| (j.user_id, j.app.clone())).collect();
    let (kept, _) = rails::guard(tx, jobs, rules, false, actor, now)?;
    let held = held_of(marked, &kept);
    let limit = format!(
        "more than {}% of its accounts within {}, from {} people on",
        rules.percent,
        rails::span(rules.window_secs),
        rules.min
    );
    Ok(held
        .into_iter()
        .map(|(app, n)| GuardWarning {
            name: names.get(&app).cloned().unwrap_or_else(|| app.clone()),
            revocations: revocations.get(&app).copied().unwrap_or(n),
            held: n,
            limit: limit.clone(),
            app,
        })
        .collect())
}

// Whether a marked pair takes access away (its role is none, or its person is deleted).
fn revokes(tx: &Transaction<'_>, job: &ReconcileJob) -> Result<bool, ServiceError> {
    Ok(tx
        .prepare_cached(
            "SELECT a.role = 'none' OR u.deleted_at IS NOT NULL FROM app_access a
               JOIN users u ON u.id = a.user_id WHERE a.user_id = ?1 AND a.app_slug = ?2",
        )?
        .query_row(params![job.user_id.to_string(), job.app], |r| r.get(0))?)
}

// Whether the person is deleted (being removed).
fn deleted(tx: &Transaction<'_>, user: uuid::Uuid) -> Result<bool, ServiceError> {
    Ok(tx
        .prepare_cached("SELECT deleted_at IS NOT NULL FROM users WHERE id = ?1")?
        .query_row([user.to_string()], |r| r.get(0))?)
}

// A pair's own and effective role.
fn pair_state(
    tx: &Transaction<'_>,
    user: uuid::Uuid,
    app: &str,
) -> Result<(Role, Role), ServiceError> {
    let mut stmt = tx.prepare_cached(
        "SELECT direct_role, role FROM app_access WHERE user_id = ?1 AND app_slug = ?2",
    )?;
    let mut rows = stmt.query(params![user.to_string(), app])?;
    match rows.next()? {
        Some(r) => Ok((r.typed(0, "app_access")?, r.typed(1, "app_access")?)),
        None => Ok((Role::None, Role::None)),
    }
}
