//! The page shown once after a person is created in Kratos: their recovery link.

use maud::{Markup, html};

use crate::domain::User;
use crate::web::layout::{self, Nav};
use crate::web::session::CurrentAdmin;

/// Shown once after creating a Kratos identity: the link that lets them set a password.
pub fn page(admin: &CurrentAdmin, user: &User, link: &str) -> Markup {
    layout::page(
        "Person added",
        admin,
        Nav::Users,
        html! {
            p.crumbs { a href="/users" { "People" } " / " }
            h1 { (user.name.as_str()) " was added" }
            p { "Send " (user.email.as_str()) " this link to set a password. It is valid for 24 hours and is shown only now." }
            p { input #recovery-link type="text" readonly value=(link) aria-label="Recovery link"; }
            p { a.button href=(format!("/users/{}", user.id)) { "Continue" } }
        },
    )
}
