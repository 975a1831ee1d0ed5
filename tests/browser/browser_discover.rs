//! The Discover page in Chromium: an app's hand-made accounts listed and classified, one
//! decision changed, the review stating the effect, then apply; under axe at both widths.

use serde_json::json;

use super::dash::{Dash, SETTLE};
use crate::support::axe;
use crate::support::scim_server::ScimServer;

#[test]
#[ignore = "needs Debian's chromium and chromium-driver"]
fn an_apps_accounts_are_discovered_reviewed_and_adopted() {
    let server = ScimServer::start();
    let account = |user_name: &str, email: &str| {
        server.create_user(json!({"userName": user_name, "active": true,
            "emails": [{"value": email, "primary": true}]}))["id"]
            .as_str()
            .expect("an id")
            .to_owned()
    };
    account("bob", "Bob@Example.org");
    let zed = account("zed", "zed@example.org");
    let ivy = account("ivy", "ivy@example.org");
    let dash = Dash::start(&server.base_url(), server.token(), "");
    dash.env.create_person("bob@example.org", "Bob Stone", &[]);
    let b = &dash.b;
    let axe_js = axe::source();
    let mut problems = Vec::new();

    dash.open("/apps/chat");
    b.click(&b.find("a[href='/apps/chat/discover']"));
    b.wait_for("h1", |t| t == "Discover accounts in App chat", SETTLE);
    b.click(&b.find("form[action='/apps/chat/discover'] button"));
    b.wait_for("#discover-counts", |t| t == "3 accounts", SETTLE);
    let counts = b.text(&b.find("ul.counts"));
    assert!(
        counts.contains("1 matches a person without access") && counts.contains("2 unknown"),
        "{counts}"
    );
    problems.extend(axe::check_page(b, &axe_js, "discover"));
    assert_eq!(server.users().len(), 3, "listing made nothing");

    // Ivy's account is left alone instead of imported.
    let ivy_form = "form:has(select[aria-label='Decision for ivy'])";
    b.click(&b.find(&format!("{ivy_form} option[value='leave']")));
    b.click(&b.find(&format!("{ivy_form} button")));
    b.wait_for_url(|u| u.contains("class=unknown"), SETTLE);
    b.click(&b.find("a[href='/apps/chat/discover/review']"));
    b.wait_for(
        ".impact",
        |t| t == "1 person will be created, 1 linked, 0 accounts disabled in App chat, 1 left unmanaged.",
        SETTLE,
    );
    problems.extend(axe::check_page(b, &axe_js, "discover-review"));

    b.click(&b.find("form[action='/apps/chat/discover/apply'] button.primary"));
    b.wait_for(
        "p.flash",
        |t| t == "App chat: 1 person created, 1 linked, 0 accounts disabled, 1 left unmanaged.",
        SETTLE,
    );
    b.wait_for(
        "p.unmanaged",
        |t| t.starts_with("1 account in App chat left unmanaged"),
        SETTLE,
    );
    let pair = dash.env.pair("zed@example.org", "chat");
    assert_eq!(
        pair["scim_id"],
        zed.as_str(),
        "imported onto its own account"
    );
    assert_eq!(server.user(&ivy).expect("ivy")["active"], true);
    assert_eq!(server.users().len(), 3, "no second account");
    assert!(
        problems.is_empty(),
        "pages that scroll sideways or fail axe-core:\n{}",
        problems.join("\n")
    );
}
