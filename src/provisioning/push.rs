//! Pushing accessboard's groups into apps (`[apps.scim] push_groups`): what each pair
//! of a batch should be in, where the groups accessboard made are recorded, and the
//! upkeep that renames and deletes them (only them) in the app.

use std::collections::HashMap;

use uuid::Uuid;

use super::reconcile::{Desired, Membership};
use crate::db::pushed_groups::{self, Pushed as Stored};
use crate::db::{Db, DbError};
use crate::pairs::Claim;
use crate::scim::{PushedGroup, ScimCall, ScimClient};
use crate::settings::ScimSettings;

/// One of accessboard's groups pushed into the app, as one pair sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedMembership {
    /// The group's displayName in the app (`group_prefix` + name).
    pub name: String,
    /// Our group's id (the group's `externalId`).
    pub group: uuid::Uuid,
    /// Its id in the app, when accessboard made it there.
    pub scim_id: Option<String>,
    /// Whether the person is in the group here.
    pub member: bool,
}

/// The pushed group a membership is in: our group's id and its id in the app, if stored.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pushed {
    /// Our group's id.
    pub group: uuid::Uuid,
    /// Its id in the app, when stored.
    pub scim_id: Option<String>,
}

/// The pushed groups' memberships of the account: in the groups the person is in while
/// they have access, out of the others. An account made now is in none, so only its
/// additions are written; for the rest the group is read first and only changes written.
pub(super) fn pushed_memberships<'a>(
    desired: &'a Desired,
    account: &'a str,
    active: bool,
    created: bool,
) -> impl Iterator<Item = Membership> + 'a {
    desired
        .pushed
        .iter()
        .filter(move |p| !created || p.member)
        .map(move |p| Membership {
            group: p.name.clone(),
            account: account.to_owned(),
            who: desired.user_name.clone(),
            member: active && p.member,
            known: created,
            pushed: Some(Pushed {
                group: p.group,
                scim_id: p.scim_id.clone(),
            }),
        })
}

/// Where the membership writer records the groups it made in one app.
#[derive(Clone)]
pub struct PushStore {
    db: Db,
    app: String,
}

impl PushStore {
    /// The store of `app`'s pushed groups.
    pub fn new(db: Db, app: &str) -> PushStore {
        PushStore {
            db,
            app: app.to_owned(),
        }
    }

    /// Records that our `group` is `scim_id` named `name` in the app.
    pub async fn record(&self, group: Uuid, scim_id: String, name: String) {
        let app = self.app.clone();
        let row = Stored {
            group,
            scim_id,
            name,
        };
        let stored = self
            .db
            .run(move |c| pushed_groups::record(c, &app, &row))
            .await;
        if let Err(e) = stored {
            // The next write finds it by its externalId again.
            tracing::warn!(app = %self.app, error = %e, "could not record a group made in the app");
        }
    }
}

/// Fills in each pair's pushed groups: every group granted in the app, and whether the
/// person is in it.
pub async fn fill(
    db: &Db,
    app: &str,
    scim: &ScimSettings,
    ready: &mut [(Claim, Desired)],
) -> Result<(), DbError> {
    if !scim.push_groups || ready.is_empty() {
        return Ok(());
    }
    let users: Vec<Uuid> = ready.iter().map(|(c, _)| c.user_id).collect();
    let app_owned = app.to_owned();
    let (granted, members) = db
        .run(move |c| {
            Ok::<_, DbError>((
                pushed_groups::granted(c, &app_owned)?,
                pushed_groups::members_in(c, &app_owned, &users)?,
            ))
        })
        .await?;
    for (claim, desired) in ready.iter_mut() {
        let mine = members.get(&claim.user_id);
        desired.pushed = granted
            .iter()
            .map(|g| PushedMembership {
                name: format!("{}{}", scim.group_prefix, g.name),
                group: g.group,
                scim_id: g.scim_id.clone(),
                member: mine.is_some_and(|m| m.contains(&g.group)),
            })
            .collect();
    }
    Ok(())
}

/// Brings the groups accessboard made in the app in line with ours: a group renamed
/// here is renamed there, a group deleted here (or no longer granted in the app) is
/// deleted there. Groups it did not make are never touched. Returns the requests made.
pub async fn upkeep(db: &Db, app: &str, scim: &ScimSettings, client: &ScimClient) -> Vec<ScimCall> {
    if !scim.push_groups {
        return Vec::new();
    }
    let app_owned = app.to_owned();
    let read = db
        .run(move |c| {
            Ok::<_, DbError>((
                pushed_groups::pushed(c, &app_owned)?,
                pushed_groups::granted(c, &app_owned)?,
            ))
        })
        .await;
    let (made, granted) = match read {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(app, error = %e, "could not read the groups pushed to the app");
            return Vec::new();
        }
    };
    let wanted: HashMap<Uuid, String> = granted
        .into_iter()
        .map(|g| (g.group, format!("{}{}", scim.group_prefix, g.name)))
        .collect();
    let session = client.session();
    for group in made {
        let external_id = group.group.to_string();
        let mut target = PushedGroup {
            name: &group.name,
            external_id: &external_id,
            scim_id: Some(&group.scim_id),
        };
        // Ok(Some(id)): the group as it should be now; Ok(None): gone from the app.
        let done = match wanted.get(&group.group) {
            Some(name) if *name == group.name => continue,
            Some(name) => {
                target.name = name;
                session.rename_pushed_group(&target).await
            }
            None => session.delete_pushed_group(&target).await.map(|()| None),
        };
        let app_owned = app.to_owned();
        let stored = match (done, wanted.get(&group.group)) {
            (Ok(Some(scim_id)), Some(name)) => {
                let row = Stored {
                    scim_id,
                    name: name.clone(),
                    ..group
                };
                db.run(move |c| pushed_groups::record(c, &app_owned, &row))
                    .await
            }
            // Deleted, or no longer in the app: the next write that needs it makes it.
            (Ok(_), _) => {
                db.run(move |c| pushed_groups::forget(c, &app_owned, group.group))
                    .await
            }
            (Err(e), _) => {
                tracing::warn!(app, error = %e, "could not rename or delete a group accessboard made in the app; trying again with the next batch");
                Ok(())
            }
        };
        if let Err(e) = stored {
            tracing::warn!(app, error = %e, "could not record a pushed group's change");
        }
    }
    session.into_calls()
}
