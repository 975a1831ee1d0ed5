//! "Add to group…" and "Remove from group…" on the people list: what joining or leaving
//! a group does to each selected person's role in each app the group gives one in (read
//! from stored state, through `Role::effective`, the one rule), and the change itself
//! through the groups service, in one transaction.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;
use uuid::Uuid;

use super::bulk::{BulkAction, Effect};
use super::{GroupChange, GroupKey, GroupOutcome, GuardWarning, ServiceError, UserService};
use crate::db::columns::RowExt;
use crate::db::read::UserRow;
use crate::domain::Role;

/// One app where a person's role moves as they join or leave the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMove {
    /// The app's slug.
    pub app: String,
    /// Their role there now.
    pub from: Role,
    /// Their role there after.
    pub to: Role,
}

impl RoleMove {
    /// Had no access there and gets some.
    pub fn gains(&self) -> bool {
        !self.from.grants_access() && self.to.grants_access()
    }

    /// Had access there and has none after.
    pub fn loses(&self) -> bool {
        self.from.grants_access() && !self.to.grants_access()
    }
}

/// What the plan needs to know of the group and of the selected people.
pub(super) struct GroupFacts {
    /// The group's grants: (app, role).
    grants: Vec<(String, Role)>,
    /// Its members.
    members: HashSet<Uuid>,
    /// Per selected person, per app, the highest role their other groups give.
    others: HashMap<Uuid, HashMap<String, Role>>,
}

/// Reads the facts of `group` for these people; `UnknownGroupId` when it is gone.
pub(super) fn facts(
    conn: &Connection,
    group: Uuid,
    people: &[Uuid],
) -> Result<GroupFacts, ServiceError> {
    let detail =
        crate::db::groups::group(conn, group)?.ok_or(ServiceError::UnknownGroupId(group))?;
    let mut stmt = conn.prepare_cached(
        "SELECT gg.app_slug, gg.role FROM group_members m
           JOIN group_grants gg ON gg.group_id = m.group_id
          WHERE m.user_id = ?1 AND m.group_id <> ?2",
    )?;
    let mut others = HashMap::new();
    for id in people {
        let mut per_app: HashMap<String, Role> = HashMap::new();
        let rows = stmt.query_map([id.to_string(), group.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.typed::<Role>(1, "group_grants")?))
        })?;
        for row in rows {
            let (app, role) = row?;
            let best = per_app.entry(app).or_insert(Role::None);
            *best = Role::effective(*best, [role]);
        }
        others.insert(*id, per_app);
    }
    let members = conn
        .prepare_cached("SELECT user_id FROM group_members WHERE group_id = ?1")?
        .query_map([group.to_string()], |r| r.typed(0, "group_members"))?
        .collect::<Result<HashSet<Uuid>, _>>()?;
    Ok(GroupFacts {
        grants: detail
            .grant_list
            .into_iter()
            .map(|g| (g.app, g.role))
            .collect(),
        members,
        others,
    })
}

/// What joining (`adding`) or leaving the group does to `u` (pure).
pub(super) fn effect(adding: bool, f: &GroupFacts, u: &UserRow) -> Effect {
    let member = f.members.contains(&u.id);
    if adding == member {
        return Effect::Unchanged;
    }
    let moves = f
        .grants
        .iter()
        .filter_map(|(app, grant)| {
            let cell = u.access.iter().find(|c| &c.app == app)?;
            let to = if adding {
                Role::effective(cell.role, [*grant])
            } else {
                let others = f.others.get(&u.id).and_then(|o| o.get(app)).copied();
                Role::effective(cell.direct, others)
            };
            (to != cell.role).then(|| RoleMove {
                app: app.clone(),
                from: cell.role,
                to,
            })
        })
        .collect();
    if adding {
        Effect::Joins(moves)
    } else {
        Effect::Leaves(moves)
    }
}

impl UserService {
    /// Adds these people to a group, or removes them, in one transaction through the
    /// groups service (audited as one group change); what it did.
    pub async fn apply_bulk_group(
        &self,
        ids: Vec<Uuid>,
        action: BulkAction,
    ) -> Result<GroupOutcome, ServiceError> {
        let (group, adding) = match action {
            BulkAction::AddToGroup(g) => (g, true),
            BulkAction::RemoveFromGroup(g) => (g, false),
            _ => {
                return Err(ServiceError::Invalid(
                    "this bulk action is not a group change".into(),
                ));
            }
        };
        let change = self.group_change_of(ids, adding).await?;
        self.change_group(GroupKey::Id(group), change).await
    }

    /// What the revocation guard would hold of a group action on these people: the
    /// same group change, rolled back (the bulk review's warning); changes nothing.
    pub async fn guard_preview_bulk_group(
        &self,
        ids: Vec<Uuid>,
        action: BulkAction,
    ) -> Result<Vec<GuardWarning>, ServiceError> {
        let BulkAction::RemoveFromGroup(group) = action else {
            // Joining a group never takes access away.
            return Ok(Vec::new());
        };
        let change = self.group_change_of(ids, false).await?;
        Ok(self
            .preview_group_change(GroupKey::Id(group), change)
            .await?
            .guard)
    }

    /// These people joining (or leaving) a group, by email; refused for anyone being removed.
    async fn group_change_of(
        &self,
        ids: Vec<Uuid>,
        adding: bool,
    ) -> Result<GroupChange, ServiceError> {
        let mut emails = Vec::with_capacity(ids.len());
        for id in ids {
            let user = self.user_by(super::identities::UserKey::Id(id)).await?;
            if user.deleted {
                return Err(ServiceError::BeingRemoved(user.email.to_string()));
            }
            emails.push(user.email);
        }
        Ok(if adding {
            GroupChange::Add(emails)
        } else {
            GroupChange::Remove(emails)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::read::PairCell;
    use crate::domain::ProvisionStatus;

    fn person(id: u128, direct: Role, groups: Role) -> UserRow {
        UserRow {
            id: Uuid::from_u128(id),
            email: "a@example.org".into(),
            name: "A".into(),
            admin: false,
            dashboard: crate::domain::DashboardAccess::None,
            can_sign_in: false,
            deleting: false,
            access: vec![PairCell {
                app: "files".into(),
                role: Role::effective(direct, [groups]),
                direct,
                groups,
                status: ProvisionStatus::NotProvisioned,
            }],
            groups: Vec::new(),
        }
    }

    #[test]
    fn joining_and_leaving_move_exactly_the_roles_the_group_makes() {
        let moved = |from, to| RoleMove {
            app: "files".into(),
            from,
            to,
        };
        // The group gives user in Files; person 1 is in it, person 2 is not.
        let f = GroupFacts {
            grants: vec![("files".into(), Role::User)],
            members: HashSet::from([Uuid::from_u128(1)]),
            others: HashMap::new(),
        };
        let outsider = person(2, Role::None, Role::None);
        assert_eq!(
            effect(true, &f, &outsider),
            Effect::Joins(vec![moved(Role::None, Role::User)])
        );
        assert_eq!(effect(false, &f, &outsider), Effect::Unchanged);
        // Their own admin stays above what the group gives: nothing moves.
        let own_admin = person(2, Role::Admin, Role::None);
        assert_eq!(effect(true, &f, &own_admin), Effect::Joins(vec![]));
        let member = person(1, Role::None, Role::User);
        assert_eq!(effect(true, &f, &member), Effect::Unchanged);
        assert_eq!(
            effect(false, &f, &member),
            Effect::Leaves(vec![moved(Role::User, Role::None)])
        );
        // Another group of theirs gives user too: leaving takes nothing away.
        let mut f = f;
        f.others.insert(
            Uuid::from_u128(1),
            HashMap::from([("files".to_owned(), Role::User)]),
        );
        assert_eq!(effect(false, &f, &member), Effect::Leaves(vec![]));
    }
}
