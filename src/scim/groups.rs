//! Groups: finding (and once making) a group, and membership changes for many accounts
//! at once that touch only the members concerned and are confirmed by the app.

use super::client::Request;
use super::dialect::RemovalForm;
use super::error::{ErrorKind, ScimError};
use super::models::{Member, ScimGroup};
use super::session::ScimSession;

mod forms;
mod pushed;

use forms::Form;
pub use pushed::PushedGroup;

// The accounts the changes put into the group.
fn adds_of<'a>(changes: &[MemberChange<'a>]) -> Vec<&'a str> {
    changes
        .iter()
        .filter(|c| c.member)
        .map(|c| c.account)
        .collect()
}

/// The writes sent for one direction of a membership change, as the journal shows them.
#[derive(Default)]
struct Sent {
    /// Each method once, in the order first sent.
    tried: Vec<&'static str>,
    /// The method sent last.
    last: Option<&'static str>,
}

impl Sent {
    fn push(&mut self, method: &'static str) {
        if !self.tried.contains(&method) {
            self.tried.push(method);
        }
        self.last = Some(method);
    }
}

/// Operations per PATCH request: servers cap request bodies, and one change per member.
const PATCH_CHUNK: usize = 500;

/// One account's wanted membership in a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberChange<'a> {
    /// The account's id in the app.
    pub account: &'a str,
    /// Names the person in messages.
    pub who: &'a str,
    /// In the group, or not.
    pub member: bool,
    /// Whether the change is known to be needed (the stored state says the app does not
    /// hold it yet); when unknown, the group is read first and nothing held is written.
    pub known: bool,
}

impl ScimSession {
    /// The group with exactly this displayName, if any.
    pub async fn find_group(&self, display_name: &str) -> Result<Option<ScimGroup>, ScimError> {
        let lower = display_name.to_lowercase();
        self.find_resource(
            "find_group",
            "Groups",
            "displayName",
            &[display_name.to_owned()],
            |g: &ScimGroup| g.display_name == display_name,
            |g: &ScimGroup| g.display_name.to_lowercase() == lower,
            Some(|l| &mut l.filters.group_name),
        )
        .await
    }

    /// After a group is made: asks the displayName filter once, unless already proved or
    /// caught lying, so that its later empty answers can be believed (or are not).
    pub async fn prove_group_filter(&self, display_name: &str, id: &str) -> Result<(), ScimError> {
        let learned = self.client().learned();
        let caps = self.capabilities().await?;
        if !caps.filter
            || learned.filter_broken
            || learned.filters.group_name != super::dialect::FilterTrust::Unproved
        {
            return Ok(());
        }
        let found = self.find_group(display_name).await?;
        if found.is_none_or(|g| g.id.as_deref() != Some(id)) {
            self.client()
                .learn(|l| l.filters.group_name = super::dialect::FilterTrust::Lies);
        }
        Ok(())
    }

    /// The group with this id, members included where the app lists them.
    pub async fn get_group(&self, id: &str) -> Result<Option<ScimGroup>, ScimError> {
        self.get_group_as("get_group", id).await
    }

    async fn get_group_as(
        &self,
        op: &'static str,
        id: &str,
    ) -> Result<Option<ScimGroup>, ScimError> {
        let mut req = Request::new(op, "GET", vec!["Groups", id]);
        req.expect = &[404];
        let answer = self.send(req).await?;
        if answer.status == 404 {
            Ok(None)
        } else {
            answer.json().map(Some)
        }
    }

    /// POSTs a group with these members; a 409 comes back as an error of kind Conflict.
    pub async fn create_group(
        &self,
        display_name: &str,
        members: &[&str],
        external_id: Option<&str>,
    ) -> Result<ScimGroup, ScimError> {
        let mut group = ScimGroup {
            display_name: display_name.to_owned(),
            members: (!members.is_empty()).then(|| {
                members
                    .iter()
                    .map(|m| Member {
                        value: (*m).to_owned(),
                        ..Member::default()
                    })
                    .collect()
            }),
            ..ScimGroup::default()
        };
        if let Some(external_id) = external_id {
            group
                .extra
                .insert("externalId".into(), external_id.to_owned().into());
        }
        let mut req = Request::new("create_group", "POST", vec!["Groups"]);
        req.body = Some(Self::to_body("POST", "/Groups", &group)?);
        let answer = self.send(req).await?;
        let created: ScimGroup = answer.json()?;
        if created.id.is_none() {
            return Err(ScimError::other(
                ErrorKind::Permanent,
                "POST",
                "/Groups",
                Some(answer.status),
                "the server created the group but did not say its id",
            ));
        }
        Ok(created)
    }

    /// [`Self::set_memberships`] for one account.
    pub async fn set_membership(
        &self,
        group: &str,
        account: &str,
        who: &str,
        member: bool,
    ) -> Result<(), ScimError> {
        let change = MemberChange {
            account,
            who,
            member,
            known: false,
        };
        self.set_memberships(group, &[change])
            .await
            .pop()
            .unwrap_or(Ok(()))
    }

    /// Puts each account in the group named `group`, or takes it out, in as few requests
    /// as the app allows (one PATCH with many operations, else one PUT of the group), and
    /// answers per change whether the app shows it: a write is only trusted once confirmed.
    ///
    /// Removal tries the forms RFC 7644 allows, starting with the one this app took last;
    /// changes no form achieved get an error saying what the app kept.
    pub async fn set_memberships(
        &self,
        group: &str,
        changes: &[MemberChange<'_>],
    ) -> Vec<Result<(), ScimError>> {
        match self.try_set_memberships(group, changes).await {
            Ok(results) => results,
            Err(e) => changes.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    async fn try_set_memberships(
        &self,
        group: &str,
        changes: &[MemberChange<'_>],
    ) -> Result<Vec<Result<(), ScimError>>, ScimError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        if self.group_resource().await? == Some(false) {
            return Err(ScimError::other(
                ErrorKind::Permanent,
                "GET",
                "/ResourceTypes",
                None,
                format!(
                    "the app has no Group resource, so roles cannot be given through group {group:?}; map them to a user attribute instead"
                ),
            ));
        }
        let Some((group_id, read)) = self.group_id(group, &adds_of(changes)).await? else {
            // No such group: nobody is in it, as the removals wanted.
            return Ok(changes.iter().map(|_| Ok(())).collect());
        };
        self.write_changes(group, &group_id, read, changes).await
    }

    // Writes the changes to the group `group_id` (named `group`), as read or made just
    // now (`read`), and answers per change whether the app shows it.
    async fn write_changes(
        &self,
        group: &str,
        group_id: &str,
        read: Option<ScimGroup>,
        changes: &[MemberChange<'_>],
    ) -> Result<Vec<Result<(), ScimError>>, ScimError> {
        let group_id = group_id.to_owned();
        let mut done = vec![false; changes.len()];
        // The group as just found or made says what holds already; where a change may
        // already hold and nothing was read, read the group once. Only the rest is written.
        let held_now = match read {
            Some(g) => Some(g),
            None if changes.iter().any(|c| !c.known) => {
                self.get_group_as("get_group", &group_id).await?
            }
            None => None,
        };
        if let Some(members) = held_now.and_then(|g| g.members) {
            let held: std::collections::HashSet<&str> =
                members.iter().map(|m| m.value.as_str()).collect();
            for (c, d) in changes.iter().zip(done.iter_mut()) {
                *d = held.contains(c.account) == c.member;
            }
        }
        let before = self.calls().len();
        for form in self.forms(true).await? {
            self.apply(form, &group_id, changes, true, &mut done)
                .await?;
        }
        for form in self.forms(false).await? {
            self.apply(form, &group_id, changes, false, &mut done)
                .await?;
        }
        // Messages name the writes the journal shows were sent, not the forms meant.
        let path = format!("/Groups/{group_id}");
        let sent = self
            .calls()
            .into_iter()
            .skip(before)
            .filter(|c| c.path == path && matches!(c.method, "PATCH" | "PUT"));
        let (mut adding, mut removing) = (Sent::default(), Sent::default());
        for call in sent {
            match call.operation {
                "add_member" => adding.push(call.method),
                "remove_member" => removing.push(call.method),
                _ => {}
            }
        }
        Ok(changes
            .iter()
            .zip(done)
            .map(|(c, ok)| {
                if ok {
                    return Ok(());
                }
                let (sent, what) = if c.member {
                    (
                        &adding,
                        format!("the app did not add {} to group {group:?}", c.who),
                    )
                } else {
                    (
                        &removing,
                        format!("the app kept {} in group {group:?}", c.who),
                    )
                };
                let (method, what) = match sent.last {
                    Some(last) => (last, format!("{what} after {}", sent.tried.join(" and "))),
                    // Nothing was written: the group as read already said no.
                    None => ("GET", what),
                };
                Err(ScimError::other(
                    ErrorKind::Permanent,
                    method,
                    &path,
                    None,
                    what,
                ))
            })
            .collect())
    }

    // The id of the group named `group`: remembered, else found, else (when someone is
    // to be added) made with those members, with the group when it was just read or made.
    // The lock makes concurrent batches wait for one another here, so one group of a name
    // is ever made by this process; a 409 means another made it: read it back.
    async fn group_id(
        &self,
        group: &str,
        adds: &[&str],
    ) -> Result<Option<(String, Option<ScimGroup>)>, ScimError> {
        let mut known = self.client().group_ids().await;
        if let Some(id) = known.get(group) {
            return Ok(Some((id.clone(), None)));
        }
        let found = match self.find_group(group).await? {
            Some(g) => g,
            None if adds.is_empty() => return Ok(None),
            None => match self.create_group(group, adds, None).await {
                Ok(g) => {
                    if let Some(id) = &g.id {
                        self.prove_group_filter(group, id).await?;
                    }
                    g
                }
                Err(e) if e.is_conflict() => self.find_group(group).await?.ok_or(e)?,
                Err(e) => return Err(e),
            },
        };
        let Some(id) = found.id.clone() else {
            return Err(ScimError::other(
                ErrorKind::Permanent,
                "GET",
                "/Groups",
                None,
                format!("the app did not say the id of group {group:?}"),
            ));
        };
        known.insert(group.to_owned(), id.clone());
        Ok(Some((id, Some(found))))
    }

    // A group deleted in the app (by hand) while we knew its id: forget the id, so the
    // retry finds or makes it again.
    async fn vanished(&self, group_id: &str, method: &'static str) -> ScimError {
        self.client()
            .group_ids()
            .await
            .retain(|_, id| id != group_id);
        ScimError::other(
            ErrorKind::Transient,
            method,
            &format!("/Groups/{group_id}"),
            Some(404),
            "the group no longer exists in the app",
        )
    }

    // The forms to try for adding or removing, the one that worked last first.
    async fn forms(&self, member: bool) -> Result<Vec<Form>, ScimError> {
        let patch = self.capabilities().await?.patch;
        if member {
            return Ok(patch
                .then_some(Form::PatchAdd)
                .into_iter()
                .chain([Form::Put])
                .collect());
        }
        let learned = self.client().learned().removal;
        Ok(RemovalForm::ALL
            .into_iter()
            .filter(|f| patch || *f == RemovalForm::Put)
            .map(|f| (Some(f) != learned, f))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|(_, f)| Form::Remove(f))
            .collect())
    }

    // Writes the changes not yet `done` in direction `member` with one form, then marks
    // those the app shows as done.
    async fn apply(
        &self,
        form: Form,
        group_id: &str,
        changes: &[MemberChange<'_>],
        member: bool,
        done: &mut [bool],
    ) -> Result<(), ScimError> {
        let pending: Vec<&str> = changes
            .iter()
            .zip(done.iter())
            .filter(|(c, d)| c.member == member && !**d)
            .map(|(c, _)| c.account)
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let Some(answer) = self.write_members(form, group_id, &pending, member).await? else {
            return Ok(());
        };
        let members = match answer.and_then(|g| g.members) {
            Some(listed) => listed,
            None => match self.get_group_as("get_group", group_id).await? {
                Some(g) => g.members.unwrap_or_default(),
                None => return Err(self.vanished(group_id, "GET").await),
            },
        };
        let held: std::collections::HashSet<&str> =
            members.iter().map(|m| m.value.as_str()).collect();
        let mut any = false;
        for (c, d) in changes.iter().zip(done.iter_mut()) {
            if c.member == member && !*d && held.contains(c.account) == member {
                *d = true;
                any = true;
            }
        }
        if let (true, Form::Remove(f)) = (any, form) {
            self.client().learn(|l| l.removal = Some(f));
        }
        Ok(())
    }
}
