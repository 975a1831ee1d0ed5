//! OAuth2 client-credentials tokens (RFC 6749 §4.4), fetched from the token endpoint.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;

use super::{Cache, Made, TokenError, sensitive};
use crate::scim::client::encode;
use crate::scim::config::TokenAuth;
use crate::scim::error::{ErrorKind, root_cause, status_text};
use crate::scim::wait::parse_retry_after;
use crate::secret::Secret;

/// The most bytes read from a token endpoint's answer.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// Fetches tokens from an OAuth2 token endpoint (RFC 6749 §4.4).
pub(crate) struct OAuth2Client {
    pub(super) token_url: url::Url,
    pub(super) client_id: String,
    pub(super) client_secret: Secret,
    pub(super) scope: Option<String>,
    pub(super) token_auth: TokenAuth,
    pub(super) cache: Mutex<Cache>,
    pub(super) requests: AtomicU64,
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
    pub(super) async fn fetch(&self, http: &reqwest::Client) -> Result<Made, TokenError> {
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
            // base64 is always a valid header value; the check only avoids a panic path.
            if let Some(value) = sensitive(&format!("Basic {}", STANDARD.encode(raw))) {
                request = request.header(header::AUTHORIZATION, value);
            }
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
    pub(super) fn scrub(&self, text: &str) -> String {
        let secret = self.client_secret.expose();
        if secret.is_empty() {
            return text.to_owned();
        }
        text.replace(secret, "***").replace(&encode(secret), "***")
    }
}
