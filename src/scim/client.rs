//! The HTTP side: one pooled reqwest client per app, capped bodies, no redirects, a journal per call.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use serde::de::DeserializeOwned;

use super::config::ScimConfig;
use super::dialect::Learned;
use super::discovery::Capabilities;
use super::error::{ErrorKind, ScimError};
use super::redact::Redactor;
use super::session::ScimSession;

mod body;
mod exchange;
mod memory;
mod pace;

use super::token::{Renewal, TokenSource};
use pace::Limiter;
pub(crate) use pace::Slot;

/// The most bytes read from one answer; more is refused as "response too large".
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// How many times one request is sent again after a 429 before the caller hears of it.
const MAX_RESENDS: u32 = 8;

/// How long an announced ServiceProviderConfig is trusted before asking again.
pub const CAPABILITIES_TTL: Duration = Duration::from_secs(3600);

/// A SCIM 2.0 client for one service provider; cheap to clone (shares the pool and the cache).
#[derive(Clone)]
pub struct ScimClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: url::Url,
    tokens: TokenSource,
    redactor: Redactor,
    content_type: HeaderValue,
    timeout: Duration,
    capabilities: Mutex<Option<(Instant, Capabilities)>>,
    filter: Option<bool>,
    patch: Option<bool>,
    learned: Mutex<Learned>,
    // Whether /ResourceTypes lists a Group resource: None until asked, Some(None) when it does not say.
    group_resource: Mutex<Option<Option<bool>>>,
    // Group ids by displayName; the lock also serialises finding and creating a group,
    // so concurrent batches never make two groups of one name.
    group_ids: tokio::sync::Mutex<std::collections::HashMap<String, String>>,
    // The accounts an admin left unmanaged, as of the last batch's read: never anyone's.
    unmanaged: Mutex<std::collections::HashSet<String>>,
    // `max_concurrency` and `max_requests_per_second` as ceilings, lowered after a 429:
    // a place per request in flight, held until its body is read, and its turn.
    limiter: Arc<Limiter>,
}

/// One HTTP exchange, as recorded in the journal of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimCall {
    /// What the caller was doing, e.g. `create_user`, `find_user`, `discovery`.
    pub operation: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The path under the base URL, without the query string.
    pub path: String,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// Time from sending to having read the answer.
    pub duration: Duration,
    /// Why the call failed, as shown to an admin; None when it went as expected.
    pub error: Option<String>,
}

/// One request to send.
pub(crate) struct Request<'a> {
    pub op: &'static str,
    pub method: &'static str,
    /// Path segments under the base URL, e.g. `["Users", id]`; each is percent-encoded.
    pub segments: Vec<&'a str>,
    pub query: &'a [(&'a str, String)],
    pub body: Option<Vec<u8>>,
    pub if_match: Option<&'a str>,
    /// Non-2xx statuses the caller handles itself (e.g. 404 on a lookup).
    pub expect: &'a [u16],
    /// A listing: on success, leave the body unread for [`Answer::stream_list`].
    pub stream: bool,
}

impl<'a> Request<'a> {
    pub fn new(op: &'static str, method: &'static str, segments: Vec<&'a str>) -> Self {
        Request {
            op,
            method,
            segments,
            query: &[],
            body: None,
            if_match: None,
            expect: &[],
            stream: false,
        }
    }
}

/// An answer with a 2xx or an expected status.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub method: &'static str,
    pub path: String,
    /// The unread body of a streamed listing.
    pub response: Option<reqwest::Response>,
    pub timeout: Duration,
    /// This request's place among the app's requests in flight, until the body is read.
    pub _permit: Option<Slot>,
    /// The app's credentials, to keep out of any error that quotes the body.
    pub redactor: Redactor,
}

impl Answer {
    /// Parses the body as JSON; a body we cannot read is a permanent error.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ScimError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ScimError::other(
                ErrorKind::Permanent,
                self.method,
                &self.path,
                Some(self.status),
                format!("the answer is not the expected SCIM JSON ({e})"),
            )
            .scrub(&self.redactor)
        })
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl ScimClient {
    /// Replaces the set of account ids an admin left unmanaged in this app.
    pub fn set_unmanaged(&self, ids: std::collections::HashSet<String>) {
        *self
            .inner
            .unmanaged
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = ids;
    }

    /// Whether the account `id` was left unmanaged: it is nobody's here.
    pub fn is_unmanaged(&self, id: &str) -> bool {
        self.inner
            .unmanaged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    /// Builds the client; fails on a base URL it cannot use or credentials it cannot send.
    pub fn new(config: ScimConfig) -> Result<ScimClient, ScimError> {
        let base = config.base_url;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ScimError::invalid_config(
                "scim.base_url must be an http or https URL",
            ));
        }
        // Credentials in the URL would end up in logs and be sent to whatever host it names.
        if !base.username().is_empty() || base.password().is_some() {
            return Err(ScimError::invalid_config(
                "scim.base_url must not contain credentials; use the auth settings",
            ));
        }
        let content_type = HeaderValue::from_str(&config.content_type).map_err(|_| {
            ScimError::invalid_config("scim.content_type is not a valid header value")
        })?;
        let tokens = TokenSource::new(&config.auth)?;
        let redactor = Redactor::for_auth(&config.auth);
        let http = reqwest::Client::builder()
            // A redirect could carry our credentials to another host; refuse them all.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("accessboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ScimError::invalid_config(format!("could not build the HTTP client: {e}"))
            })?;
        Ok(ScimClient {
            inner: Arc::new(Inner {
                http,
                base,
                tokens,
                redactor,
                content_type,
                timeout: config.timeout,
                capabilities: Mutex::new(None),
                filter: config.filter,
                patch: config.patch,
                learned: Mutex::new(config.learned),
                group_resource: Mutex::new(None),
                group_ids: tokio::sync::Mutex::new(config.group_ids.clone()),
                unmanaged: Mutex::new(Default::default()),
                limiter: Limiter::new(config.max_concurrency, config.max_requests_per_second),
            }),
        })
    }

    /// Starts a session whose calls are journaled, e.g. one reconcile.
    pub fn session(&self) -> ScimSession {
        ScimSession::new(self.clone())
    }

    /// The base URL.
    pub fn base_url(&self) -> &url::Url {
        &self.inner.base
    }

    /// The app's credentials, to replace wherever its text is shown or stored.
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// How many tokens were requested from the OAuth2 token endpoint (or JWTs signed) so far.
    #[doc(hidden)]
    pub fn token_requests(&self) -> u64 {
        self.inner.tokens.issued()
    }

    /// Sends one request and reads its answer, recording each exchange in `journal`.
    ///
    /// A 429 is waited out and the request sent again, as long as this request has
    /// waited for the app's rate limit no longer than the request timeout in all (and at
    /// most [`MAX_RESENDS`] times); then the caller gets the 429 with the time to come back.
    pub(crate) async fn send(
        &self,
        req: Request<'_>,
        journal: &Mutex<Vec<ScimCall>>,
    ) -> Result<Answer, ScimError> {
        let path = format!("/{}", req.segments.join("/"));
        let mut patience = self.inner.timeout;
        let mut resends = 0;
        loop {
            let result = self.send_once(&req, &path, journal, &mut patience).await;
            match result {
                Err(e)
                    if e.status() == Some(429)
                        && resends < MAX_RESENDS
                        && e.retry_after().is_some_and(|wait| wait <= patience) =>
                {
                    resends += 1;
                    tracing::debug!(path = %path, wait_ms = e.retry_after().map_or(0, |w| w.as_millis() as u64),
                        "the app limits its request rate; sending again when it said");
                }
                other => return other,
            }
        }
    }

    /// One try of [`ScimClient::send`].
    ///
    /// With a renewable token (JWT, OAuth2) a 401 gets one new token and one more try; when
    /// the app refuses that fresh token too, the credentials are wrong: a permanent error,
    /// and later 401s fail at once instead of fetching again.
    async fn send_once(
        &self,
        req: &Request<'_>,
        path: &str,
        journal: &Mutex<Vec<ScimCall>>,
        patience: &mut Duration,
    ) -> Result<Answer, ScimError> {
        let path = path.to_owned();
        let tokens = &self.inner.tokens;
        let http = &self.inner.http;
        let started = Instant::now();
        let credential = match tokens.credential(http).await {
            Ok(c) => c,
            Err(e) => {
                let e = e.into_scim(req.method, &path);
                return self.record(req, path, started, Err(e), journal);
            }
        };
        let result = self
            .exchange(req, &path, credential.as_ref(), patience)
            .await;
        let (refusal, used) = match (result, credential) {
            (Err(e), Some(used)) if tokens.renewable() && e.status() == Some(401) => (e, used),
            // A 403 to a token the app already refused fresh: the same sentence as the 401s.
            (Err(e), Some(used)) if tokens.renewable() && e.status() == Some(403) => {
                let e = if tokens.was_refused(&used).await {
                    e.credentials_refused(tokens.refusal_note())
                } else {
                    e
                };
                return self.record(req, path, started, Err(e), journal);
            }
            (result, _) => return self.record(req, path, started, result, journal),
        };
        let fresh = match tokens.renew(http, &used).await {
            Ok(Renewal::Fresh(fresh)) => fresh,
            Ok(Renewal::Hopeless) => {
                let e = refusal.credentials_refused(tokens.refusal_note());
                return self.record(req, path, started, Err(e), journal);
            }
            Err(e) => {
                let _ = self.record(req, path.clone(), started, Err(refusal), journal);
                let e = e.into_scim(req.method, &path);
                return self.record(req, path, Instant::now(), Err(e), journal);
            }
        };
        tracing::info!(path = %path, "the app refused the token; trying once more with a new one");
        let _ = self.record(req, path.clone(), started, Err(refusal), journal);
        let started = Instant::now();
        let result = match self.exchange(req, &path, Some(&fresh), patience).await {
            Err(e) if matches!(e.status(), Some(401 | 403)) => {
                tokens.refused_although_fresh(&fresh).await;
                Err(e.credentials_refused(tokens.refusal_note()))
            }
            other => other,
        };
        self.record(req, path, started, result, journal)
    }
}

// RFC 3986 unreserved characters stay; everything else is %XX, so spaces never become '+'.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base_url", &self.inner.base.as_str())
            .field("auth", &self.inner.tokens)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_filters_without_plus() {
        assert_eq!(
            super::encode(r#"userName eq "a+b@x.org""#),
            "userName%20eq%20%22a%2Bb%40x.org%22"
        );
    }
}
