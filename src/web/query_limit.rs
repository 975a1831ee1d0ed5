//! A cap on the query string of every request: searches and filters are short, and a
//! 50,000-character search used to reach SQLite's LIKE limit and answer 500.

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;

use super::error::error_page;

/// The longest query string taken, in bytes as sent (percent-encoded).
pub const MAX_QUERY: usize = 2048;
/// The longest query string of `/poll`, which carries one `w=` per badge in flight
/// (about 56 bytes each): 8 KiB is what a reverse proxy takes in a request line by
/// default (nginx's `large_client_header_buffers`), room for a page of 140 badges.
pub const MAX_POLL_QUERY: usize = 8192;

/// Answers 400 with a message when the query string is longer than [`MAX_QUERY`]
/// ([`MAX_POLL_QUERY`] for the badges' poll).
pub async fn check(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let cap = if req.path() == "/poll" {
        MAX_POLL_QUERY
    } else {
        MAX_QUERY
    };
    if req.query_string().len() > cap {
        let message = format!(
            "This address is too long: searches and filters take at most {MAX_QUERY} characters."
        );
        let res = HttpResponse::build(StatusCode::BAD_REQUEST)
            .content_type("text/html; charset=utf-8")
            .body(error_page(StatusCode::BAD_REQUEST, &message).into_string());
        return Ok(req.into_response(res));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
