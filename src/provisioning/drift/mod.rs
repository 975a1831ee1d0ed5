//! Drift check: the app's accounts (listed over SCIM) against what accessboard wants.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::engine::{Engine, render_user_name};

mod held_roles;
mod periodic;
use crate::db::columns::RowExt;
use crate::db::{Db, DbError, alerts, meta, time};
use crate::domain::{AlertKind, Condition, DesiredAccess, Role, Slug};
use crate::pairs::Claim;
use crate::scim::ScimError;
pub(super) use held_roles::group_members;
use held_roles::{role_groups, role_mismatch};
pub use periodic::run_periodic;

/// One account that is out of step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DriftItem {
    /// The user's email (empty for unknown accounts).
    pub email: String,
    /// The account's userName in the app, when it has one.
    pub user_name: Option<String>,
    /// The account id in the app.
    pub scim_id: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// The result of one drift check, kept for the UI.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DriftReport {
    /// The app.
    pub app: String,
    /// When (RFC 3339).
    pub checked_at: String,
    /// Accounts the app holds.
    pub remote_accounts: usize,
    /// People who should have an active account and do not.
    pub missing: Vec<DriftItem>,
    /// Active accounts of people whose access is revoked.
    pub should_be_disabled: Vec<DriftItem>,
    /// Accounts accessboard does not know (never touched).
    pub unknown: Vec<DriftItem>,
    /// Active accounts whose role in the app (group or attribute) is not the role here.
    #[serde(default)]
    pub wrong_role: Vec<DriftItem>,
    /// Pairs marked for sync by `--fix`.
    pub fixed: usize,
}

/// Why a drift check could not run.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("no app {0:?} with [apps.scim] settings in the catalogue")]
    NotProvisioned(String),
    #[error(
        "{0} is paused: nothing is sent to it, not even a drift check's listing; resume it first"
    )]
    Paused(String),
    #[error("cannot list the accounts of {app}: {source}")]
    Scim { app: String, source: ScimError },
    #[error(transparent)]
    Db(#[from] DbError),
}

struct LocalPair {
    user_id: Uuid,
    email: String,
    name: String,
    role: Role,
    scim_id: Option<String>,
    deleted: bool,
}

/// Runs a drift check of one app; with `fix`, marks the out-of-step pairs for sync.
pub async fn check(engine: &Arc<Engine>, app: &Slug, fix: bool) -> Result<DriftReport, DriftError> {
    if let Some(name) = engine.paused_entirely(app).await? {
        return Err(DriftError::Paused(name));
    }
    let target = engine
        .targets
        .get(app.as_str())
        .ok_or_else(|| DriftError::NotProvisioned(app.to_string()))?;
    let session = target.client.session();
    let remote = session
        .list_users()
        .await
        .map_err(|source| DriftError::Scim {
            app: app.to_string(),
            source,
        })?;
    let slug = app.to_string();
    let (installed, locals) = engine.db.run(move |c| load_pairs(c, &slug)).await?;
    let slug = app.to_string();
    let unmanaged = engine
        .db
        .run(move |c| crate::db::unmanaged::ids(c, &slug))
        .await?;
    // Accounts left unmanaged are nobody's and never drift.
    let remote: Vec<_> = remote
        .into_iter()
        .filter(|a| a.id.as_ref().is_none_or(|id| !unmanaged.contains(id)))
        .collect();

    let mut by_id = HashMap::new();
    let mut by_external = HashMap::new();
    let mut by_user_name = HashMap::new();
    let mut by_email = HashMap::new();
    for (i, account) in remote.iter().enumerate() {
        if let Some(id) = &account.id {
            by_id.insert(id.clone(), i);
        }
        if let Some(ext) = &account.external_id {
            by_external.insert(ext.clone(), i);
        }
        by_user_name.insert(account.user_name.to_lowercase(), i);
        for e in &account.emails {
            by_email.insert(e.value.to_lowercase(), i);
        }
    }
    let mut matched = vec![false; remote.len()];
    let mut report = DriftReport {
        app: app.to_string(),
        checked_at: time::rfc3339(time::now()),
        remote_accounts: remote.len(),
        missing: Vec::new(),
        should_be_disabled: Vec::new(),
        unknown: Vec::new(),
        wrong_role: Vec::new(),
        fixed: 0,
    };
    let roles = target.scim.roles();
    let groups = group_members(&session, &roles)
        .await
        .map_err(|source| DriftError::Scim {
            app: app.to_string(),
            source,
        })?;
    let mut to_fix = Vec::new();
    for local in &locals {
        let claim = Claim {
            user_id: local.user_id,
            app: app.to_string(),
            role: local.role,
            scim_id: local.scim_id.clone(),
            scim_user_name: None,
            generation: 0,
            attempts: 0,
            email: local.email.clone(),
            name: local.name.clone(),
            user_deleted: local.deleted,
            synced_role: None,
            delete_at: None,
        };
        let user_name = render_user_name(&target.scim.user_name, &claim).to_lowercase();
        let found = local
            .scim_id
            .as_ref()
            .and_then(|id| by_id.get(id))
            .or_else(|| by_external.get(&local.user_id.to_string()))
            .or_else(|| by_user_name.get(&user_name))
            .or_else(|| by_email.get(&local.email.to_lowercase()))
            .copied();
        if let Some(i) = found {
            matched[i] = true;
        }
        let account = found.map(|i| &remote[i]);
        let item = |reason: &str| DriftItem {
            email: local.email.clone(),
            user_name: account.map(|a| a.user_name.clone()),
            scim_id: account.and_then(|a| a.id.clone()),
            reason: reason.to_owned(),
        };
        let desired = installed.then(|| DesiredAccess::of(local.role, local.deleted));
        match (desired, account) {
            (Some(DesiredAccess::Active { .. }), None) => {
                report.missing.push(item("no account in the app"));
                to_fix.push(local.user_id);
            }
            (Some(DesiredAccess::Active { .. }), Some(a)) if a.active == Some(false) => {
                report.missing.push(item("the account is disabled"));
                to_fix.push(local.user_id);
            }
            (Some(DesiredAccess::Absent), Some(a)) if a.active != Some(false) => {
                report
                    .should_be_disabled
                    .push(item("access is revoked but the account is active"));
                to_fix.push(local.user_id);
            }
            (Some(DesiredAccess::Absent), Some(a)) => {
                // Disabled, yet still holding a role in the app through a group.
                if let Some(group) = role_groups(&roles).find(|g| {
                    a.id.as_ref()
                        .is_some_and(|id| groups.get(*g).is_some_and(|m| m.contains(id)))
                }) {
                    report.wrong_role.push(item(&format!(
                        "access is revoked but the account is still in group {group:?}"
                    )));
                    to_fix.push(local.user_id);
                }
            }
            (Some(DesiredAccess::Active { admin }), Some(a)) => {
                let role = if admin { Role::Admin } else { Role::User };
                if let Some(why) = role_mismatch(&roles, &groups, a, role) {
                    report.wrong_role.push(item(&why));
                    to_fix.push(local.user_id);
                }
            }
            _ => {}
        }
    }
    for (i, account) in remote.iter().enumerate() {
        if !matched[i] {
            report.unknown.push(DriftItem {
                email: account
                    .emails
                    .first()
                    .map(|e| e.value.clone())
                    .unwrap_or_default(),
                user_name: Some(account.user_name.clone()),
                scim_id: account.id.clone(),
                reason: "not a person accessboard knows".into(),
            });
        }
    }
    if fix && !to_fix.is_empty() {
        report.fixed = engine.mark(app, to_fix).await?;
    }
    store(&engine.db, report.clone()).await?;
    if !report.has_drift() || report.fixed > 0 {
        let condition = Condition::of_app(AlertKind::Drift, app.clone());
        let resolution = if report.fixed > 0 {
            format!(
                "provision check --fix marked {} for sync.",
                if report.fixed == 1 {
                    "1 pair".to_owned()
                } else {
                    format!("{} pairs", report.fixed)
                }
            )
        } else {
            "A drift check found every account in step.".to_owned()
        };
        engine
            .db
            .run(move |c| alerts::resolve(c, &condition, &resolution, time::now()))
            .await?;
    }
    Ok(report)
}

impl DriftReport {
    /// Whether accessboard would change anything (accounts it does not know are not drift).
    pub fn has_drift(&self) -> bool {
        !(self.missing.is_empty()
            && self.should_be_disabled.is_empty()
            && self.wrong_role.is_empty())
    }

    /// What an alert says about it: counts only.
    fn alert_detail(&self) -> String {
        let n =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            let who = n(self.missing.len(), "person", "people");
            parts.push(format!("{who} without the active account they should have"));
        }
        if !self.should_be_disabled.is_empty() {
            let what = n(self.should_be_disabled.len(), "account", "accounts");
            parts.push(format!("{what} still active though access was revoked"));
        }
        if !self.wrong_role.is_empty() {
            let what = n(self.wrong_role.len(), "account", "accounts");
            parts.push(format!("{what} with another role in the app than here"));
        }
        format!(
            "The drift check found {} ({} accounts in the app).",
            parts.join(", "),
            self.remote_accounts
        )
    }
}

fn load_pairs(c: &mut rusqlite::Connection, app: &str) -> Result<(bool, Vec<LocalPair>), DbError> {
    let installed: bool = c
        .prepare_cached("SELECT installed FROM apps WHERE slug = ?1")?
        .query_row([app], |r| r.get(0))
        .optional()?
        .unwrap_or(false);
    let mut stmt = c.prepare_cached(
        "SELECT a.user_id, u.email, u.name, a.role, a.scim_id, u.deleted_at IS NOT NULL
         FROM app_access a JOIN users u ON u.id = a.user_id WHERE a.app_slug = ?1",
    )?;
    let rows = stmt.query_map([app], |r| {
        Ok(LocalPair {
            user_id: r.typed(0, "app_access")?,
            email: r.get(1)?,
            name: r.get(2)?,
            role: r.typed(3, "app_access")?,
            scim_id: r.get(4)?,
            deleted: r.get(5)?,
        })
    })?;
    Ok((installed, rows.collect::<Result<_, _>>()?))
}

/// The `meta` key of an app's last drift report.
fn meta_key(app: &str) -> String {
    format!("drift:{app}")
}

async fn store(db: &Db, report: DriftReport) -> Result<(), DbError> {
    let json = serde_json::to_string(&report)
        .map_err(|e| DbError::Corrupt(format!("drift report of {}: {e}", report.app)))?;
    db.run(move |c| meta::set(c, &meta_key(&report.app), &json))
        .await
}

/// The last drift report of an app, if one ran.
pub async fn latest(db: &Db, app: &str) -> Result<Option<DriftReport>, DbError> {
    let key = meta_key(app);
    let json = db.run(move |c| meta::get(c, &key)).await?;
    json.map(|j| serde_json::from_str(&j))
        .transpose()
        .map_err(|e| DbError::Corrupt(format!("meta.drift:{app}: {e}")))
}
