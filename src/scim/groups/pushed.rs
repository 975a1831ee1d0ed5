//! Groups accessboard pushes into an app (`push_groups`): found by the id stored when
//! accessboard created them, else by their `externalId` (ours), so a create whose
//! answer was lost leaves neither an orphan nor a second group; a group of the same
//! name that someone else made is never written to, renamed or deleted.

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

    // Our group in the app, read now (see `locate`), renamed when it still has an old
    // name (a rename here while its create answer was lost); else made with the accounts
    // to add (none to add: `None`, nothing to remove). A group of the same name that is
    // not ours is never used. The lock of the client's group ids makes concurrent
    // batches wait, so it is made once.
    async fn pushed_group_id(
        &self,
        group: &PushedGroup<'_>,
        adds: &[&str],
    ) -> Result<Option<(String, ScimGroup)>, ScimError> {
        let mut known = self.client().group_ids().await;
        let cached = known.get(group.name).map(String::as_str);
        let stored = [group.scim_id, cached];
        let found = match self
            .locate(&stored, group.external_id, Some(group.name))
            .await?
        {
            Located::Ours(mut g) => {
                let id = id_of(&g)?;
                if g.display_name != group.name {
                    self.send_rename(&id, group.name).await?;
                    g.display_name = group.name.to_owned();
                }
                *g
            }
            Located::Taken => return Err(not_ours(group.name)),
            Located::Nowhere if adds.is_empty() => return Ok(None),
            Located::Nowhere => {
                match self
                    .create_group(group.name, adds, Some(group.external_id))
                    .await
                {
                    Ok(g) => g,
                    // Someone made it meanwhile; only ours may be used.
                    Err(e) if e.is_conflict() => match self.find_group(group.name).await? {
                        Some(g) if external_id(&g) == Some(group.external_id) => g,
                        Some(_) => return Err(not_ours(group.name)),
                        None => return Err(e),
                    },
                    Err(e) => return Err(e),
                }
            }
        };
        let id = id_of(&found)?;
        known.insert(group.name.to_owned(), id.clone());
        Ok(Some((id, found)))
    }

    // Finds our group: by an id we hold (stored, or remembered by name) while it still
    // answers a group that is not someone else's; else by our externalId, through a
    // filter and, when the filter finds nothing (some servers answer 0 results to any
    // quoted value), a listing, which also tells whether a group named `name` is
    // someone else's.
    async fn locate(
        &self,
        ids: &[Option<&str>],
        ours: &str,
        name: Option<&str>,
    ) -> Result<Located, ScimError> {
        for id in ids.iter().flatten() {
            if let Some(g) = self.get_group_as("get_group", id).await?
                // An app that keeps no externalId on groups cannot say; the id was ours.
                && external_id(&g).is_none_or(|e| e.is_empty() || e == ours)
            {
                return Ok(Located::Ours(Box::new(g)));
            }
        }
        if self.capabilities().await?.filter
            && let Some(g) = self
                .find_resource(
                    "find_group",
                    "Groups",
                    "externalId",
                    &[ours.to_owned()],
                    |g: &ScimGroup| external_id(g) == Some(ours),
                    |g: &ScimGroup| external_id(g).is_some_and(|e| e.eq_ignore_ascii_case(ours)),
                    // Nothing found is checked by the listing below.
                    None,
                )
                .await?
        {
            return Ok(Located::Ours(Box::new(g)));
        }
        let (mut mine, mut taken) = (None, false);
        self.scan("find_group", "Groups", |page: Vec<ScimGroup>| {
            for g in page {
                if external_id(&g) == Some(ours) {
                    mine = Some(g);
                    return true;
                }
                taken |= Some(g.display_name.as_str()) == name;
            }
            false
        })
        .await?;
        Ok(match (mine, taken) {
            (Some(g), _) => Located::Ours(Box::new(g)),
            (None, true) => Located::Taken,
            (None, false) => Located::Nowhere,
        })
    }

    /// Renames one of accessboard's groups in the app (PATCH, else PUT of the group),
    /// found by its stored id or our externalId; answers its id there, `None` when the
    /// app no longer has it.
    pub async fn rename_pushed_group(
        &self,
        group: &PushedGroup<'_>,
    ) -> Result<Option<String>, ScimError> {
        let Located::Ours(found) = self
            .locate(&[group.scim_id], group.external_id, None)
            .await?
        else {
            return Ok(None);
        };
        let id = id_of(&found)?;
        if found.display_name != group.name {
            self.send_rename(&id, group.name).await?;
        }
        // Names are looked up by the new name from now on.
        self.client()
            .group_ids()
            .await
            .retain(|_, known| *known != id);
        Ok(Some(id))
    }

    async fn send_rename(&self, scim_id: &str, name: &str) -> Result<(), ScimError> {
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
        Ok(())
    }

    /// Deletes one of accessboard's groups from the app, found by its stored id or our
    /// externalId (so a stale id deletes neither someone else's group nor leaves ours);
    /// one already gone is fine.
    pub async fn delete_pushed_group(&self, group: &PushedGroup<'_>) -> Result<(), ScimError> {
        let Located::Ours(found) = self
            .locate(&[group.scim_id], group.external_id, None)
            .await?
        else {
            return Ok(());
        };
        let id = id_of(&found)?;
        let mut req = Request::new("delete_group", "DELETE", vec!["Groups", &id]);
        req.expect = &[404];
        self.send(req).await?;
        self.client()
            .group_ids()
            .await
            .retain(|_, known| *known != id);
        Ok(())
    }
}

/// Where our group is in the app.
enum Located {
    /// Found: by an id we hold or by our externalId.
    Ours(Box<ScimGroup>),
    /// Not found, and the name asked about is someone else's group.
    Taken,
    /// Not found, and the name is free.
    Nowhere,
}

fn id_of(g: &ScimGroup) -> Result<String, ScimError> {
    g.id.clone()
        .ok_or_else(|| ScimError::missing_id("GET", "/Groups"))
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
