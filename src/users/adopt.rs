//! Applying a reviewed discovery plan: each account linked, imported as a person,
//! disabled or left unmanaged, in transactions of at most [`ROWS_PER_TX`] accounts, one
//! audit entry per account.

use std::collections::HashMap;

use uuid::Uuid;

use super::{ServiceError, UserService};
use crate::db::{meta, unmanaged};
use crate::domain::{Decision, Email, NewUser, PersonName, Slug};

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
                    super::adopt_chunk::apply(tx, now, audit, &app, &chunk, &ids)
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
pub(super) fn person_name(step: &AdoptStep) -> Result<PersonName, ServiceError> {
    let raw = step
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&step.user_name);
    super::parse_name(raw)
}
