//! The Ory Kratos Admin API adapter: identities and recovery links.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use url::Url;
use uuid::Uuid;

use super::{IdentityError, IdentityFuture, IdentityStore, RemoteIdentity};
use crate::domain::{Email, PersonName};
use crate::secret::Secret;
use crate::settings::{IdentitySettings, KratosName};

/// Identities per page when listing (Kratos' own default is 250).
const PAGE_SIZE: usize = 250;
/// A guard against a server whose `next` link never ends.
const MAX_PAGES: usize = 10_000;

/// A Kratos Admin API client.
pub struct Kratos {
    http: reqwest::Client,
    base: Url,
    token: Option<Secret>,
    schema_id: String,
    name_shape: KratosName,
    page_size: usize,
}

impl Kratos {
    /// A client for the settings' Admin API URL.
    pub fn new(settings: &IdentitySettings, timeout: Duration) -> Result<Kratos, IdentityError> {
        let raw = settings.kratos_admin_url.as_deref().unwrap_or_default();
        let mut base = Url::parse(raw)
            .map_err(|e| IdentityError::Malformed(format!("kratos_admin_url: {e}")))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            // A redirect could carry the admin token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("accessboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| IdentityError::Malformed(e.to_string()))?;
        Ok(Kratos {
            http,
            base,
            token: settings.kratos_admin_token.clone(),
            schema_id: settings.kratos_schema_id.clone(),
            name_shape: settings.kratos_name,
            page_size: PAGE_SIZE,
        })
    }

    /// Lists with smaller pages (tests of paging).
    pub fn with_page_size(mut self, n: usize) -> Kratos {
        self.page_size = n.max(1);
        self
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, IdentityError> {
        self.request_with(method, path, &[])
    }

    fn request_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<RequestBuilder, IdentityError> {
        let mut url = self
            .base
            .join(path)
            .map_err(|e| IdentityError::Malformed(e.to_string()))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut req = self
            .http
            .request(method, url)
            .header("accept", "application/json");
        if let Some(t) = &self.token {
            req = req.bearer_auth(t.expose());
        }
        Ok(req)
    }

    async fn send(&self, req: RequestBuilder) -> Result<Response, IdentityError> {
        let res = req.send().await.map_err(|e| {
            // reqwest's message names the URL, never the token.
            IdentityError::Unreachable(if e.is_timeout() {
                "the request timed out".to_owned()
            } else if e.is_connect() {
                "connection refused or failed".to_owned()
            } else {
                e.without_url().to_string()
            })
        })?;
        if res.status().is_server_error() || res.status() == StatusCode::TOO_MANY_REQUESTS {
            let status = res.status().as_u16();
            let message = error_message(res).await;
            return Err(IdentityError::Unreachable(format!("{status}: {message}")));
        }
        Ok(res)
    }

    fn traits(&self, email: &Email, name: &PersonName) -> Value {
        let name = match self.name_shape {
            KratosName::String => json!(name.as_str()),
            KratosName::FirstLast => {
                let (first, last) = name.as_str().split_once(' ').unwrap_or((name.as_str(), ""));
                json!({ "first": first, "last": last.trim() })
            }
        };
        json!({ "email": email.as_str(), "name": name })
    }

    async fn list_all(&self) -> Result<Vec<RemoteIdentity>, IdentityError> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let size = self.page_size.to_string();
            let mut query = vec![("page_size", size.as_str())];
            if let Some(t) = &token {
                query.push(("page_token", t.as_str()));
            }
            let req = self.request_with(Method::GET, "admin/identities", &query)?;
            let res = self.send(req).await?;
            if !res.status().is_success() {
                return Err(rejected(res).await);
            }
            let next = next_page_token(res.headers());
            let page: Vec<Value> = res
                .json()
                .await
                .map_err(|e| IdentityError::Malformed(e.to_string()))?;
            let empty = page.is_empty();
            all.extend(page.iter().filter_map(identity_of));
            match next {
                Some(t) if !empty && token.as_deref() != Some(t.as_str()) => token = Some(t),
                _ => return Ok(all),
            }
        }
        Err(IdentityError::Malformed(format!(
            "more than {MAX_PAGES} pages of identities"
        )))
    }
}

impl IdentityStore for Kratos {
    fn is_remote(&self) -> bool {
        true
    }

    fn create<'a>(&'a self, email: &'a Email, name: &'a PersonName) -> IdentityFuture<'a, Uuid> {
        Box::pin(async move {
            let body = json!({
                "schema_id": self.schema_id,
                "traits": self.traits(email, name),
                "state": "active",
            });
            let res = self
                .send(self.request(Method::POST, "admin/identities")?.json(&body))
                .await?;
            if res.status() == StatusCode::CONFLICT {
                return Err(IdentityError::Conflict(email.to_string()));
            }
            if !res.status().is_success() {
                return Err(rejected(res).await);
            }
            let v: Value = res
                .json()
                .await
                .map_err(|e| IdentityError::Malformed(e.to_string()))?;
            id_of(&v).ok_or_else(|| IdentityError::Malformed("the new identity has no id".into()))
        })
    }

    fn update<'a>(
        &'a self,
        id: Uuid,
        email: &'a Email,
        name: &'a PersonName,
    ) -> IdentityFuture<'a, ()> {
        Box::pin(async move {
            let traits = self.traits(email, name);
            // JSON Patch touches only our two traits; other traits stay as they are.
            let patch = json!([
                { "op": "add", "path": "/traits/email", "value": traits["email"] },
                { "op": "add", "path": "/traits/name", "value": traits["name"] },
            ]);
            let res = self
                .send(
                    self.request(Method::PATCH, &format!("admin/identities/{id}"))?
                        .json(&patch),
                )
                .await?;
            match res.status() {
                s if s.is_success() => Ok(()),
                StatusCode::CONFLICT => Err(IdentityError::Conflict(email.to_string())),
                _ => Err(rejected(res).await),
            }
        })
    }

    fn delete(&self, id: Uuid) -> IdentityFuture<'_, ()> {
        Box::pin(async move {
            let res = self
                .send(self.request(Method::DELETE, &format!("admin/identities/{id}"))?)
                .await?;
            match res.status() {
                s if s.is_success() => Ok(()),
                StatusCode::NOT_FOUND => Ok(()),
                _ => Err(rejected(res).await),
            }
        })
    }

    fn get(&self, id: Uuid) -> IdentityFuture<'_, Option<RemoteIdentity>> {
        Box::pin(async move {
            let res = self
                .send(self.request(Method::GET, &format!("admin/identities/{id}"))?)
                .await?;
            match res.status() {
                StatusCode::NOT_FOUND => Ok(None),
                s if s.is_success() => {
                    let v: Value = res
                        .json()
                        .await
                        .map_err(|e| IdentityError::Malformed(e.to_string()))?;
                    identity_of(&v).map(Some).ok_or_else(|| {
                        IdentityError::Malformed(format!("identity {id} has no email trait"))
                    })
                }
                _ => Err(rejected(res).await),
            }
        })
    }

    fn list(&self) -> IdentityFuture<'_, Vec<RemoteIdentity>> {
        Box::pin(self.list_all())
    }

    fn recovery_link(&self, id: Uuid) -> IdentityFuture<'_, Option<String>> {
        Box::pin(async move {
            let body = json!({ "identity_id": id, "expires_in": "24h" });
            let res = self
                .send(
                    self.request(Method::POST, "admin/recovery/link")?
                        .json(&body),
                )
                .await?;
            if !res.status().is_success() {
                return Err(rejected(res).await);
            }
            let v: Value = res
                .json()
                .await
                .map_err(|e| IdentityError::Malformed(e.to_string()))?;
            Ok(v["recovery_link"].as_str().map(str::to_owned))
        })
    }
}

fn id_of(v: &Value) -> Option<Uuid> {
    v["id"].as_str().and_then(|s| Uuid::parse_str(s).ok())
}

/// An identity with an id and an email trait; `name` may be a string or `{first, last}`.
fn identity_of(v: &Value) -> Option<RemoteIdentity> {
    let id = id_of(v)?;
    let traits = &v["traits"];
    let email = traits["email"].as_str()?.to_owned();
    let name = match &traits["name"] {
        Value::String(s) => s.trim().to_owned(),
        Value::Object(o) => {
            let part = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").trim();
            format!("{} {}", part("first"), part("last"))
                .trim()
                .to_owned()
        }
        _ => String::new(),
    };
    let name = if name.is_empty() {
        email.split('@').next().unwrap_or(&email).to_owned()
    } else {
        name
    };
    Some(RemoteIdentity { id, email, name })
}

/// The `page_token` of the `rel="next"` entry of a `Link` header.
fn next_page_token(headers: &reqwest::header::HeaderMap) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split(',') {
            let Some((target, params)) = part.split_once(';') else {
                continue;
            };
            if !params.split(';').any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            }) {
                continue;
            }
            let target = target.trim().trim_start_matches('<').trim_end_matches('>');
            let url = Url::parse(target)
                .or_else(|_| Url::parse("http://relative.invalid/")?.join(target))
                .ok()?;
            return url
                .query_pairs()
                .find(|(k, _)| k == "page_token")
                .map(|(_, v)| v.into_owned());
        }
    }
    None
}

/// Kratos' error body: `{"error": {"code", "status", "reason", "message"}}`.
async fn error_message(res: Response) -> String {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let e = &body["error"];
    let reason = e["reason"].as_str().filter(|s| !s.is_empty());
    let message = e["message"].as_str().filter(|s| !s.is_empty());
    match (message, reason) {
        (Some(m), Some(r)) if m != r => format!("{m} ({r})"),
        (Some(m), _) => m.to_owned(),
        (None, Some(r)) => r.to_owned(),
        (None, None) => status
            .canonical_reason()
            .unwrap_or("no explanation")
            .to_owned(),
    }
}

async fn rejected(res: Response) -> IdentityError {
    let status = res.status().as_u16();
    IdentityError::Rejected {
        status,
        message: error_message(res).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_as_strings_or_first_and_last() {
        let id = Uuid::new_v4();
        let a = identity_of(&json!({"id": id, "traits": {"email": "a@x.org", "name": "Ada L"}}));
        assert_eq!(a.unwrap().name, "Ada L");
        let b = identity_of(
            &json!({"id": id, "traits": {"email": "b@x.org", "name": {"first": "Bo", "last": "Ek"}}}),
        );
        assert_eq!(b.unwrap().name, "Bo Ek");
        let c = identity_of(&json!({"id": id, "traits": {"email": "cy@x.org"}}));
        assert_eq!(c.unwrap().name, "cy");
        assert!(identity_of(&json!({"id": id, "traits": {}})).is_none());
    }

    #[test]
    fn the_next_link_gives_the_page_token() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            "</admin/identities?page_size=2&page_token=abc%3D>; rel=\"first\",</admin/identities?page_size=2&page_token=def>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_page_token(&h).as_deref(), Some("def"));
        let mut last = reqwest::header::HeaderMap::new();
        last.insert(
            reqwest::header::LINK,
            "</admin/identities?page_size=2&page_token=abc>; rel=\"first\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_page_token(&last), None);
    }
}
