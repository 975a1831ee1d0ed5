//! One exchange with the app: its place among the app's requests in flight and its
//! turn at the app's pace (what the answer says about the app's rate limit adapts
//! both), the request itself with capped reading, and its journal entry.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::{self, HeaderValue};

use super::body::read_capped;
use super::{Answer, Request, ScimCall, ScimClient, encode};
use crate::scim::error::{ErrorKind, ScimError};
use crate::scim::token::Credential;
use crate::scim::wait::announced_wait;

/// What every request accepts: SCIM's media type, and plain JSON, which many apps send.
const ACCEPT: &str = "application/scim+json, application/json";

impl ScimClient {
    /// Journals one exchange (and logs it without credentials), then hands its result on.
    pub(super) fn record(
        &self,
        req: &Request<'_>,
        path: String,
        started: Instant,
        result: Result<Answer, ScimError>,
        journal: &Mutex<Vec<ScimCall>>,
    ) -> Result<Answer, ScimError> {
        // Whatever the app said is kept (journal, pair message, log) without our credentials.
        let result = result.map_err(|e| e.scrub(&self.inner.redactor));
        let (status, error) = match &result {
            Ok(a) => (Some(a.status), None),
            Err(e) => (e.status(), Some(e.to_string())),
        };
        let duration = started.elapsed();
        tracing::debug!(
            operation = req.op,
            method = req.method,
            path = %path,
            status,
            duration_ms = duration.as_millis() as u64,
            error = error.as_deref(),
            "scim call"
        );
        let call = ScimCall {
            operation: req.op,
            method: req.method,
            path,
            status,
            duration,
            error,
        };
        // A request held back by the app's rate limit was never sent: nothing to journal.
        if !matches!(&result, Err(e) if e.was_held_back()) {
            journal.lock().unwrap_or_else(|p| p.into_inner()).push(call);
        }
        result
    }

    pub(super) async fn exchange(
        &self,
        req: &Request<'_>,
        path: &str,
        credential: Option<&Credential>,
        patience: &mut Duration,
    ) -> Result<Answer, ScimError> {
        let slot = match self.inner.limiter.admit(patience).await {
            Ok(slot) => slot,
            Err(wait) => return Err(ScimError::held_back(req.method, path, wait)),
        };
        let result = match self.exchange_raw(req, path, credential).await {
            // Every request to the app pauses; the caller waits at least as long.
            Err(e) if e.status() == Some(429) => {
                let wait = slot.rate_limited(e.retry_after());
                let limits = self.inner.limiter.limits();
                tracing::info!(
                    path,
                    wait_ms = wait.as_millis() as u64,
                    in_flight = limits.in_flight,
                    per_second = limits.per_second,
                    "the app limits its request rate (429): pausing and slowing down"
                );
                Err(e.with_retry_after(Some(wait)))
            }
            Ok(answer) => {
                slot.answered();
                Ok(answer)
            }
            Err(e) => {
                // A 4xx is an answer at the app's pace; a 5xx or no answer says nothing good.
                if e.status().is_some_and(|s| s < 500) {
                    slot.answered();
                }
                Err(e)
            }
        };
        let result = result.map(|mut answer| {
            // A streamed listing is still being read: it holds its place until then.
            // Any other answer is read already, and keeping the place would deadlock a
            // caller that reads back before dropping the answer.
            if answer.response.is_some() {
                answer._permit = Some(slot);
            }
            answer
        });
        // A server may echo what it was sent; an error text must never carry our secret.
        result.map_err(|e| e.scrub(&self.inner.redactor))
    }

    async fn exchange_raw(
        &self,
        req: &Request<'_>,
        path: &str,
        credential: Option<&Credential>,
    ) -> Result<Answer, ScimError> {
        let inner = &self.inner;
        let mut url = inner.base.clone();
        {
            let mut segs = url.path_segments_mut().map_err(|()| {
                ScimError::invalid_config("scim.base_url cannot have paths under it")
            })?;
            segs.pop_if_empty();
            for s in &req.segments {
                segs.push(s);
            }
        }
        if !req.query.is_empty() {
            let q: Vec<String> = req
                .query
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            url.set_query(Some(&q.join("&")));
        }
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|_| {
            ScimError::other(
                ErrorKind::Permanent,
                req.method,
                path,
                None,
                "unknown HTTP method",
            )
        })?;
        let mut builder = inner
            .http
            .request(method, url)
            .header(header::ACCEPT, ACCEPT);
        if let Some(c) = credential {
            // Known before the answer comes, which may echo it.
            inner.redactor.remember(c.secret.expose());
            builder = builder.header(header::AUTHORIZATION, c.header.clone());
        }
        if let Some(body) = &req.body {
            builder = builder
                .header(header::CONTENT_TYPE, inner.content_type.clone())
                .body(body.clone());
        }
        if let Some(tag) = req.if_match
            && let Ok(v) = HeaderValue::from_str(tag)
        {
            builder = builder.header(header::IF_MATCH, v);
        }
        let mut resp = builder
            .send()
            .await
            .map_err(|e| ScimError::from_transport(req.method, path, &e, inner.timeout))?;
        let status = resp.status().as_u16();
        let retry_after = announced_wait(resp.headers(), time::OffsetDateTime::now_utc());
        if req.stream && (200..300).contains(&status) {
            return Ok(Answer {
                status,
                body: Vec::new(),
                method: req.method,
                path: path.to_owned(),
                response: Some(resp),
                timeout: inner.timeout,
                _permit: None,
                redactor: inner.redactor.clone(),
            });
        }
        let body = read_capped(&mut resp, req.method, path, inner.timeout).await?;
        if (200..300).contains(&status) || req.expect.contains(&status) {
            Ok(Answer {
                status,
                body,
                method: req.method,
                path: path.to_owned(),
                response: None,
                timeout: inner.timeout,
                _permit: None,
                redactor: inner.redactor.clone(),
            })
        } else {
            Err(ScimError::from_response(
                req.method,
                path,
                status,
                &body,
                retry_after,
            ))
        }
    }
}
