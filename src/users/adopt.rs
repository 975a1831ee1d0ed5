//! Applying a reviewed discovery plan: each account linked, imported as a person,
//! disabled or left unmanaged, in transactions of at most [`ROWS_PER_TX`] accounts, one
//! audit entry per account.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;
use uuid::Uuid;

use super::audit::Audit;
use super::store;
use super::{ServiceError, UserService};
use crate::db::{meta, unmanaged};
use crate::domain::{Decision, Email, NewUser, PersonName, Role, Slug};
use crate::pairs::{Pairs, ReconcileJob, mark_for_sync};

/// Accounts applied per transaction: a large plan never holds the write lock long.
pub const ROWS_PER_TX: usize = 1000;

/// One account of a plan and what the admin decided for it.
#[derive(Debug, Clone)]
pub struct AdoptStep {
    /// The app's id for the account.
    pub account_id: String,
    /// Its userName (for messages and the unmanaged list).
    pub user_name: String,
    /// Whether the listing showed it active.
    pub active: bool,
    /// Its name, for an imported person.
    pub name: Option<String>,
    /// The person it is (link, disable) or becomes (import); `None`: nobody here.
    pub email: Option<Email>,
    /// What to do.
    pub decision: Decision,
}

/// An account of nobody here the plan disables, as the listing showed it: the app is
/// asked again before anything is sent to that id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unowned {
    /// The app's id for it.
    pub id: String,
    /// Its userName when listed.
    pub user_name: String,
    /// Whether it was active when listed.
    pub active: bool,
}

/// A plan to apply to one app.
#[derive(Debug, Clone)]
pub struct Adoption {
    /// The app.
    pub app: Slug,
    /// The state the plan was made against (`db::unmanaged::stamp`).
    pub stamp: String,
    /// Every account with a decision.
    pub steps: Vec<AdoptStep>,
}

/// What applying a plan did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Adopted {
    /// People created.
    pub created: usize,
    /// Accounts linked to a person.
    pub linked: usize,
    /// Accounts of people here marked to be disabled.
    pub disabled: usize,
    /// Accounts of nobody here to be disabled by the caller in the app.
    pub disable_unowned: Vec<Unowned>,
    /// Accounts newly remembered as unmanaged.
    pub left: usize,
    /// Accounts already as the plan says (applied before).
    pub unchanged: usize,
    /// One line per account refused.
    pub refused: Vec<String>,
    /// Revocations the guard held.
    pub held: usize,
    /// Whether this very plan was applied before and nothing changed since.
    pub applied_before: bool,
}

/// The `meta` key of the last plan applied to an app: its stamp and the state after it.
fn applied_key(app: &str) -> String {
    format!("adopted:{app}")
}

impl UserService {
    /// Applies a plan: refused when made against another state of the app here, a
    /// no-op when this very plan was applied already.
    pub async fn adopt(&self, plan: Adoption) -> Result<Adopted, ServiceError> {
        let app = plan.app.clone();
        let name = self
            .settings
            .app(app.as_str())
            .map_or_else(|| app.to_string(), |a| a.name.clone());
        let (slug, stamp) = (app.to_string(), plan.stamp.clone());
        let state = self
            .db
            .run(move |c| {
                let now = unmanaged::stamp(c, &slug)?;
                let last = meta::get(c, &applied_key(&slug))?;
                Ok::<_, crate::db::DbError>((now, last))
            })
            .await?;
        if state.1.as_deref() == Some(&format!("{stamp} {}", state.0)) {
            return Ok(Adopted {
                applied_before: true,
                ..Adopted::default()
            });
        }
        if state.0 != stamp {
            return Err(ServiceError::Invalid(format!(
                "the plan is older than the state of {name} here (people or access changed since it was made); run app discover again"
            )));
        }
        let ids = self.identities_for(&plan).await?;
        let mut report = Adopted::default();
        for chunk in plan.steps.chunks(ROWS_PER_TX) {
            let (app, chunk, ids) = (app.clone(), chunk.to_vec(), ids.clone());
            let (part, held) = self
                .write_held(move |tx, now, audit| {
                    let mut part = Adopted::default();
                    let mut jobs = Vec::new();
                    for step in &chunk {
                        jobs.extend(apply(tx, now, audit, &app, step, &ids, &mut part)?);
                    }
                    Ok((part, jobs))
                })
                .await?;
            report.created += part.created;
            report.linked += part.linked;
            report.disabled += part.disabled;
            report.disable_unowned.extend(part.disable_unowned);
            report.left += part.left;
            report.unchanged += part.unchanged;
            report.refused.extend(part.refused);
            report.held += held.values().sum::<usize>();
        }
        if report.disable_unowned.is_empty() {
            self.adopted(&app, &stamp).await?;
        }
        Ok(report)
    }

    /// Notes that the plan made against `stamp` is carried out whole: applying it again
    /// does nothing. The caller says so once the accounts of nobody here are disabled.
    pub async fn adopted(&self, app: &Slug, stamp: &str) -> Result<(), ServiceError> {
        let (slug, stamp) = (app.to_string(), stamp.to_owned());
        Ok(self
            .db
            .run(move |c| {
                let after = unmanaged::stamp(c, &slug)?;
                meta::set(c, &applied_key(&slug), &format!("{stamp} {after}"))
            })
            .await?)
    }

    /// An identity for every person the plan imports whose email is free here.
    async fn identities_for(&self, plan: &Adoption) -> Result<HashMap<String, Uuid>, ServiceError> {
        let wanted: Vec<(Email, PersonName)> = plan
            .steps
            .iter()
            .filter(|s| matches!(s.decision, Decision::Import { .. }))
            .filter_map(|s| Some((s.email.clone()?, person_name(s).ok()?)))
            .collect();
        let emails: Vec<Email> = wanted.iter().map(|(e, _)| e.clone()).collect();
        let taken = self
            .db
            .run(move |c| {
                let mut stmt = c.prepare_cached("SELECT 1 FROM users WHERE email_norm = ?1")?;
                let mut taken = std::collections::HashSet::new();
                for e in &emails {
                    if stmt.exists([e.as_str().to_lowercase()])? {
                        taken.insert(e.as_str().to_lowercase());
                    }
                }
                Ok::<_, crate::db::DbError>(taken)
            })
            .await?;
        let mut ids = HashMap::new();
        for (email, name) in wanted {
            let key = email.as_str().to_lowercase();
            if taken.contains(&key) || ids.contains_key(&key) {
                continue;
            }
            let new = NewUser {
                email,
                name,
                dashboard: crate::domain::DashboardAccess::None,
                access: Vec::new(),
            };
            ids.insert(key, self.new_identity(&new).await?);
        }
        Ok(ids)
    }
}

/// The name of a person imported from an account: its name, else its userName.
fn person_name(step: &AdoptStep) -> Result<PersonName, ServiceError> {
    let raw = step
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&step.user_name);
    super::parse_name(raw)
}

/// The account as the caller disables it.
fn unowned(step: &AdoptStep) -> Unowned {
    Unowned {
        id: step.account_id.clone(),
        user_name: step.user_name.clone(),
        active: step.active,
    }
}

/// The account as messages name it.
fn account(step: &AdoptStep) -> String {
    format!("account {} ({})", step.account_id, step.user_name)
}

/// The person's id and the account id stored on their pair, if they exist and live.
fn person(
    tx: &Transaction<'_>,
    email: &Email,
    app: &Slug,
) -> Result<Option<(Uuid, Option<String>)>, ServiceError> {
    let found = tx
        .prepare_cached(
            "SELECT u.id, a.scim_id FROM users u
             LEFT JOIN app_access a ON a.user_id = u.id AND a.app_slug = ?2
             WHERE u.email_norm = ?1 AND u.deleted_at IS NULL",
        )?
        .query_row(params![email.as_str().to_lowercase(), app.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .optional()?;
    Ok(found.and_then(|(id, scim)| Some((Uuid::parse_str(&id).ok()?, scim))))
}

/// Records the account on the person's pair, so the worker starts from it and proves it
/// before anything is called provisioned; answers the pair's job.
fn record_account(
    tx: &Transaction<'_>,
    user: Uuid,
    app: &Slug,
    account_id: &str,
    now: i64,
) -> Result<Vec<ReconcileJob>, ServiceError> {
    tx.prepare_cached(
        "INSERT INTO app_access (user_id, app_slug, status_since) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id, app_slug) DO NOTHING",
    )?
    .execute(params![user.to_string(), app.as_str(), now])?;
    tx.prepare_cached("UPDATE app_access SET scim_id = ?3 WHERE user_id = ?1 AND app_slug = ?2")?
        .execute(params![user.to_string(), app.as_str(), account_id])?;
    unmanaged::remove(tx, app.as_str(), account_id)?;
    Ok(mark_for_sync(tx, Pairs::One(&user, app.as_str()), now)?)
}

fn apply(
    tx: &Transaction<'_>,
    now: i64,
    audit: &Audit,
    app: &Slug,
    step: &AdoptStep,
    ids: &HashMap<String, Uuid>,
    out: &mut Adopted,
) -> Result<Vec<ReconcileJob>, ServiceError> {
    let target = |email: &Email| format!("{email} / {app}");
    match (&step.decision, &step.email) {
        (Decision::Keep, _) => Ok(Vec::new()),
        (Decision::Leave, _) => {
            if unmanaged::insert(
                tx,
                app.as_str(),
                &step.account_id,
                &step.user_name,
                &audit.actor,
                now,
            )? {
                out.left += 1;
                let after = json!({ "account": step.account_id, "user_name": step.user_name });
                audit.record(
                    tx,
                    now,
                    "account.leave",
                    Some(app.as_str()),
                    None,
                    Some(after),
                )?;
            } else {
                out.unchanged += 1;
            }
            Ok(Vec::new())
        }
        (Decision::Link { role }, Some(email)) => {
            let Some((user, stored)) = person(tx, email, app)? else {
                out.refused.push(format!(
                    "{}: nobody here has the email {email}",
                    account(step)
                ));
                return Ok(Vec::new());
            };
            if stored.as_deref() == Some(&step.account_id)
                && store::role_of(tx, user, app)? == Some(*role)
            {
                out.unchanged += 1;
                return Ok(Vec::new());
            }
            let mut jobs = store::set_access(tx, user, app, *role, now)?;
            jobs.extend(record_account(tx, user, app, &step.account_id, now)?);
            out.linked += 1;
            let after = json!({ "account": step.account_id, "role": role.as_str() });
            audit.record(
                tx,
                now,
                "account.link",
                Some(&target(email)),
                None,
                Some(after),
            )?;
            Ok(jobs)
        }
        (Decision::Import { role }, Some(email)) => {
            if let Some((_, stored)) = person(tx, email, app)? {
                if stored.as_deref() == Some(&step.account_id) {
                    out.unchanged += 1;
                } else {
                    out.refused.push(format!(
                        "{}: a person with the email {email} is here already; link it instead",
                        account(step)
                    ));
                }
                return Ok(Vec::new());
            }
            let Some(id) = ids.get(&email.as_str().to_lowercase()).copied() else {
                out.refused.push(format!(
                    "{}: its name cannot be a person's name",
                    account(step)
                ));
                return Ok(Vec::new());
            };
            let new = NewUser {
                email: email.clone(),
                name: person_name(step)?,
                dashboard: crate::domain::DashboardAccess::None,
                access: vec![(app.clone(), *role)],
            };
            let apps = store::load_apps(tx)?;
            let user = store::insert_user(tx, &apps, &new, id, now)?;
            let mut jobs = crate::pairs::jobs_of_users(tx, &[user.id])?;
            jobs.extend(record_account(tx, user.id, app, &step.account_id, now)?);
            out.created += 1;
            let after = json!({ "account": step.account_id, "name": user.name.to_string(),
                "role": role.as_str() });
            audit.record(
                tx,
                now,
                "account.import",
                Some(&target(email)),
                None,
                Some(after),
            )?;
            Ok(jobs)
        }
        (Decision::Import { .. }, None) => {
            out.refused.push(format!(
                "{}: no valid email, so no person is made from it",
                account(step)
            ));
            Ok(Vec::new())
        }
        (Decision::Link { .. }, None) => {
            out.refused
                .push(format!("{}: no person chosen to link it to", account(step)));
            Ok(Vec::new())
        }
        (Decision::Disable, Some(email)) => {
            let Some((user, stored)) = person(tx, email, app)? else {
                out.disable_unowned.push(unowned(step));
                return Ok(Vec::new());
            };
            if stored.as_deref() == Some(&step.account_id)
                && store::role_of(tx, user, app)?.is_none_or(|r| r == Role::None)
                && disabled_already(tx, user, app)?
            {
                out.unchanged += 1;
                return Ok(Vec::new());
            }
            let mut jobs = store::set_access(tx, user, app, Role::None, now)?;
            jobs.extend(record_account(tx, user, app, &step.account_id, now)?);
            out.disabled += 1;
            let after = json!({ "account": step.account_id });
            audit.record(
                tx,
                now,
                "account.disable",
                Some(&target(email)),
                None,
                Some(after),
            )?;
            Ok(jobs)
        }
        (Decision::Disable, None) => {
            out.disable_unowned.push(unowned(step));
            Ok(Vec::new())
        }
    }
}

/// Whether the pair was settled as disabled (or is on its way).
fn disabled_already(tx: &Transaction<'_>, user: Uuid, app: &Slug) -> Result<bool, ServiceError> {
    let status: Option<String> = tx
        .prepare_cached("SELECT status FROM app_access WHERE user_id = ?1 AND app_slug = ?2")?
        .query_row(params![user.to_string(), app.as_str()], |r| r.get(0))
        .optional()?;
    Ok(matches!(
        status.as_deref(),
        Some("deprovisioned" | "sync_needed" | "syncing" | "held")
    ))
}
