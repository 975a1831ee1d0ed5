//! Group lookups and membership changes that touch only the one member concerned.

use serde_json::{Value, json};

use super::client::Request;
use super::dialect::RemovalForm;
use super::error::{ErrorKind, ScimError};
use super::lookup::eq_filter;
use super::models::{Member, PatchOp, PatchOperation, ScimGroup};
use super::session::ScimSession;

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
        )
        .await
    }

    /// The group with this server id; None on 404.
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

    /// POSTs an empty group; a 409 comes back as an error of kind Conflict.
    pub async fn create_group(&self, display_name: &str) -> Result<ScimGroup, ScimError> {
        let group = ScimGroup {
            display_name: display_name.to_owned(),
            ..ScimGroup::default()
        };
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

    /// Makes the account `user_id` a member of the group named `group`, or not, and
    /// confirms it with the app: a write is only trusted once the app shows the change.
    ///
    /// Removal tries the forms RFC 7644 allows, starting with the one this app took last;
    /// if none takes, the error says what the app kept. `who` names the person in messages.
    pub async fn set_membership(
        &self,
        group: &str,
        user_id: &str,
        who: &str,
        member: bool,
    ) -> Result<(), ScimError> {
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
        let found = match self.find_group(group).await? {
            Some(g) => g,
            None if !member => return Ok(()),
            None => self.create_or_find_group(group).await?,
        };
        let Some(group_id) = found.id.clone() else {
            return Err(ScimError::other(
                ErrorKind::Permanent,
                "GET",
                "/Groups",
                None,
                format!("the app did not say the id of group {group:?}"),
            ));
        };
        // Some servers omit `members` on an empty group.
        if found.has_member(user_id).unwrap_or(false) == member {
            return Ok(());
        }
        let caps = self.capabilities().await?;
        let forms: Vec<Form> = if member {
            caps.patch
                .then_some(Form::PatchAdd)
                .into_iter()
                .chain([Form::Put])
                .collect()
        } else {
            let learned = self.client().learned().removal;
            RemovalForm::ALL
                .into_iter()
                .filter(|f| caps.patch || *f == RemovalForm::Put)
                // The form that worked last goes first.
                .map(|f| (Some(f) != learned, f))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|(_, f)| Form::Remove(f))
                .collect()
        };
        let mut tried: Vec<&'static str> = Vec::new();
        for form in forms {
            let name = form.describe();
            if !tried.contains(&name) {
                tried.push(name);
            }
            let Some(answer) = self
                .write_membership(form, &group_id, user_id, member)
                .await?
            else {
                continue;
            };
            if self
                .confirmed(&group_id, answer.as_ref(), user_id, member)
                .await?
            {
                if let Form::Remove(f) = form {
                    self.client().learn(|l| l.removal = Some(f));
                }
                return Ok(());
            }
        }
        let how = tried.join(" and ");
        let what = if member {
            format!("the app did not add {who} to group {group:?} after {how}")
        } else {
            format!("the app kept {who} in group {group:?} after {how}")
        };
        Err(ScimError::other(
            ErrorKind::Permanent,
            if member { "PUT" } else { "PATCH" },
            &format!("/Groups/{group_id}"),
            None,
            what,
        ))
    }

    // POSTs the group; a 409 means another worker made it meanwhile: read it back.
    async fn create_or_find_group(&self, group: &str) -> Result<ScimGroup, ScimError> {
        match self.create_group(group).await {
            Ok(g) => Ok(g),
            Err(e) if e.is_conflict() => self.find_group(group).await?.ok_or(e),
            Err(e) => Err(e),
        }
    }

    // One write of one form. `Ok(None)`: the app refused this form (try the next);
    // `Ok(Some(body))`: it answered, with the group when it sent one back.
    async fn write_membership(
        &self,
        form: Form,
        group_id: &str,
        user_id: &str,
        member: bool,
    ) -> Result<Option<Option<ScimGroup>>, ScimError> {
        let path = format!("/Groups/{group_id}");
        let op = if member {
            "add_member"
        } else {
            "remove_member"
        };
        let patch = match form {
            Form::PatchAdd => Some(PatchOperation {
                op: "add",
                path: Some("members".to_owned()),
                value: Some(json!([{ "value": user_id }])),
            }),
            Form::Remove(RemovalForm::FilterPath) => Some(PatchOperation {
                op: "remove",
                path: Some(format!("members[{}]", eq_filter("value", user_id))),
                value: None,
            }),
            Form::Remove(RemovalForm::ValueList) => Some(PatchOperation {
                op: "remove",
                path: Some("members".to_owned()),
                value: Some(json!([{ "value": user_id }])),
            }),
            Form::Put | Form::Remove(RemovalForm::Put) => None,
        };
        let Some(patch) = patch else {
            return self
                .change_members(op, group_id, |members| {
                    let before = members.len();
                    members.retain(|m| m.value != user_id);
                    if member {
                        members.push(Member {
                            value: user_id.to_owned(),
                            ..Member::default()
                        });
                    }
                    member || members.len() != before
                })
                .await
                .map(Some);
        };
        let mut req = Request::new(op, "PATCH", vec!["Groups", group_id]);
        req.body = Some(Self::to_body("PATCH", &path, &PatchOp::new(vec![patch]))?);
        req.expect = &[400, 405, 501];
        let answer = self.send(req).await?;
        if answer.status == 400 {
            let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            // noTarget: they were not a member, which is what we wanted; the read-back says.
            if body.get("scimType").and_then(Value::as_str) == Some("noTarget") {
                return Ok(Some(None));
            }
            return Ok(None);
        }
        if !answer.is_success() {
            return Ok(None);
        }
        Ok(Some(serde_json::from_slice(&answer.body).ok()))
    }

    // Whether the app now shows the membership wanted: from its answer when that lists
    // members, else from one read of the group.
    async fn confirmed(
        &self,
        group_id: &str,
        answer: Option<&ScimGroup>,
        user_id: &str,
        member: bool,
    ) -> Result<bool, ScimError> {
        if let Some(is) = answer.and_then(|g| g.has_member(user_id)) {
            return Ok(is == member);
        }
        let Some(group) = self.get_group_as("get_group", group_id).await? else {
            return Ok(!member);
        };
        Ok(group.has_member(user_id).unwrap_or(false) == member)
    }

    // GET the group, let `change` edit the member list, PUT it back if it changed; one
    // retry on a stale ETag. Answers the group as the app sent it back, when it did.
    async fn change_members(
        &self,
        op: &'static str,
        group_id: &str,
        change: impl Fn(&mut Vec<Member>) -> bool,
    ) -> Result<Option<ScimGroup>, ScimError> {
        let path = format!("/Groups/{group_id}");
        let etag = self.capabilities().await?.etag;
        for attempt in 0..2 {
            let Some(mut group) = self.get_group_as(op, group_id).await? else {
                return Err(ScimError::other(
                    ErrorKind::Permanent,
                    "GET",
                    &path,
                    Some(404),
                    "the group no longer exists",
                ));
            };
            let mut members = group.members.take().unwrap_or_default();
            if !change(&mut members) {
                return Ok(None);
            }
            // `display` is read-only; the rest of each member is sent back untouched.
            for m in &mut members {
                m.display = None;
            }
            group.members = Some(members);
            let version = group
                .meta
                .as_ref()
                .and_then(|m| m.version.clone())
                .filter(|_| etag);
            let mut req = Request::new(op, "PUT", vec!["Groups", group_id]);
            req.body = Some(Self::to_body("PUT", &path, &group)?);
            req.if_match = version.as_deref();
            match self.send(req).await {
                Err(e) if e.status() == Some(412) && attempt == 0 => continue,
                Err(e) => return Err(e),
                Ok(answer) => return Ok(serde_json::from_slice(&answer.body).ok()),
            }
        }
        Ok(None)
    }
}

/// One way of writing a membership change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// PATCH `add` with a value list.
    PatchAdd,
    /// One of the removal forms.
    Remove(RemovalForm),
    /// PUT of the whole group (adding).
    Put,
}

impl Form {
    fn describe(self) -> &'static str {
        match self {
            Form::PatchAdd => "PATCH",
            Form::Remove(f) => f.describe(),
            Form::Put => "PUT",
        }
    }
}
