//! /users/new and /users/{id}: name, email, admin switch, a role per installed
//! app; errors next to the field, keeping what was typed; deleting with a confirmation.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use uuid::Uuid;

use super::user_form_fields::form;
use super::user_values::{
    Errors, Giving, Values, email_error, from_form, from_user, roles_of, validate,
};
use crate::db::read::{self, AppRow, UserRow};
use crate::domain::{NewUser, Role, Slug, UserUpdate};
use crate::web::flash;
use crate::web::guard::is_htmx;
use crate::web::layout::{self, Nav, page, poller};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError, sudo};

pub(super) async fn load(
    state: &AppState,
    id: Option<Uuid>,
) -> Result<(Vec<AppRow>, Option<UserRow>), WebError> {
    Ok(state
        .service
        .db()
        .run(move |c| {
            let apps = read::apps(c)?.into_iter().filter(|a| a.installed).collect();
            let user = id.map(|id| read::user(c, id)).transpose()?.flatten();
            Ok::<_, crate::db::DbError>((apps, user))
        })
        .await?)
}

/// Per app, the groups a person's role there comes from.
async fn giving(state: &AppState, id: Uuid) -> Result<Giving, WebError> {
    Ok(state
        .service
        .db()
        .run(move |c| crate::db::groups::giving(c, id))
        .await?)
}

/// GET /users/new
pub async fn new_form(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
) -> Result<HttpResponse, WebError> {
    let (apps, _) = load(&state, None).await?;
    let body = form(
        &admin,
        None,
        &Values::default(),
        &Errors::default(),
        &apps,
        None,
        sudo::ask(&state, &session, "/users/new"),
    );
    Ok(layout::ok(page(
        "Add a person",
        &admin,
        Nav::Users,
        html! {
            p.crumbs { a href="/users" { "People" } " / " }
            h1 { "Add a person" }
            (body)
        },
    )))
}

/// Asks for the admin's own password unless the rest of the form is wrong anyway (a
/// check would be spent for nothing) or the session confirmed it a moment ago.
async fn confirm_it_is_you(
    state: &AppState,
    session: &Session,
    admin: &CurrentAdmin,
    v: &Values,
    e: &mut Errors,
) -> Result<(), WebError> {
    if e.any() {
        return Ok(());
    }
    if let Err(why) = sudo::confirm(state, session, admin, &v.current_password).await? {
        e.current_password = Some(why);
    }
    Ok(())
}

/// POST /users/new
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    fields: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let (apps, _) = load(&state, None).await?;
    let v = from_form(&fields, &apps);
    let mut e = Errors::default();
    let p = validate(&v, &mut e).await?;
    // Letting someone sign in here, as a viewer or an admin.
    if v.admin.signs_in() {
        confirm_it_is_you(&state, &session, &admin, &v, &mut e).await?;
    }
    if let (Some(name), Some(email), false) = (p.name, p.email, e.any()) {
        let new = NewUser {
            email: email.clone(),
            name,
            dashboard: v.admin,
            access: roles_of(&v),
        };
        match state
            .service
            .as_actor(admin.actor())
            .create_user_saved(new)
            .await
        {
            Ok((user, saved)) => {
                if p.hash.is_some() {
                    state
                        .service
                        .as_actor(admin.actor())
                        .set_password_hash(&email, p.hash)
                        .await?;
                }
                if let Some(link) = state.service.recovery_link(user.id).await.ok().flatten() {
                    return Ok(layout::ok(super::recovery::page(&admin, &user, &link)));
                }
                flash::set(&session, saved.text(&format!("{} was added.", user.name)))?;
                return Ok(layout::redirect(&req, &format!("/users/{}", user.id)));
            }
            Err(err) => email_error(err, &mut e)?,
        }
    }
    let body = form(
        &admin,
        None,
        &v,
        &e,
        &apps,
        None,
        sudo::ask(&state, &session, "/users/new"),
    );
    Ok(layout::respond(
        StatusCode::UNPROCESSABLE_ENTITY,
        page(
            "Add a person",
            &admin,
            Nav::Users,
            html! {
                p.crumbs { a href="/users" { "People" } " / " }
                h1 { "Add a person" }
                (body)
            },
        ),
    ))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct SavedQuery {
    saved: Option<u8>,
    /// A Sync now run whose trace the page shows.
    run: Option<Uuid>,
}

/// GET /users/{id}
pub async fn edit_form(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    id: web::Path<Uuid>,
    q: web::Query<SavedQuery>,
) -> Result<HttpResponse, WebError> {
    let (apps, user) = load(&state, Some(*id)).await?;
    let u =
        user.ok_or_else(|| WebError::NotFound("This person does not exist (any more).".into()))?;
    // A viewer sees the facts; the roles are in "In each app" below.
    let body = if u.deleting || !admin.can_change() {
        super::user_page::read_only(&u)
    } else {
        form(
            &admin,
            Some((&u, &giving(&state, u.id).await?)),
            &from_user(&u),
            &Errors::default(),
            &apps,
            q.saved.map(|_| crate::web::flash::Flash {
                text: "Saved.".into(),
                warning: false,
                link: None,
            }),
            sudo::ask(&state, &session, &format!("/users/{}", u.id)),
        )
    };
    let parts = super::person::parts(&state, &admin, &u, q.run).await?;
    Ok(layout::ok(super::user_page::edit_page(
        &admin,
        &u,
        &apps,
        body,
        parts,
        state.service.sends_mail(),
    )))
}

/// POST /users/{id}: htmx gets the form back (badges already "sync needed"), browsers a redirect.
pub async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    id: web::Path<Uuid>,
    fields: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let id = *id;
    let (apps, user) = load(&state, Some(id)).await?;
    let u =
        user.ok_or_else(|| WebError::NotFound("This person does not exist (any more).".into()))?;
    if u.deleting {
        return Err(WebError::Conflict(format!(
            "{} is being removed and can no longer be changed.",
            u.email
        )));
    }
    let v = from_form(&fields, &apps);
    let mut e = Errors::default();
    let p = validate(&v, &mut e).await?;
    if id == admin.id && v.admin < u.dashboard {
        e.admin = Some("you cannot lower your own dashboard access here; ask another admin".into());
    }
    // Raising someone's dashboard access, or setting the password of another who can sign in.
    if v.admin.signs_in() && (v.admin > u.dashboard || (p.hash.is_some() && id != admin.id)) {
        confirm_it_is_you(&state, &session, &admin, &v, &mut e).await?;
    }
    if let (Some(name), Some(email), false) = (p.name, p.email, e.any()) {
        let update = UserUpdate {
            name: Some(name),
            email: Some(email.clone()),
            dashboard: Some(v.admin),
        };
        let changed: Vec<(Slug, Role)> = roles_of(&v)
            .into_iter()
            .filter(|(s, r)| {
                u.access
                    .iter()
                    .any(|c| c.app == s.as_str() && c.direct != *r)
            })
            .collect();
        // Whether the admin's own password was needed was decided on `u.dashboard`: the save
        // checks it again inside its transaction.
        match state
            .service
            .as_actor(admin.actor())
            .save_user_as_seen(id, update, changed, Some(u.dashboard))
            .await
        {
            Ok((_, saved)) => {
                if p.hash.is_some() {
                    state
                        .service
                        .as_actor(admin.actor())
                        .set_password_hash(&email, p.hash)
                        .await?;
                    // Every session of theirs ended; this browser, the one that changed
                    // its own password, goes on with a fresh one.
                    if id == admin.id {
                        crate::web::session::start(state.service.db(), &session, id).await?;
                    }
                }
                let said = saved.text("Saved.");
                if !is_htmx(&req) {
                    match saved.held.first() {
                        Some(h) => {
                            flash::warn(&session, said, Some((h.link(), "Who is held".into())))?
                        }
                        None => flash::set(&session, said)?,
                    }
                    return Ok(layout::redirect(&req, &format!("/users/{id}")));
                }
                let (apps, user) = load(&state, Some(id)).await?;
                let u =
                    user.ok_or_else(|| WebError::NotFound("This person was just removed.".into()))?;
                let body = form(
                    &admin,
                    Some((&u, &giving(&state, id).await?)),
                    &from_user(&u),
                    &Errors::default(),
                    &apps,
                    Some(crate::web::flash::Flash {
                        text: said,
                        warning: !saved.held.is_empty(),
                        link: saved.held.first().map(|h| (h.link(), "Who is held".into())),
                    }),
                    sudo::ask(&state, &session, &format!("/users/{id}")),
                );
                // The table of what each app holds shows the new statuses, watched.
                let held = super::person::held(&state, &admin, &u, true).await?;
                return Ok(layout::ok(
                    html! { (body) (held) (poller(super::user_page::live(&u, &apps), "badge", true)) },
                ));
            }
            Err(err) => email_error(err, &mut e)?,
        }
    }
    let body = form(
        &admin,
        Some((&u, &giving(&state, id).await?)),
        &v,
        &e,
        &apps,
        None,
        sudo::ask(&state, &session, &format!("/users/{id}")),
    );
    if is_htmx(&req) {
        return Ok(layout::respond(StatusCode::UNPROCESSABLE_ENTITY, body));
    }
    let parts = super::person::parts(&state, &admin, &u, None).await?;
    Ok(layout::respond(
        StatusCode::UNPROCESSABLE_ENTITY,
        super::user_page::edit_page(&admin, &u, &apps, body, parts, state.service.sends_mail()),
    ))
}
