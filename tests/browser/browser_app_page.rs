//! An app run from its own page in Chromium: pause with a reason and resume, Sync now,
//! Check drift and Fix (the report does not stay stale), Uninstall asked first in the
//! danger style; and sixty people imported into an app that answers slowly, whose
//! badges turn live on the people list and on the app's page without a reload.

use serde_json::json;

use super::dash::{Dash, SETTLE, badge_texts, wait_js};
use super::e2e_browser::{document_marked, mark_document};
use crate::support::axe;
use crate::support::scim_server::ScimServer;

#[test]
#[ignore = "needs Debian's chromium and chromium-driver"]
fn an_app_is_run_from_its_page() {
    let server = ScimServer::start();
    let dash = Dash::start(&server.base_url(), server.token(), "");
    let b = &dash.b;
    let axe_js = axe::source();
    let mut problems = Vec::new();
    dash.env
        .create_person("ada@example.org", "Ada Lovelace", &["chat=user"]);

    // Working once Ada's account is made.
    let banner = dash.reload_until("/apps/chat", ".health-banner", |t| {
        t.contains("App chat is working")
    });
    assert!(banner.starts_with("working"), "{banner}");
    let order: Vec<String> = b
        .find_all(".app-actions > a, .app-actions > form button")
        .iter()
        .map(|e| b.text(e))
        .collect();
    assert_eq!(
        order,
        [
            "Sync now…",
            "Check drift",
            "Test connection",
            "Discover accounts…",
            "Pause…",
            "Uninstall…"
        ],
        "the everyday actions first, Uninstall last"
    );
    problems.extend(axe::check_page(b, &axe_js, "app-page"));

    // Pause asks why; the page then says who paused it, why and since when.
    b.click(&b.find("a[href='/apps/chat/pause']"));
    b.wait_for("h1", |t| t == "Pause App chat?", SETTLE);
    problems.extend(axe::check_page(b, &axe_js, "app-pause"));
    b.fill("#reason", "moving the chat server");
    b.click(&b.find("form[action='/apps/chat/pause'] button[type=submit]"));
    b.wait_for(
        "p.flash",
        |t| t == "App chat is paused: nothing is sent to it until it is resumed.",
        SETTLE,
    );
    let banner = b.wait_for(".health-banner", |t| t.starts_with("paused"), SETTLE);
    assert!(
        banner.contains("by Boss") || banner.contains("boss@example.org"),
        "{banner}"
    );
    assert!(banner.contains("Why: moving the chat server."), "{banner}");
    assert!(b.try_find("a[href='/apps/chat/pause']").unwrap().is_none());
    // Paused, a change waits instead of reaching the app.
    dash.env
        .create_person("bo@example.org", "Bo Berg", &["chat=user"]);
    dash.open("/apps/chat");
    b.click(&b.find("a[href='/apps/chat/resume']"));
    b.click(&b.find("form[action='/apps/chat/resume'] button.primary"));
    b.wait_for("p.flash", |t| t.starts_with("App chat resumed"), SETTLE);
    b.wait_for(".health-banner", |t| t.starts_with("working"), SETTLE);
    b.find("a[href='/apps/chat/pause']");
    // Bo's change, held while paused, goes out now; his row turns live.
    let bo = dash.id_of("bo@example.org");
    b.wait_for(
        &format!("#r-{}-chat td[data-label=Status]", bo.simple()),
        |t| t == "provisioned",
        SETTLE,
    );

    // Sync now: asked first, then back on the app's page with what it did.
    b.click(&b.find("a[href='/apps/chat/sync?back=app']"));
    b.click(&b.find("form[action='/apps/chat/sync?back=app'] button.primary"));
    b.wait_for("p.saved", |t| t.contains("people of App chat"), SETTLE);
    assert!(b.current_url().contains("/apps/chat?"));

    // Drift: Ada's account is deleted in the app by hand; the check finds it, Fix
    // brings it back, and the report says so instead of "missing".
    let ada = server
        .accounts_with_email("ada@example.org")
        .pop()
        .expect("Ada's account");
    server.delete_user(ada["id"].as_str().expect("an id"));
    b.click(&b.find("form[action='/apps/chat/drift?back=app'] button"));
    b.wait_for(
        ".drift-summary",
        |t| t.contains("1 missing, 0 should be disabled"),
        SETTLE,
    );
    problems.extend(axe::check_page(b, &axe_js, "app-drift-found"));
    b.click(&b.find("form[action='/apps/chat/drift/fix?back=app'] button"));
    b.wait_for(
        "p.saved",
        |t| t == "1 person out of step in App chat is being synced.",
        SETTLE,
    );
    b.wait_for(
        ".drift-summary",
        |t| t.contains("1 out of step marked for sync"),
        SETTLE,
    );
    assert!(
        b.try_find("form[action='/apps/chat/drift/fix?back=app']")
            .unwrap()
            .is_none(),
        "no second Fix for drift already handed to sync"
    );
    let deadline = std::time::Instant::now() + SETTLE;
    while server.accounts_with_email("ada@example.org").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "Ada's account was not made again"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    b.click(&b.find("form[action='/apps/chat/drift?back=app'] button"));
    b.wait_for(
        ".drift-summary",
        |t| t.contains("every account is as it should be"),
        SETTLE,
    );

    // Uninstall: red, asked first; Cancel leads back to the app's page.
    let uninstall = b.find("a.danger[href='/apps/chat/uninstall?back=app']");
    b.click(&uninstall);
    b.wait_for(
        ".impact",
        |t| t.contains("stops managing the accounts of 2 people"),
        SETTLE,
    );
    problems.extend(axe::check_page(b, &axe_js, "app-uninstall"));
    b.click(&b.find("form.actions a.button"));
    b.wait_for_url(|u| u.ends_with("/apps/chat"), SETTLE);
    b.click(&b.find("a.danger[href='/apps/chat/uninstall?back=app']"));
    b.click(&b.find("form[action='/apps/chat/uninstall?back=app'] button.danger"));
    b.wait_for("p.saved", |t| t.contains("App chat is uninstalled"), SETTLE);
    b.find("a[href='/apps/chat/install?back=app']");
    assert_eq!(
        server.users().len(),
        2,
        "uninstalling leaves the accounts in the app as they are"
    );
    assert!(
        problems.is_empty(),
        "pages that scroll sideways or fail axe-core:\n{}",
        problems.join("\n")
    );
}

/// The badges of the people list's `chat` column.
const LIST_BADGES: &str = "table.people [id^='b-'][id$='-chat']";
/// The status badges of the app page's rows.
const ROW_BADGES: &str = "tr[id^='r-'] td[data-label=Status] .badge";

#[test]
#[ignore = "needs Debian's chromium and chromium-driver"]
fn sixty_imported_people_turn_live_on_the_people_list_and_the_app_page() {
    // Every answer 0.3 s late, one request at a time: the import takes a while to land.
    let server = ScimServer::builder()
        .dialect("generic")
        .arg("--delay")
        .arg("0.3")
        .start();
    let dash = Dash::start(&server.base_url(), server.token(), "max_concurrency = 1\n");
    let b = &dash.b;
    let mut csv = String::from("email,name,chat\n");
    for i in 0..60 {
        csv.push_str(&format!("p{i:02}@example.org,Person {i:02},user\n"));
    }
    dash.open("/users/import");
    b.fill("#csv", &csv);
    b.click(&b.find("form[action='/users/import/preview'] button[type=submit]"));
    b.wait_for(
        ".impact",
        |t| t.contains("60 people will be created"),
        SETTLE,
    );
    b.click(&b.find("form[action='/users/import'] button.primary"));
    b.wait_for("p.saved", |t| t.contains("Created 60 people"), SETTLE);

    // The people list, 50 to a page, all watched by one poll: some badges turn
    // `provisioned` while the page stays as it is.
    dash.open("/users?app=chat");
    mark_document(b);
    let first = badge_texts(b, LIST_BADGES);
    assert_eq!(first.len(), 50, "a page of 50 people: {first:?}");
    let waiting = first.iter().filter(|t| *t != "provisioned").count();
    assert!(waiting > 0, "the slow app had provisioned everyone already");
    let script = format!(
        "return Array.from(document.querySelectorAll(\"{LIST_BADGES}\")).filter(e => e.textContent.trim() === 'provisioned').length;"
    );
    let before = first.len() - waiting;
    wait_js(
        b,
        &script,
        |v| v.as_u64().is_some_and(|n| n as usize > before),
        "a badge on the people list turning provisioned",
    );
    assert!(document_marked(b), "the people list was reloaded");

    // The app's page watches its rows the same way, until every one is provisioned.
    dash.open("/apps/chat");
    mark_document(b);
    let rows = badge_texts(b, ROW_BADGES);
    assert!(rows.len() >= 50, "a page of rows: {rows:?}");
    let script = format!(
        "return Array.from(document.querySelectorAll(\"{ROW_BADGES}\")).filter(e => e.textContent.trim() !== 'provisioned' && e.textContent.trim() !== 'not provisioned').length;"
    );
    let pending = b.execute(&script, json!([])).as_u64().unwrap_or(0);
    assert!(
        pending > 0,
        "the slow app had provisioned the app page's rows already"
    );
    wait_js(
        b,
        &script,
        |v| v.as_u64() == Some(0),
        "every row on the app page provisioned",
    );
    assert!(document_marked(b), "the app page was reloaded");
    eprintln!("app page: {pending} rows turned provisioned without a reload");

    // Back on the list, everyone on the first page is provisioned, and stays live.
    dash.open("/users?app=chat");
    mark_document(b);
    let script = format!(
        "return Array.from(document.querySelectorAll(\"{LIST_BADGES}\")).filter(e => e.textContent.trim() !== 'provisioned').length;"
    );
    wait_js(
        b,
        &script,
        |v| v.as_u64() == Some(0),
        "every badge on the people list provisioned",
    );
    assert!(document_marked(b), "the people list was reloaded");
    let deadline = std::time::Instant::now() + SETTLE;
    while server.users().len() < 60 {
        assert!(
            std::time::Instant::now() < deadline,
            "the app holds {} accounts",
            server.users().len()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}
