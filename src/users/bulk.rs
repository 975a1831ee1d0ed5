//! Changes to several people at once: first a plan of what each would undergo
//! (shown to the admin as its impact), then, once confirmed, the change itself
//! in one transaction, with one audit entry per person as if done one by one.

use std::collections::BTreeMap;

use serde_json::json;
use uuid::Uuid;

use super::audit::{access_audited, delete_audited};
use super::bulk_groups::{self, RoleMove};
use super::outcome::{Outcome, Reach, granting_groups, role_in};
use super::{GuardWarning, ServiceError, UserService, store};
use crate::db::read::{self, UserRow};
use crate::domain::{ProvisionStatus, Role, Slug};
use crate::pairs::ReconcileJob;

/// At most this many people in one bulk change (a page holds 50).
pub const MAX_BULK: usize = 500;

/// What to do to every selected person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    /// Give each this role in this app (`none` revokes).
    SetRole {
        /// The app.
        app: Slug,
        /// The role.
        role: Role,
    },
    /// Sync again every pair of theirs in error or failed.
    Retry,
    /// Delete them: every app is told, then they are purged.
    Delete,
    /// Add them to this group.
    AddToGroup(Uuid),
    /// Remove them from this group.
    RemoveFromGroup(Uuid),
}

/// What the action does to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Had no access to the app and gets this role.
    Gains(Role),
    /// Loses access to the app: the account there is disabled or deleted.
    Loses,
    /// Keeps access with another role.
    Changes {
        /// The role now.
        from: Role,
        /// The role after.
        to: Role,
    },
    /// Already so; nothing happens.
    Unchanged,
    /// These apps (slugs) are synced again.
    Retries(Vec<String>),
    /// Deleted; these apps (slugs) hold an account to disable or delete.
    Deleted(Vec<String>),
    /// Joins the group; their role moves in these apps (none: their access stays).
    Joins(Vec<RoleMove>),
    /// Leaves the group; their role moves in these apps (none: their access stays).
    Leaves(Vec<RoleMove>),
}

/// One person of a plan.
#[derive(Debug, Clone)]
pub struct BulkPerson {
    /// Who.
    pub id: Uuid,
    /// Their email.
    pub email: String,
    /// Their name.
    pub name: String,
    /// What the action does to them.
    pub effect: Effect,
}

/// What a bulk change would do, person by person, before it is confirmed.
#[derive(Debug, Clone)]
pub struct BulkPlan {
    /// The action.
    pub action: BulkAction,
    /// Everyone selected, in the list's order.
    pub people: Vec<BulkPerson>,
}

/// How many people each kind of effect reaches, for sentences like "12 people lose access".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Get a role where they had none.
    pub gain: usize,
    /// Keep access with another role.
    pub change: usize,
    /// Lose access.
    pub lose: usize,
    /// Are synced again.
    pub retry: usize,
    /// Are deleted.
    pub delete: usize,
    /// Nothing happens to them.
    pub unchanged: usize,
    /// Join or leave the group.
    pub members: usize,
}

impl BulkPlan {
    /// How many people each effect reaches.
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for p in &self.people {
            let n = match &p.effect {
                Effect::Gains(_) => &mut t.gain,
                Effect::Loses => &mut t.lose,
                Effect::Changes { .. } => &mut t.change,
                Effect::Retries(apps) if !apps.is_empty() => &mut t.retry,
                Effect::Unchanged | Effect::Retries(_) => &mut t.unchanged,
                Effect::Deleted(_) => &mut t.delete,
                Effect::Joins(moves) | Effect::Leaves(moves) => {
                    t.members += 1;
                    if moves.iter().any(RoleMove::gains) {
                        &mut t.gain
                    } else if moves.iter().any(RoleMove::loses) {
                        &mut t.lose
                    } else if moves.is_empty() {
                        continue;
                    } else {
                        &mut t.change
                    }
                }
            };
            *n += 1;
        }
        t
    }

    /// Per app (slug), how many people's accounts there are touched (retry, delete).
    pub fn per_app(&self) -> BTreeMap<String, usize> {
        let mut t = BTreeMap::new();
        for p in &self.people {
            if let Effect::Retries(apps) | Effect::Deleted(apps) = &p.effect {
                for a in apps {
                    *t.entry(a.clone()).or_insert(0) += 1;
                }
            }
        }
        t
    }
}

/// What `action` would do to `u` (pure: the stored state in, the effect out); a group
/// action needs the group's facts too, and is planned by `bulk_groups::effect`.
pub fn effect(action: &BulkAction, u: &UserRow) -> Effect {
    match action {
        BulkAction::AddToGroup(_) | BulkAction::RemoveFromGroup(_) => Effect::Unchanged,
        BulkAction::SetRole { app, role } => {
            let cell = u.access.iter().find(|c| c.app == app.as_str());
            let current = cell.map_or(Role::None, |c| c.role);
            // Their groups' roles stay: the role they end up with may be higher than asked.
            let after = Role::effective(*role, cell.map(|c| c.groups));
            match (current.grants_access(), after.grants_access()) {
                _ if current == after => Effect::Unchanged,
                (true, false) => Effect::Loses,
                (false, _) => Effect::Gains(after),
                (true, true) => Effect::Changes {
                    from: current,
                    to: after,
                },
            }
        }
        BulkAction::Retry => Effect::Retries(
            u.access
                .iter()
                .filter(|c| matches!(c.status, ProvisionStatus::Error | ProvisionStatus::Failed))
                .map(|c| c.app.clone())
                .collect(),
        ),
        BulkAction::Delete => Effect::Deleted(
            u.access
                .iter()
                .filter(|c| {
                    !matches!(
                        c.status,
                        ProvisionStatus::NotProvisioned | ProvisionStatus::Deprovisioned
                    )
                })
                .map(|c| c.app.clone())
                .collect(),
        ),
    }
}

fn check_size(ids: &[Uuid]) -> Result<(), ServiceError> {
    if ids.is_empty() {
        return Err(ServiceError::Invalid("select at least one person".into()));
    }
    if ids.len() > MAX_BULK {
        return Err(ServiceError::Invalid(format!(
            "{} people are selected; one change takes at most {MAX_BULK}",
            ids.len()
        )));
    }
    Ok(())
}

impl UserService {
    /// What `action` would do to each of these people; changes nothing.
    /// Anyone unknown or already being removed makes it fail, naming them.
    pub async fn plan_bulk(
        &self,
        ids: Vec<Uuid>,
        action: BulkAction,
    ) -> Result<BulkPlan, ServiceError> {
        check_size(&ids)?;
        if let BulkAction::SetRole { app, .. } = &action
            && self.settings.app(app.as_str()).is_none()
        {
            return Err(ServiceError::UnknownApp(app.to_string()));
        }
        let group = match &action {
            BulkAction::AddToGroup(g) => Some((*g, true)),
            BulkAction::RemoveFromGroup(g) => Some((*g, false)),
            _ => None,
        };
        let (rows, facts) = self
            .db
            .run(move |c| {
                let rows = ids
                    .iter()
                    .map(|id| read::user(c, *id).map(|u| (*id, u)))
                    .collect::<Result<Vec<_>, _>>()?;
                let facts = group
                    .map(|(g, _)| bulk_groups::facts(c, g, &ids))
                    .transpose()?;
                Ok::<_, ServiceError>((rows, facts))
            })
            .await?;
        let mut people = Vec::with_capacity(rows.len());
        for (id, row) in rows {
            let u = row.ok_or(ServiceError::UnknownUserId(id))?;
            if u.deleting {
                return Err(ServiceError::BeingRemoved(u.email));
            }
            let effect = match (&facts, group) {
                (Some(f), Some((_, adding))) => bulk_groups::effect(adding, f, &u),
                _ => effect(&action, &u),
            };
            people.push(BulkPerson {
                id,
                effect,
                email: u.email,
                name: u.name,
            });
        }
        Ok(BulkPlan { action, people })
    }

    /// Does `action` to every one of these people in one transaction (all or
    /// nobody); returns what it did to them, the guard's holds included.
    pub async fn apply_bulk(
        &self,
        ids: Vec<Uuid>,
        action: BulkAction,
    ) -> Result<Outcome, ServiceError> {
        check_size(&ids)?;
        if let BulkAction::AddToGroup(_) | BulkAction::RemoveFromGroup(_) = action {
            return Err(group_in_bulk());
        }
        if action == BulkAction::Delete {
            // Kratos first, as for one person: an identity deleted there but not here
            // is picked up by the identity sync, never the other way round.
            // Everyone must exist before anyone is deleted there.
            for id in &ids {
                self.user_by(super::identities::UserKey::Id(*id)).await?;
            }
            for id in &ids {
                self.identities.delete(*id).await?;
            }
        }
        let names = self.app_names();
        let (mut outcome, held) = self
            .write_held(move |tx, now, audit| apply_all(tx, now, audit, &ids, &action, &names))
            .await?;
        outcome.held = self.held_in(held);
        Ok(outcome)
    }

    /// What the guard would do to `action` on these people now: the same change, rolled
    /// back (the bulk review's warning); changes nothing.
    pub async fn guard_preview_bulk(
        &self,
        ids: Vec<Uuid>,
        action: BulkAction,
    ) -> Result<Vec<GuardWarning>, ServiceError> {
        check_size(&ids)?;
        let names = self.app_names();
        self.guard_preview(move |tx, now, audit| {
            apply_all(tx, now, audit, &ids, &action, &names).map(|(_, jobs)| jobs)
        })
        .await
    }
}

/// Group changes in bulk are the groups service's (`apply_bulk_group`), one group change.
fn group_in_bulk() -> ServiceError {
    ServiceError::Invalid("a group change in bulk goes through the group service".into())
}

/// The bulk change itself, in the caller's transaction: what it did and the jobs.
fn apply_all(
    tx: &rusqlite::Transaction<'_>,
    now: i64,
    audit: &super::Audit,
    ids: &[Uuid],
    action: &BulkAction,
    names: &BTreeMap<String, String>,
) -> Result<(Outcome, Vec<ReconcileJob>), ServiceError> {
    let name = |slug: &str| names.get(slug).cloned().unwrap_or_else(|| slug.to_owned());
    let mut outcome = Outcome::new(match action {
        BulkAction::SetRole { app, role } => Reach::Role {
            app: name(app.as_str()),
            role: *role,
        },
        BulkAction::Retry => Reach::Retry,
        BulkAction::Delete => Reach::Delete,
        BulkAction::AddToGroup(_) | BulkAction::RemoveFromGroup(_) => return Err(group_in_bulk()),
    });
    let mut jobs = Vec::new();
    for id in ids {
        let user = store::user_by_id(tx, *id)?;
        let marked = match action {
            BulkAction::SetRole { app, role } => {
                let before = role_in(tx, user.id, app.as_str())?;
                let marked = access_audited(tx, now, audit, &user, app, *role)?;
                let after = role_in(tx, user.id, app.as_str())?;
                let groups = granting_groups(tx, user.id, app.as_str())?;
                outcome.count_role(*role, before, after, groups);
                marked
            }
            BulkAction::Retry => {
                let marked = store::retry(tx, None, Some(user.id), now)?;
                if marked.is_empty() {
                    outcome.unchanged += 1;
                } else {
                    outcome.done += 1;
                    let after = json!({ "pairs_marked": marked.len() });
                    let target = user.email.to_string();
                    audit.record(tx, now, "pairs.retry", Some(&target), None, Some(after))?;
                }
                marked
            }
            BulkAction::Delete => {
                outcome.done += 1;
                delete_audited(tx, now, audit, &user)?
            }
            BulkAction::AddToGroup(_) | BulkAction::RemoveFromGroup(_) => {
                return Err(group_in_bulk());
            }
        };
        if !matches!(action, BulkAction::SetRole { .. }) {
            let apps: std::collections::BTreeSet<&str> =
                marked.iter().map(|j| j.app.as_str()).collect();
            for app in apps {
                *outcome.told.entry(name(app)).or_insert(0) += 1;
            }
        }
        jobs.extend(marked);
    }
    Ok((outcome, jobs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::read::PairCell;

    fn person(cells: &[(&str, Role, ProvisionStatus)]) -> UserRow {
        UserRow {
            id: Uuid::nil(),
            email: "a@example.org".into(),
            name: "A".into(),
            admin: false,
            dashboard: crate::domain::DashboardAccess::None,
            can_sign_in: false,
            deleting: false,
            access: cells
                .iter()
                .map(|(app, role, status)| PairCell {
                    app: (*app).into(),
                    role: *role,
                    direct: *role,
                    groups: Role::None,
                    status: *status,
                })
                .collect(),
            groups: Vec::new(),
        }
    }

    #[test]
    fn each_person_gets_the_effect_an_admin_would_expect() {
        use ProvisionStatus::*;
        let set = |role| BulkAction::SetRole {
            app: Slug::parse("files").unwrap(),
            role,
        };
        let user = person(&[
            ("files", Role::User, Provisioned),
            ("chat", Role::None, Failed),
        ]);
        let nobody = person(&[("files", Role::None, NotProvisioned)]);
        assert_eq!(effect(&set(Role::None), &user), Effect::Loses);
        assert_eq!(effect(&set(Role::User), &user), Effect::Unchanged);
        assert_eq!(
            effect(&set(Role::Admin), &user),
            Effect::Changes {
                from: Role::User,
                to: Role::Admin
            }
        );
        assert_eq!(
            effect(&set(Role::Admin), &nobody),
            Effect::Gains(Role::Admin)
        );
        assert_eq!(effect(&set(Role::None), &nobody), Effect::Unchanged);
        // Their group gives them user in Files: taking their own role away changes nothing,
        // and their own admin is still more than the group's.
        let mut grouped = person(&[("files", Role::User, Provisioned)]);
        grouped.access[0].direct = Role::None;
        grouped.access[0].groups = Role::User;
        assert_eq!(effect(&set(Role::None), &grouped), Effect::Unchanged);
        assert_eq!(
            effect(&set(Role::Admin), &grouped),
            Effect::Changes {
                from: Role::User,
                to: Role::Admin
            }
        );
        assert_eq!(
            effect(&BulkAction::Retry, &user),
            Effect::Retries(vec!["chat".into()])
        );
        assert_eq!(effect(&BulkAction::Retry, &nobody), Effect::Retries(vec![]));
        // an app that never had the account is not told; one that may hold it is
        assert_eq!(
            effect(&BulkAction::Delete, &user),
            Effect::Deleted(vec!["files".into(), "chat".into()])
        );
        assert_eq!(
            effect(&BulkAction::Delete, &nobody),
            Effect::Deleted(vec![])
        );
    }
}
