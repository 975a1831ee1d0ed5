//! SCIM errors, classified so the worker knows whether a retry can help.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::redact::Redactor;

/// Whether retrying an operation can succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Connect failure, timeout, 408, 429 or 5xx: retry with backoff.
    Transient,
    /// Any other failure (4xx, 3xx, a body we cannot read): retrying will not help.
    Permanent,
    /// 409: the resource already exists.
    Conflict,
}

/// A failed SCIM exchange, described without credentials.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{}", self.sentence())]
pub struct ScimError {
    // Boxed so that Results carrying it stay small on the happy path.
    details: Box<Details>,
}

#[derive(Clone, Debug)]
struct Details {
    kind: ErrorKind,
    method: &'static str,
    path: String,
    status: Option<u16>,
    scim_type: Option<String>,
    detail: Option<String>,
    retry_after: Option<Duration>,
    // What went wrong when there is no HTTP status to explain it (timeout, bad JSON, ...).
    reason: Option<String>,
    // What accessboard concluded from the answer (credentials refused after a fresh token).
    note: Option<String>,
    // Not sent at all: the app's rate limit told us to wait longer than a request may.
    held_back: bool,
}

/// The RFC 7644 §3.12 error body; `status` is a string there, but some servers send a number.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    schemas: Vec<String>,
    #[serde(default, rename = "scimType")]
    scim_type: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

impl ScimError {
    /// An error answered by the server with a non-success status.
    pub(crate) fn from_response(
        method: &'static str,
        path: &str,
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> Self {
        let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
        let (scim_type, detail) = match parsed {
            Some(b)
                if b.schemas.iter().any(|s| s == ERROR_SCHEMA)
                    || b.detail.is_some()
                    || b.scim_type.is_some() =>
            {
                (
                    b.scim_type.filter(|s| !s.is_empty()).map(|t| untrusted(&t)),
                    b.detail.filter(|s| !s.is_empty()).map(|d| untrusted(&d)),
                )
            }
            _ => (None, None),
        };
        let kind = classify_status(status);
        let reason = match status {
            300..=399 => Some("a redirect, which is not followed (check scim.base_url)".to_owned()),
            _ => None,
        };
        ScimError {
            details: Box::new(Details {
                kind,
                method,
                path: path.to_owned(),
                status: Some(status),
                scim_type,
                detail,
                retry_after,
                reason,
                note: None,
                held_back: false,
            }),
        }
    }

    /// An error with no usable HTTP answer.
    pub(crate) fn other(
        kind: ErrorKind,
        method: &'static str,
        path: &str,
        status: Option<u16>,
        reason: impl Into<String>,
    ) -> Self {
        ScimError {
            details: Box::new(Details {
                kind,
                method,
                path: path.to_owned(),
                status,
                scim_type: None,
                detail: None,
                retry_after: None,
                reason: Some(reason.into()),
                note: None,
                held_back: false,
            }),
        }
    }

    /// An error from the HTTP layer: connect failures and timeouts are transient.
    pub(crate) fn from_transport(
        method: &'static str,
        path: &str,
        err: &reqwest::Error,
        timeout: Duration,
    ) -> Self {
        // reqwest's messages carry the full URL; the path we keep is enough and safer.
        let reason = if err.is_timeout() {
            format!("timed out after {}s", timeout.as_secs_f32())
        } else if err.is_connect() {
            format!("could not connect ({})", root_cause(err))
        } else if err.is_body() || err.is_decode() {
            format!("the answer broke off ({})", root_cause(err))
        } else if err.is_builder() {
            return ScimError::other(
                ErrorKind::Permanent,
                method,
                path,
                None,
                format!("could not build the request ({})", root_cause(err)),
            );
        } else {
            format!("the request failed ({})", root_cause(err))
        };
        ScimError::other(ErrorKind::Transient, method, path, None, reason)
    }

    /// Settings the client cannot work with; never worth a retry.
    pub(crate) fn invalid_config(reason: impl Into<String>) -> Self {
        ScimError::other(ErrorKind::Permanent, "", "", None, reason)
    }

    /// A resource the server sent without the `id` we need to address it.
    pub(crate) fn missing_id(method: &'static str, path: &str) -> Self {
        ScimError::other(
            ErrorKind::Permanent,
            method,
            path,
            None,
            "the server sent a resource without an id",
        )
    }

    /// A request not sent because the app asked us to wait `wait` more (a 429 to another
    /// request), longer than this one may wait: transient, due after `wait`.
    pub(crate) fn held_back(method: &'static str, path: &str, wait: Duration) -> Self {
        let mut e = ScimError::other(
            ErrorKind::Transient,
            method,
            path,
            None,
            "the app limits its request rate (429) and asked to wait",
        );
        e.details.retry_after = Some(wait);
        e.details.held_back = true;
        e
    }

    /// The app refused credentials that were fresh: an error of the whole app, never worth a retry.
    pub(crate) fn credentials_refused(mut self, note: impl Into<String>) -> Self {
        self.details.kind = ErrorKind::Permanent;
        self.details.retry_after = None;
        self.details.note = Some(note.into());
        self
    }

    /// How long to wait before retrying, when the cause said so.
    pub(crate) fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.details.retry_after = wait;
        self
    }

    /// Replaces the app's credentials wherever the server echoed them in the texts we keep.
    pub(crate) fn scrub(mut self, redactor: &Redactor) -> Self {
        let d = &mut self.details;
        for text in [&mut d.scim_type, &mut d.detail, &mut d.reason]
            .into_iter()
            .flatten()
        {
            *text = redactor.text(text);
        }
        self
    }

    /// Transient, permanent or conflict.
    pub fn kind(&self) -> ErrorKind {
        self.details.kind
    }

    /// True when a later retry may succeed.
    pub fn is_transient(&self) -> bool {
        self.details.kind == ErrorKind::Transient
    }

    /// True for a 401 or 403 that retrying cannot fix: the app refuses the credentials
    /// (after a fresh token, where the token can be renewed).
    pub fn refuses_credentials(&self) -> bool {
        !self.is_transient() && matches!(self.details.status, Some(401 | 403))
    }

    /// True for a 429, or a request held back because of one: the app limits its rate,
    /// and waiting as it said is all that is needed (never a reason to give up).
    pub fn is_rate_limited(&self) -> bool {
        self.details.status == Some(429) || self.details.held_back
    }

    /// True for a request that was never sent (see [`ScimError::held_back`]).
    pub fn was_held_back(&self) -> bool {
        self.details.held_back
    }

    /// True for a 409 (the resource already exists).
    pub fn is_conflict(&self) -> bool {
        self.details.kind == ErrorKind::Conflict
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        self.details.status
    }

    /// The SCIM `scimType` of the error body, e.g. `uniqueness`.
    pub fn scim_type(&self) -> Option<&str> {
        self.details.scim_type.as_deref()
    }

    /// The server's human-readable `detail`.
    pub fn detail(&self) -> Option<&str> {
        self.details.detail.as_deref()
    }

    /// How long the server asked us to wait (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.details.retry_after
    }

    /// The HTTP method of the failed request.
    pub fn method(&self) -> &'static str {
        self.details.method
    }

    /// The path of the failed request, relative to the base URL and without query.
    pub fn path(&self) -> &str {
        &self.details.path
    }

    fn sentence(&self) -> String {
        if self.details.method.is_empty() {
            return format!(
                "invalid SCIM settings: {}",
                self.details.reason.as_deref().unwrap_or("unknown problem")
            );
        }
        let mut s = format!("{} {}", self.details.method, self.details.path);
        match self.details.status {
            Some(status) => {
                s.push_str(&format!(" answered {status}"));
                if let Some(t) = &self.details.scim_type {
                    s.push_str(&format!(" ({t})"));
                }
                match (
                    &self.details.note,
                    &self.details.detail,
                    &self.details.reason,
                ) {
                    (Some(n), Some(d), _) => s.push_str(&format!(": {n}; the app said: {d}")),
                    (Some(n), None, _) => s.push_str(&format!(": {n}")),
                    (None, Some(d), _) => s.push_str(&format!(": {d}")),
                    (None, None, Some(r)) => s.push_str(&format!(": {r}")),
                    (None, None, None) => s.push_str(&format!(" ({})", status_text(status))),
                }
            }
            None if self.details.held_back => s.push_str(&format!(
                " was not sent: {}",
                self.details.reason.as_deref().unwrap_or("rate limited")
            )),
            None => s.push_str(&format!(
                " failed: {}",
                self.details.reason.as_deref().unwrap_or("unknown error")
            )),
        }
        if let Some(wait) = self.details.retry_after {
            s.push_str(&format!("; retry after {}s", wait.as_secs()));
        }
        s
    }
}

/// The most characters of an app's own text that are kept (its `detail`, `scimType`).
pub const MAX_APP_TEXT_CHARS: usize = 2000;

/// An app's text made safe to store, log and show: control characters (line breaks that
/// would forge a log line, terminal escape sequences) become spaces, and it is cut at
/// [`MAX_APP_TEXT_CHARS`] (an app once answered 1 MiB of detail on every attempt).
pub fn untrusted(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_APP_TEXT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX_APP_TEXT_CHARS).is_some() {
        out.push_str(" …(cut)");
    }
    out
}

/// Maps an HTTP status to whether retrying can help.
pub fn classify_status(status: u16) -> ErrorKind {
    match status {
        409 => ErrorKind::Conflict,
        // 501 is a 5xx but says "never": retrying an unimplemented feature cannot succeed.
        501 => ErrorKind::Permanent,
        408 | 429 | 500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    }
}

pub(crate) fn status_text(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("unexpected status")
}

pub(crate) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Transient => "transient",
            ErrorKind::Permanent => "permanent",
            ErrorKind::Conflict => "conflict",
        })
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
