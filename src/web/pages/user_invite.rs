//! POST /users/{id}/invite: a one-time link for a person who may sign in to set their
//! password (an invitation, or a reset when they forgot it), shown once to copy.

use actix_web::{HttpResponse, web};
use maud::html;
use uuid::Uuid;

use crate::web::layout::{self, Nav, page};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError, times};

/// POST /users/{id}/invite
pub async fn invite(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, WebError> {
    let id = *id;
    let link = state
        .service
        .as_actor(admin.actor())
        .create_sign_in_link(id)
        .await?;
    let settings = state.service.settings();
    let base = settings.server.public_url.trim_end_matches('/');
    let url = format!("{base}/login/link?token={}", link.token);
    let until = times::when(Some(link.expires_at), &settings.server.zone);
    Ok(layout::ok(page(
        "Sign-in link",
        &admin,
        Nav::Users,
        html! {
            p.crumbs { a href="/users" { "People" } " / " a href=(format!("/users/{id}")) { "Person" } " / " }
            h1 { "A sign-in link" }
            p { "Send this link to them. It lets them set their password once, until " (until)
                "; a new password or a change of their access ends it. It is not shown again." }
            p { code.wrap #sign-in-link { (url) } }
            p { a.button href=(format!("/users/{id}")) { "Done" } }
        },
    )))
}
