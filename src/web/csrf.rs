//! CSRF check and body size limit for every state-changing request.
//!
//! The token lives in the signed session; pages send it back as the hidden
//! form field `csrf` or, from htmx, as the `X-CSRF-Token` header. The body is
//! read here (up to the route's limit) and handed on to the handler unchanged.

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, HttpResponse};
use futures::StreamExt;
use std::time::Duration;

use super::error::error_page;
use super::multipart;
use super::session::CSRF;

/// Largest ordinary form.
pub const FORM_LIMIT: usize = 64 * 1024;
/// Largest CSV import request: the largest file the import takes (the README's
/// 16 MiB), plus room for the multipart framing and the other fields. The
/// preview re-posts the text as multipart too, so it is not percent-encoded.
pub const IMPORT_LIMIT: usize = crate::users::MAX_IMPORT_BYTES + 1024 * 1024;
/// The longest an ordinary form may take to arrive once its head is in: 64 KiB in 10 s is
/// 6.4 KiB/s, far below any real link, while a body trickled to hold a connection is cut.
pub const FORM_READ_TIME: Duration = Duration::from_secs(10);
/// The longest a CSV import may take to arrive: 17 MiB over a slow uplink (~60 KiB/s).
pub const IMPORT_READ_TIME: Duration = Duration::from_secs(300);
/// The header htmx sends the token in.
pub const HEADER: &str = "x-csrf-token";

/// The most bytes, and the longest time, a body of `path` may take.
fn limit_for(path: &str) -> (usize, Duration) {
    if path.starts_with("/users/import") {
        (IMPORT_LIMIT, IMPORT_READ_TIME)
    } else {
        (FORM_LIMIT, FORM_READ_TIME)
    }
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Over the limit.
    TooLarge,
    /// The connection failed.
    Broken,
    /// Not all of it arrived in time.
    TooSlow,
}

/// Reads a whole body, refusing more than `limit` bytes or taking longer than `time`.
pub async fn read_body<S, E>(
    payload: &mut S,
    limit: usize,
    time: Duration,
) -> Result<Bytes, BodyError>
where
    S: futures::Stream<Item = Result<Bytes, E>> + Unpin,
{
    let reading = async {
        let mut buf = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| BodyError::Broken)?;
            if buf.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge);
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    };
    // actix bounds the head (`client_request_timeout`), not the body: without this a body
    // sent a byte a second holds its connection for ever.
    tokio::time::timeout(time, reading)
        .await
        .unwrap_or(Err(BodyError::TooSlow))
}

/// Constant-time comparison of two tokens.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The token a form body carries, urlencoded or multipart.
fn token_in_body(content_type: &str, body: &[u8]) -> Option<String> {
    if content_type.starts_with("application/x-www-form-urlencoded") {
        url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned())
    } else if content_type.starts_with("multipart/form-data") {
        multipart::parse(content_type, body)
            .ok()?
            .into_iter()
            .find(|p| p.name == "csrf")
            .and_then(|p| String::from_utf8(p.data.to_vec()).ok())
    } else {
        None
    }
}

/// [`token_in_body`], on the blocking pool when the body is large (an import: up to 17 MiB).
async fn token_in_body_off_thread(content_type: String, body: Bytes) -> Option<String> {
    if body.len() <= FORM_LIMIT {
        return token_in_body(&content_type, &body);
    }
    actix_web::web::block(move || token_in_body(&content_type, &body))
        .await
        .ok()
        .flatten()
}

fn refuse(req: ServiceRequest, status: StatusCode, message: &str) -> ServiceResponse<BoxBody> {
    let mut res = HttpResponse::build(status);
    if status != StatusCode::FORBIDDEN {
        // The rest of the body is never read: the connection cannot carry another request.
        res.force_close();
    }
    let mut res = res
        .content_type("text/html; charset=utf-8")
        .body(error_page(status, message).into_string());
    res.extensions_mut()
        .insert(super::error::ErrorText(message.to_owned()));
    req.into_response(res)
}

/// Refuses state-changing requests without the session's token (403) or with
/// a body over the limit (413).
pub async fn check(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let (limit, time) = limit_for(req.path());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = &if limit == IMPORT_LIMIT {
        format!(
            "The file is larger than imports accept ({} MiB); split it into smaller files.",
            crate::users::MAX_IMPORT_BYTES / 1024 / 1024
        )
    } else {
        "The form is larger than this page accepts.".to_owned()
    };
    if declared.is_some_and(|n| n > limit) {
        return Ok(refuse(req, StatusCode::PAYLOAD_TOO_LARGE, too_large));
    }
    let mut payload = req.take_payload();
    let body = match read_body(&mut payload, limit, time).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return Ok(refuse(req, StatusCode::PAYLOAD_TOO_LARGE, too_large));
        }
        Err(BodyError::Broken) => {
            return Ok(refuse(
                req,
                StatusCode::BAD_REQUEST,
                "The form arrived incomplete.",
            ));
        }
        Err(BodyError::TooSlow) => {
            return Ok(refuse(
                req,
                StatusCode::REQUEST_TIMEOUT,
                "The form took too long to arrive. Try again.",
            ));
        }
    };
    let expected = req.get_session().get::<String>(CSRF).ok().flatten();
    let in_header = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let sent = match in_header {
        Some(t) => Some(t),
        None => {
            let ct = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            token_in_body_off_thread(ct, body.clone()).await
        }
    };
    match (expected, sent) {
        (Some(e), Some(s)) if same(&e, &s) => {
            req.set_payload(Payload::from(body));
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        _ => Ok(refuse(
            req,
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this dashboard. Reload the page and try again.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_in_either_form_encoding() {
        assert_eq!(
            token_in_body("application/x-www-form-urlencoded", b"a=1&csrf=abc%21").as_deref(),
            Some("abc!")
        );
        let body =
            b"--XX\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n--XX--\r\n";
        assert_eq!(
            token_in_body("multipart/form-data; boundary=XX", body).as_deref(),
            Some("tok")
        );
        assert_eq!(token_in_body("text/plain", b"csrf=abc"), None);
    }

    #[test]
    fn compares_tokens_exactly() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
