//! The Discover page of an app (`/apps/{slug}/discover`): the app's accounts listed once
//! and classified (the same `provisioning::discover` as `app discover`), decisions per
//! account or per class, a review stating the effect, then apply (`app adopt`'s path).
//! The plan being reviewed is kept in `meta` between requests.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::apps::{app_name, known};
use super::discover_list::{choices, listing};
use crate::db::meta;
use crate::domain::{AccountClass, Decision, Role, Slug};
use crate::provisioning::discover::{self, Discovery, Found, n};
use crate::web::layout::{self, Nav, csrf_field, page, page_number};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError, flash};

fn key(slug: &Slug) -> String {
    format!("discover:{slug}")
}

async fn stored(state: &AppState, slug: &Slug) -> Result<Option<Discovery>, WebError> {
    let k = key(slug);
    let json = state.service.db().run(move |c| meta::get(c, &k)).await?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

async fn store(state: &AppState, slug: &Slug, plan: &Discovery) -> Result<(), WebError> {
    let json = serde_json::to_string(plan)
        .map_err(|e| WebError::Internal(format!("cannot keep the plan: {e}")))?;
    let k = key(slug);
    Ok(state
        .service
        .db()
        .run(move |c| meta::set(c, &k, &json))
        .await?)
}

/// The page's query: a class to show and a page number.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct Filter {
    class: Option<String>,
    page: Option<usize>,
}

/// A decision for one account (`account`) or every account of a class (`class`).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct DecideForm {
    account: Option<String>,
    class: Option<String>,
    decision: String,
}

/// The review's answer: whether the disables are a planned wave.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ApplyForm {
    planned: Option<String>,
}

/// Parses a form value into a decision and, for a link, the chosen person.
fn parse(raw: &str) -> Option<(Decision, Option<String>)> {
    let mut parts = raw.splitn(3, ':');
    let word = parts.next()?;
    let role = parts.next().map(Role::parse).transpose().ok()?;
    let person = parts.next().map(str::to_owned);
    match (word, role) {
        ("keep", None) => Some((Decision::Keep, None)),
        ("leave", None) => Some((Decision::Leave, None)),
        ("disable", None) => Some((Decision::Disable, None)),
        ("link", Some(role)) if role != Role::None => Some((Decision::Link { role }, person)),
        ("import", Some(role)) if role != Role::None => Some((Decision::Import { role }, None)),
        _ => None,
    }
}

fn crumbs(slug: &Slug, name: &str) -> Markup {
    html! {
        p.crumbs { a href="/apps" { "Apps" } " / " a href=(format!("/apps/{slug}")) { (name) } " / " }
    }
}

/// GET /apps/{slug}/discover: the counts, then the accounts of one class, paged.
pub async fn show(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    raw: web::Path<String>,
    filter: web::Query<Filter>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &raw).await?;
    let name = app_name(&state, &slug);
    let plan = stored(&state, &slug).await?;
    let class = filter.class.as_deref().and_then(AccountClass::parse);
    let page_no = page_number(filter.page);
    let title = format!("Discover accounts in {name}");
    let body = html! {
        (crumbs(&slug, &name))
        h1 { (title) }
        p { "Lists every account " (name) " holds and says whose it is. Nothing is changed, here or in "
            (name) ", until you review the plan and apply it." }
        form method="post" action=(format!("/apps/{slug}/discover")) {
            (csrf_field(&admin.csrf))
            button.primary type="submit" {
                @if plan.is_some() { "List the accounts again" } @else { "List the accounts of " (name) }
            }
        }
        @if let Some(plan) = &plan { (listing(&admin, &slug, plan, class, page_no)) }
    };
    Ok(layout::ok(page(&title, &admin, Nav::Apps, body)))
}

/// POST /apps/{slug}/discover: lists the app and keeps the plan (GETs only at the app).
pub async fn run(
    req: HttpRequest,
    state: web::Data<AppState>,
    raw: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &raw).await?;
    let plan = discover::discover(&state.engine, &slug)
        .await
        .map_err(|e| match e {
            discover::DiscoverError::Db(e) => WebError::Db(e),
            other => WebError::Conflict(other.to_string()),
        })?;
    store(&state, &slug, &plan).await?;
    Ok(layout::redirect(&req, &format!("/apps/{slug}/discover")))
}

/// POST /apps/{slug}/discover/decide: one account's decision, or one class's.
pub async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    raw: web::Path<String>,
    input: web::Form<DecideForm>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &raw).await?;
    let mut plan = stored(&state, &slug)
        .await?
        .ok_or_else(|| WebError::NotFound("list the accounts first".into()))?;
    let (decision, person) = parse(&input.decision)
        .ok_or_else(|| WebError::BadRequest(format!("{:?} is no decision", input.decision)))?;
    let class = input.class.as_deref().and_then(AccountClass::parse);
    let back = match (&input.account, class) {
        (Some(id), _) => {
            let a = plan
                .accounts
                .iter_mut()
                .find(|a| &a.id == id)
                .ok_or_else(|| WebError::NotFound("no such account in the plan".into()))?;
            let offered = choices(a).iter().any(|(v, _)| *v == input.decision);
            if !offered {
                return Err(WebError::BadRequest(
                    "that decision is not offered for this account".into(),
                ));
            }
            if let Some(p) = person {
                a.person = Some(p);
            }
            a.decision = decision;
            format!("/apps/{slug}/discover?class={}", a.class.as_str())
        }
        (None, Some(c)) => {
            for a in plan.accounts.iter_mut().filter(|a| a.class == c) {
                a.decision = decision.clone();
            }
            format!("/apps/{slug}/discover?class={}", c.as_str())
        }
        (None, None) => return Err(WebError::BadRequest("say which account or class".into())),
    };
    store(&state, &slug, &plan).await?;
    Ok(layout::redirect(&req, &back))
}

/// GET /apps/{slug}/discover/review: the effect first, then Apply.
pub async fn review(
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    raw: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &raw).await?;
    let name = app_name(&state, &slug);
    let plan = stored(&state, &slug)
        .await?
        .ok_or_else(|| WebError::NotFound("list the accounts first".into()))?;
    let refused: Vec<&Found> = plan
        .accounts
        .iter()
        .filter(|a| {
            matches!(a.decision, Decision::Import { .. }) && discover::importable_email(a).is_none()
        })
        .collect();
    let disables = plan.decided("disable");
    let wave = discover::unowned::trips_guard(&state.engine, disables, plan.accounts.len());
    let title = format!("Apply the plan to {name}?");
    let body = html! {
        (crumbs(&slug, &name))
        h1 { (title) }
        p.impact role="status" { (plan.effect(&name)) "." }
        @if !refused.is_empty() {
            p { (n(refused.len(), "account", "accounts")) " without a valid email will be refused, not imported:" }
            ul { @for a in &refused { li { (a.user_name) } } }
        }
        form.stack method="post" action=(format!("/apps/{slug}/discover/apply")) {
            (csrf_field(&admin.csrf))
            @if wave {
                p.warning { "Disabling " (n(disables, "account", "accounts")) " is more than the revocation guard lets through at once." }
                label { input type="checkbox" name="planned" value="yes"; " This is a planned wave: disable them all" }
            }
            div.actions {
                button.primary type="submit" { "Apply" }
                a.button href=(format!("/apps/{slug}/discover")) { "Back to the accounts" }
            }
        }
    };
    Ok(layout::ok(page(&title, &admin, Nav::Apps, body)))
}

/// POST /apps/{slug}/discover/apply: applies the kept plan through the service.
pub async fn apply(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    raw: web::Path<String>,
    input: web::Form<ApplyForm>,
) -> Result<HttpResponse, WebError> {
    let slug = known(&state, &raw).await?;
    let name = app_name(&state, &slug);
    let plan = stored(&state, &slug)
        .await?
        .ok_or_else(|| WebError::NotFound("list the accounts first".into()))?;
    let planned = input.planned.is_some();
    let service = state.service.as_actor(admin.actor()).lifting_guard(planned);
    let done = service.adopt(plan.adoption(&slug)).await?;
    let unowned = discover::unowned::disable(
        &state.engine,
        &service,
        &slug,
        &done.disable_unowned,
        plan.accounts.len(),
        planned,
    )
    .await
    .map_err(|e| WebError::Conflict(e.to_string()))?;
    if !done.disable_unowned.is_empty() && unowned.held == 0 && unowned.failed.is_empty() {
        service.adopted(&slug, &plan.stamp).await?;
    }
    let mut text = if done.applied_before {
        format!("The plan was applied to {name} already; nothing to do.")
    } else {
        format!(
            "{name}: {} created, {} linked, {} disabled, {} left unmanaged.",
            n(done.created, "person", "people"),
            done.linked,
            n(done.disabled + unowned.disabled, "account", "accounts"),
            done.left
        )
    };
    let refused = done.refused.len() + unowned.failed.len();
    if refused > 0 {
        text.push_str(&format!(" {} refused.", n(refused, "account", "accounts")));
    }
    match unowned.skipped.as_slice() {
        [] => {}
        [one] => text.push_str(&format!(" Skipped: {one}.")),
        many => text.push_str(&format!(
            " {} not disabled: the app holds something else at their id now.",
            n(many.len(), "account", "accounts")
        )),
    }
    if done.held + unowned.held > 0 {
        text.push_str(&format!(
            " The revocation guard held {}.",
            n(done.held + unowned.held, "disable", "disables")
        ));
    }
    flash::set(&session, text)?;
    let k = key(&slug);
    state.service.db().run(move |c| meta::delete(c, &k)).await?;
    Ok(layout::redirect(&req, &format!("/apps/{slug}")))
}
