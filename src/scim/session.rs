//! A journaled series of SCIM calls (one reconcile, one drift check): discovery and user writes.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::client::{Answer, Request, ScimCall, ScimClient};
use super::discovery::Capabilities;
use super::error::{ErrorKind, ScimError};
use super::models::{PatchOp, PatchOperation, ScimUser};
use super::trace::{self, TracedCall};

/// Called with each call of a session as soon as it completes (an on-demand trace).
pub type CallObserver = Arc<dyn Fn(&TracedCall) + Send + Sync>;

/// The calls of one unit of work; every HTTP exchange lands in its journal.
pub struct ScimSession {
    client: ScimClient,
    calls: Mutex<Vec<ScimCall>>,
    observer: Option<(CallObserver, Mutex<usize>)>,
}

impl std::fmt::Debug for ScimSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimSession")
            .field("client", &self.client)
            .field("calls", &self.calls)
            .field("observed", &self.observer.is_some())
            .finish()
    }
}

impl ScimSession {
    /// A session on this client with an empty journal.
    pub fn new(client: ScimClient) -> Self {
        ScimSession {
            client,
            calls: Mutex::new(Vec::new()),
            observer: None,
        }
    }

    /// A session that also hands each call to `observer` as it completes.
    pub fn observed(client: ScimClient, observer: CallObserver) -> Self {
        ScimSession {
            observer: Some((observer, Mutex::new(0))),
            ..ScimSession::new(client)
        }
    }

    /// The client this session uses.
    pub fn client(&self) -> &ScimClient {
        &self.client
    }

    /// The calls made so far.
    pub fn calls(&self) -> Vec<ScimCall> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Ends the session and hands over its journal.
    pub fn into_calls(self) -> Vec<ScimCall> {
        self.calls.into_inner().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) async fn send(&self, req: Request<'_>) -> Result<Answer, ScimError> {
        let Some((observe, reported)) = &self.observer else {
            return self.client.send(req, &self.calls).await;
        };
        let (method, path) = (req.method, format!("/{}", req.segments.join("/")));
        let redactor = self.client.redactor();
        let sent = req.body.as_deref().and_then(|b| trace::shown(b, redactor));
        let result = self.client.send(req, &self.calls).await;
        // Calls may run side by side; whatever was journaled since the last report goes.
        let fresh: Vec<ScimCall> = {
            let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            let mut seen = reported.lock().unwrap_or_else(|p| p.into_inner());
            let fresh = calls.get(*seen..).unwrap_or_default().to_vec();
            *seen = calls.len();
            fresh
        };
        // The bodies belong to this request's last exchange (a renewed token retries it).
        let ours = fresh
            .iter()
            .rposition(|c| c.method == method && c.path == path);
        for (i, call) in fresh.into_iter().enumerate() {
            let mine = Some(i) == ours;
            observe(&TracedCall {
                call,
                sent: if mine { sent.clone() } else { None },
                answer: match &result {
                    Ok(a) if mine => trace::shown(&a.body, redactor),
                    _ => None,
                },
            });
        }
        result
    }

    pub(crate) fn to_body<T: serde::Serialize>(
        method: &'static str,
        path: &str,
        value: &T,
    ) -> Result<Vec<u8>, ScimError> {
        serde_json::to_vec(value).map_err(|e| {
            ScimError::other(
                ErrorKind::Permanent,
                method,
                path,
                None,
                format!("could not encode the request ({e})"),
            )
        })
    }

    /// The features to use: announced (cached for an hour), overridden by the settings,
    /// less what proved broken. A server without the endpoint (404, or Zulip's 501) or
    /// with a broken one (any 5xx) gets conservative defaults, never an error; when the
    /// settings say both filter and PATCH, the endpoint is not asked at all.
    pub async fn capabilities(&self) -> Result<Capabilities, ScimError> {
        let (filter, patch) = self.client.overrides();
        let announced = match (self.client.cached_capabilities(), filter, patch) {
            (Some(caps), _, _) => caps,
            // What accessboard would ask for is settled already; the rest (ETags, a page
            // cap) is only an optimisation, so the least is assumed.
            (None, Some(_), Some(_)) => Capabilities::CONSERVATIVE,
            (None, _, _) => self.discover().await?,
        };
        Ok(Capabilities {
            filter: filter.unwrap_or(announced.filter) && !self.client.learned().filter_broken,
            patch: patch.unwrap_or(announced.patch),
            ..announced
        })
    }

    async fn discover(&self) -> Result<Capabilities, ScimError> {
        let mut req = Request::new("discovery", "GET", vec!["ServiceProviderConfig"]);
        req.expect = &NOT_DISCOVERED;
        let answer = self.send(req).await?;
        let caps = if !answer.is_success() {
            if answer.status >= 500 && answer.status != 501 {
                // audriga/scim-server-php 1.0.0 always answers 500 here, yet serves /Users.
                tracing::warn!(
                    status = answer.status,
                    "the app's ServiceProviderConfig fails; assuming no filter and no PATCH unless the settings say"
                );
            }
            Capabilities::CONSERVATIVE
        } else {
            Capabilities::from_service_provider_config(&answer.body).unwrap_or_else(|e| {
                // Refusing to provision over an odd document would help nobody; assume the least.
                tracing::warn!(error = %e, "unreadable ServiceProviderConfig; assuming no filter and no PATCH");
                Capabilities::CONSERVATIVE
            })
        };
        // Cached like an answer, so a broken endpoint is asked once an hour, not per pair.
        self.client.store_capabilities(caps);
        Ok(caps)
    }

    /// The app's `/Schemas` as JSON documents; None when it publishes none (404/501) or
    /// its endpoint fails (5xx).
    pub async fn schemas(&self) -> Result<Option<Vec<Value>>, ScimError> {
        let mut req = Request::new("discovery", "GET", vec!["Schemas"]);
        req.expect = &NOT_DISCOVERED;
        let answer = self.send(req).await?;
        if !answer.is_success() {
            return Ok(None);
        }
        let doc: Value = answer.json()?;
        let list = doc
            .get("Resources")
            .or_else(|| doc.get("resources"))
            .unwrap_or(&doc);
        Ok(list.as_array().cloned())
    }

    /// Whether the app has a Group resource: `Some` when `/ResourceTypes` says, `None`
    /// when it does not answer (404/501, a 5xx) or cannot be read. Asked once per client.
    pub async fn group_resource(&self) -> Result<Option<bool>, ScimError> {
        if let Some(known) = self.client.group_resource() {
            return Ok(known);
        }
        let mut req = Request::new("discovery", "GET", vec!["ResourceTypes"]);
        req.expect = &NOT_DISCOVERED;
        let answer = self.send(req).await?;
        let found = if answer.is_success() {
            resource_types_have_group(&answer.body)
        } else {
            None
        };
        self.client.store_group_resource(found);
        Ok(found)
    }

    /// One harmless read, `GET /Users?count=1`: shows that the app answers and takes the
    /// credentials. The body is never read (an app that ignores `count` lists everyone).
    pub async fn read_one_account(&self) -> Result<(), ScimError> {
        let query = [("count", "1".to_owned())];
        let mut req = Request::new("read_accounts", "GET", vec!["Users"]);
        req.query = &query;
        req.stream = true;
        self.send(req).await.map(drop)
    }

    /// The account with this server id; None when the server says 404.
    pub async fn get_user(&self, id: &str) -> Result<Option<ScimUser>, ScimError> {
        self.get_user_as("get_user", id).await
    }

    pub(crate) async fn get_user_as(
        &self,
        op: &'static str,
        id: &str,
    ) -> Result<Option<ScimUser>, ScimError> {
        let mut req = Request::new(op, "GET", vec!["Users", id]);
        req.expect = &[404];
        let answer = self.send(req).await?;
        if answer.status == 404 {
            Ok(None)
        } else {
            answer.json().map(Some)
        }
    }

    /// POSTs a new account; a 409 comes back as an error of kind Conflict.
    pub async fn create_user(&self, user: &ScimUser) -> Result<ScimUser, ScimError> {
        let mut user = user.clone();
        user.id = None;
        let mut req = Request::new("create_user", "POST", vec!["Users"]);
        req.body = Some(Self::to_body("POST", "/Users", &user)?);
        let answer = self.send(req).await?;
        let created: ScimUser = answer.json()?;
        if created.id.is_none() {
            return Err(ScimError::other(
                ErrorKind::Permanent,
                "POST",
                "/Users",
                Some(answer.status),
                "the server created the account but did not say its id",
            ));
        }
        Ok(created)
    }

    /// PUTs the whole resource (with `If-Match` where ETags are announced); a stale version answers 412.
    pub async fn replace_user(&self, user: &ScimUser) -> Result<ScimUser, ScimError> {
        self.replace_user_as("replace_user", user).await
    }

    pub(crate) async fn replace_user_as(
        &self,
        op: &'static str,
        user: &ScimUser,
    ) -> Result<ScimUser, ScimError> {
        let Some(id) = user.id.as_deref() else {
            return Err(ScimError::other(
                ErrorKind::Permanent,
                "PUT",
                "/Users",
                None,
                "cannot replace an account without its id",
            ));
        };
        let caps = self.capabilities().await?;
        let version = user
            .meta
            .as_ref()
            .and_then(|m| m.version.as_deref())
            .filter(|_| caps.etag);
        let path = format!("/Users/{id}");
        let mut req = Request::new(op, "PUT", vec!["Users", id]);
        req.body = Some(Self::to_body("PUT", &path, user)?);
        req.if_match = version;
        let answer = self.send(req).await?;
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            // Some servers answer 204; what we sent is then what they hold.
            return Ok(user.clone());
        }
        answer.json()
    }

    /// Sets `active: false`: PATCH where supported, else GET and PUT; a missing account is already inactive.
    pub async fn deactivate_user(&self, id: &str) -> Result<(), ScimError> {
        let op = "deactivate_user";
        let mut tried = Vec::new();
        if self.capabilities().await?.patch {
            // Only the attribute that changes: PATCH must not carry read-only ones like `id`.
            let patch = PatchOp::new(vec![PatchOperation {
                op: "replace",
                path: Some("active".to_owned()),
                value: Some(Value::Bool(false)),
            }]);
            let mut req = Request::new(op, "PATCH", vec!["Users", id]);
            req.body = Some(Self::to_body("PATCH", &format!("/Users/{id}"), &patch)?);
            req.expect = &[404, 405, 501];
            let answer = self.send(req).await?;
            if answer.status == 404 {
                return Ok(());
            }
            // Sent, whatever the answer: the message names every write that went out.
            tried.push("PATCH");
            if answer.is_success() {
                // The answer says, or (a 204, or no `active` in it) one read does.
                let said = serde_json::from_slice::<ScimUser>(&answer.body)
                    .ok()
                    .and_then(|u| u.active);
                let inactive = match said {
                    Some(active) => !active,
                    None => self
                        .get_user_as(op, id)
                        .await?
                        .is_none_or(|u| u.active == Some(false)),
                };
                if inactive {
                    return Ok(());
                }
            } else {
                tracing::info!(
                    status = answer.status,
                    "PATCH announced but refused; deactivating with PUT"
                );
            }
        }
        tried.push("PUT");
        for attempt in 0..2 {
            let Some(mut user) = self.get_user_as(op, id).await? else {
                return Ok(());
            };
            if user.active == Some(false) {
                return Ok(());
            }
            user.active = Some(false);
            match self.replace_user_as(op, &user).await {
                Err(e) if e.status() == Some(412) && attempt == 0 => continue,
                Err(e) => return Err(e),
                Ok(saved) if saved.active == Some(false) => return Ok(()),
                // The answer did not show it inactive: one read decides.
                Ok(_) => {
                    if self
                        .get_user_as(op, id)
                        .await?
                        .is_none_or(|u| u.active == Some(false))
                    {
                        return Ok(());
                    }
                    break;
                }
            }
        }
        Err(ScimError::other(
            ErrorKind::Permanent,
            "PUT",
            &format!("/Users/{id}"),
            None,
            format!(
                "the app kept account {id} active after {}",
                tried.join(" and ")
            ),
        ))
    }

    /// DELETEs the account; 404 means it is already gone, which is fine.
    pub async fn delete_user(&self, id: &str) -> Result<(), ScimError> {
        let mut req = Request::new("delete_user", "DELETE", vec!["Users", id]);
        req.expect = &[404];
        self.send(req).await.map(|_| ())
    }
}

/// Discovery answers taken as "not said": no endpoint (404, 501) or a broken one (any
/// 5xx); credentials refused, rate limits and the like stay errors.
const NOT_DISCOVERED: [u16; 101] = {
    let mut statuses = [404; 101];
    let mut i = 0;
    while i < 100 {
        statuses[i + 1] = 500 + i as u16;
        i += 1;
    }
    statuses
};

// RFC 7644 §4: a ListResponse of ResourceType, or (some servers) a bare array.
fn resource_types_have_group(body: &[u8]) -> Option<bool> {
    let doc: Value = serde_json::from_slice(body).ok()?;
    let list = doc
        .get("Resources")
        .or_else(|| doc.get("resources"))
        .unwrap_or(&doc)
        .as_array()?;
    Some(list.iter().any(|r| {
        r.get("name").and_then(Value::as_str) == Some("Group")
            || r.get("endpoint").and_then(Value::as_str) == Some("/Groups")
    }))
}
