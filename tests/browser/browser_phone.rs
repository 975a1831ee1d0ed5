//! Every page at 390 px, as on a phone: nothing scrolls sideways
//! (`document.documentElement.scrollWidth <= 390`) and axe-core finds nothing serious,
//! in the ordinary day and during an outage (an app down, its long errors on the
//! overview and its page); the navigation folds behind "Menu".

use serde_json::json;

use super::dash::{Dash, SETTLE, scroll_width};
use crate::support::axe;
use crate::support::env::ok;
use crate::support::scim_server::ScimServer;
use crate::support::webdriver::WebDriver;

const PHONE: u32 = 390;

/// At 390 px: the page's laid-out width, and axe-core's serious findings; the problems.
fn phone_problems(b: &WebDriver, axe_js: &str, name: &str) -> Vec<String> {
    axe::set_width(b, PHONE);
    let mut problems = Vec::new();
    let width = scroll_width(b);
    if width > i64::from(PHONE) {
        problems.push(format!("{name} is {width} px wide at {PHONE} px"));
    }
    // Both widths, axe-clean, screenshots under target/e2e/.
    problems.extend(axe::check_page(b, axe_js, name));
    problems
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver"]
fn no_page_scrolls_sideways_on_a_phone_even_during_an_outage() {
    let server = ScimServer::start();
    let dash = Dash::start(&server.base_url(), server.token(), "");
    let b = &dash.b;
    let axe_js = axe::source();
    let mut problems = Vec::new();
    // A name and an email with nothing to break them at, and two ordinary people.
    let long_name = format!("Maximiliana-{}", "Wolfeschlegelsteinhausen".repeat(3));
    let long_email = format!("{}@example.org", "x".repeat(60));
    dash.env
        .create_person(&long_email, &long_name, &["chat=user"]);
    dash.env
        .create_person("ada@example.org", "Ada Lovelace", &["chat=user"]);
    dash.env
        .create_person("bo@example.org", "Bo Berg", &["chat=admin"]);
    let ada = dash.id_of("ada@example.org");
    dash.reload_until("/apps/chat", ".health-banner", |t| t.starts_with("working"));

    // The navigation folds behind "Menu" on a phone, and opens to every link.
    axe::set_width(b, PHONE);
    let shown = |b: &WebDriver| {
        b.execute(
            "return getComputedStyle(document.querySelector('header.top nav')).display;",
            json!([]),
        )
    };
    assert_eq!(shown(b), json!("none"), "the links wait behind Menu");
    let header_height = b.execute(
        "return document.querySelector('header.top').getBoundingClientRect().height;",
        json!([]),
    );
    assert!(
        header_height.as_f64().is_some_and(|h| h < 80.0),
        "the closed header is one line: {header_height}"
    );
    b.click(&b.find("label.nav-button"));
    assert_eq!(shown(b), json!("flex"), "Menu opens the links");
    b.click(&b.find("header.top nav a[href='/groups']"));
    b.wait_for_url(|u| u.ends_with("/groups"), SETTLE);
    axe::set_width(b, 1280);
    assert_eq!(shown(b), json!("flex"), "the links show on a wide screen");

    // A group, to have its page.
    b.fill("#group-name", "Design team");
    b.click(&b.find("form[action='/groups'] button[type=submit]"));
    let group = b
        .wait_for_url(|u| u.contains("/groups/"), SETTLE)
        .trim_start_matches(&dash.base)
        .to_owned();

    for (name, path) in [
        ("phone-overview", "/".to_owned()),
        ("phone-people", "/users".to_owned()),
        (
            "phone-people-filtered",
            "/users?app=chat&status=provisioned".to_owned(),
        ),
        ("phone-person", format!("/users/{ada}")),
        ("phone-person-new", "/users/new".to_owned()),
        ("phone-groups", "/groups".to_owned()),
        ("phone-group", group.clone()),
        ("phone-apps", "/apps".to_owned()),
        ("phone-app", "/apps/chat".to_owned()),
        ("phone-app-pause", "/apps/chat/pause".to_owned()),
        ("phone-app-drift", "/apps/chat/drift".to_owned()),
        ("phone-activity", "/activity".to_owned()),
        ("phone-audit", "/audit".to_owned()),
        ("phone-import", "/users/import".to_owned()),
    ] {
        dash.open(&path);
        problems.extend(phone_problems(b, &axe_js, name));
    }

    // The bulk review: everyone selected, made admins in chat; "What happens" fits.
    dash.open("/users");
    for boxed in b.find_all("table.people input[type=checkbox][aria-label^='Select ']") {
        b.click(&boxed);
    }
    b.click(&b.find("#bulk-app option[value='chat']"));
    b.click(&b.find("#bulk-role option[value='admin']"));
    b.click(&b.find("#bulk button[name=action][value=role]"));
    b.wait_for(".impact", |t| t.contains("App chat as admin"), SETTLE);
    problems.extend(phone_problems(b, &axe_js, "phone-bulk-review"));

    // The outage: the app stops answering while changes are on their way to it.
    drop(server);
    for email in ["ada@example.org", long_email.as_str()] {
        let out = dash.env.cli(&["user", "access", email, "chat", "admin"]);
        ok(&out, "user access");
    }
    dash.reload_until("/apps/chat", ".health-banner", |t| {
        (t.contains("does not answer") || t.contains("is quarantined"))
            && t.contains("Last error: ")
    });
    problems.extend(phone_problems(b, &axe_js, "phone-app-outage"));
    dash.reload_until("/apps", ".badge.health", |t| {
        t == "unreachable" || t == "quarantined"
    });
    problems.extend(phone_problems(b, &axe_js, "phone-apps-outage"));
    dash.open("/");
    problems.extend(phone_problems(b, &axe_js, "phone-overview-outage"));
    dash.open(&format!("/users/{ada}"));
    problems.extend(phone_problems(b, &axe_js, "phone-person-outage"));
    dash.open("/activity");
    problems.extend(phone_problems(b, &axe_js, "phone-activity-outage"));

    assert!(
        problems.is_empty(),
        "pages that scroll sideways or fail axe-core:\n{}",
        problems.join("\n")
    );
}
