//! Discovery: one streamed listing of an app's accounts, each classified against the
//! people here, with a proposed decision. Nothing is written, here or in the app.

pub mod classify;
pub mod unowned;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::engine::Engine;
use crate::db::{DbError, time};
use crate::domain::{AccountClass, Decision, Email, Role, Slug};
use crate::scim::{ScimError, ScimUser};
use classify::{Locals, Seen, Verdict, settle_shared};

/// One account of the app, as the plan keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Found {
    /// The app's id for it.
    pub id: String,
    /// Its userName.
    pub user_name: String,
    /// Its emails as the app holds them.
    #[serde(default)]
    pub emails: Vec<String>,
    /// The name it shows.
    #[serde(default)]
    pub name: Option<String>,
    /// Whether it may sign in.
    pub active: bool,
    /// Its `externalId`, when it has one.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Whether it holds the app's admin role (`None`: the app maps no role).
    #[serde(default)]
    pub admin: Option<bool>,
    /// Where it stands.
    pub class: AccountClass,
    /// The email of the person it is (or is chosen to be, for an ambiguous one).
    #[serde(default)]
    pub person: Option<String>,
    /// The emails of everyone it may be, when ambiguous.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
    /// What to do with it.
    pub decision: Decision,
}

/// One discovery of an app: the plan file of `app adopt`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discovery {
    /// The app.
    pub app: String,
    /// The app's state here when it was made; a plan made against another is refused.
    pub stamp: String,
    /// When (RFC 3339).
    pub discovered_at: String,
    /// Requests the listing took.
    pub requests: usize,
    /// Accounts per class, in the order of [`AccountClass::ALL`].
    pub counts: BTreeMap<AccountClass, usize>,
    /// Accounts the app listed without an id (nothing can be done with them).
    #[serde(default)]
    pub without_id: usize,
    /// Every account with an id.
    pub accounts: Vec<Found>,
}

/// Why discovery could not run.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// No SCIM settings for the app.
    #[error("no app {0:?} with [apps.scim] settings in the catalogue")]
    NotProvisioned(String),
    /// Paused entirely: nothing is sent to it.
    #[error("{0} is paused: nothing is sent to it, not even a listing; resume it first")]
    Paused(String),
    /// The listing failed.
    #[error("cannot list the accounts of {app}: {source}")]
    Scim {
        /// The app.
        app: String,
        /// What failed.
        source: ScimError,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Discovery {
    /// How many accounts are of `class`.
    pub fn count(&self, class: AccountClass) -> usize {
        self.counts.get(&class).copied().unwrap_or(0)
    }

    /// How many accounts the plan gives this decision (`Decision::word`).
    pub fn decided(&self, word: &str) -> usize {
        self.accounts
            .iter()
            .filter(|a| a.decision.word() == word)
            .count()
    }

    /// The plan's effect in one sentence, said before it is applied.
    pub fn effect(&self, app_name: &str) -> String {
        format!(
            "{} will be created, {} linked, {} disabled in {app_name}, {} left unmanaged",
            n(self.decided("import"), "person", "people"),
            self.decided("link"),
            n(self.decided("disable"), "account", "accounts"),
            self.decided("leave")
        )
    }

    /// The plan as the service applies it: each account with the person it concerns.
    pub fn adoption(&self, app: &Slug) -> crate::users::Adoption {
        crate::users::Adoption {
            app: app.clone(),
            stamp: self.stamp.clone(),
            steps: self
                .accounts
                .iter()
                .map(|a| crate::users::AdoptStep {
                    account_id: a.id.clone(),
                    user_name: a.user_name.clone(),
                    active: a.active,
                    name: a.name.clone(),
                    email: match a.decision {
                        Decision::Import { .. } => importable_email(a),
                        _ => a.person.as_deref().and_then(|p| Email::parse(p).ok()),
                    },
                    decision: a.decision.clone(),
                })
                .collect(),
        }
    }
}

/// `n` with its noun.
pub fn n(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Lists `app` once and classifies every account. Only GETs are sent.
pub async fn discover(engine: &Arc<Engine>, app: &Slug) -> Result<Discovery, DiscoverError> {
    if let Some(name) = engine.paused_entirely(app).await? {
        return Err(DiscoverError::Paused(name));
    }
    let target = engine
        .targets
        .get(app.as_str())
        .ok_or_else(|| DiscoverError::NotProvisioned(app.to_string()))?;
    let scim_err = |source| DiscoverError::Scim {
        app: app.to_string(),
        source,
    };
    let (slug, template) = (app.to_string(), target.scim.user_name.clone());
    let locals = engine
        .db
        .run(move |c| Locals::load(c, &slug, &template))
        .await?;
    let session = target.client.session();
    let roles = target.scim.roles();
    let admin_group = roles.admin.as_ref().and_then(|t| t.group.clone());
    let admin_attribute = roles
        .admin
        .as_ref()
        .and_then(|t| Some((t.attribute.clone()?, t.value.clone()?)));
    let admins: Option<HashSet<String>> = match &admin_group {
        Some(group) => {
            let mut members = super::drift::group_members(&session, &roles)
                .await
                .map_err(scim_err)?;
            Some(members.remove(group).unwrap_or_default())
        }
        None => None,
    };
    let mut accounts = Vec::new();
    let mut verdicts = Vec::new();
    let mut without_id = 0;
    session
        .scan("list_users", "Users", |page: Vec<ScimUser>| {
            for user in page {
                let Some(id) = user.id.clone() else {
                    without_id += 1;
                    continue;
                };
                // Only what the plan needs is kept: memory follows the accounts, not
                // the size of what the app sends about each.
                let by_attribute = admin_attribute.as_ref().map(|(attribute, value)| {
                    super::roles::values(&user, attribute).contains(value)
                });
                let by_group = admins.as_ref().map(|m| m.contains(&id));
                let admin = match (by_group, by_attribute) {
                    (None, None) => None,
                    (g, a) => Some(g == Some(true) || a == Some(true)),
                };
                let found = Found {
                    emails: user.emails.iter().map(|e| e.value.clone()).collect(),
                    name: user.display_name.clone().or_else(|| {
                        user.name
                            .as_ref()
                            .and_then(|n| n.formatted.clone())
                            .filter(|n| !n.trim().is_empty())
                    }),
                    active: user.active != Some(false),
                    external_id: user.external_id().map(str::to_owned),
                    user_name: user.user_name,
                    id,
                    admin,
                    class: AccountClass::Unknown,
                    person: None,
                    candidates: Vec::new(),
                    decision: Decision::Keep,
                };
                verdicts.push(locals.classify(&seen(&found)));
                accounts.push(found);
            }
            false
        })
        .await
        .map_err(scim_err)?;
    // The listing's pages (and the admin group's reads), not the discovery of features.
    let requests = session
        .calls()
        .iter()
        .filter(|c| c.operation != "discovery")
        .count();
    Ok(settle(
        app.to_string(),
        &locals,
        accounts,
        verdicts,
        requests,
        without_id,
    ))
}

fn seen(f: &Found) -> Seen<'_> {
    Seen {
        id: &f.id,
        user_name: &f.user_name,
        emails: &f.emails,
        external_id: f.external_id.as_deref(),
        active: f.active,
    }
}

/// Applies the verdicts to the accounts, with the proposed decisions and the counts.
pub fn settle(
    app: String,
    locals: &Locals,
    mut accounts: Vec<Found>,
    mut verdicts: Vec<Verdict>,
    requests: usize,
    without_id: usize,
) -> Discovery {
    settle_shared(&mut verdicts);
    let mut counts: BTreeMap<AccountClass, usize> =
        AccountClass::ALL.iter().map(|c| (*c, 0)).collect();
    for (found, v) in accounts.iter_mut().zip(verdicts) {
        found.class = v.class;
        found.person = v.person.map(|p| locals.people[p].email.clone());
        found.candidates = if matches!(v.class, AccountClass::Ambiguous | AccountClass::Unmanaged) {
            v.candidates
                .iter()
                .map(|p| locals.people[*p].email.clone())
                .collect()
        } else {
            Vec::new()
        };
        found.decision = propose(found);
        *counts.entry(v.class).or_default() += 1;
    }
    Discovery {
        app,
        stamp: locals.stamp.clone(),
        discovered_at: time::rfc3339(time::now()),
        requests,
        counts,
        without_id,
        accounts,
    }
}

/// The decision proposed for an account: the admin reviews it before anything is done.
fn propose(f: &Found) -> Decision {
    let role = if f.admin == Some(true) {
        Role::Admin
    } else {
        Role::User
    };
    match f.class {
        AccountClass::Linked => Decision::Keep,
        AccountClass::MatchesWithoutAccess if f.active => Decision::Link { role },
        AccountClass::Unknown if f.active && importable_email(f).is_some() => {
            Decision::Import { role }
        }
        AccountClass::LeftBehind => Decision::Disable,
        // Nothing until the admin says: leaving an account unmanaged is a decision too.
        _ => Decision::Keep,
    }
}

/// The email a person imported from this account would get: its first valid one, or
/// its userName when that is one; never guessed.
pub fn importable_email(f: &Found) -> Option<Email> {
    f.emails
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(f.user_name.as_str()))
        .find_map(|e| Email::parse(e).ok())
}
