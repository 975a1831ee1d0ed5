//! Where the `Authorization` header comes from: a pasted secret, an HS256 JWT signed here,
//! or an OAuth2 client-credentials token fetched and cached until shortly before it expires.
//!
//! Tokens are cached behind a `tokio::sync::Mutex` held across the fetch, so workers that need
//! one at the same time wait for a single request. A failed fetch is remembered for
//! [`FAILURE_MEMORY`], so a burst of jobs against a refusing or absent token endpoint makes one
//! request, not one each. Nothing here prints a secret or a token: header values are marked
//! sensitive and the Debug impls redact. Signing is in `jwt`, fetching in `oauth2`.

mod jwt;
mod oauth2;

pub(crate) use jwt::JwtSigner;
pub(crate) use oauth2::OAuth2Client;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::HeaderValue;
use tokio::sync::Mutex;

use super::config::ScimAuth;
use super::error::{ErrorKind, ScimError};
use crate::secret::Secret;

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
                let header =
                    sensitive(&format!("Basic {}", STANDARD.encode(raw))).ok_or_else(|| {
                        ScimError::invalid_config("the basic-auth credentials cannot be sent")
                    })?;
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
            TokenSource::Static(_) => Err(TokenError::new(
                ErrorKind::Permanent,
                "static credentials cannot be renewed".into(),
            )),
            TokenSource::Jwt(j) => j.sign_now(),
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
mod tests;
