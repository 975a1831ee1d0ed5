//! /users/new and /users/{id}: name, email, admin switch, a role per installed
//! app; errors next to the field, keeping what was typed; deleting with a confirmation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use uuid::Uuid;

use super::user_values::{Errors, Values, email_error, from_form, from_user, roles_of, validate};
use crate::db::read::{self, AppRow, UserRow};
use crate::domain::{NewUser, Role, Slug, UserUpdate};
use crate::web::flash;
use crate::web::guard::is_htmx;
use crate::web::layout::{self, Nav, badge, csrf_field, page, poller, role_label};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

fn error_for(e: &Option<String>, id: &str) -> Markup {
    html! { @if let Some(e) = e { p.field-error id=(id) { (e) } } }
}

/// The form; `user` is the stored person when editing (for badges and the URL).
fn form(
    admin: &CurrentAdmin,
    user: Option<&UserRow>,
    v: &Values,
    e: &Errors,
    apps: &[AppRow],
    saved: bool,
) -> Markup {
    let action = user.map_or("/users/new".to_owned(), |u| format!("/users/{}", u.id));
    let described = |err: &Option<String>, id: &'static str| err.as_ref().map(|_| id);
    html! {
        form.stack #user-form method="post" action=(action) novalidate
            hx-post=[user.map(|_| action.clone())] hx-target="this" hx-swap="outerHTML" {
            (csrf_field(&admin.csrf))
            @if saved { p.saved role="status" { "Saved. Apps are being updated." } }
            @if e.any() { p.alert role="alert" { "Please correct the marked fields." } }
            label for="name" { "Name" }
            input #name type="text" name="name" value=(v.name) required maxlength="200" autocomplete="off"
                aria-invalid=[e.name.as_ref().map(|_| "true")] aria-describedby=[described(&e.name, "name-error")];
            (error_for(&e.name, "name-error"))
            label for="email" { "Email" }
            input #email type="email" name="email" value=(v.email) required autocomplete="off"
                aria-invalid=[e.email.as_ref().map(|_| "true")] aria-describedby=[described(&e.email, "email-error")];
            (error_for(&e.email, "email-error"))
            div.check {
                input #admin type="checkbox" name="admin" value="on" checked[v.admin]
                    aria-describedby="admin-hint";
                label for="admin" { "Can sign in here" }
            }
            p.hint #admin-hint { "They can sign in to accessboard and change everyone's access. This does not make them admins inside apps." }
            (error_for(&e.admin, "admin-error"))
            label for="password" { "Sign-in password (only for those who can sign in here; optional)" }
            input #password type="password" name="password" autocomplete="new-password"
                aria-describedby=[described(&e.password, "password-error")];
            (error_for(&e.password, "password-error"))
            fieldset {
                legend { "Access per app" }
                @if apps.is_empty() {
                    p.muted { "No app is installed. " a href="/apps" { "Install one" } " to grant access." }
                }
                @for app in apps {
                    @let role = v.roles.iter().find(|(s, _)| *s == app.slug).map_or(Role::None, |(_, r)| *r);
                    @let id = format!("role-{}", app.slug);
                    div.app-role {
                        label for=(id) { (app.name) }
                        select id=(id) name=(format!("role.{}", app.slug)) {
                            @for r in [Role::None, Role::User, Role::Admin] {
                                option value=(r.as_str()) selected[r == role] { (role_label(r)) }
                            }
                        }
                        @if let Some(u) = user {
                            @if let Some(cell) = u.access.iter().find(|c| c.app == app.slug) {
                                (badge(u.id, &app.slug, cell.status))
                            }
                        }
                    }
                }
            }
            div.actions {
                button.primary type="submit" { @if user.is_some() { "Save" } @else { "Add person" } }
                a.button href="/users" { "Cancel" }
            }
        }
    }
}

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

/// GET /users/new
pub async fn new_form(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
) -> Result<HttpResponse, WebError> {
    let (apps, _) = load(&state, None).await?;
    let body = form(
        &admin,
        None,
        &Values::default(),
        &Errors::default(),
        &apps,
        false,
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

/// POST /users/new
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: actix_session::Session,
    fields: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let (apps, _) = load(&state, None).await?;
    let v = from_form(&fields, &apps);
    let mut e = Errors::default();
    let p = validate(&v, &mut e).await?;
    if let (Some(name), Some(email), false) = (p.name, p.email, e.any()) {
        let new = NewUser {
            email: email.clone(),
            name,
            is_admin: v.admin,
            access: roles_of(&v),
        };
        match state.service.as_actor(admin.actor()).create_user(new).await {
            Ok(user) => {
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
                let granted = roles_of(&v)
                    .iter()
                    .filter(|(_, r)| r.grants_access())
                    .count();
                let text = match granted {
                    0 => format!("{} was added.", user.name),
                    _ => format!("{} was added; their apps are being set up.", user.name),
                };
                flash::set(&session, text)?;
                return Ok(layout::redirect(&req, &format!("/users/{}", user.id)));
            }
            Err(err) => email_error(err, &mut e)?,
        }
    }
    let body = form(&admin, None, &v, &e, &apps, false);
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
}

/// GET /users/{id}
pub async fn edit_form(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    id: web::Path<Uuid>,
    q: web::Query<SavedQuery>,
) -> Result<HttpResponse, WebError> {
    let (apps, user) = load(&state, Some(*id)).await?;
    let u =
        user.ok_or_else(|| WebError::NotFound("This person does not exist (any more).".into()))?;
    let body = if u.deleting {
        super::user_page::read_only(&u, &apps)
    } else {
        form(
            &admin,
            Some(&u),
            &from_user(&u),
            &Errors::default(),
            &apps,
            q.saved.is_some(),
        )
    };
    Ok(layout::ok(super::user_page::edit_page(
        &admin, &u, &apps, body,
    )))
}

/// POST /users/{id}: htmx gets the form back (badges already "sync needed"), browsers a redirect.
pub async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: actix_session::Session,
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
    if id == admin.id && !v.admin {
        e.admin = Some("you cannot take away your own sign-in here; ask another admin".into());
    }
    if let (Some(name), Some(email), false) = (p.name, p.email, e.any()) {
        let update = UserUpdate {
            name: Some(name),
            email: Some(email.clone()),
            is_admin: Some(v.admin),
        };
        let changed: Vec<(Slug, Role)> = roles_of(&v)
            .into_iter()
            .filter(|(s, r)| u.access.iter().any(|c| c.app == s.as_str() && c.role != *r))
            .collect();
        match state
            .service
            .as_actor(admin.actor())
            .save_user(id, update, changed)
            .await
        {
            Ok(_) => {
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
                if !is_htmx(&req) {
                    return Ok(layout::redirect(&req, &format!("/users/{id}?saved=1")));
                }
                let (apps, user) = load(&state, Some(id)).await?;
                let u =
                    user.ok_or_else(|| WebError::NotFound("This person was just removed.".into()))?;
                let body = form(
                    &admin,
                    Some(&u),
                    &from_user(&u),
                    &Errors::default(),
                    &apps,
                    true,
                );
                return Ok(layout::ok(
                    html! { (body) (poller(super::user_page::live(&u, &apps), "badge", true)) },
                ));
            }
            Err(err) => email_error(err, &mut e)?,
        }
    }
    let body = form(&admin, Some(&u), &v, &e, &apps, false);
    if is_htmx(&req) {
        return Ok(layout::respond(StatusCode::UNPROCESSABLE_ENTITY, body));
    }
    Ok(layout::respond(
        StatusCode::UNPROCESSABLE_ENTITY,
        super::user_page::edit_page(&admin, &u, &apps, body),
    ))
}
