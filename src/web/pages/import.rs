//! /users/import: paste or upload a CSV (`email,name[,admin][,groups][,<slug>...]`),
//! preview every row with its errors, then create the valid rows.

use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::bulk::{people, people_do};
use crate::domain::Role;
use crate::settings::Settings;
use crate::users::{ImportPlan, ImportRow, ServiceError};
use crate::web::csrf::{BodyError, IMPORT_LIMIT, IMPORT_READ_TIME, read_body};
use crate::web::layout::{self, Nav, csrf_field, page, role_label};
use crate::web::session::CurrentAdmin;
use crate::web::{AppState, WebError, multipart, sudo};

/// Rows shown in the preview; the rest are counted.
const PREVIEW_ROWS: usize = 500;

fn upload_form(admin: &CurrentAdmin, csv: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { p.alert role="alert" { (e) } }
        form.stack method="post" action="/users/import/preview" enctype="multipart/form-data" {
            (csrf_field(&admin.csrf))
            label for="file" { "CSV file" }
            input #file type="file" name="file" accept=".csv,text/csv";
            label for="csv" { "…or paste the rows" }
            textarea #csv name="csv" rows="10" spellcheck="false" placeholder="email,name,admin,nextcloud\nana@example.org,Ana,false,user" { (csv) }
            div.actions { button.primary type="submit" { "Preview" } a.button href="/users" { "Cancel" } }
        }
    }
}

fn shell(admin: &CurrentAdmin, inner: Markup) -> Markup {
    page(
        "Import people",
        admin,
        Nav::Users,
        html! {
            p.crumbs { a href="/users" { "People" } " / " }
            h1 { "Import people from CSV" }
            p { "The first line names the columns: " code { "email,name" } ", then optionally " code { "admin" }
                " (true/false), " code { "groups" } " (group names separated by " code { ";" } "; new ones are created)"
                " and one column per app slug with " code { "admin" } ", " code { "user" } " or " code { "none" } "." }
            (inner)
        },
    )
}

/// GET /users/import
pub async fn form(admin: CurrentAdmin) -> HttpResponse {
    layout::ok(shell(&admin, upload_form(&admin, "", None)))
}

/// What an import form sends: the CSV (the uploaded file when one was chosen, else the
/// text field) and, when it makes admins, the admin's own password ([`sudo`]).
struct Upload {
    csv: Vec<u8>,
    current_password: String,
}

async fn upload_of(req: &HttpRequest, mut payload: web::Payload) -> Result<Upload, WebError> {
    let body = read_body(&mut payload, IMPORT_LIMIT, IMPORT_READ_TIME)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => {
                WebError::BadRequest("The file is too large; split it into smaller files.".into())
            }
            BodyError::Broken => WebError::BadRequest("The upload arrived incomplete.".into()),
            BodyError::TooSlow => {
                WebError::BadRequest("The upload took too long to arrive.".into())
            }
        })?;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("multipart/form-data") {
        let parts = multipart::parse_blocking(ct.to_owned(), body)
            .await
            .map_err(WebError::BadRequest)?;
        let file = parts
            .iter()
            .find(|p| p.name == "file" && !p.data.is_empty());
        let text = parts.iter().find(|p| p.name == "csv");
        let current_password = parts
            .iter()
            .find(|p| p.name == sudo::FIELD)
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
            .unwrap_or_default();
        return Ok(Upload {
            csv: file.or(text).map(|p| p.data.to_vec()).unwrap_or_default(),
            current_password,
        });
    }
    let field = |name: &str| {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Upload {
        csv: field("csv").into_bytes(),
        current_password: field(sudo::FIELD),
    })
}

/// Per app column, how many of the new people get access there, and how many as admin.
fn access_per_app(plan: &ImportPlan) -> Vec<(&str, usize, usize)> {
    plan.apps
        .iter()
        .map(|app| {
            let roles = plan.rows.iter().filter_map(|r| match r {
                ImportRow::Valid { user, .. } => user
                    .access
                    .iter()
                    .find(|(s, _)| s == app)
                    .map(|(_, role)| *role)
                    .filter(|role| role.grants_access()),
                ImportRow::Invalid(_) => None,
            });
            let (all, admins) = roles.fold((0, 0), |(n, a), r| {
                (n + 1, a + usize::from(r == Role::Admin))
            });
            (app.as_str(), all, admins)
        })
        .filter(|(_, n, _)| *n > 0)
        .collect()
}

fn preview_table(plan: &ImportPlan, settings: &Settings) -> Markup {
    let valid = plan.valid();
    let invalid = plan.rows.len() - valid;
    let name = |slug: &str| {
        settings
            .app(slug)
            .map_or_else(|| slug.to_owned(), |a| a.name.clone())
    };
    let can_sign_in = plan
        .rows
        .iter()
        .filter(|r| matches!(r, ImportRow::Valid { user, .. } if user.dashboard.signs_in()))
        .count();
    let with_groups = plan
        .rows
        .iter()
        .any(|r| matches!(r, ImportRow::Valid { groups, .. } if !groups.is_empty()));
    let group_names = |groups: &[crate::domain::GroupName]| {
        groups
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    html! {
        @for w in &plan.warnings { p.note role="alert" { "Warning: " (w) "." } }
        div.impact role="status" {
            p {
                (people(valid)) " will be created"
                @if invalid > 0 { "; " (invalid) " " (if invalid == 1 { "row has" } else { "rows have" }) " errors and will be skipped" }
                "."
            }
            @for (app, n, admins) in access_per_app(plan) {
                p { (people_do(n, "gets", "get")) " access to " (name(app))
                    @if admins > 0 { " (" (admins) " as admin)" } "." }
            }
            @if can_sign_in > 0 { p { (people(can_sign_in)) " can sign in here." } }
            @if !plan.new_groups.is_empty() {
                p { (plan.new_groups.len()) " new "
                    (if plan.new_groups.len() == 1 { "group is" } else { "groups are" })
                    " created: " bdi { (group_names(&plan.new_groups)) } "." }
            }
        }
        div.table-wrap tabindex="0" role="region" aria-label="Rows of the file" { table {
            thead { tr {
                th scope="col" { "Line" } th scope="col" { "Email" } th scope="col" { "Name" } th scope="col" { "Can sign in here" }
                @if with_groups { th scope="col" { "Groups" } }
                @for app in &plan.apps { th scope="col" { (name(app.as_str())) } }
            } }
            tbody {
                @for row in plan.rows.iter().take(PREVIEW_ROWS) {
                    @match row {
                        ImportRow::Valid { line, user, groups } => tr {
                            td { (line) } td { bdi { (user.email.as_str()) } } td { bdi { (user.name.as_str()) } }
                            td { (user.dashboard.as_str()) }
                            @if with_groups { td { bdi { (group_names(groups)) } } }
                            @for app in &plan.apps {
                                td { (user.access.iter().find(|(s, _)| s == app).map_or("no access", |(_, r)| role_label(*r))) }
                            }
                        },
                        ImportRow::Invalid(e) => tr.row-error {
                            td { (e.line) }
                            td colspan=(3 + usize::from(with_groups) + plan.apps.len()) { span.badge.bad { "error" } " " (e.reason) }
                        },
                    }
                }
            }
        } }
        @if plan.rows.len() > PREVIEW_ROWS { p.muted { "…and " (plan.rows.len() - PREVIEW_ROWS) " more rows." } }
    }
}

/// POST /users/import/preview
pub async fn preview(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    let csv = upload_of(&req, payload).await?.csv;
    let text = String::from_utf8_lossy(&csv).into_owned();
    if text.trim().is_empty() {
        return Ok(layout::respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            shell(
                &admin,
                upload_form(&admin, "", Some("Choose a file or paste some rows first.")),
            ),
        ));
    }
    let plan = match state.service.plan_import(csv).await {
        Ok(p) => p,
        Err(ServiceError::Invalid(msg)) => {
            return Ok(layout::respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                shell(&admin, upload_form(&admin, &text, Some(&msg))),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let confirm = sudo::ask(&state, &session, "/users/import").filter(|_| makes_admins(&plan));
    Ok(layout::ok(preview_page(
        &admin,
        state.service.settings(),
        &plan,
        &text,
        confirm,
        None,
    )))
}

/// Whether importing `plan` would make someone a dashboard admin.
fn makes_admins(plan: &ImportPlan) -> bool {
    plan.rows
        .iter()
        .any(|r| matches!(r, ImportRow::Valid { user, .. } if user.dashboard.signs_in()))
}

/// The preview and its confirmation form; with `confirm`, it asks for the admin's own
/// password (the plan makes admins), with `error` saying why it is asked again.
fn preview_page(
    admin: &CurrentAdmin,
    settings: &Settings,
    plan: &ImportPlan,
    text: &str,
    confirm: Option<sudo::Ask>,
    error: Option<&str>,
) -> Markup {
    let valid = plan.valid();
    shell(
        admin,
        html! {
            h2 { "Preview" }
            (preview_table(plan, settings))
            // multipart, so the rows travel as they are (URL-encoding triples some)
            form.stack method="post" action="/users/import" enctype="multipart/form-data" {
                (csrf_field(&admin.csrf))
                input type="hidden" name="csv" value=(text);
                @if let Some(ask) = confirm.as_ref().filter(|_| valid > 0) {
                    label for="current-password" { "Your own password" }
                    p.hint #current-password-hint { "Some rows let people sign in here; confirm it is you. It then holds for five minutes." }
                    input #current-password type="password" name=(sudo::FIELD) autocomplete="current-password"
                        aria-invalid=[error.map(|_| "true")]
                        aria-describedby=(if error.is_some() { "current-password-hint current-password-error" } else { "current-password-hint" });
                    @if let Some(e) = error { p.field-error #current-password-error { (e) } }
                    (ask.sso_link())
                }
                div.actions {
                    @if valid > 0 {
                        button.primary type="submit" { "Create " (valid) " " (if valid == 1 { "person" } else { "people" }) }
                    }
                    a.button href="/users/import" { "Start over" }
                }
            }
        },
    )
}

/// POST /users/import: creates the valid rows (checked again, the data may have changed).
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: CurrentAdmin,
    session: Session,
    payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    let upload = upload_of(&req, payload).await?;
    let text = String::from_utf8_lossy(&upload.csv).into_owned();
    let plan = match state.service.plan_import(upload.csv).await {
        Ok(p) => p,
        Err(ServiceError::Invalid(msg)) => {
            return Ok(layout::respond(
                StatusCode::UNPROCESSABLE_ENTITY,
                shell(&admin, upload_form(&admin, "", Some(&msg))),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if makes_admins(&plan)
        && let Err(why) = sudo::confirm(&state, &session, &admin, &upload.current_password).await?
    {
        return Ok(layout::respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            preview_page(
                &admin,
                state.service.settings(),
                &plan,
                &text,
                sudo::ask(&state, &session, "/users/import"),
                Some(&why),
            ),
        ));
    }
    let report = state.service.as_actor(admin.actor()).import(plan).await?;
    Ok(layout::ok(shell(
        &admin,
        html! {
            h2 { "Done" }
            p.saved role="status" { (report.summary()) }
            @if !report.groups_created.is_empty() {
                p { "New groups: " bdi { (report.groups_created.join(", ")) } "." }
            }
            @for w in &report.warnings { p.note role="alert" { "Warning: " (w) "." } }
            @if !report.errors.is_empty() {
                h3 { "Skipped rows" }
                ul { @for e in &report.errors { li { "Line " (e.line) ": " (e.reason) } } }
            }
            p.actions { a.button.primary href="/users" { "See people" } a.button href="/users/import" { "Import more" } }
        },
    )))
}
