//! The person page around the form: title, the "being removed" state (read-only,
//! since a save would be refused), sign-out everywhere and the way to delete.

use maud::{Markup, html};

use crate::db::read::{AppRow, UserRow};
use crate::web::layout::{Nav, badge, csrf_field, page, poller, role_label};
use crate::web::session::CurrentAdmin;

/// A person being removed: what they had, nothing to edit (a save would be refused).
pub(super) fn read_only(u: &UserRow, apps: &[AppRow]) -> Markup {
    html! {
        dl.facts {
            dt { "Email" } dd { bdi { (u.email) } }
            dt { "Can sign in here" } dd { @if u.admin { "yes, until removed" } @else { "no" } }
            @for app in apps {
                @if let Some(cell) = u.access.iter().find(|c| c.app == app.slug) {
                    dt { (app.name) }
                    dd { span.role { (role_label(cell.role)) } " " (badge(u.id, &app.slug, cell.status)) }
                }
            }
        }
    }
}

pub(super) fn live(user: &UserRow, apps: &[AppRow]) -> bool {
    crate::web::pages::users::any_transient(std::slice::from_ref(user), apps)
}

pub(super) fn edit_page(
    admin: &CurrentAdmin,
    u: &UserRow,
    apps: &[AppRow],
    inner: Markup,
) -> Markup {
    page(
        &u.name,
        admin,
        Nav::Users,
        html! {
            p.crumbs { a href="/users" { "People" } " / " }
            h1 { bdi { (u.name) } }
            @if u.deleting {
                p.note role="status" { span.tag.removing { "being removed" }
                    " Apps are being told; this person disappears once every app has been told." }
            }
            (inner)
            @if !u.deleting {
                form.inline method="post" action=(format!("/users/{}/sign-out", u.id)) {
                    (csrf_field(&admin.csrf))
                    button type="submit" { "Sign out everywhere" }
                }
                p.danger-zone { a.button.danger href=(format!("/users/{}/delete", u.id)) { "Delete this person…" } }
            }
            p { a href=(format!("/activity?user={}", url::form_urlencoded::byte_serialize(u.email.as_bytes()).collect::<String>())) { "Provisioning activity for this person" } }
            (poller(live(u, apps), "badge", false))
        },
    )
}
