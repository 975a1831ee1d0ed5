//! Reconciles one (user, app) pair against the app's SCIM server: find, create or update, group, disable.
//!
//! Pure with respect to storage: it gets what should be and returns what it did; the
//! caller records the outcome and the session's journal.

use crate::domain::{Deprovision, DesiredAccess};
use crate::scim::{Email, Name, ScimError, ScimSession, ScimUser, UserKey};

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
    /// The app's admin group, when admin rights are provisioned.
    pub admin_group: Option<String>,
    /// Disable or delete on revoke.
    pub on_deprovision: Deprovision,
    /// Whether accessboard overwrites names on update (apps like Zulip let users change theirs).
    pub manage_names: bool,
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

/// Brings the app in line with `desired` for this one person.
pub async fn reconcile(session: &ScimSession, desired: &Desired) -> Result<Reconciled, ScimError> {
    let remote = locate(session, desired).await?;
    match desired.access {
        DesiredAccess::Active { admin } => {
            let account = match remote {
                Some(account) => update(session, desired, account).await?,
                None => create(session, desired).await?,
            };
            let id = id_of(&account)?;
            if let Some(group) = &desired.admin_group {
                set_admin(session, group, &id, admin).await?;
            }
            Ok(Reconciled::Provisioned { scim_id: id })
        }
        DesiredAccess::Absent => {
            let Some(account) = remote else {
                return Ok(Reconciled::NothingToDo);
            };
            let id = id_of(&account)?;
            if let Some(group) = &desired.admin_group {
                set_admin(session, group, &id, false).await?;
            }
            match desired.on_deprovision {
                Deprovision::Disable => {
                    if account.active != Some(false) {
                        session.deactivate_user(&id).await?;
                    }
                    Ok(Reconciled::Deprovisioned { scim_id: Some(id) })
                }
                Deprovision::Delete => {
                    session.delete_user(&id).await?;
                    Ok(Reconciled::Deprovisioned { scim_id: None })
                }
            }
        }
    }
}

/// The remote account: stored id, else externalId, else userName, else email (ignoring case).
async fn locate(session: &ScimSession, desired: &Desired) -> Result<Option<ScimUser>, ScimError> {
    if let Some(id) = &desired.known_scim_id {
        // A 404 means someone deleted it in the app; look further rather than trust the stale id.
        if let Some(user) = session.get_user(id).await? {
            return Ok(Some(user));
        }
    }
    session
        .find_user_by_any(&[
            UserKey::ExternalId(&desired.external_id),
            UserKey::UserName(&desired.user_name),
            UserKey::Email(&desired.email),
        ])
        .await
}

async fn create(session: &ScimSession, desired: &Desired) -> Result<ScimUser, ScimError> {
    let new = ScimUser {
        external_id: Some(desired.external_id.clone()),
        user_name: desired.user_name.clone(),
        name: Some(name_of(&desired.display_name, None)),
        display_name: Some(desired.display_name.clone()),
        emails: emails_of(&desired.email, &[]),
        active: Some(true),
        ..ScimUser::default()
    };
    match session.create_user(&new).await {
        Ok(created) => Ok(created),
        Err(conflict) if conflict.is_conflict() => {
            // It exists after all (made meanwhile, or our lookup could not see it): adopt it, once.
            let found = session
                .find_user_by_any(&[
                    UserKey::UserName(&desired.user_name),
                    UserKey::Email(&desired.email),
                    UserKey::ExternalId(&desired.external_id),
                ])
                .await?;
            match found {
                Some(existing) => update(session, desired, existing).await,
                None => Err(conflict),
            }
        }
        Err(e) => Err(e),
    }
}

/// PUTs the remote account merged with ours, unless nothing would change; one retry on a stale ETag.
async fn update(
    session: &ScimSession,
    desired: &Desired,
    mut remote: ScimUser,
) -> Result<ScimUser, ScimError> {
    let id = id_of(&remote)?;
    for attempt in 0..2 {
        let merged = merge(&remote, desired);
        if merged == remote {
            return Ok(remote);
        }
        match session.replace_user(&merged).await {
            Ok(mut saved) => {
                saved.id.get_or_insert(id);
                return Ok(saved);
            }
            Err(e) if e.status() == Some(412) && attempt == 0 => {
                remote = session.get_user(&id).await?.ok_or(e)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(remote)
}

/// The account as it should be: the remote resource (unknown attributes kept) with our attributes set.
pub fn merge(remote: &ScimUser, desired: &Desired) -> ScimUser {
    let mut user = remote.clone();
    user.external_id = Some(desired.external_id.clone());
    // Servers that lowercase userName would otherwise get a PUT on every reconcile.
    if user.user_name.to_lowercase() != desired.user_name.to_lowercase() {
        user.user_name = desired.user_name.clone();
    }
    user.active = Some(true);
    let same_email = remote.emails.len() == 1
        && remote.emails[0].value.to_lowercase() == desired.email.to_lowercase()
        && remote.emails[0].primary != Some(false);
    if !same_email {
        user.emails = emails_of(&desired.email, &remote.emails);
    }
    if desired.manage_names {
        user.display_name = Some(desired.display_name.clone());
        user.name = Some(name_of(&desired.display_name, remote.name.as_ref()));
    }
    user
}

// The email is ours to own: one primary address. A remote entry for the same address keeps its extras.
fn emails_of(email: &str, remote: &[Email]) -> Vec<Email> {
    let wanted = email.to_lowercase();
    let mut entry = remote
        .iter()
        .find(|e| e.value.to_lowercase() == wanted)
        .cloned()
        .unwrap_or_default();
    entry.value = email.to_owned();
    entry.primary = Some(true);
    entry.kind.get_or_insert_with(|| "work".to_owned());
    vec![entry]
}

// Apps want given and family names; we only hold one full name, so split at the first space.
fn name_of(full: &str, remote: Option<&Name>) -> Name {
    let mut name = remote.cloned().unwrap_or_default();
    let full = full.trim();
    let (given, family) = match full.split_once(char::is_whitespace) {
        Some((g, f)) => (g.to_owned(), Some(f.trim().to_owned())),
        None => (full.to_owned(), None),
    };
    name.formatted = Some(full.to_owned());
    name.given_name = Some(given);
    name.family_name = family;
    name
}

/// Puts the account in or out of the admin group, touching no other member.
async fn set_admin(
    session: &ScimSession,
    group_name: &str,
    user_id: &str,
    admin: bool,
) -> Result<(), ScimError> {
    let group = match session.find_group(group_name).await? {
        Some(group) => group,
        None if admin => match session.create_group(group_name).await {
            Ok(group) => group,
            Err(e) if e.is_conflict() => session.find_group(group_name).await?.ok_or(e)?,
            Err(e) => return Err(e),
        },
        // No group means nobody is in it.
        None => return Ok(()),
    };
    let Some(group_id) = group.id.clone() else {
        return Err(ScimError::missing_id("GET", "/Groups"));
    };
    match (admin, group.has_member(user_id)) {
        (true, Some(true)) | (false, Some(false)) => Ok(()),
        (true, _) => session.add_member(&group_id, user_id).await,
        (false, _) => session.remove_member(&group_id, user_id).await,
    }
}

fn id_of(user: &ScimUser) -> Result<String, ScimError> {
    user.id
        .clone()
        .ok_or_else(|| ScimError::missing_id("GET", "/Users"))
}
