//! Groups as the service changes them: each change is one transaction that writes the
//! group, recomputes the role of exactly the people it touches ([`roles::refresh`],
//! which marks the pairs whose role moved), and records it in the audit trail.

use std::collections::HashSet;

use rusqlite::{Transaction, TransactionBehavior, params};
use serde_json::json;
use uuid::Uuid;

use super::audit::{Audit, IMPORT_AUDIT_EMAILS};
use super::group_store::{
    describe, find, grant_of, grants, insert_group, mark_pushed, members, rename,
};
use super::outcome::HeldIn;
use super::roles::{self, Refreshed};
use super::{GuardWarning, ServiceError, UserService, store};
use crate::db::Conn;
use crate::db::time;
use crate::domain::{Email, GroupName, Role, Slug};
use crate::pairs::ReconcileJob;

/// The longest group description, in characters.
pub const MAX_DESCRIPTION: usize = 500;

/// Which group a change is about.
#[derive(Debug, Clone)]
pub enum GroupKey {
    /// By name (any case).
    Name(GroupName),
    /// By id (the dashboard).
    Id(Uuid),
}

/// One change to a group.
#[derive(Debug, Clone)]
pub enum GroupChange {
    /// A new name.
    Rename(GroupName),
    /// A new description (as typed: checked by [`parse_description`]).
    Describe(String),
    /// Delete the group: its members lose what only it gave them.
    Delete,
    /// Add these people.
    Add(Vec<Email>),
    /// Remove these people.
    Remove(Vec<Email>),
    /// Give the group this role in an app; `none` takes the grant away.
    Grant(Slug, Role),
}

/// What a group change did, or would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GroupOutcome {
    /// The group's name (the new one after a rename).
    pub group: String,
    /// People added or removed (membership changes only).
    pub members_changed: usize,
    /// People who had no access in an app and now have.
    pub gain_access: usize,
    /// People who had access in an app and now have none.
    pub lose_access: usize,
    /// Pairs whose role moved (and were marked for sync).
    pub pairs_marked: usize,
    /// This change's revocations the revocation guard held, per app (a change made).
    pub held: Vec<HeldIn>,
    /// The revocations the guard would hold, per app (a preview).
    pub guard: Vec<GuardWarning>,
}

/// Parses a description as typed: trimmed, at most 500 characters, one line.
pub fn parse_description(raw: &str) -> Result<String, ServiceError> {
    let s = raw.trim();
    if s.chars().count() > MAX_DESCRIPTION {
        return Err(ServiceError::Invalid(format!(
            "the description is longer than {MAX_DESCRIPTION} characters"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(
            "the description contains a control character (it is one line)".into(),
        ));
    }
    Ok(s.to_owned())
}

impl UserService {
    /// Creates an empty group with no grants; returns its id.
    pub async fn create_group(
        &self,
        name: GroupName,
        description: String,
    ) -> Result<Uuid, ServiceError> {
        let description = parse_description(&description)?;
        self.write(move |tx, now, audit| {
            let id = insert_group(tx, &name, &description, now)?;
            audit.record(
                tx,
                now,
                "group.create",
                Some(name.as_str()),
                None,
                Some(json!({ "name": name.as_str(), "description": description })),
            )?;
            Ok((id, Vec::new()))
        })
        .await
    }

    /// Applies one change to a group, in one transaction.
    #[tracing::instrument(skip_all)]
    pub async fn change_group(
        &self,
        key: GroupKey,
        change: GroupChange,
    ) -> Result<GroupOutcome, ServiceError> {
        let push = self.push_apps();
        let (mut outcome, held) = self
            .write_held(move |tx, now, audit| apply(tx, now, audit, &key, &change, &push))
            .await?;
        outcome.held = self.held_in(held);
        Ok(outcome)
    }

    /// What [`UserService::change_group`] would do now, without doing it (the
    /// confirmation that says how many people lose access).
    pub async fn preview_group_change(
        &self,
        key: GroupKey,
        change: GroupChange,
    ) -> Result<GroupOutcome, ServiceError> {
        let audit = Audit {
            actor: self.actor.to_string(),
        };
        let push = self.push_apps();
        let rules = (!self.lift_guard).then(|| super::write::guard_rules(&self.settings));
        let names = self.app_names();
        self.db
            .run(move |conn: &mut Conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
                let now = time::now();
                let (mut out, jobs) = apply(&tx, now, &audit, &key, &change, &push)?;
                if let Some(rules) = rules {
                    out.guard =
                        super::held::warnings(&tx, jobs, &rules, &audit.actor, now, &names)?;
                }
                // Dropped without commit: the same code path as the change, rolled back.
                tx.rollback()?;
                Ok::<_, ServiceError>(out)
            })
            .await
    }
}

impl UserService {
    /// The apps whose groups are pushed (`[apps.scim] push_groups`).
    fn push_apps(&self) -> HashSet<String> {
        self.settings
            .apps
            .iter()
            .filter(|a| a.scim.as_ref().is_some_and(|s| s.push_groups))
            .map(|a| a.slug.to_string())
            .collect()
    }
}

/// The change itself, inside the caller's transaction; `push` are the apps whose
/// groups are pushed, where the members' pairs are marked even when their role stays.
fn apply(
    tx: &Transaction<'_>,
    now: i64,
    audit: &Audit,
    key: &GroupKey,
    change: &GroupChange,
    push: &HashSet<String>,
) -> Result<(GroupOutcome, Vec<ReconcileJob>), ServiceError> {
    let (id, name) = find(tx, key)?;
    // The apps this group is pushed to before the change, and the members it touches.
    let pushed_in: Vec<String> = grants(tx, id)?
        .into_iter()
        .map(|(app, _)| app)
        .filter(|app| push.contains(app))
        .collect();
    let mut members_changed = 0;
    let mut touched: Vec<Uuid> = Vec::new();
    let mut refreshed = match change {
        GroupChange::Rename(new) => {
            rename(tx, id, new, now)?;
            audit.record(
                tx,
                now,
                "group.rename",
                Some(&name),
                Some(json!({ "name": name })),
                Some(json!({ "name": new.as_str() })),
            )?;
            let marked = mark_pushed(
                tx,
                &members(tx, id)?,
                &pushed_in,
                &Refreshed::default(),
                now,
            )?;
            return Ok((
                GroupOutcome {
                    group: new.to_string(),
                    pairs_marked: marked.len(),
                    ..GroupOutcome::default()
                },
                marked,
            ));
        }
        GroupChange::Describe(raw) => {
            let new = parse_description(raw)?;
            let was = describe(tx, id, &new, now)?;
            if was != new {
                audit.record(
                    tx,
                    now,
                    "group.describe",
                    Some(&name),
                    Some(json!({ "description": was })),
                    Some(json!({ "description": new })),
                )?;
            }
            // Nobody's access moves: the description is for admins only.
            return Ok((
                GroupOutcome {
                    group: name,
                    ..GroupOutcome::default()
                },
                Vec::new(),
            ));
        }
        GroupChange::Delete => {
            let members = members(tx, id)?;
            let grants = grants(tx, id)?;
            touched.clone_from(&members);
            tx.execute("DELETE FROM access_groups WHERE id = ?1", [id.to_string()])?;
            let refreshed = roles::refresh(tx, &members, None, now)?;
            let grants: serde_json::Map<String, serde_json::Value> = grants
                .into_iter()
                .map(|(app, role)| (app, json!(role.as_str())))
                .collect();
            let before = json!({ "name": name, "members": members.len(), "grants": grants });
            audit.record(tx, now, "group.delete", Some(&name), Some(before), None)?;
            refreshed
        }
        GroupChange::Add(emails) | GroupChange::Remove(emails) => {
            let adding = matches!(change, GroupChange::Add(_));
            let mut users = Vec::new();
            let mut changed_emails = Vec::new();
            for email in emails {
                let user = store::user_by_email(tx, email)?;
                let n = if adding {
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO group_members (group_id, user_id, added_at) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![id.to_string(), user.id.to_string(), now])?
                } else {
                    tx.prepare_cached(
                        "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
                    )?
                    .execute(params![id.to_string(), user.id.to_string()])?
                };
                if n > 0 {
                    users.push(user.id);
                    if changed_emails.len() < IMPORT_AUDIT_EMAILS {
                        changed_emails.push(user.email.to_string());
                    }
                }
            }
            members_changed = users.len();
            let refreshed = roles::refresh(tx, &users, None, now)?;
            touched.clone_from(&users);
            if !users.is_empty() {
                let (action, before, after) = if adding {
                    (
                        "group.add",
                        None,
                        Some(json!({ "count": users.len(), "members": changed_emails })),
                    )
                } else {
                    (
                        "group.remove",
                        Some(json!({ "count": users.len(), "members": changed_emails })),
                        None,
                    )
                };
                audit.record(tx, now, action, Some(&name), before, after)?;
            }
            refreshed
        }
        GroupChange::Grant(app, role) => {
            store::app_exists(tx, app)?;
            let was = grant_of(tx, id, app)?;
            if was == *role {
                Refreshed::default()
            } else {
                if role.grants_access() {
                    tx.execute(
                        "INSERT INTO group_grants (group_id, app_slug, role) VALUES (?1, ?2, ?3)
                         ON CONFLICT (group_id, app_slug) DO UPDATE SET role = excluded.role",
                        params![id.to_string(), app.as_str(), role],
                    )?;
                } else {
                    tx.execute(
                        "DELETE FROM group_grants WHERE group_id = ?1 AND app_slug = ?2",
                        params![id.to_string(), app.as_str()],
                    )?;
                }
                touched = members(tx, id)?;
                let refreshed = roles::refresh(tx, &touched, Some(app.as_str()), now)?;
                audit.record(
                    tx,
                    now,
                    "group.grant",
                    Some(&format!("{name} / {app}")),
                    Some(json!({ "role": was.as_str() })),
                    Some(json!({ "role": role.as_str() })),
                )?;
                refreshed
            }
        }
    };
    // A pushed group's membership is part of each member's pair in that app.
    let apps: Vec<String> = match change {
        GroupChange::Grant(app, _) => push.get(app.as_str()).cloned().into_iter().collect(),
        _ => pushed_in,
    };
    let marked = mark_pushed(tx, &touched, &apps, &refreshed, now)?;
    refreshed.jobs.extend(marked);
    let outcome = GroupOutcome {
        group: name,
        members_changed,
        gain_access: refreshed.gained(),
        lose_access: refreshed.lost(),
        pairs_marked: refreshed.jobs.len(),
        ..GroupOutcome::default()
    };
    Ok((outcome, refreshed.jobs))
}
