//! The person form's markup: fields with their errors beside them, the role per app,
//! and the admin's own password when a change needs it ([`sudo`]). What it holds and
//! how it is checked are in `user_values`; the handlers that use it in `user_form`.

use maud::{Markup, html};

use super::user_values::{Errors, Giving, Values};
use crate::db::read::{AppRow, UserRow};
use crate::domain::{DashboardAccess, Role};
use crate::web::layout::{csrf_field, role_label};
use crate::web::session::CurrentAdmin;
use crate::web::sudo;

fn error_for(e: &Option<String>, id: &str) -> Markup {
    html! { @if let Some(e) = e { p.field-error id=(id) { (e) } } }
}

/// The form; `user` is the stored person when editing (for the URL), with the groups
/// their roles come from; `confirm` asks for the admin's own password (the session is
/// not fresh), or with `[sso]` offers to confirm through the provider.
pub(super) fn form(
    admin: &CurrentAdmin,
    person: Option<(&UserRow, &Giving)>,
    v: &Values,
    e: &Errors,
    apps: &[AppRow],
    saved: Option<crate::web::flash::Flash>,
    confirm: Option<sudo::Ask>,
) -> Markup {
    let user = person.map(|(u, _)| u);
    let action = user.map_or("/users/new".to_owned(), |u| format!("/users/{}", u.id));
    let described = |err: &Option<String>, id: &'static str| err.as_ref().map(|_| id);
    html! {
        form.stack #user-form method="post" action=(action) novalidate
            hx-post=[user.map(|_| action.clone())] hx-target="this" hx-swap="outerHTML" {
            (csrf_field(&admin.csrf))
            @if let Some(saved) = &saved { (saved.render()) }
            @if e.any() { p.alert role="alert" { "Please correct the marked fields." } }
            label for="name" { "Name" }
            input #name type="text" name="name" value=(v.name) required maxlength="200" autocomplete="off"
                aria-invalid=[e.name.as_ref().map(|_| "true")] aria-describedby=[described(&e.name, "name-error")];
            (error_for(&e.name, "name-error"))
            label for="email" { "Email" }
            input #email type="email" name="email" value=(v.email) required autocomplete="off"
                aria-invalid=[e.email.as_ref().map(|_| "true")] aria-describedby=[described(&e.email, "email-error")];
            (error_for(&e.email, "email-error"))
            label for="admin" { "Can sign in here" }
            select #admin name="admin" aria-describedby="admin-hint" {
                @for level in DashboardAccess::ALL {
                    option value=(level.as_str()) selected[v.admin == level] { (level_label(level)) }
                }
            }
            p.hint #admin-hint { "A viewer sees every page but changes nothing; an admin changes everyone's access. Neither makes them admins inside apps." }
            (error_for(&e.admin, "admin-error"))
            // A password is only for someone who can sign in: a new person once ticked
            // (the style sheet hides it until then), a stored one once saved as such.
            @if user.is_none() || v.admin.signs_in() {
                div.signin-only.stack {
                    label for="password" { "Sign-in password (optional)" }
                    input #password type="password" name="password" autocomplete="new-password"
                        aria-describedby=[described(&e.password, "password-error")];
                    (error_for(&e.password, "password-error"))
                }
            } @else {
                p.hint { "Once they can sign in here (tick the box and save), you can set their password." }
            }
            @if let Some(ask) = &confirm {
                label for="current-password" { "Your own password (or a code of your authenticator app)" }
                p.hint #current-password-hint { "Asked before you let someone sign in here or set the password of someone else who can; it then holds for five minutes. With a passkey, confirm on "
                    a href="/account/two-factor" { "your two-factor page" } " instead." }
                input #current-password type="password" name=(sudo::FIELD) autocomplete="current-password"
                    aria-invalid=[e.current_password.as_ref().map(|_| "true")]
                    aria-describedby=(if e.current_password.is_some() { "current-password-hint current-password-error" } else { "current-password-hint" });
                (error_for(&e.current_password, "current-password-error"))
                (ask.sso_link())
            }
            fieldset {
                legend { "Access per app" }
                @if apps.is_empty() {
                    p.muted { "No app is installed. " a href="/apps" { "Install one" } " to grant access." }
                }
                @for app in apps {
                    @let role = v.roles.iter().find(|(s, _)| *s == app.slug).map_or(Role::None, |(_, r)| *r);
                    @let id = format!("role-{}", app.slug);
                    // The select holds their own role; a higher one from groups wins, so the
                    // option of their own role names it, and a save leaves it alone.
                    @let through = user
                        .and_then(|u| u.access.iter().find(|c| c.app == app.slug))
                        .map(|c| c.groups)
                        .filter(|r| r.grants_access());
                    @let from = person.and_then(|(_, g)| g.get(&app.slug)).map(|names| names.join(", ")).unwrap_or_default();
                    @let hint = format!("{id}-groups");
                    div.app-role {
                        label for=(id) { (app.name) }
                        select id=(id) name=(format!("role.{}", app.slug)) aria-describedby=[through.map(|_| &hint)] {
                            @for r in [Role::None, Role::User, Role::Admin] {
                                option value=(r.as_str()) selected[r == role] {
                                    @match through.filter(|g| r == role && Role::effective(r, [*g]) != r) {
                                        Some(g) => (from_groups_label(g, &from)),
                                        None => (role_label(r)),
                                    }
                                }
                            }
                        }
                        @if let Some(r) = through { span.hint id=(hint) { "their groups give " (role_label(r)) } }
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

/// How a dashboard access level reads in the form and on the person page.
pub(super) fn level_label(level: DashboardAccess) -> &'static str {
    match level {
        DashboardAccess::None => "no",
        DashboardAccess::Viewer => "yes, as a viewer (sees everything, changes nothing)",
        DashboardAccess::Admin => "yes, as an admin",
    }
}

/// The option of a person's own role when their groups give more: "user (from group design)".
fn from_groups_label(role: Role, groups: &str) -> String {
    match groups {
        "" => format!("{} (from their groups)", role_label(role)),
        g if g.contains(", ") => format!("{} (from groups {g})", role_label(role)),
        g => format!("{} (from group {g})", role_label(role)),
    }
}
