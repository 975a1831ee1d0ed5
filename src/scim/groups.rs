//! Group lookups and membership changes that touch only the one member concerned.

use serde_json::{Value, json};

use super::client::Request;
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

    /// Adds one member: PATCH `add` where supported, else GET the group and PUT it with every other member kept.
    pub async fn add_member(&self, group_id: &str, user_id: &str) -> Result<(), ScimError> {
        let op = "add_member";
        if self.capabilities().await?.patch {
            let patch = PatchOp::new(vec![PatchOperation {
                op: "add",
                path: Some("members".to_owned()),
                value: Some(json!([{ "value": user_id }])),
            }]);
            let mut req = Request::new(op, "PATCH", vec!["Groups", group_id]);
            req.body = Some(Self::to_body(
                "PATCH",
                &format!("/Groups/{group_id}"),
                &patch,
            )?);
            req.expect = &[405, 501];
            if self.send(req).await?.is_success() {
                return Ok(());
            }
        }
        self.change_members(op, group_id, |members| {
            if members.iter().any(|m| m.value == user_id) {
                return false;
            }
            members.push(Member {
                value: user_id.to_owned(),
                ..Member::default()
            });
            true
        })
        .await
    }

    /// Removes one member: PATCH `remove members[value eq ...]` where supported, else GET and PUT without it.
    pub async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<(), ScimError> {
        let op = "remove_member";
        if self.capabilities().await?.patch {
            let patch = PatchOp::new(vec![PatchOperation {
                op: "remove",
                path: Some(format!("members[{}]", eq_filter("value", user_id))),
                value: None,
            }]);
            let path = format!("/Groups/{group_id}");
            let mut req = Request::new(op, "PATCH", vec!["Groups", group_id]);
            req.body = Some(Self::to_body("PATCH", &path, &patch)?);
            req.expect = &[400, 405, 501];
            let answer = self.send(req).await?;
            if answer.is_success() {
                return Ok(());
            }
            if answer.status == 400 {
                let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
                // noTarget: they were not a member, which is what we wanted.
                if body.get("scimType").and_then(Value::as_str) == Some("noTarget") {
                    return Ok(());
                }
                return Err(ScimError::from_response(
                    "PATCH",
                    &path,
                    400,
                    &answer.body,
                    None,
                ));
            }
        }
        self.change_members(op, group_id, |members| {
            let before = members.len();
            members.retain(|m| m.value != user_id);
            members.len() != before
        })
        .await
    }

    // GET the group, let `change` edit the member list, PUT it back if it changed; one retry on a stale ETag.
    async fn change_members(
        &self,
        op: &'static str,
        group_id: &str,
        change: impl Fn(&mut Vec<Member>) -> bool,
    ) -> Result<(), ScimError> {
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
                return Ok(());
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
                other => return other.map(|_| ()),
            }
        }
        Ok(())
    }
}
