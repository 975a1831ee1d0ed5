//! Typed errors of request handlers, each mapped to a page a person can read.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use maud::html;

use crate::db::DbError;
use crate::users::ServiceError;

/// Why a request could not be served.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

impl From<actix_session::SessionInsertError> for WebError {
    fn from(e: actix_session::SessionInsertError) -> Self {
        WebError::Internal(format!("cannot store the session: {e}"))
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Service(ServiceError::UnknownUser(_) | ServiceError::UnknownUserId(_)) => {
                StatusCode::NOT_FOUND
            }
            WebError::Service(ServiceError::UnknownApp(_)) => StatusCode::NOT_FOUND,
            WebError::Service(ServiceError::UnknownGroup(_) | ServiceError::UnknownGroupId(_)) => {
                StatusCode::NOT_FOUND
            }
            WebError::Service(ServiceError::Identity(e)) if !e.is_transient() => {
                StatusCode::BAD_GATEWAY
            }
            WebError::Service(ServiceError::Identity(_)) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Service(e) if e.is_usage() => StatusCode::CONFLICT,
            WebError::Service(_) | WebError::Db(_) | WebError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let message = if matches!(self, WebError::Service(ServiceError::Identity(_))) {
            // Kratos' own words help the admin; they carry no secret.
            format!("{self}. Nothing was changed; try again in a moment.")
        } else if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "Something went wrong on the server; the details are in its log. Try again in a moment."
                .to_owned()
        } else {
            self.to_string()
        };
        let mut res = HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(error_page(status, &message).into_string());
        res.extensions_mut().insert(ErrorText(message));
        res
    }
}

/// The message of an error page, kept on its response so that the sign-in guard can
/// draw the page again inside the signed-in header (errors are made without the session).
#[derive(Debug, Clone)]
pub struct ErrorText(pub String);

/// An error page for a signed-in admin: their header (name, Sign out), no section current.
pub fn signed_in_page(
    status: StatusCode,
    message: &str,
    admin: &super::session::CurrentAdmin,
) -> maud::Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    super::layout::page(
        title,
        admin,
        super::layout::Nav::Nowhere,
        body(title, message),
    )
}

fn body(title: &str, message: &str) -> maud::Markup {
    html! {
        h1 { (title) }
        p.lead { (message) }
        p { a href="/users" { "Back to the people list" } }
    }
}

/// A standalone page for an error (also used for 403 and 413 by the middleware).
pub fn error_page(status: StatusCode, message: &str) -> maud::Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    super::layout::error_shell(title, body(title, message))
}

/// The page for paths that match no route.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    WebError::NotFound(format!("There is no page at {}.", req.path())).error_response()
}
