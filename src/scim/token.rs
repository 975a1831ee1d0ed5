//! Where the `Authorization` header comes from: a pasted secret, an HS256 JWT signed here,
//! or an OAuth2 client-credentials token fetched and cached until shortly before it expires.
//!
//! Tokens are cached behind a `tokio::sync::Mutex` held across the fetch, so workers that need
//! one at the same time wait for a single request. A failed fetch is remembered for
//! [`FAILURE_MEMORY`], so a burst of jobs against a refusing or absent token endpoint makes one
//! request, not one each. Nothing here prints a secret or a token: header values are marked
//! sensitive and the Debug impls redact.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use reqwest::header::{self, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Sha256;
use tokio::sync::Mutex;

use super::client::encode;
use super::config::{ScimAuth, TokenAuth};
use super::error::{ErrorKind, ScimError, parse_retry_after, root_cause, status_text};
use crate::secret::Secret;

/// The most bytes read from a token endpoint's answer.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// How long a failed token request is remembered before the next job may try again.
// It only has to cover a burst of jobs; a pair's own retry comes later (2.5 s at the defaults).
pub const FAILURE_MEMORY: Duration = Duration::from_secs(2);

/// How long an app's refusal of a fresh token stands: meanwhile its 401s fail at once; after
/// it, one 401 may fetch one new token again (the app or the client may have been fixed).
pub const REFUSAL_MEMORY: Duration = Duration::from_secs(60);

/// The longest time a token is renewed before it expires.
const MAX_RENEW_MARGIN: Duration = Duration::from_secs(60);

/// The `Authorization` header of one request, and which token it carries.
#[derive(Clone)]
pub(crate) struct Credential {
    /// The header value, marked sensitive.
    pub header: HeaderValue,
    /// The raw token or password, to scrub from texts a server echoes back.
    pub secret: Secret,
    // Which token of the cache this is (0 for static credentials).
    serial: u64,
}

/// Why no token could be had; becomes the [`ScimError`] of the SCIM call that needed it.
#[derive(Clone, Debug)]
pub(crate) struct TokenError {
    kind: ErrorKind,
    message: String,
    retry_after: Option<Duration>,
}

impl TokenError {
    fn new(kind: ErrorKind, message: String) -> Self {
        TokenError {
            kind,
            message,
            retry_after: None,
        }
    }

    /// The error of the SCIM call `method path` that could not be sent for want of a token.
    pub fn into_scim(self, method: &'static str, path: &str) -> ScimError {
        ScimError::other(self.kind, method, path, None, self.message)
            .with_retry_after(self.retry_after)
    }
}

/// What a refused token can be replaced with.
pub(crate) enum Renewal {
    /// A token the app has not refused yet (fetched now, or by another worker meanwhile).
    Fresh(Credential),
    /// The app already refused a fresh token from this source: asking again cannot help.
    Hopeless,
}

/// The source of every request's `Authorization` header for one app.
pub(crate) enum TokenSource {
    /// Bearer token or basic credentials as configured, or none at all.
    Static(Option<Credential>),
    /// HS256 JWTs signed here.
    Jwt(JwtSigner),
    /// OAuth2 client-credentials tokens.
    OAuth2(OAuth2Client),
}

/// Signs HS256 JWTs with the shared secret.
pub(crate) struct JwtSigner {
    secret: Secret,
    claims: Map<String, Value>,
    ttl: Duration,
    cache: Mutex<Cache>,
    minted: AtomicU64,
}

/// Fetches tokens from an OAuth2 token endpoint (RFC 6749 §4.4).
pub(crate) struct OAuth2Client {
    token_url: url::Url,
    client_id: String,
    client_secret: Secret,
    scope: Option<String>,
    token_auth: TokenAuth,
    cache: Mutex<Cache>,
    requests: AtomicU64,
}

#[derive(Default)]
struct Cache {
    current: Option<Cached>,
    failure: Option<(Instant, TokenError)>,
    serial: u64,
}

struct Cached {
    credential: Credential,
    // None: valid until the app refuses it (the token endpoint did not say how long).
    renew_at: Option<Instant>,
    // When the app refused this token although it was fresh.
    refused: Option<Instant>,
}

impl Cached {
    fn usable(&self, now: Instant) -> bool {
        self.renew_at.is_none_or(|at| now < at)
    }

    fn refused_lately(&self) -> bool {
        self.refused.is_some_and(|at| at.elapsed() < REFUSAL_MEMORY)
    }
}

impl TokenSource {
    /// The source for these settings; fails on a static secret no header can carry.
    pub fn new(auth: &ScimAuth) -> Result<TokenSource, ScimError> {
        Ok(match auth {
            ScimAuth::Bearer(token) => {
                let header = sensitive(&format!("Bearer {}", token.expose())).ok_or_else(|| {
                    ScimError::invalid_config(
                        "the SCIM token contains characters a header cannot carry",
                    )
                })?;
                TokenSource::Static(Some(Credential {
                    header,
                    secret: token.clone(),
                    serial: 0,
                }))
            }
            ScimAuth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                let header = sensitive(&format!("Basic {}", STANDARD.encode(raw)))
                    .expect("base64 is a valid header value");
                TokenSource::Static(Some(Credential {
                    header,
                    secret: password.clone(),
                    serial: 0,
                }))
            }
            ScimAuth::None => TokenSource::Static(None),
            ScimAuth::Jwt {
                secret,
                claims,
                ttl,
            } => {
                if ttl.is_zero() {
                    return Err(ScimError::invalid_config("the JWT lifetime must not be 0"));
                }
                TokenSource::Jwt(JwtSigner {
                    secret: secret.clone(),
                    claims: claims.clone(),
                    ttl: *ttl,
                    cache: Mutex::new(Cache::default()),
                    minted: AtomicU64::new(0),
                })
            }
            ScimAuth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
                token_auth,
            } => {
                if !matches!(token_url.scheme(), "http" | "https") {
                    return Err(ScimError::invalid_config(
                        "scim.token_url must be an http or https URL",
                    ));
                }
                if !token_url.username().is_empty() || token_url.password().is_some() {
                    return Err(ScimError::invalid_config(
                        "scim.token_url must not contain credentials; use client_id and client_secret",
                    ));
                }
                TokenSource::OAuth2(OAuth2Client {
                    token_url: token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    scope: scope.clone().filter(|s| !s.trim().is_empty()),
                    token_auth: *token_auth,
                    cache: Mutex::new(Cache::default()),
                    requests: AtomicU64::new(0),
                })
            }
        })
    }

    /// `bearer`, `basic`, `none`, `jwt` or `oauth2`.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenSource::Static(Some(c)) if c.header.as_bytes().starts_with(b"Basic ") => "basic",
            TokenSource::Static(Some(_)) => "bearer",
            TokenSource::Static(None) => "none",
            TokenSource::Jwt(_) => "jwt",
            TokenSource::OAuth2(_) => "oauth2",
        }
    }

    fn cache(&self) -> Option<&Mutex<Cache>> {
        match self {
            TokenSource::Static(_) => None,
            TokenSource::Jwt(j) => Some(&j.cache),
            TokenSource::OAuth2(o) => Some(&o.cache),
        }
    }

    fn static_credential(&self) -> Option<Credential> {
        match self {
            TokenSource::Static(c) => c.clone(),
            _ => None,
        }
    }

    /// True when a refused token can be replaced by another.
    pub fn renewable(&self) -> bool {
        !matches!(self, TokenSource::Static(_))
    }

    /// Tokens requested from the token endpoint, or JWTs signed, since the start.
    pub fn issued(&self) -> u64 {
        match self {
            TokenSource::Static(_) => 0,
            TokenSource::Jwt(j) => j.minted.load(Ordering::Relaxed),
            TokenSource::OAuth2(o) => o.requests.load(Ordering::Relaxed),
        }
    }

    /// What an app administrator should check when the app refuses a fresh token.
    pub fn refusal_note(&self) -> String {
        match self {
            TokenSource::Jwt(_) => "the app refused the credentials even after a fresh token (a newly signed JWT): check jwt_secret and jwt_claims".into(),
            TokenSource::OAuth2(o) => format!(
                "the app refused the credentials even after a fresh token from {}: check that the app accepts client {:?} and its scope",
                o.token_url, o.client_id
            ),
            TokenSource::Static(_) => "the app refused the credentials".into(),
        }
    }

    /// The header for the next request: cached while fresh, else signed or fetched now.
    pub async fn credential(
        &self,
        http: &reqwest::Client,
    ) -> Result<Option<Credential>, TokenError> {
        let Some(cache) = self.cache() else {
            return Ok(self.static_credential());
        };
        let mut cache = cache.lock().await;
        if let Some(c) = &cache.current
            && c.usable(Instant::now())
        {
            return Ok(Some(c.credential.clone()));
        }
        self.refill(&mut cache, http).await.map(Some)
    }

    /// The app answered 401 to `refused`: a new token, once; [`Renewal::Hopeless`] when the
    /// app already refused a fresh one.
    pub async fn renew(
        &self,
        http: &reqwest::Client,
        refused: &Credential,
    ) -> Result<Renewal, TokenError> {
        let Some(cache) = self.cache() else {
            return Ok(Renewal::Hopeless);
        };
        let mut cache = cache.lock().await;
        if let Some(c) = &cache.current {
            if c.refused_lately() {
                return Ok(Renewal::Hopeless);
            }
            // Another worker replaced the refused token meanwhile: use its one.
            if c.credential.serial != refused.serial && c.usable(Instant::now()) {
                return Ok(Renewal::Fresh(c.credential.clone()));
            }
        }
        self.refill(&mut cache, http).await.map(Renewal::Fresh)
    }

    /// The app refused `credential` although it was fresh: for [`REFUSAL_MEMORY`], later 401s
    /// fail without a new token.
    pub async fn refused_although_fresh(&self, credential: &Credential) {
        let Some(cache) = self.cache() else {
            return;
        };
        let mut cache = cache.lock().await;
        if let Some(c) = cache.current.as_mut()
            && c.credential.serial == credential.serial
        {
            c.refused = Some(Instant::now());
        }
    }

    /// True when the app refused `credential` although it was fresh.
    pub async fn was_refused(&self, credential: &Credential) -> bool {
        let Some(cache) = self.cache() else {
            return false;
        };
        let cache = cache.lock().await;
        cache
            .current
            .as_ref()
            .is_some_and(|c| c.refused_lately() && c.credential.serial == credential.serial)
    }

    async fn refill(
        &self,
        cache: &mut Cache,
        http: &reqwest::Client,
    ) -> Result<Credential, TokenError> {
        if let Some((at, e)) = &cache.failure
            && at.elapsed() < FAILURE_MEMORY
        {
            return Err(e.clone());
        }
        cache.current = None;
        let started = Instant::now();
        let made = match self {
            TokenSource::Static(_) => unreachable!("static credentials are never refilled"),
            TokenSource::Jwt(j) => Ok(j.sign_now()),
            TokenSource::OAuth2(o) => o.fetch(http).await,
        };
        match made {
            Ok((header, secret, lifetime)) => {
                cache.serial += 1;
                cache.failure = None;
                let credential = Credential {
                    header,
                    secret,
                    serial: cache.serial,
                };
                cache.current = Some(Cached {
                    credential: credential.clone(),
                    renew_at: lifetime.map(|l| started + l - renew_margin(l)),
                    refused: None,
                });
                Ok(credential)
            }
            Err(e) => {
                tracing::warn!(error = %e.message, "no access token");
                cache.failure = Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }
}

/// A token is renewed a tenth of its lifetime (at most a minute) before it expires.
fn renew_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(MAX_RENEW_MARGIN)
}

fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(value).ok()?;
    v.set_sensitive(true);
    Some(v)
}

type Made = (HeaderValue, Secret, Option<Duration>);

impl JwtSigner {
    fn sign_now(&self) -> Made {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let jwt = mint_hs256(self.secret.expose().as_bytes(), &self.claims, now, self.ttl);
        self.minted.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(ttl_secs = self.ttl.as_secs(), "signed a JWT");
        let header =
            sensitive(&format!("Bearer {jwt}")).expect("base64url is a valid header value");
        (header, Secret::new(jwt), Some(self.ttl))
    }
}

/// An HS256 JWT: `claims` plus `iat = now` and `exp = now + ttl` (seconds since the epoch).
pub fn mint_hs256(secret: &[u8], claims: &Map<String, Value>, now: u64, ttl: Duration) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let mut payload = claims.clone();
    payload.insert("iat".into(), Value::from(now));
    payload.insert("exp".into(), Value::from(now + ttl.as_secs()));
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(payload).to_string());
    let signing_input = format!("{header}.{payload}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// A successful token answer (RFC 6749 §5.1); `expires_in` is a string at some servers.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<Value>,
}

/// An error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct OAuthErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl OAuth2Client {
    async fn fetch(&self, http: &reqwest::Client) -> Result<Made, TokenError> {
        let url = self.token_url.as_str();
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        if self.token_auth == TokenAuth::Post {
            form.push(("client_id", &self.client_id));
            form.push(("client_secret", self.client_secret.expose()));
        }
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = http
            .post(self.token_url.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if self.token_auth == TokenAuth::Basic {
            // RFC 6749 §2.3.1: both are form-encoded before they are joined.
            let raw = format!(
                "{}:{}",
                encode(&self.client_id),
                encode(self.client_secret.expose())
            );
            let value = sensitive(&format!("Basic {}", STANDARD.encode(raw)))
                .expect("base64 is a valid header value");
            request = request.header(header::AUTHORIZATION, value);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut resp = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, time::OffsetDateTime::now_utc()));
        let body = self.read_capped(&mut resp).await?;
        if !(200..300).contains(&status) {
            return Err(self.refusal(status, &body, retry_after));
        }
        let unusable = |why: &str| {
            TokenError::new(
                ErrorKind::Permanent,
                format!("the OAuth2 token endpoint {url} answered {status} but {why}"),
            )
        };
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|_| unusable("without a JSON access_token"))?;
        if let Some(kind) = &answer.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(unusable(&format!(
                "with token_type {:?}; only Bearer tokens are supported",
                self.scrub(kind)
            )));
        }
        let header = sensitive(&format!("Bearer {}", answer.access_token))
            .filter(|_| !answer.access_token.is_empty())
            .ok_or_else(|| unusable("with an access_token a header cannot carry"))?;
        let lifetime = match &answer.expires_in {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|secs| secs.is_finite() && *secs >= 1.0)
        .map(|secs| Duration::from_secs_f64(secs.min(1e9)));
        tracing::info!(
            token_url = url,
            expires_in = lifetime.map(|l| l.as_secs()),
            "fetched an OAuth2 access token"
        );
        Ok((header, Secret::new(answer.access_token), lifetime))
    }

    fn unreachable(&self, err: &reqwest::Error) -> TokenError {
        let why = if err.is_timeout() {
            "timed out".to_owned()
        } else if err.is_connect() {
            format!("could not connect ({})", root_cause(err))
        } else {
            format!("the request failed ({})", root_cause(err))
        };
        TokenError::new(
            ErrorKind::Transient,
            format!(
                "the OAuth2 token endpoint {} is unreachable: {}",
                self.token_url,
                self.scrub(&why)
            ),
        )
    }

    async fn read_capped(&self, resp: &mut reqwest::Response) -> Result<Vec<u8>, TokenError> {
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_TOKEN_RESPONSE_BYTES {
                        return Err(TokenError::new(
                            ErrorKind::Permanent,
                            format!(
                                "the OAuth2 token endpoint {} sent an answer larger than {} KiB",
                                self.token_url,
                                MAX_TOKEN_RESPONSE_BYTES / 1024
                            ),
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err(self.unreachable(&e)),
            }
        }
    }

    /// A non-2xx answer: 408, 429 and 5xx are outages (retried); anything else refuses us.
    fn refusal(&self, status: u16, body: &[u8], retry_after: Option<Duration>) -> TokenError {
        let said = match serde_json::from_slice::<OAuthErrorAnswer>(body) {
            Ok(e) => match e.error_description.filter(|d| !d.trim().is_empty()) {
                Some(d) => format!("{}: {d}", e.error),
                None => e.error,
            },
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                match text.char_indices().nth(200) {
                    Some((cut, _)) => format!("{}…", &text[..cut]),
                    None if text.is_empty() => status_text(status).to_owned(),
                    None => text,
                }
            }
        };
        let said = self.scrub(&said);
        let url = &self.token_url;
        match status {
            408 | 429 | 500..=599 if status != 501 => TokenError {
                kind: ErrorKind::Transient,
                message: format!("the OAuth2 token endpoint {url} answered {status} ({said})"),
                retry_after,
            },
            300..=399 => TokenError::new(
                ErrorKind::Permanent,
                format!(
                    "the OAuth2 token endpoint {url} answered {status}, a redirect, which is not followed (check scim.token_url)"
                ),
            ),
            _ => TokenError::new(
                ErrorKind::Permanent,
                format!(
                    "the OAuth2 token endpoint {url} refused client {:?}: {status} {said}",
                    self.client_id
                ),
            ),
        }
    }

    /// The text with our client secret (plain or form-encoded) replaced by `***`.
    fn scrub(&self, text: &str) -> String {
        let secret = self.client_secret.expose();
        if secret.is_empty() {
            return text.to_owned();
        }
        text.replace(secret, "***").replace(&encode(secret), "***")
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(***)")
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Static(_) => write!(f, "Static({})", self.kind()),
            TokenSource::Jwt(j) => f
                .debug_struct("Jwt")
                .field("secret", &j.secret)
                .field("claims", &j.claims.keys().collect::<Vec<_>>())
                .field("ttl", &j.ttl)
                .finish_non_exhaustive(),
            TokenSource::OAuth2(o) => f
                .debug_struct("OAuth2")
                .field("token_url", &o.token_url.as_str())
                .field("client_id", &o.client_id)
                .field("client_secret", &o.client_secret)
                .field("scope", &o.scope)
                .field("token_auth", &o.token_auth)
                .finish_non_exhaustive(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks an HS256 JWT as an app would; returns its header and claims.
    fn verify(jwt: &str, secret: &[u8]) -> Result<(Value, Map<String, Value>), &'static str> {
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not three parts");
        };
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| "signature not base64url")?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{h}.{p}").as_bytes());
        mac.verify_slice(&signature).map_err(|_| "bad signature")?;
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|_| "header")?).unwrap();
        let claims: Map<String, Value> =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).map_err(|_| "payload")?).unwrap();
        Ok((header, claims))
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn jwt_verifies_with_the_same_secret_and_carries_the_claims() {
        let jwt = mint_hs256(
            b"shared-s3cr3t",
            &claims(serde_json::json!({"user": "admin", "aud": ["nextcloud"]})),
            1_700_000_000,
            Duration::from_secs(300),
        );
        assert!(!jwt.contains('='), "base64url without padding: {jwt}");
        let (header, payload) = verify(&jwt, b"shared-s3cr3t").unwrap();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        assert_eq!(payload["user"], "admin");
        assert_eq!(payload["aud"], serde_json::json!(["nextcloud"]));
        assert_eq!(payload["iat"], 1_700_000_000u64);
        assert_eq!(payload["exp"], 1_700_000_300u64);
        assert_eq!(
            payload["exp"].as_u64().unwrap(),
            payload["iat"].as_u64().unwrap() + 300
        );
    }

    #[test]
    fn jwt_fails_verification_with_another_secret_or_a_changed_payload() {
        let jwt = mint_hs256(
            b"shared-s3cr3t",
            &claims(serde_json::json!({"user": "admin"})),
            1_700_000_000,
            Duration::from_secs(60),
        );
        assert_eq!(verify(&jwt, b"another-secret"), Err("bad signature"));
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"user":"root","iat":1700000000,"exp":9999999999}"#);
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), b"shared-s3cr3t"),
            Err("bad signature")
        );
    }

    #[test]
    fn jwt_header_is_the_canonical_hs256_one() {
        let jwt = mint_hs256(b"k", &Map::new(), 0, Duration::from_secs(1));
        // base64url of {"alg":"HS256","typ":"JWT"}, as jwt.io and PyJWT write it.
        assert!(
            jwt.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."),
            "{jwt}"
        );
        let (_, payload) = verify(&jwt, b"k").unwrap();
        assert_eq!(
            Value::Object(payload),
            serde_json::json!({"iat": 0, "exp": 1})
        );
    }

    #[tokio::test]
    async fn jwt_is_cached_renewed_once_after_a_refusal_then_hopeless() {
        let auth = ScimAuth::Jwt {
            secret: Secret::new("shared-s3cr3t".into()),
            claims: claims(serde_json::json!({"user": "admin"})),
            ttl: Duration::from_secs(300),
        };
        let source = TokenSource::new(&auth).unwrap();
        let http = reqwest::Client::new();
        let first = source.credential(&http).await.unwrap().unwrap();
        let again = source.credential(&http).await.unwrap().unwrap();
        assert_eq!(first.serial, again.serial);
        assert_eq!(source.issued(), 1);
        let Renewal::Fresh(second) = source.renew(&http, &first).await.unwrap() else {
            panic!("a refused token is replaced once");
        };
        assert_ne!(second.serial, first.serial);
        assert_eq!(source.issued(), 2);
        source.refused_although_fresh(&second).await;
        assert!(matches!(
            source.renew(&http, &second).await.unwrap(),
            Renewal::Hopeless
        ));
        assert_eq!(
            source.issued(),
            2,
            "no new token once a fresh one was refused"
        );
        let debug = format!("{source:?}");
        assert!(
            !debug.contains("shared-s3cr3t") && !debug.contains("eyJ"),
            "{debug}"
        );
    }

    #[test]
    fn renew_margin_is_a_tenth_up_to_a_minute() {
        assert_eq!(
            renew_margin(Duration::from_secs(2)),
            Duration::from_millis(200)
        );
        assert_eq!(
            renew_margin(Duration::from_secs(300)),
            Duration::from_secs(30)
        );
        assert_eq!(
            renew_margin(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
    }
}
