//! The forms a membership write can take: PATCH with many operations (chunked), or a
//! GET and PUT of the whole group, touching only the members concerned.

use serde_json::{Value, json};

use super::PATCH_CHUNK;
use crate::scim::client::Request;
use crate::scim::dialect::RemovalForm;
use crate::scim::error::ScimError;
use crate::scim::lookup::eq_filter;
use crate::scim::models::{Member, PatchOp, PatchOperation, ScimGroup};
use crate::scim::session::ScimSession;

impl ScimSession {
    // One form for many accounts. `Ok(None)`: the app refused this form (try the next);
    // `Ok(Some(group))`: it answered, with the group when the last answer carried it.
    pub(super) async fn write_members(
        &self,
        form: Form,
        group_id: &str,
        accounts: &[&str],
        member: bool,
    ) -> Result<Option<Option<ScimGroup>>, ScimError> {
        let op = if member {
            "add_member"
        } else {
            "remove_member"
        };
        let values = |chunk: &[&str]| {
            json!(
                chunk
                    .iter()
                    .map(|a| json!({ "value": a }))
                    .collect::<Vec<_>>()
            )
        };
        let operations: Vec<PatchOperation> = match form {
            Form::PatchAdd => accounts
                .chunks(PATCH_CHUNK)
                .map(|chunk| PatchOperation {
                    op: "add",
                    path: Some("members".to_owned()),
                    value: Some(values(chunk)),
                })
                .collect(),
            Form::Remove(RemovalForm::FilterPath) => accounts
                .iter()
                .map(|a| PatchOperation {
                    op: "remove",
                    path: Some(format!("members[{}]", eq_filter("value", a))),
                    value: None,
                })
                .collect(),
            Form::Remove(RemovalForm::ValueList) => accounts
                .chunks(PATCH_CHUNK)
                .map(|chunk| PatchOperation {
                    op: "remove",
                    path: Some("members".to_owned()),
                    value: Some(values(chunk)),
                })
                .collect(),
            Form::Put | Form::Remove(RemovalForm::Put) => {
                return self
                    .change_members(op, group_id, |members| {
                        let before = members.len();
                        members.retain(|m| !accounts.contains(&m.value.as_str()));
                        if member {
                            members.extend(accounts.iter().map(|a| Member {
                                value: (*a).to_owned(),
                                ..Member::default()
                            }));
                        }
                        member || members.len() != before
                    })
                    .await
                    .map(Some);
            }
        };
        let path = format!("/Groups/{group_id}");
        let mut last = None;
        let mut chunks = operations.into_iter().peekable();
        while chunks.peek().is_some() {
            let chunk: Vec<PatchOperation> = chunks.by_ref().take(PATCH_CHUNK).collect();
            let mut req = Request::new(op, "PATCH", vec!["Groups", group_id]);
            req.body = Some(Self::to_body("PATCH", &path, &PatchOp::new(chunk))?);
            req.expect = &[400, 404, 405, 501];
            let answer = self.send(req).await?;
            if answer.status == 404 {
                return Err(self.vanished(group_id, "PATCH").await);
            }
            if answer.status == 400 {
                let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
                // noTarget: they were not members, which is what we wanted; the read-back says.
                if body.get("scimType").and_then(Value::as_str) == Some("noTarget") {
                    last = None;
                    continue;
                }
                return Ok(None);
            }
            if !answer.is_success() {
                return Ok(None);
            }
            last = serde_json::from_slice(&answer.body).ok();
        }
        Ok(Some(last))
    }

    // GET the group, let `change` edit the member list, PUT it back if it changed; one
    // retry on a stale ETag. Answers the group as the app sent it back, when it did.
    pub(super) async fn change_members(
        &self,
        op: &'static str,
        group_id: &str,
        change: impl Fn(&mut Vec<Member>) -> bool,
    ) -> Result<Option<ScimGroup>, ScimError> {
        let path = format!("/Groups/{group_id}");
        let etag = self.capabilities().await?.etag;
        for attempt in 0..2 {
            let Some(mut group) = self.get_group_as(op, group_id).await? else {
                return Err(self.vanished(group_id, "GET").await);
            };
            let mut members = group.members.take().unwrap_or_default();
            if !change(&mut members) {
                // Nothing to write: the group as read is the answer.
                group.members = Some(members);
                return Ok(Some(group));
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Form {
    /// PATCH `add` with a value list.
    PatchAdd,
    /// One of the removal forms.
    Remove(RemovalForm),
    /// PUT of the whole group (adding).
    Put,
}
