//! One person's account in the app: found, created, updated and deleted, each answer
//! proved to be this person's account before it is believed or written to.

use super::proof::{describe, is_theirs, not_theirs, stored_is_theirs};
use super::reconcile::Desired;
use super::roles;
use super::shape::{emails_of, managed_attribute, merge, name_of, role_attribute};
use crate::scim::{ErrorKind, Learned, ScimError, ScimSession, ScimUser, UserKey};

/// The person's account: the one at the stored id when it is still theirs, else the one
/// the lookup keys find. An account a key finds that is provably someone else's (another
/// person's externalId) is an error naming it, never adopted.
pub(super) async fn locate(
    session: &ScimSession,
    desired: &Desired,
) -> Result<Option<ScimUser>, ScimError> {
    let mut stale = None;
    if let Some(id) = &desired.known_scim_id {
        // A 404 means someone deleted it in the app; look further rather than trust the stale id.
        match session.get_user(id).await? {
            Some(user) if stored_is_theirs(&user, desired) => return Ok(Some(user)),
            Some(user) => {
                // The id was reused for someone else: forget it and look the person up.
                tracing::warn!(id, "the stored account id now answers another account");
                stale = Some(user);
            }
            None => {}
        }
    }
    let found = session.find_user_by_any(&user_keys(desired)).await?;
    proved(found, desired, stale.as_ref())
}

/// The account found, unless an admin left it unmanaged: then it is nobody's here until
/// it is linked, and the pair fails naming it rather than adopting or duplicating it.
pub(super) fn left_alone(
    session: &ScimSession,
    found: Option<ScimUser>,
    desired: &Desired,
) -> Result<Option<ScimUser>, ScimError> {
    match found {
        Some(user)
            if user.id.as_deref().is_some_and(|id| {
                session.client().is_unmanaged(id) && desired.known_scim_id.as_deref() != Some(id)
            }) =>
        {
            Err(not_theirs(
                "GET",
                "/Users",
                desired,
                format!(
                    "the app's account matching {} is {}, left unmanaged; link it with app adopt or on the Discover page to make it theirs",
                    desired.user_name,
                    describe(&user)
                ),
            ))
        }
        found => Ok(found),
    }
}

/// An account a lookup found, once proved theirs. `stale` is the account their stored id
/// answered, named in the message when no account of theirs is found either.
pub(super) fn proved(
    found: Option<ScimUser>,
    desired: &Desired,
    stale: Option<&ScimUser>,
) -> Result<Option<ScimUser>, ScimError> {
    match found {
        Some(user) if is_theirs(&user, desired) => Ok(Some(user)),
        Some(user) => Err(not_theirs(
            "GET",
            "/Users",
            desired,
            format!(
                "the app's account matching {} is {}, which carries another person's externalId",
                desired.user_name,
                describe(&user)
            ),
        )),
        None => {
            if let Some(other) = stale {
                tracing::info!(
                    account = %describe(other),
                    "the person's stored account is gone; its id answers another account"
                );
            }
            Ok(None)
        }
    }
}

/// The lookup keys of a person, in order of trust.
pub(super) fn user_keys(desired: &Desired) -> [UserKey<'_>; 3] {
    [
        UserKey::ExternalId(&desired.external_id),
        UserKey::UserName(&desired.user_name),
        UserKey::Email(&desired.email),
    ]
}

/// POSTs the person's account; an answer that is not theirs is never linked: the person is
/// looked up again, and if no account of theirs exists the pair fails naming both.
pub(super) async fn create(
    session: &ScimSession,
    desired: &Desired,
) -> Result<ScimUser, ScimError> {
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
        Ok(created) if is_theirs(&created, desired) => {
            let id = id_of(&created)?;
            let account = verify(session, desired, &new, &id, created, "POST").await?;
            // Once per app and attribute: an account now known to exist shows whether
            // the filters find it, so that later empty answers can be believed.
            session.prove_filters(&user_keys(desired), &id).await?;
            Ok(account)
        }
        Ok(other) => {
            // Whatever the app made, it did not say so: find the person's account by listing.
            let found = session.list_user_matching(&user_keys(desired)).await?;
            match proved(found, desired, None)? {
                Some(existing) => update(session, desired, existing).await,
                None => Err(not_theirs(
                    "POST",
                    "/Users",
                    desired,
                    format!(
                        "the app answered the create of {} with {}",
                        desired.user_name,
                        describe(&other)
                    ),
                )),
            }
        }
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
            match proved(found, desired, None)? {
                Some(existing) => update(session, desired, existing).await,
                None => Err(conflict),
            }
        }
        Err(e) if e.status().is_some_and(|s| s >= 500) => {
            // Nextcloud answers 500 to a duplicate; a lost answer may have created it.
            // Look before concluding, by listing: the filter may be why we did not see it.
            let found = session.list_user_matching(&user_keys(desired)).await?;
            match proved(found, desired, None)? {
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

/// PUTs the remote account merged with ours, unless nothing would change; one retry on a
/// stale ETag. `remote` is proved theirs; every write goes to its id, whatever an answer says.
pub(super) async fn update(
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
                saved.id.get_or_insert_with(|| id.clone());
                return verify(session, desired, &merged, &id, saved, "PUT").await;
            }
            Err(e) if e.status() == Some(412) && attempt == 0 => {
                remote = session
                    .get_user(&id)
                    .await?
                    .filter(|u| is_theirs(u, desired))
                    .ok_or(e)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(remote)
}

/// Compares what the app answered to a write of account `id` with what was sent; where
/// the answer lacks what matters, or is not this account, reads `id` once. A pair is only
/// provisioned on what the app confirmed. `written` is the method that sent it (POST or
/// PUT), for messages.
async fn verify(
    session: &ScimSession,
    desired: &Desired,
    sent: &ScimUser,
    id: &str,
    answer: ScimUser,
    written: &'static str,
) -> Result<ScimUser, ScimError> {
    let attribute = managed_attribute(desired);
    let wanted = attribute.as_ref().map(|a| roles::values(sent, a));
    let holds = |u: &ScimUser| {
        u.active != Some(false)
            && attribute
                .as_ref()
                .is_none_or(|a| Some(roles::values(u, a)) == wanted)
    };
    let same_account = answer.id.as_deref() == Some(id) && is_theirs(&answer, desired);
    let before = session.client().learned();
    // An answer that seems to drop an attribute may only be short: a read confirms it
    // before it is remembered, since a dropped attribute is never sent again.
    let news = same_account && kept_by(sent, &answer, before) != before;
    // An answer without `active` or without the attribute proves nothing: read it back.
    let answer_says = same_account
        && !news
        && answer.active.is_some()
        && attribute
            .as_ref()
            .is_none_or(|a| !roles::values(&answer, a).is_empty());
    if answer_says && holds(&answer) {
        return Ok(answer);
    }
    let read = match session.get_user(id).await? {
        Some(read) if is_theirs(&read, desired) => read,
        Some(other) => {
            return Err(not_theirs(
                "GET",
                &format!("/Users/{id}"),
                desired,
                format!("right after the write, {id} answered {}", describe(&other)),
            ));
        }
        None => {
            return Err(ScimError::other(
                ErrorKind::Transient,
                "GET",
                &format!("/Users/{id}"),
                Some(404),
                "the account vanished right after it was written",
            ));
        }
    };
    let learned = kept_by(sent, &read, before);
    if learned != before {
        session.client().learn(|l| *l = kept_by(sent, &read, *l));
    }
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

// What the app keeps, learned from its account as it answered a write of `sent` (or as
// read back): the record with every attribute it was sent and did not keep marked.
fn kept_by(sent: &ScimUser, kept: &ScimUser, mut learned: Learned) -> Learned {
    // Zulip and Nextcloud's PUT never keep these; comparing them would PUT on every run.
    if sent.external_id.is_some() && kept.external_id().is_none() {
        learned.drops_external_id = true;
    }
    if kept.user_name.to_lowercase() != sent.user_name.to_lowercase() {
        learned.drops_user_name = true;
    }
    if !sent.emails.is_empty() && kept.emails.is_empty() {
        learned.drops_emails = true;
    }
    if sent.display_name.is_some() && kept.display_name.is_none() {
        learned.drops_display_name = true;
    }
    // Each part of the name on its own: Nextcloud and Zulip keep only `formatted`,
    // django-scim2-server only the parts; neither "drops names".
    if let Some(name) = &sent.name {
        let kept_name = kept.name.clone().unwrap_or_default();
        if name.formatted.is_some() && kept_name.formatted.is_none() {
            learned.drops_name_formatted = true;
        }
        if name.given_name.is_some() && kept_name.given_name.is_none() {
            learned.drops_name_parts = true;
        }
    }
    learned
}

/// The account's id; an account without one cannot be written to.
pub(super) fn id_of(user: &ScimUser) -> Result<String, ScimError> {
    user.id
        .clone()
        .ok_or_else(|| ScimError::missing_id("GET", "/Users"))
}
