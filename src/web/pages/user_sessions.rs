//! "Sign out everywhere" on a person's page: every dashboard session of theirs ends.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use crate::web::layout;
use crate::web::session::{self, CurrentAdmin};
use crate::web::{AppState, WebError};

/// POST /users/{id}/sign-out
pub async fn sign_out_everywhere(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, WebError> {
    let id = *id;
    state
        .service
        .as_actor(admin.actor())
        .sign_out_everywhere(id)
        .await?;
    if id == admin.id {
        // Their own sessions, this one included: back to the sign-in page.
        session::end(state.service.db(), &session).await?;
        return Ok(layout::redirect(&req, "/login"));
    }
    Ok(layout::redirect(&req, &format!("/users/{id}?signed_out=1")))
}
