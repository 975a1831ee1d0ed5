//! Groups accessboard pushes into an app (`push_groups`): found by the id stored when
//! accessboard created them, else by name only when their `externalId` is ours; a group
//! of the same name that someone else made is never written to, renamed or deleted.

use serde_json::{Value, json};

use super::{MemberChange, adds_of};
use crate::scim::client::Request;
use crate::scim::error::{ErrorKind, ScimError};
use crate::scim::models::{PatchOp, PatchOperation, ScimGroup};
use crate::scim::session::ScimSession;

/// One of accessboard's groups as an app should hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushedGroup<'a> {
    /// Its displayName there (`group_prefix` + name).
    pub name: &'a str,
    /// Our group's id, sent as `externalId`.
    pub external_id: &'a str,
    /// Its id in the app, stored when accessboard created it.
    pub scim_id: Option<&'a str>,
}

fn external_id(g: &ScimGroup) -> Option<&str> {
    g.extra.get("externalId").and_then(Value::as_str)
}

impl ScimSession {
    /// [`Self::set_memberships`] in one of accessboard's pushed groups, made when someone
    /// is to be added and it does not exist yet. Also answers the group's id in the app
    /// when it differs from the stored one (made or found now), for the caller to store.
    pub async fn set_pushed_memberships(
        &self,
        group: &PushedGroup<'_>,
        changes: &[MemberChange<'_>],
    ) -> (Vec<Result<(), ScimError>>, Option<String>) {
        match self.try_pushed(group, changes).await {
            Ok(done) => done,
            Err(e) => (changes.iter().map(|_| Err(e.clone())).collect(), None),
        }
    }

    async fn try_pushed(
        &self,
        group: &PushedGroup<'_>,
        changes: &[MemberChange<'_>],
    ) -> Result<(Vec<Result<(), ScimError>>, Option<String>), ScimError> {
        if changes.is_empty() {
            return Ok((Vec::new(), None));
        }
        if self.group_resource().await? == Some(false) {
            return Err(ScimError::other(
                ErrorKind::Permanent,
                "GET",
                "/ResourceTypes",
                None,
                "the app has no Group resource, so push_groups cannot work; turn it off for this app",
            ));
        }
        let Some((id, read)) = self.pushed_group_id(group, &adds_of(changes)).await? else {
            return Ok((changes.iter().map(|_| Ok(())).collect(), None));
        };
        let results = self
            .write_changes(group.name, &id, Some(read), changes)
            .await?;
        let new_id = (group.scim_id != Some(id.as_str())).then_some(id);
        Ok((results, new_id))
    }

    // Our group in the app, read now: by the stored id, else by name when its externalId
    // is ours, else made with the accounts to add (none to add: `None`, nothing to remove).
    // The lock of the client's group ids makes concurrent batches wait, so it is made once.
    async fn pushed_group_id(
        &self,
        group: &PushedGroup<'_>,
        adds: &[&str],
    ) -> Result<Option<(String, ScimGroup)>, ScimError> {
        let mut known = self.client().group_ids().await;
        let cached = known.get(group.name).cloned();
        for id in group.scim_id.map(str::to_owned).into_iter().chain(cached) {
            if let Some(g) = self.get_group_as("get_group", &id).await? {
                return Ok(Some((id, g)));
            }
        }
        // Made now, or found with our externalId: anything else is someone else's.
        let (found, made) = match self.find_group(group.name).await? {
            Some(g) => (g, false),
            None if adds.is_empty() => return Ok(None),
            None => match self
                .create_group(group.name, adds, Some(group.external_id))
                .await
            {
                Ok(g) => (g, true),
                Err(e) if e.is_conflict() => (self.find_group(group.name).await?.ok_or(e)?, false),
                Err(e) => return Err(e),
            },
        };
        if !made && external_id(&found) != Some(group.external_id) {
            return Err(not_ours(group.name));
        }
        let id = found
            .id
            .clone()
            .ok_or_else(|| ScimError::missing_id("GET", "/Groups"))?;
        known.insert(group.name.to_owned(), id.clone());
        Ok(Some((id, found)))
    }

    /// Renames one of accessboard's groups in the app (PATCH, else PUT of the group).
    pub async fn rename_pushed_group(&self, scim_id: &str, name: &str) -> Result<(), ScimError> {
        let path = format!("/Groups/{scim_id}");
        if self.capabilities().await?.patch {
            let op = PatchOp::new(vec![PatchOperation {
                op: "replace",
                path: Some("displayName".into()),
                value: Some(json!(name)),
            }]);
            let mut req = Request::new("rename_group", "PATCH", vec!["Groups", scim_id]);
            req.body = Some(Self::to_body("PATCH", &path, &op)?);
            self.send(req).await?;
        } else {
            let Some(mut g) = self.get_group_as("get_group", scim_id).await? else {
                return Ok(());
            };
            g.display_name = name.to_owned();
            let mut req = Request::new("rename_group", "PUT", vec!["Groups", scim_id]);
            req.body = Some(Self::to_body("PUT", &path, &g)?);
            self.send(req).await?;
        }
        // Names are looked up by the new name from now on.
        self.client()
            .group_ids()
            .await
            .retain(|_, id| id != scim_id);
        Ok(())
    }

    /// Deletes one of accessboard's groups from the app; one already gone is fine.
    pub async fn delete_pushed_group(&self, scim_id: &str) -> Result<(), ScimError> {
        let mut req = Request::new("delete_group", "DELETE", vec!["Groups", scim_id]);
        req.expect = &[404];
        self.send(req).await?;
        self.client()
            .group_ids()
            .await
            .retain(|_, id| id != scim_id);
        Ok(())
    }
}

fn not_ours(name: &str) -> ScimError {
    ScimError::other(
        ErrorKind::Permanent,
        "GET",
        "/Groups",
        None,
        format!(
            "the app already has a group named {name:?} that accessboard did not create; rename the accessboard group or set group_prefix"
        ),
    )
}
