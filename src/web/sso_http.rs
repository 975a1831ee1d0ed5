//! Our reqwest client as the `openidconnect` crate's HTTP client: no second reqwest
//! (the crate's own feature would pull another version), no redirects, answers capped.

use std::future::Future;
use std::pin::Pin;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// The largest answer read from the provider.
const MAX_BODY: usize = 1024 * 1024;

/// Our reqwest client as the crate's HTTP client: no second reqwest, no redirects,
/// answers capped.
pub struct Http(reqwest::Client);

impl Http {
    /// Wraps a client built without redirects.
    pub fn new(client: reqwest::Client) -> Http {
        Http(client)
    }
}

/// A request to the provider that failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Not sent, or no answer.
    #[error("{0}")]
    Send(#[from] reqwest::Error),
    /// The answer was larger than we read.
    #[error("the provider's answer is larger than 1 MiB")]
    TooLarge,
    /// The answer could not be handed back.
    #[error("{0}")]
    Answer(String),
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let res = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            if res.content_length().is_some_and(|n| n > MAX_BODY as u64) {
                return Err(HttpError::TooLarge);
            }
            let status = res.status();
            let headers = res.headers().clone();
            let bytes = res.bytes().await?;
            if bytes.len() > MAX_BODY {
                return Err(HttpError::TooLarge);
            }
            let mut answer = openidconnect::http::Response::builder().status(status);
            if let Some(h) = answer.headers_mut() {
                *h = headers;
            }
            answer
                .body(bytes.to_vec())
                .map_err(|e| HttpError::Answer(e.to_string()))
        })
    }
}
