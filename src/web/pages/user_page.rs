//! The person page around the form: title, the "being removed" state (read-only,
//! since a save would be refused), the provisioning part (`person.rs`), sign-out
//! everywhere and the way to delete.

use maud::{Markup, html};

use crate::db::read::{AppRow, UserRow};
use crate::web::layout::{Nav, csrf_field, page, poller};
use crate::web::session::CurrentAdmin;

/// A person being removed (a save would be refused), or anyone as a viewer sees them:
/// nothing to edit; what each app holds stays in the "In each app" table below.
pub(super) fn read_only(u: &UserRow) -> Markup {
    html! {
        dl.facts {
            dt { "Email" } dd { bdi { (u.email) } }
            dt { "Can sign in here" } dd { @if !u.dashboard.signs_in() { "no" } @else if u.deleting { (u.dashboard.as_str()) ", until removed" } @else { (u.dashboard.as_str()) } }
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
    parts: Markup,
    mails: bool,
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
            @if u.id == admin.id {
                p { a href="/account/two-factor" { "Your two-factor sign-in" } }
            }
            (parts)
            // Only someone who can sign in has sessions to end.
            @if !u.deleting && u.dashboard.signs_in() && admin.can_change() {
                form.inline method="post" action=(format!("/users/{}/sign-out", u.id)) {
                    (csrf_field(&admin.csrf))
                    button type="submit" { "Sign out everywhere" }
                }
                // An invitation, or a way back for someone who forgot their password:
                // emailed when email is set up, else shown to pass on.
                form.inline method="post" action=(format!("/users/{}/invite", u.id)) {
                    (csrf_field(&admin.csrf))
                    @if mails {
                        button type="submit" { "Email a sign-in link" }
                        button type="submit" name="show" value="1" { "Show a link instead" }
                    } @else {
                        button type="submit" { "Make a sign-in link" }
                    }
                }
            }
            @if !u.deleting && admin.can_change() {
                p.danger-zone { a.button.danger href=(format!("/users/{}/delete", u.id)) { "Delete this person…" } }
            }
            (poller(live(u, apps), "badge", false))
        },
    )
}
