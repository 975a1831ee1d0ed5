//! Reconciles one (user, app) pair against the app's SCIM server: find, create or update, group, disable.
//!
//! Pure with respect to storage: it gets what should be and returns what it did; the
//! caller records the outcome and the session's journal.

use super::push::{PushStore, pushed_memberships};
pub use super::push::{Pushed, PushedMembership};
use super::roles;
pub use super::shape::merge;
use super::shape::{emails_of, name_of, role_attribute};
use crate::domain::{Deprovision, DesiredAccess, Role};
use crate::scim::{
    AccountIndex, ErrorKind, MemberChange, PushedGroup, ScimError, ScimSession, ScimUser, UserKey,
    Wanted,
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
    /// Whether the account should be active, and as admin.
    pub access: DesiredAccess,
    /// How accessboard's roles are expressed in the app (groups and/or a user attribute).
    pub roles: RoleMap,
    /// The role the app last confirmed: a value accessboard does not map (set by hand
    /// in the app) is left alone unless the role changed since.
    pub previous_role: Option<Role>,
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
    },
    /// The account was disabled (id kept) or deleted (no id).
    Deprovisioned {
        /// The disabled account's id; None once deleted.
        scim_id: Option<String>,
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
        Some(index) => index.find(&wanted(desired)).cloned(),
        None => locate(session, desired).await?,
    };
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
                reconciled: Reconciled::Provisioned { scim_id: id },
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
            if desired.on_deprovision == Deprovision::Delete {
                session.delete_user(&id).await?;
                return Ok(Planned {
                    reconciled: Reconciled::Deprovisioned { scim_id: None },
                    memberships: Vec::new(),
                });
            }
            if account.active != Some(false) {
                session.deactivate_user(&id).await?;
            }
            let memberships = mapped_groups(desired)
                .filter_map(
                    |(mapped, group)| match known_member(desired, mapped, false) {
                        Some(false) => None,
                        known => Some(membership(group, &id, false, known.is_some())),
                    },
                )
                .chain(pushed_memberships(desired, &id, false, false))
                .collect();
            Ok(Planned {
                reconciled: Reconciled::Deprovisioned { scim_id: Some(id) },
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
/// last time says the rest. Changes made by hand in the app are the drift check's job.
fn known_member(desired: &Desired, mapped: Role, created: bool) -> Option<bool> {
    if created {
        return Some(false);
    }
    desired.previous_role.map(|p| p == mapped)
}

/// The remote account: stored id, else externalId, else userName, else email (ignoring case).
async fn locate(session: &ScimSession, desired: &Desired) -> Result<Option<ScimUser>, ScimError> {
    if let Some(id) = &desired.known_scim_id {
        // A 404 means someone deleted it in the app; look further rather than trust the stale id.
        if let Some(user) = session.get_user(id).await? {
            return Ok(Some(user));
        }
    }
    session.find_user_by_any(&user_keys(desired)).await
}

async fn create(session: &ScimSession, desired: &Desired) -> Result<ScimUser, ScimError> {
    let mut new = ScimUser {
        external_id: Some(desired.external_id.clone()),
        user_name: desired.user_name.clone(),
        name: Some(name_of(&desired.display_name, None)),
        display_name: Some(desired.display_name.clone()),
        emails: emails_of(&desired.email, &[]),
        active: Some(true),
        ..ScimUser::default()
    };
    if let Some((attribute, value)) = role_attribute(desired) {
        roles::set(&mut new, &attribute, &[], &value);
    }
    match session.create_user(&new).await {
        Ok(created) => verify(session, desired, &new, created, "POST").await,
        Err(conflict) if conflict.is_conflict() => {
            // It exists after all (made meanwhile, or our lookup could not see it): adopt it, once.
            let keys = [
                UserKey::UserName(&desired.user_name),
                UserKey::Email(&desired.email),
                UserKey::ExternalId(&desired.external_id),
            ];
            let mut found = session.find_user_by_any(&keys).await?;
            if found.is_none() && session.capabilities().await?.filter {
                // The filter missed an account the app says exists: it does not work.
                found = session.list_user_matching(&keys).await?;
                if found.is_some() {
                    session.client().learn(|l| l.filter_broken = true);
                }
            }
            match found {
                Some(existing) => update(session, desired, existing).await,
                None => Err(conflict),
            }
        }
        Err(e) if e.status().is_some_and(|s| s >= 500) => {
            // Nextcloud answers 500 to a duplicate; a lost answer may have created it.
            // Look before concluding, by listing: the filter may be why we did not see it.
            match session.list_user_matching(&user_keys(desired)).await? {
                Some(existing) => {
                    session.client().learn(|l| l.filter_broken = true);
                    update(session, desired, existing).await
                }
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

fn user_keys(desired: &Desired) -> [UserKey<'_>; 3] {
    [
        UserKey::ExternalId(&desired.external_id),
        UserKey::UserName(&desired.user_name),
        UserKey::Email(&desired.email),
    ]
}

/// PUTs the remote account merged with ours, unless nothing would change; one retry on a stale ETag.
async fn update(
    session: &ScimSession,
    desired: &Desired,
    mut remote: ScimUser,
) -> Result<ScimUser, ScimError> {
    let id = id_of(&remote)?;
    for attempt in 0..2 {
        let merged = merge(&remote, desired, &session.client().learned());
        if merged == remote {
            return Ok(remote);
        }
        match session.replace_user(&merged).await {
            Ok(mut saved) => {
                saved.id.get_or_insert(id);
                return verify(session, desired, &merged, saved, "PUT").await;
            }
            Err(e) if e.status() == Some(412) && attempt == 0 => {
                remote = session.get_user(&id).await?.ok_or(e)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(remote)
}

/// Compares what the app answered to a write with what was sent; where the answer
/// lacks what matters, reads the account once. A pair is only provisioned on what the
/// app confirmed. `written` is the method that sent it (POST or PUT), for messages.
async fn verify(
    session: &ScimSession,
    desired: &Desired,
    sent: &ScimUser,
    answer: ScimUser,
    written: &'static str,
) -> Result<ScimUser, ScimError> {
    // Zulip and Nextcloud's PUT never keep these; comparing them would PUT on every run.
    if sent.external_id.is_some() && answer.external_id().is_none() {
        session.client().learn(|l| l.drops_external_id = true);
    }
    if answer.user_name.to_lowercase() != sent.user_name.to_lowercase() {
        session.client().learn(|l| l.drops_user_name = true);
    }
    // Nextcloud answers `name` as it keeps it (formatted only), whatever we sent.
    if sent.name.is_some() && answer.name != sent.name {
        session.client().learn(|l| l.drops_name = true);
    }
    let attribute = role_attribute(desired).map(|(a, _)| a);
    let wanted = attribute.as_ref().map(|a| roles::values(sent, a));
    let holds = |u: &ScimUser| {
        u.active != Some(false)
            && attribute
                .as_ref()
                .is_none_or(|a| Some(roles::values(u, a)) == wanted)
    };
    // An answer without `active` or without the attribute proves nothing: read it back.
    let answer_says = answer.active.is_some()
        && attribute
            .as_ref()
            .is_none_or(|a| !roles::values(&answer, a).is_empty());
    if answer_says && holds(&answer) {
        return Ok(answer);
    }
    let id = id_of(&answer)?;
    let Some(read) = session.get_user(&id).await? else {
        return Err(ScimError::other(
            ErrorKind::Transient,
            "GET",
            &format!("/Users/{id}"),
            Some(404),
            "the account vanished right after it was written",
        ));
    };
    if holds(&read) {
        return Ok(read);
    }
    let what = match (&attribute, &wanted) {
        (Some(a), Some(w)) if roles::values(&read, a) != *w => format!(
            "the app kept {a}={} for {} after {written} (wanted {})",
            roles::values(&read, a).join(","),
            desired.user_name,
            w.join(",")
        ),
        _ => format!(
            "the app kept {} inactive after {written}",
            desired.user_name
        ),
    };
    // The request that wrote it: a POST went to the collection, a PUT to the account.
    let path = match written {
        "POST" => "/Users".to_owned(),
        _ => format!("/Users/{id}"),
    };
    Err(ScimError::other(
        ErrorKind::Permanent,
        written,
        &path,
        None,
        what,
    ))
}

fn id_of(user: &ScimUser) -> Result<String, ScimError> {
    user.id
        .clone()
        .ok_or_else(|| ScimError::missing_id("GET", "/Users"))
}
