//! POST /users/{id}/invite: a one-time link for a person who may sign in to set their
//! password (an invitation, or a new start when they forgot it). Emailed to them when
//! email is set up (unless the admin asks to see it), else shown once to copy.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use maud::html;
use uuid::Uuid;

use crate::users::{Invitation, ServiceError};
use crate::web::layout::{self, Nav, page};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError, flash, times};

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct InviteForm {
    /// Show the link here rather than email it.
    show: Option<String>,
}

/// POST /users/{id}/invite
pub async fn invite(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    id: web::Path<Uuid>,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, WebError> {
    let id = *id;
    let person = format!("/users/{id}");
    let back = || {
        HttpResponse::SeeOther()
            .insert_header(("Location", person.clone()))
            .finish()
    };
    let invited = state
        .service
        .as_actor(admin.actor())
        .invite(id, form.show.is_some())
        .await;
    let (url, expires_at) = match invited {
        Ok(Invitation::Sent { to, valid }) => {
            flash::set(&session, Invitation::sent_text(&to, &valid))?;
            return Ok(back());
        }
        Err(ServiceError::NotSent { to, reason }) => {
            let text = format!(
                "The invitation to {to} could not be sent ({reason}); its link was withdrawn. Try again, or choose \u{201c}Show a link instead\u{201d}."
            );
            flash::warn(&session, text, None)?;
            return Ok(back());
        }
        Err(e) => return Err(e.into()),
        Ok(Invitation::Shown {
            url, expires_at, ..
        }) => (url, expires_at),
    };
    let settings = state.service.settings();
    let until = times::when(Some(expires_at), &settings.server.zone);
    Ok(layout::ok(page(
        "Sign-in link",
        &admin,
        Nav::Users,
        html! {
            p.crumbs { a href="/users" { "People" } " / " a href=(person) { "Person" } " / " }
            h1 { "A sign-in link" }
            p { "Send this link to them. It lets them set their password once, until " (until)
                "; a new password or a change of their access ends it. It is not shown again." }
            p { code.wrap #sign-in-link { (url) } }
            p { a.button href=(person) { "Done" } }
        },
    )))
}
