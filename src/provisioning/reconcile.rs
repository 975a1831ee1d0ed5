//! Reconciles one (user, app) pair against the app's SCIM server: find, create or update, group, disable.
//!
//! Pure with respect to storage: it gets what should be and returns what it did; the
//! caller records the outcome and the session's journal.

use super::account::{create, id_of, locate, proved, update};
use super::proof::{is_theirs, stored_is_theirs};
use super::push::{PushStore, pushed_memberships};
pub use super::push::{Pushed, PushedMembership};
pub use super::shape::merge;
use crate::domain::{Deprovision, DesiredAccess, Role};
use crate::scim::{
    AccountIndex, MemberChange, PushedGroup, ScimError, ScimSession, ScimUser, Wanted,
};
use crate::settings::RoleMap;

/// The desired state of one pair, as the caller read it from the database and settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// Our user id (uuid), sent as `externalId`.
    pub external_id: String,
    /// The userName rendered from the app's template.
    pub user_name: String,
    /// The person's email.
    pub email: String,
    /// The person's full name.
    pub display_name: String,
    /// The account id stored by an earlier reconcile.
    pub known_scim_id: Option<String>,
    /// The userName the app held when it last confirmed the pair.
    pub previous_user_name: Option<String>,
    /// Whether the account should be active, and as admin.
    pub access: DesiredAccess,
    /// How accessboard's roles are expressed in the app (groups and/or a user attribute).
    pub roles: RoleMap,
    /// The role the app last confirmed: a value accessboard does not map (set by hand
    /// in the app) is left alone unless the role changed since.
    pub previous_role: Option<Role>,
    /// Read the managed groups rather than trust `previous_role` for memberships (a
    /// person's Sync now: what the app holds now beats what we remember).
    pub read_roles: bool,
    /// Disable or delete on revoke.
    pub on_deprovision: Deprovision,
    /// Whether accessboard overwrites names on update (apps like Zulip let users change theirs).
    pub manage_names: bool,
    /// With `push_groups`: every group granted in the app, and whether the person is in it.
    pub pushed: Vec<PushedMembership>,
}

/// What the reconcile did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reconciled {
    /// The account exists, is active and has the right group membership.
    Provisioned {
        /// The account's id in the app.
        scim_id: String,
        /// Its userName, as the app holds it.
        user_name: String,
    },
    /// The account was disabled (id kept) or deleted (no id).
    Deprovisioned {
        /// The disabled account's id; None once deleted.
        scim_id: Option<String>,
        /// Its userName, as the app holds it; None once deleted.
        user_name: Option<String>,
        /// A DELETE was answered with success but the app kept the account, inactive.
        only_deactivated: bool,
    },
    /// Access is absent and the app has no account: nothing to do.
    NothingToDo,
}

/// A group membership a reconcile still needs, written in batches by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The group's displayName.
    pub group: String,
    /// The account's id in the app.
    pub account: String,
    /// Names the person in messages.
    pub who: String,
    /// In the group, or not.
    pub member: bool,
    /// Whether the stored state says the app does not hold it yet (else: unknown).
    pub known: bool,
    /// One of accessboard's pushed groups (else a group roles are mapped to).
    pub pushed: Option<Pushed>,
}

/// What the account's own writes did, and the memberships still to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The outcome once the memberships are confirmed.
    pub reconciled: Reconciled,
    /// Memberships to change; empty when the stored state says they hold.
    pub memberships: Vec<Membership>,
}

/// Brings the app in line with `desired` for this one person, memberships included;
/// `push` records the groups made for `push_groups`.
pub async fn reconcile(
    session: &ScimSession,
    desired: &Desired,
    push: Option<&PushStore>,
) -> Result<Reconciled, ScimError> {
    let planned = reconcile_account(session, desired, None).await?;
    for m in &planned.memberships {
        let change = MemberChange {
            account: &m.account,
            who: &m.who,
            member: m.member,
            known: m.known,
        };
        let result = match &m.pushed {
            None => session.set_memberships(&m.group, &[change]).await.pop(),
            Some(p) => {
                let external_id = p.group.to_string();
                let group = PushedGroup {
                    name: &m.group,
                    external_id: &external_id,
                    scim_id: p.scim_id.as_deref(),
                };
                let (mut written, made) = session.set_pushed_memberships(&group, &[change]).await;
                if let (Some(scim_id), Some(store)) = (made, push) {
                    store.record(p.group, scim_id, m.group.clone()).await;
                }
                written.pop()
            }
        };
        if let Some(result) = result {
            result?;
        }
    }
    Ok(planned.reconciled)
}

/// Brings the account in line with `desired` and says which memberships remain to be
/// written. With `listed`, the account is looked up in that listing instead of the app.
pub async fn reconcile_account(
    session: &ScimSession,
    desired: &Desired,
    listed: Option<&AccountIndex>,
) -> Result<Planned, ScimError> {
    let remote = match listed {
        Some(index) => find_listed(index, desired)?,
        None => locate(session, desired).await?,
    };
    let remote = super::account::left_alone(session, remote, desired)?;
    let membership = |group: &str, account: &str, member: bool, known: bool| Membership {
        group: group.to_owned(),
        account: account.to_owned(),
        who: desired.user_name.clone(),
        member,
        known,
        pushed: None,
    };
    match desired.access {
        DesiredAccess::Active { admin } => {
            let role = if admin { Role::Admin } else { Role::User };
            let (account, created) = match remote {
                Some(account) => (update(session, desired, account).await?, false),
                None => (create(session, desired).await?, true),
            };
            let id = id_of(&account)?;
            let user_name = account.user_name.clone();
            let memberships = mapped_groups(desired)
                .filter_map(|(mapped, group)| {
                    let want = mapped == role;
                    match known_member(desired, mapped, created) {
                        Some(is) if is == want => None,
                        known => Some(membership(group, &id, want, known.is_some())),
                    }
                })
                .chain(pushed_memberships(desired, &id, true, created))
                .collect();
            Ok(Planned {
                reconciled: Reconciled::Provisioned {
                    scim_id: id,
                    user_name,
                },
                memberships,
            })
        }
        DesiredAccess::Absent => {
            let Some(account) = remote else {
                return Ok(Planned {
                    reconciled: Reconciled::NothingToDo,
                    memberships: Vec::new(),
                });
            };
            let id = id_of(&account)?;
            // Disable first: if the app then refuses to let go of a group, the person
            // at least cannot sign in, and the error says what is left to do.
            let reconciled = take_away(session, &account, desired.on_deprovision, |u| {
                is_theirs(u, desired)
            })
            .await?;
            if desired.on_deprovision == Deprovision::Delete {
                return Ok(Planned {
                    reconciled,
                    memberships: Vec::new(),
                });
            }
            // Out of every group accessboard manages, as the app holds them now: a role
            // given by hand in the app must not outlive the revocation.
            let memberships = mapped_groups(desired)
                .map(|(_, group)| membership(group, &id, false, false))
                .chain(pushed_memberships(desired, &id, false, false))
                .collect();
            Ok(Planned {
                reconciled,
                memberships,
            })
        }
    }
}

/// What a listing is searched for, for this pair.
pub fn wanted(desired: &Desired) -> Wanted {
    Wanted {
        known_id: desired.known_scim_id.clone(),
        external_id: desired.external_id.clone(),
        user_name: desired.user_name.clone(),
        email: desired.email.clone(),
    }
}

/// The groups roles are mapped to, with their role.
fn mapped_groups(desired: &Desired) -> impl Iterator<Item = (Role, &str)> {
    [
        (Role::Admin, &desired.roles.admin),
        (Role::User, &desired.roles.user),
    ]
    .into_iter()
    .filter_map(|(role, t)| Some((role, t.as_ref()?.group.as_deref()?)))
}

/// Whether the account is in the group of role `mapped`, when known without asking:
/// an account made in this reconcile is in no group, and the role the app confirmed
/// last time says the rest, unless the groups are to be read. Changes made by hand
/// are found by `app sync` and the drift check, which forget that role.
fn known_member(desired: &Desired, mapped: Role, created: bool) -> Option<bool> {
    if created {
        return Some(false);
    }
    if desired.read_roles {
        return None;
    }
    desired.previous_role.map(|p| p == mapped)
}

// The person's account in a batch's listing: the one at the stored id when still theirs,
// else the one their keys find, proved theirs.
fn find_listed(index: &AccountIndex, desired: &Desired) -> Result<Option<ScimUser>, ScimError> {
    let mut want = wanted(desired);
    let stale = match index.find(&want) {
        Some(user) if want.known_id.is_some() && user.id == want.known_id => {
            if stored_is_theirs(user, desired) {
                return Ok(Some(user.clone()));
            }
            Some(user.clone())
        }
        Some(user) if is_theirs(user, desired) => return Ok(Some(user.clone())),
        found => return proved(found.cloned(), desired, None),
    };
    want.known_id = None;
    proved(index.find(&want).cloned(), desired, stale.as_ref())
}

/// Takes away the access of `account`, already proved to be the one meant, as the app's
/// settings say (`how`): disabled (PATCH where the app has it, else GET and PUT), or
/// deleted and read back, `theirs` telling whether what stays at its id is still it.
/// The one path of every revocation: a pair's, and an account of nobody here.
pub async fn take_away(
    session: &ScimSession,
    account: &ScimUser,
    how: Deprovision,
    theirs: impl Fn(&ScimUser) -> bool,
) -> Result<Reconciled, ScimError> {
    let id = id_of(account)?;
    if how == Deprovision::Delete {
        return delete(session, account, &id, theirs).await;
    }
    if account.active != Some(false) {
        session.deactivate_user(&id).await?;
    }
    Ok(Reconciled::Deprovisioned {
        scim_id: Some(id),
        user_name: Some(account.user_name.clone()),
        only_deactivated: false,
    })
}

/// DELETEs the account, then reads it once: an app whose DELETE only deactivates keeps
/// it, and an account still active is disabled as well, never reported deleted.
async fn delete(
    session: &ScimSession,
    account: &ScimUser,
    id: &str,
    theirs: impl Fn(&ScimUser) -> bool,
) -> Result<Reconciled, ScimError> {
    session.delete_user(id).await?;
    let kept = session.get_user(id).await?.filter(|u| theirs(u));
    let Some(kept) = kept else {
        return Ok(Reconciled::Deprovisioned {
            scim_id: None,
            user_name: None,
            only_deactivated: false,
        });
    };
    if kept.active != Some(false) {
        // The app answered the DELETE but keeps the account active: disabling is the least.
        session.deactivate_user(id).await?;
    } else {
        session.client().learn(|l| l.delete_deactivates = true);
    }
    Ok(Reconciled::Deprovisioned {
        scim_id: Some(id.to_owned()),
        user_name: Some(account.user_name.clone()),
        only_deactivated: true,
    })
}
