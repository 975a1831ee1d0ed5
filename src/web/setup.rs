//! First run: a one-time link (`/setup?token=…`, one hour) where the first
//! dashboard admin picks email, name and password. Refused once an admin who
//! can sign in exists; used up by the first successful setup.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};

use super::layout::{self, csrf_field};
use super::{AppState, WebError, session};
use crate::db::{meta, sessions, time};
use crate::domain::{Actor, DashboardAccess, Email, NewUser, PersonName, UserUpdate};
use crate::users::password as auth;
use crate::users::{ServiceError, UserService};

const META_KEY: &str = "setup_token";
/// How long a setup link works.
pub const VALID_SECS: i64 = 3600;

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    hash: String,
    expires_at: i64,
}

/// At start: when no admin can sign in, makes a new setup link (replacing any
/// older one) and returns its URL for the log; otherwise `None`.
pub async fn ensure_setup_link(service: &UserService) -> Result<Option<String>, WebError> {
    let db = service.db().clone();
    let base = service
        .settings()
        .server
        .public_url
        .trim_end_matches('/')
        .to_owned();
    if db.run(|c| sessions::admin_exists(c)).await? {
        db.run(|c| meta::delete(c, META_KEY)).await?;
        return Ok(None);
    }
    let token = session::random_hex(32);
    let hashed = token.clone();
    let hash = web::block(move || auth::hash_password(&hashed))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(WebError::Internal)?;
    let stored = serde_json::to_string(&Stored {
        hash,
        expires_at: time::now() + VALID_SECS,
    })
    .map_err(|e| WebError::Internal(e.to_string()))?;
    db.run(move |c| meta::set(c, META_KEY, &stored)).await?;
    Ok(Some(format!("{base}/setup?token={token}")))
}

/// Why a setup link does not work.
enum Refusal {
    Done,
    Invalid,
}

/// Checks the token; returns the stored record (to take it atomically later).
async fn check(state: &AppState, token: &str) -> Result<Result<String, Refusal>, WebError> {
    let db = state.service.db().clone();
    let (admin, stored) = db
        .run(|c| Ok::<_, crate::db::DbError>((sessions::admin_exists(c)?, meta::get(c, META_KEY)?)))
        .await?;
    if admin {
        return Ok(Err(Refusal::Done));
    }
    let Some(raw) = stored else {
        return Ok(Err(Refusal::Invalid));
    };
    let Ok(parsed) = serde_json::from_str::<Stored>(&raw) else {
        return Ok(Err(Refusal::Invalid));
    };
    if parsed.expires_at <= time::now() || token.is_empty() || token.len() > 128 {
        return Ok(Err(Refusal::Invalid));
    }
    let token = token.to_owned();
    // On the bounded pool, like sign-in: nobody is signed in here either. A full
    // queue counts as a refusal; the link stays valid for the next try.
    let ok = state
        .hashing
        .verify(token, parsed.hash, false)
        .await
        .unwrap_or(false);
    Ok(if ok { Ok(raw) } else { Err(Refusal::Invalid) })
}

fn refusal_page(r: Refusal) -> HttpResponse {
    let (status, text) = match r {
        Refusal::Done => (
            StatusCode::GONE,
            "Setup is finished: a dashboard admin already exists. Sign in instead.",
        ),
        Refusal::Invalid => (
            StatusCode::FORBIDDEN,
            "This setup link is not valid: it was used already, it is older than an hour, or it was mistyped. \
             Restart accessboard to log a new link, or set a password with `accessboard user set-password EMAIL`.",
        ),
    };
    layout::respond(
        status,
        layout::bare(
            "Setup",
            html! { h1 { "Set up accessboard" } p.lead { (text) } p { a href="/login" { "Go to sign-in" } } },
        ),
    )
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct SetupForm {
    token: String,
    email: String,
    name: String,
    password: String,
    password2: String,
}

#[derive(Default)]
struct Errors {
    email: Option<String>,
    name: Option<String>,
    password: Option<String>,
}

fn field_error(e: &Option<String>, id: &str) -> Markup {
    html! { @if let Some(e) = e { p.field-error id=(id) { (e) } } }
}

fn form_page(csrf: &str, f: &SetupForm, errors: &Errors) -> Markup {
    layout::bare(
        "Set up",
        html! {
            h1 { "Set up accessboard" }
            p.lead { "Create the first dashboard admin. This link works once." }
            form.stack method="post" action="/setup" novalidate {
                (csrf_field(csrf))
                input type="hidden" name="token" value=(f.token);
                label for="email" { "Email" }
                input #email type="email" name="email" value=(f.email) autocomplete="username" required
                    aria-describedby=[errors.email.as_ref().map(|_| "email-error")];
                (field_error(&errors.email, "email-error"))
                label for="name" { "Name" }
                input #name type="text" name="name" value=(f.name) autocomplete="name" required
                    aria-describedby=[errors.name.as_ref().map(|_| "name-error")];
                (field_error(&errors.name, "name-error"))
                label for="password" { "Password (at least " (auth::MIN_PASSWORD_CHARS) " characters)" }
                input #password type="password" name="password" autocomplete="new-password" required
                    aria-describedby=[errors.password.as_ref().map(|_| "password-error")];
                label for="password2" { "Password again" }
                input #password2 type="password" name="password2" autocomplete="new-password" required;
                (field_error(&errors.password, "password-error"))
                button.primary type="submit" { "Create admin and sign in" }
            }
        },
    )
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

/// GET /setup?token=…
pub async fn form(
    state: web::Data<AppState>,
    session: Session,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, WebError> {
    if let Err(r) = check(&state, &q.token).await? {
        return Ok(refusal_page(r));
    }
    let csrf = session::csrf_token(&session)?;
    let f = SetupForm {
        token: q.token.clone(),
        ..SetupForm::default()
    };
    Ok(layout::ok(form_page(&csrf, &f, &Errors::default())))
}

/// POST /setup
pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, WebError> {
    let stored = match check(&state, &form.token).await? {
        Ok(s) => s,
        Err(r) => return Ok(refusal_page(r)),
    };
    let mut errors = Errors::default();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.email = Some(e.to_string()))
        .ok();
    let name = PersonName::parse(&form.name)
        .map_err(|e| errors.name = Some(e.to_string()))
        .ok();
    // Every problem of the password at once: too short and typed differently twice.
    let mut problems = Vec::new();
    let password = form.password.clone();
    let hash = web::block(move || auth::hash_password(&password))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| problems.push(e))
        .ok();
    if form.password != form.password2 {
        problems.push("the two passwords differ".into());
    }
    if !problems.is_empty() {
        errors.password = Some(problems.join("; "));
    }
    let (Some(email), Some(name), Some(hash), None) = (email, name, hash, &errors.password) else {
        let csrf = session::csrf_token(&session)?;
        return Ok(layout::respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(&csrf, &form, &errors),
        ));
    };
    // Single use: whoever deletes the stored token first goes on.
    let db = state.service.db().clone();
    if !db.run(move |c| meta::take(c, META_KEY, &stored)).await? {
        return Ok(refusal_page(Refusal::Invalid));
    }
    let service = &state
        .service
        .as_actor(Actor::Admin(email.as_str().to_owned()));
    let new = NewUser {
        email: email.clone(),
        name: name.clone(),
        dashboard: DashboardAccess::Admin,
        access: Vec::new(),
    };
    match service.create_user(new).await {
        Ok(_) => {}
        Err(ServiceError::EmailTaken(_)) => {
            let update = UserUpdate {
                name: Some(name),
                email: None,
                dashboard: Some(DashboardAccess::Admin),
            };
            service.update_user(&email, update).await?;
        }
        Err(e) => return Err(e.into()),
    }
    service.set_password_hash(&email, Some(hash)).await?;
    let norm = email.normalized().to_owned();
    let Some((id, _)) = db.run(move |c| sessions::admin_login(c, &norm)).await? else {
        return Err(WebError::Internal("the new admin cannot be found".into()));
    };
    service
        .record("setup", Some(email.to_string()), None)
        .await?;
    session::start(&db, &session, id).await?;
    tracing::info!(email = %email, "first admin created through the setup link");
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/"))
        .finish())
}
