//! The Discover page's table: the counts per class, the forms that decide per class,
//! and the accounts of one class, paged, each with the decisions it may take.

use maud::{Markup, html};

use crate::domain::{AccountClass, Decision, Role, Slug};
use crate::provisioning::discover::{Discovery, Found, n};
use crate::web::layout::csrf_field;
use crate::web::session::CurrentAdmin;

/// Accounts per page.
const PER_PAGE: usize = 50;

/// A decision's value in a form: `keep`, `leave`, `disable`, `link:ROLE[:EMAIL]`, `import:ROLE`.
pub(super) fn value_of(d: &Decision, person: Option<&str>) -> String {
    match d {
        Decision::Link { role } => match person {
            Some(p) => format!("link:{role}:{p}"),
            None => format!("link:{role}"),
        },
        Decision::Import { role } => format!("import:{role}"),
        other => other.word().to_owned(),
    }
}

/// The choices offered for an account, with their labels.
pub(super) fn choices(a: &Found) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |d: Decision, person: Option<&str>, label: String| {
        out.push((value_of(&d, person), label));
    };
    match a.class {
        AccountClass::Linked => add(Decision::Keep, None, "Keep".into()),
        _ => add(Decision::Keep, None, "Nothing for now".into()),
    }
    match a.class {
        AccountClass::Ambiguous | AccountClass::Unmanaged => {
            for c in &a.candidates {
                for role in [Role::User, Role::Admin] {
                    add(
                        Decision::Link { role },
                        Some(c),
                        format!("Link to {c} as {role}"),
                    );
                }
            }
        }
        AccountClass::MatchesWithoutAccess => {
            for role in [Role::User, Role::Admin] {
                add(
                    Decision::Link { role },
                    None,
                    format!("Link and grant {role}"),
                );
            }
        }
        AccountClass::Unknown => {
            for role in [Role::User, Role::Admin] {
                add(Decision::Import { role }, None, format!("Import as {role}"));
            }
        }
        _ => {}
    }
    if a.class != AccountClass::Linked {
        add(Decision::Disable, None, "Disable in the app".into());
        add(Decision::Leave, None, "Leave unmanaged".into());
    }
    out
}

pub(super) fn listing(
    admin: &CurrentAdmin,
    slug: &Slug,
    plan: &Discovery,
    class: Option<AccountClass>,
    page_no: usize,
) -> Markup {
    let shown: Vec<&Found> = plan
        .accounts
        .iter()
        .filter(|a| class.is_none_or(|c| a.class == c))
        .collect();
    let pages = shown.len().div_ceil(PER_PAGE).max(1);
    let page_no = page_no.min(pages);
    let base = format!("/apps/{slug}/discover");
    let link = |p: usize| match class {
        Some(c) => format!("{base}?class={}&page={p}", c.as_str()),
        None => format!("{base}?page={p}"),
    };
    html! {
        section aria-labelledby="discover-counts" {
            h2 #discover-counts { (n(plan.accounts.len(), "account", "accounts")) }
            ul.counts aria-label="Accounts per class" {
                li { a href=(base) aria-current=[class.is_none().then_some("page")] { "All" } }
                @for c in AccountClass::ALL {
                    li { a href=(format!("{base}?class={}", c.as_str()))
                        aria-current=[(class == Some(c)).then_some("page")] {
                        (plan.count(c)) " " (c.label()) } }
                }
            }
            @for c in AccountClass::ALL {
                @if plan.count(c) > 0 && c != AccountClass::Linked {
                    form.inline method="post" action=(format!("{base}/decide")) {
                        (csrf_field(&admin.csrf))
                        input type="hidden" name="class" value=(c.as_str());
                        label for=(format!("bulk-{}", c.as_str())) { "Every " (c.label()) " account" }
                        select id=(format!("bulk-{}", c.as_str())) name="decision" {
                            @for (value, label) in bulk_choices(c) { option value=(value) { (label) } }
                        }
                        button type="submit" { "Set for all " (plan.count(c)) }
                    }
                }
            }
            p { a.button.primary href=(format!("{base}/review")) { "Review the plan" } }
        }
        section aria-labelledby="discover-accounts" {
            h2 #discover-accounts { "Accounts" @if let Some(c) = class { ": " (c.label()) } }
            table.cards {
                thead { tr { th { "Account" } th { "Email" } th { "Active" } th { "Admin there" }
                    th { "Person here" } th { "Class" } th { "Decision" } } }
                tbody {
                    @for a in shown.iter().skip((page_no - 1) * PER_PAGE).take(PER_PAGE) {
                        tr {
                            td data-label="Account" { (a.user_name) }
                            td data-label="Email" { (a.emails.first().map_or("–", String::as_str)) }
                            td data-label="Active" { @if a.active { "yes" } @else { "no" } }
                            td data-label="Admin there" { @match a.admin { Some(true) => "yes", Some(false) => "no", None => "–" } }
                            td data-label="Person here" {
                                @match (&a.person, a.candidates.is_empty()) {
                                    (Some(p), _) => (p),
                                    (None, false) => (a.candidates.join(" or ")),
                                    (None, true) => "–",
                                }
                            }
                            td data-label="Class" { (a.class.label()) }
                            td data-label="Decision" {
                                form.inline method="post" action=(format!("{base}/decide")) {
                                    (csrf_field(&admin.csrf))
                                    input type="hidden" name="account" value=(a.id);
                                    @let current = value_of(&a.decision, a.person.as_deref());
                                    select name="decision" aria-label=(format!("Decision for {}", a.user_name)) {
                                        @for (value, label) in choices(a) {
                                            option value=(value) selected[value == current] { (label) }
                                        }
                                    }
                                    button type="submit" { "Save" }
                                }
                            }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav aria-label="Pages" { p {
                    @if page_no > 1 { a href=(link(page_no - 1)) { "Previous" } " " }
                    "Page " (page_no) " of " (pages)
                    @if page_no < pages { " " a href=(link(page_no + 1)) { "Next" } }
                } }
            }
        }
    }
}

fn bulk_choices(c: AccountClass) -> Vec<(&'static str, &'static str)> {
    let mut out = match c {
        AccountClass::MatchesWithoutAccess => vec![("link:user", "Link and grant user")],
        AccountClass::Unknown => vec![("import:user", "Import as people (user)")],
        _ => Vec::new(),
    };
    out.extend([
        ("disable", "Disable in the app"),
        ("leave", "Leave unmanaged"),
        ("keep", "Nothing for now"),
    ]);
    out
}
