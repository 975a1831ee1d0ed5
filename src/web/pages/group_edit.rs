//! The changes made on a group's page: rename, add and remove a member, set its role in
//! an app. Each goes through the groups service in one transaction, then back to the
//! page with what it did ("2 people gain access"); a refusal draws the page again with
//! one line beside the form, and nothing is stored. Taking a role away from people who
//! would lose access asks first (`group_confirm`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::group_confirm;
use super::group_page::{self, Shown};
use super::groups::{refusal, refusal_sentence};
use crate::domain::{Email, GroupName, Role, Slug};
use crate::users::{GroupChange, GroupKey, GroupOutcome, ServiceError};
use crate::web::flash;
use crate::web::guard::is_htmx;
use crate::web::layout;
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError};

/// "1 person gains access" / "3 people gain access".
pub(super) fn gain(o: &GroupOutcome) -> String {
    super::bulk::people_do(o.gain_access, "gains access", "gain access")
}

/// "1 person loses access" / "3 people lose access".
pub(super) fn lose(o: &GroupOutcome) -> String {
    super::bulk::people_do(o.lose_access, "loses access", "lose access")
}

/// The group's page again, with a refusal beside its form: 422, nothing stored.
async fn refused(
    state: &AppState,
    admin: &CurrentAdmin,
    id: Uuid,
    shown: Shown,
) -> Result<HttpResponse, WebError> {
    let loaded = group_page::load(state, id, &shown.q).await?;
    Ok(layout::respond(
        StatusCode::UNPROCESSABLE_ENTITY,
        group_page::render(admin, &loaded, &shown),
    ))
}

/// Back to the group's page (at `anchor`), with `text` shown once.
fn done(
    req: &HttpRequest,
    session: &Session,
    id: Uuid,
    query: &str,
    anchor: &str,
    text: String,
) -> Result<HttpResponse, WebError> {
    flash::set(session, text)?;
    Ok(layout::redirect(
        req,
        &format!("/groups/{id}{query}#{anchor}"),
    ))
}

/// Leaves `text` for the next page, as a warning naming the revocation guard's hold
/// when it held some of the change (`o`), else as a success.
pub(super) fn say(session: &Session, o: &GroupOutcome, text: String) -> Result<(), WebError> {
    match o.held.first() {
        Some(h) => {
            let mut text = text;
            for h in &o.held {
                text.push(' ');
                text.push_str(&h.sentence());
            }
            flash::warn(session, text, Some((h.link(), "Who is held".to_owned())))
        }
        None => flash::set(session, text),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct NameForm {
    name: String,
}

/// POST /groups/{id}/rename
pub async fn rename(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    id: web::Path<Uuid>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, WebError> {
    let id = *id;
    let typed = form.into_inner().name;
    let why = match GroupName::parse(&typed) {
        Err(e) => e.to_string(),
        Ok(new) => match state
            .service
            .as_actor(admin.actor())
            .change_group(GroupKey::Id(id), GroupChange::Rename(new))
            .await
        {
            Ok(o) => {
                return done(
                    &req,
                    &session,
                    id,
                    "",
                    "main",
                    format!("Renamed to {}.", o.group),
                );
            }
            Err(e) => refusal(e)?,
        },
    };
    let shown = Shown {
        rename: Some((typed, refusal_sentence(&why))),
        ..Shown::default()
    };
    refused(&state, &admin, id, shown).await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct DescriptionForm {
    description: String,
}

/// POST /groups/{id}/describe
pub async fn describe(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    id: web::Path<Uuid>,
    form: web::Form<DescriptionForm>,
) -> Result<HttpResponse, WebError> {
    let id = *id;
    let typed = form.into_inner().description;
    match state
        .service
        .as_actor(admin.actor())
        .change_group(GroupKey::Id(id), GroupChange::Describe(typed.clone()))
        .await
    {
        Ok(o) => {
            let text = if typed.trim().is_empty() {
                format!("{} has no description now.", o.group)
            } else {
                format!("The description of {} was saved.", o.group)
            };
            done(&req, &session, id, "", "main", text)
        }
        Err(e) => {
            let shown = Shown {
                describe: Some((typed, refusal_sentence(&refusal(e)?))),
                ..Shown::default()
            };
            refused(&state, &admin, id, shown).await
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct MemberForm {
    email: String,
    /// The search the person was found by, kept for adding the next one.
    q: String,
    /// Set by the question a removal that takes access away asks first.
    confirmed: String,
    /// "This revocation is planned": the revocation guard lets it through.
    force: String,
}

/// POST /groups/{id}/members: adds one person, by email.
pub async fn add(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    id: web::Path<Uuid>,
    form: web::Form<MemberForm>,
) -> Result<HttpResponse, WebError> {
    member_change(&req, &state, &admin, &session, *id, form.into_inner(), true).await
}

/// POST /groups/{id}/members/remove: removes one person, by email; when that takes
/// access away, the page asks first, counting who loses it.
pub async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    id: web::Path<Uuid>,
    form: web::Form<MemberForm>,
) -> Result<HttpResponse, WebError> {
    member_change(
        &req,
        &state,
        &admin,
        &session,
        *id,
        form.into_inner(),
        false,
    )
    .await
}

/// Where an add or remove stands: asked first (someone would lose access), or done.
enum Member {
    Ask(GroupOutcome),
    Done(GroupOutcome),
}

/// The group's page again, or only its members' part for htmx (an add or remove
/// without a page load), with `shown`'s message, question or refusal.
async fn members_again(
    req: &HttpRequest,
    state: &AppState,
    admin: &CurrentAdmin,
    id: Uuid,
    status: StatusCode,
    shown: Shown,
) -> Result<HttpResponse, WebError> {
    let loaded = group_page::load(state, id, &shown.q).await?;
    let markup = if is_htmx(req) {
        group_page::members_part(admin, &loaded, &shown)
    } else {
        group_page::render(admin, &loaded, &shown)
    };
    Ok(layout::respond(status, markup))
}

async fn member_change(
    req: &HttpRequest,
    state: &AppState,
    admin: &CurrentAdmin,
    session: &Session,
    id: Uuid,
    form: MemberForm,
    adding: bool,
) -> Result<HttpResponse, WebError> {
    let why = match Email::parse(&form.email) {
        Err(e) => e.to_string(),
        Ok(email) => {
            let change = if adding {
                GroupChange::Add(vec![email.clone()])
            } else {
                GroupChange::Remove(vec![email.clone()])
            };
            let service = state
                .service
                .as_actor(admin.actor())
                .lifting_guard(form.force == "1");
            let step = async {
                if !adding && form.confirmed.is_empty() {
                    let preview = service
                        .preview_group_change(GroupKey::Id(id), change.clone())
                        .await?;
                    if preview.lose_access > 0 {
                        return Ok(Member::Ask(preview));
                    }
                }
                service
                    .change_group(GroupKey::Id(id), change)
                    .await
                    .map(Member::Done)
            };
            match step.await {
                Ok(Member::Ask(o)) => {
                    let shown = Shown {
                        q: form.q,
                        removing: Some((email.to_string(), o)),
                        ..Shown::default()
                    };
                    return members_again(req, state, admin, id, StatusCode::OK, shown).await;
                }
                Ok(Member::Done(o)) => {
                    let text = match (adding, o.members_changed) {
                        (true, 0) => format!("{email} is already in {}.", o.group),
                        (true, _) => format!("{email} was added to {}; {}.", o.group, gain(&o)),
                        (false, 0) => format!("{email} was not in {}.", o.group),
                        (false, _) => {
                            format!("{email} was removed from {}; {}.", o.group, lose(&o))
                        }
                    };
                    if is_htmx(req) {
                        let shown = Shown {
                            q: form.q,
                            done: Some(text),
                            ..Shown::default()
                        };
                        return members_again(req, state, admin, id, StatusCode::OK, shown).await;
                    }
                    // Adding from a search keeps it, for the next person.
                    let q = form.q.trim();
                    let query = if adding && !q.is_empty() {
                        let q: String =
                            url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
                        format!("?q={q}")
                    } else {
                        String::new()
                    };
                    say(session, &o, text)?;
                    return Ok(layout::redirect(
                        req,
                        &format!("/groups/{id}{query}#members"),
                    ));
                }
                Err(e) => refusal(e)?,
            }
        }
    };
    let shown = Shown {
        q: form.q,
        add: Some(refusal_sentence(&why)),
        ..Shown::default()
    };
    members_again(
        req,
        state,
        admin,
        id,
        StatusCode::UNPROCESSABLE_ENTITY,
        shown,
    )
    .await
}

/// Where a grant stands: asked first (people would lose access), or done.
enum Grant {
    Ask(GroupOutcome),
    Done(GroupOutcome),
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct GrantForm {
    role: String,
    /// Set by the confirmation page: the admin saw how many people lose access.
    confirmed: String,
    /// "This revocation is planned": the revocation guard lets it through.
    force: String,
}

/// POST /groups/{id}/grant/{slug}: the group's role in one app (`none` takes it away).
/// If people would lose access, the confirmation page comes first.
pub async fn grant(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    path: web::Path<(Uuid, String)>,
    form: web::Form<GrantForm>,
) -> Result<HttpResponse, WebError> {
    let (id, raw) = path.into_inner();
    let form = form.into_inner();
    let refuse = |at: Option<String>, why: String| Shown {
        grant: Some((at, refusal_sentence(&why))),
        ..Shown::default()
    };
    let Ok(slug) = Slug::parse(&raw) else {
        let why = ServiceError::UnknownApp(raw).to_string();
        return refused(&state, &admin, id, refuse(None, why)).await;
    };
    let role = match Role::parse(&form.role) {
        Ok(r) => r,
        Err(e) => return refused(&state, &admin, id, refuse(Some(raw), e.to_string())).await,
    };
    let service = state
        .service
        .as_actor(admin.actor())
        .lifting_guard(form.force == "1");
    let change = GroupChange::Grant(slug.clone(), role);
    let step = async {
        if form.confirmed.is_empty() {
            let preview = service
                .preview_group_change(GroupKey::Id(id), change.clone())
                .await?;
            if preview.lose_access > 0 {
                return Ok(Grant::Ask(preview));
            }
        }
        service
            .change_group(GroupKey::Id(id), change)
            .await
            .map(Grant::Done)
    };
    let name = super::apps::app_name(&state, &slug);
    match step.await {
        Ok(Grant::Ask(o)) => Ok(group_confirm::revoke(&admin, id, &slug, &name, role, &o)),
        Ok(Grant::Done(o)) => {
            let text = if role.grants_access() {
                format!(
                    "{} now gives the role {role} in {name}; {}.",
                    o.group,
                    gain(&o)
                )
            } else {
                format!(
                    "{} no longer gives access to {name}; {}.",
                    o.group,
                    lose(&o)
                )
            };
            say(&session, &o, text)?;
            Ok(layout::redirect(&req, &format!("/groups/{id}#grants")))
        }
        Err(e) => {
            // An app missing from the catalogue has no row to put the line beside.
            let at = (!matches!(e, ServiceError::UnknownApp(_))).then_some(raw);
            let why = refusal(e)?;
            refused(&state, &admin, id, refuse(at, why)).await
        }
    }
}
