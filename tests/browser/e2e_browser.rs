//! End to end in a real browser: `accessboard serve` and a scim2-server, driven
//! through headless Chromium over WebDriver. Setup link, install, add a person,
//! watch the badge turn `provisioned` without a reload, the overview and the event view,
//! Sync now with its trace, revoke, watch `disabled`; import three people, make them
//! admins in one confirmed bulk change, put one in a group found by search, delete a
//! person; and every page, at 1280 px and 390 px, without sideways scrolling and without
//! a serious or critical axe-core violation (screenshots in target/e2e/).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::axe;
use crate::support::env::TestEnv;
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;
use crate::support::webdriver::WebDriver;

const ADMIN_EMAIL: &str = "root@example.org";
const ADMIN_NAME: &str = "Rita Root";
const ADMIN_PASSWORD: &str = "a long enough password";
const PERSON_EMAIL: &str = "ada@example.org";
const PERSON_NAME: &str = "Ada Lovelace";
/// Three people imported and changed together.
const TRIO: [(&str, &str); 3] = [
    ("Bo Berg", "bo@example.org"),
    ("Cy Chen", "cy@example.org"),
    ("Dí Díaz-Villanueva de la Concepción", "di@example.org"),
];
const TRIO_CSV: &str = "email,name\nbo@example.org,Bo Berg\ncy@example.org,Cy Chen\ndi@example.org,Dí Díaz-Villanueva de la Concepción\n";

/// How long a badge or an account may take to change. A job enqueued while the
/// apalis worker is idle can wait for the worker's next heartbeat (apalis-core
/// 1.0's interval poller stops re-arming itself), then the page polls every
/// 2 s; this leaves room for that and for a slow CI machine.
const SETTLE: Duration = Duration::from_secs(60);

/// The one-time setup link `serve` logs on a first start.
fn setup_link(serve: &Serve, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(link) = serve.log().lines().find_map(setup_link_in) {
            return link;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("serve logged no setup link; its log:\n{}", serve.log());
}

/// `http://…/setup?token=<hex>` from a log line, if it holds one.
fn setup_link_in(line: &str) -> Option<String> {
    let at = line.find("/setup?token=")?;
    let start = line[..at].rfind("http")?;
    let token_start = at + "/setup?token=".len();
    let token_len = line[token_start..]
        .find(|c: char| !c.is_ascii_hexdigit())
        .unwrap_or(line.len() - token_start);
    (token_len > 0).then(|| line[start..token_start + token_len].to_owned())
}

/// Polls the SCIM server until `pred` holds for the accounts with this email.
fn wait_accounts(
    server: &ScimServer,
    email: &str,
    what: &str,
    pred: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let accounts = server.accounts_with_email(email);
        if pred(&accounts) {
            return accounts;
        }
        assert!(
            Instant::now() < deadline,
            "scim2-server never got {what}; accounts for {email}: {accounts:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Marks the current document, so a later check can tell it was not reloaded.
pub fn mark_document(b: &WebDriver) {
    b.execute("window.__e2eMark = 'still here'; return null;", json!([]));
}

/// Whether the document marked by [`mark_document`] is still the one shown.
pub fn document_marked(b: &WebDriver) -> bool {
    b.execute("return window.__e2eMark === 'still here';", json!([])) == json!(true)
}

fn badge_text(b: &WebDriver, css: &str) -> Option<String> {
    let el = b.try_find(css).ok()??;
    Some(b.text(&el))
}

/// A screenshot of the page under `target/`, checked to be a PNG on disk; its path.
fn screenshot(b: &WebDriver, name: &str) -> PathBuf {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "target", name]
        .iter()
        .collect();
    let png = b.screenshot(&path);
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is not a PNG"
    );
    let on_disk = std::fs::read(&path).expect("read the screenshot back");
    assert!(
        on_disk.starts_with(b"\x89PNG"),
        "{} is not a PNG",
        path.display()
    );
    path
}

#[test]
#[ignore = "needs Debian chromium and chromium-driver; .ci/run installs them and runs it with --include-ignored"]
fn provisions_and_revokes_through_the_browser() {
    let started = Instant::now();
    let step = |what: &str| eprintln!("[{:5.1}s] {what}", started.elapsed().as_secs_f64());
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("chat", &server.base_url(), server.token(), ""));
    // Ready once /healthz answers; serve's log is printed if the test fails.
    let serve = Serve::start(&env);
    let base = serve.base();
    let link = setup_link(&serve, Duration::from_secs(60));
    assert!(
        link.starts_with(&format!("{base}/setup?token=")),
        "the setup link {link} is not under the public URL {base}",
    );
    let b = WebDriver::start();
    let axe_js = axe::source();
    let mut problems = Vec::new();
    step("browser session");

    // 1. First admin through the setup link; it signs in.
    b.goto(&link);
    problems.extend(axe::check_page(&b, &axe_js, "setup"));
    b.fill("#email", ADMIN_EMAIL);
    b.fill("#name", ADMIN_NAME);
    b.fill("#password", ADMIN_PASSWORD);
    b.fill("#password2", ADMIN_PASSWORD);
    b.click(&b.find("form[action='/setup'] button[type=submit]"));
    let url = b.wait_for_url(|u| !u.contains("/setup"), SETTLE);
    if url.contains("/login") {
        b.fill("#email", ADMIN_EMAIL);
        b.fill("#password", ADMIN_PASSWORD);
        b.click(&b.find("form[action='/login'] button[type=submit]"));
    }
    // The overview is where a signed-in admin lands.
    b.wait_for_url(|u| u == format!("{base}/"), SETTLE);
    b.wait_for("header.top .who", |t| t == ADMIN_NAME, SETTLE);
    step("set up and signed in");

    // The app: installed from its card on /apps.
    b.goto(&format!("{base}/apps"));
    b.click(&b.find("a[href='/apps/chat/install']"));
    b.wait_for(
        ".impact",
        |t| t.contains("0 people get an account in App chat"),
        SETTLE,
    );
    problems.extend(axe::check_page(&b, &axe_js, "app-install"));
    b.click(&b.find("form[action='/apps/chat/install'] button[type=submit]"));
    b.wait_for("p.saved", |t| t.contains("is installed"), SETTLE);
    b.find("a[href='/apps/chat/uninstall']");
    step("app installed");

    // 2. A person with the `user` role in chat.
    b.goto(&format!("{base}/users/new"));
    b.fill("#name", PERSON_NAME);
    b.fill("#email", PERSON_EMAIL);
    b.click(&b.find("#role-chat option[value='user']"));
    b.click(&b.find("#user-form button[type=submit]"));
    let url = b.wait_for_url(
        |u| u.starts_with(&format!("{base}/users/")) && !u.ends_with("/new"),
        SETTLE,
    );
    let id = url
        .trim_start_matches(&format!("{base}/users/"))
        .split(['?', '#'])
        .next()
        .unwrap()
        .to_owned();
    let user_id = uuid::Uuid::parse_str(&id).unwrap_or_else(|_| panic!("no person id in {url}"));
    let badge = format!("#b-{}-chat", user_id.simple());
    step("person added");

    // 3. The badge turns `provisioned` on the page as it is (htmx polling), no reload.
    mark_document(&b);
    let first = badge_text(&b, &badge);
    b.wait_for(&badge, |t| t == "provisioned", SETTLE);
    assert!(
        document_marked(&b),
        "the page was reloaded while waiting for the badge"
    );
    eprintln!("person page: badge went from {first:?} to provisioned without a reload");
    let accounts = wait_accounts(&server, PERSON_EMAIL, "one active account", |a| {
        a.len() == 1 && a[0]["active"] != json!(false)
    });
    assert_eq!(accounts.len(), 1, "exactly one account: {accounts:#?}");
    step("provisioned");
    // And the people list shows it too.
    b.goto(&format!("{base}/users"));
    b.wait_for(
        &format!("#u-{} {badge}", user_id.simple()),
        |t| t == "provisioned",
        SETTLE,
    );

    // The overview: chat's count of provisioned people and the event, in names.
    b.goto(&format!("{base}/"));
    b.wait_for("#ov-chat", |t| t == "App chat", SETTLE);
    b.wait_for(
        "#overview-live .overview .counts",
        |t| t.contains("provisioned 1"),
        SETTLE,
    );
    b.wait_for(
        "#overview-live ol.events li summary",
        |t| {
            t.contains(&format!(
                "{PERSON_NAME} · App chat · account created, user · "
            ))
        },
        SETTLE,
    );
    screenshot(&b, "e2e-overview.png");
    step("overview");

    // The event view: one line per attempt, opened to its requests without a script.
    b.goto(&format!("{base}/activity"));
    let summary = b.find("ol.events li summary");
    assert!(
        b.text(&summary).contains(PERSON_NAME),
        "{}",
        b.text(&summary)
    );
    b.click(&summary);
    b.wait_for(
        "ol.events li details[open] table",
        |t| t.contains("POST /Users"),
        SETTLE,
    );
    screenshot(&b, "e2e-activity.png");
    step("activity");

    // Sync now on the person page: each request shows as it completes, no reload.
    b.goto(&url);
    mark_document(&b);
    b.click(&b.find(&format!("form[action='/users/{user_id}/sync/chat'] button")));
    let done = b.wait_for("#trace p[role=status]", |t| t.contains("is active"), SETTLE);
    assert!(document_marked(&b), "the page was reloaded during Sync now");
    let calls = b.find_all("#trace ol.trace li");
    assert!(!calls.is_empty(), "no request in the trace: {done}");
    assert!(
        calls.iter().any(|c| b.text(c).contains("GET /Users")),
        "the lookup is in the trace"
    );
    // What the app answered opens under its request, without a script.
    b.click(&b.find("#trace ol.trace li details.bodies summary"));
    b.wait_for(
        "#trace ol.trace li details.bodies[open] pre",
        |t| t.contains("\"schemas\""),
        SETTLE,
    );
    b.execute(
        "document.getElementById('trace').scrollIntoView()",
        json!([]),
    );
    screenshot(&b, "e2e-sync-now.png");
    step("sync now");

    // 4. Revoke: role "no access", saved in place (htmx), the badge turns `disabled`.
    b.goto(&url);
    b.click(&b.find("#role-chat option[value='none']"));
    mark_document(&b);
    b.click(&b.find("#user-form button[type=submit]"));
    b.wait_for("#user-form p.saved", |t| t.contains("Saved"), SETTLE);
    let first = badge_text(&b, &badge);
    b.wait_for(&badge, |t| t == "disabled", SETTLE);
    assert!(
        document_marked(&b),
        "the page was reloaded while waiting for the badge"
    );
    eprintln!("after revoking: badge went from {first:?} to disabled without a reload");
    let accounts = wait_accounts(&server, PERSON_EMAIL, "the account disabled", |a| {
        a.len() == 1 && a[0]["active"] == json!(false)
    });
    assert_eq!(accounts[0]["active"], json!(false));
    step("disabled");

    // 5. A screenshot of the people list.
    b.goto(&format!("{base}/users"));
    b.wait_for(&badge, |t| t == "disabled", SETTLE);
    let path = screenshot(&b, "e2e-users.png");

    // 6. Three people from a CSV file, with the impact stated before anything is created.
    b.goto(&format!("{base}/users/import"));
    b.fill("#csv", TRIO_CSV);
    b.click(&b.find("form[action='/users/import/preview'] button[type=submit]"));
    b.wait_for(
        ".impact",
        |t| t.contains("3 people will be created"),
        SETTLE,
    );
    problems.extend(axe::check_page(&b, &axe_js, "import-preview"));
    b.click(&b.find("form[action='/users/import'] button.primary"));
    b.wait_for("p.saved", |t| t.contains("Created 3 people"), SETTLE);
    step("three people imported");

    // 7. Select the three on /users, make them admins in chat: review, then confirm.
    b.goto(&format!("{base}/users"));
    let mut trio = Vec::new();
    for (name, email) in TRIO {
        let boxed = b.find(&format!("input[aria-label='Select {name}']"));
        let id = b
            .attribute(&boxed, "value")
            .expect("the checkbox holds the id");
        b.click(&boxed);
        trio.push((uuid::Uuid::parse_str(&id).expect("an id"), email));
    }
    b.click(&b.find("#bulk-app option[value='chat']"));
    b.click(&b.find("#bulk-role option[value='admin']"));
    b.click(&b.find("#bulk button[name=action][value=role]"));
    b.wait_for(
        ".impact",
        |t| t.contains("3 people get access to App chat as admin"),
        SETTLE,
    );
    problems.extend(axe::check_page(&b, &axe_js, "bulk-review"));
    b.click(&b.find("form[action='/users/bulk/apply'] button[type=submit]"));
    b.wait_for(
        "p.flash",
        |t| t.contains("3 people got access to App chat as admin."),
        SETTLE,
    );
    for (id, email) in &trio {
        b.wait_for(
            &format!("#b-{}-chat", id.simple()),
            |t| t == "provisioned",
            SETTLE,
        );
        wait_accounts(&server, email, "one active account", |a| {
            a.len() == 1 && a[0]["active"] != json!(false)
        });
    }
    step("bulk role change of three people provisioned");

    // Search as you type and the filters answer in place (htmx), keeping the URL.
    b.fill("#q", "Cy Ch");
    b.wait_for(
        "#results",
        |t| t.contains("Cy Chen") && !t.contains("Bo Berg"),
        SETTLE,
    );
    b.fill("#q", "");
    b.click(&b.find("#f-status option[value='failed']"));
    b.wait_for(
        "#results",
        |t| t.contains("Nobody matches these filters"),
        SETTLE,
    );
    let url = b.wait_for_url(|u| u.contains("status=failed"), SETTLE);
    assert!(
        url.contains("/users?"),
        "the filters are in the address: {url}"
    );
    step("search and filters");

    // A group: created on /groups, Bo found as the name is typed (htmx) and added, a
    // role in chat; then the confirmation of deleting it.
    b.goto(&format!("{base}/groups"));
    b.fill("#group-name", "Design team");
    b.click(&b.find("form[action='/groups'] button[type=submit]"));
    let url = b.wait_for_url(|u| u.starts_with(&format!("{base}/groups/")), SETTLE);
    let group = url
        .trim_start_matches(&base)
        .split(['?', '#'])
        .next()
        .unwrap()
        .to_owned();
    b.fill("#q", "Bo B");
    b.wait_for("#candidates", |t| t.contains("Bo Berg"), SETTLE);
    // Added in place: the member list comes back with htmx, the page stays.
    mark_document(&b);
    b.click(&b.find("#candidates button[type=submit]"));
    b.wait_for(
        "#members-done",
        |t| t.contains("bo@example.org was added to Design team"),
        SETTLE,
    );
    assert!(document_marked(&b), "adding a member reloaded the page");
    b.click(&b.find("#grant-chat option[value='user']"));
    b.click(&b.find(&format!(
        "form[action='{group}/grant/chat'] button[type=submit]"
    )));
    b.wait_for(
        "p.flash",
        |t| t.contains("Design team now gives the role user in App chat"),
        SETTLE,
    );
    problems.extend(axe::check_page(&b, &axe_js, "group"));
    b.goto(&format!("{base}{group}/delete"));
    problems.extend(axe::check_page(&b, &axe_js, "group-delete"));
    step("group created, a member added by search, a role in chat");

    // 8. Delete Ada: asked first, then back on the list with what happens next.
    b.goto(&format!("{base}/users/{user_id}/delete"));
    problems.extend(axe::check_page(&b, &axe_js, "delete-confirm"));
    b.click(&b.find(&format!(
        "form[action='/users/{user_id}/delete'] button.danger"
    )));
    b.wait_for_url(|u| u == format!("{base}/users"), SETTLE);
    b.wait_for("p.flash", |t| t.starts_with(PERSON_NAME), SETTLE);
    step("deleted");

    // 9. Every other page at both widths.
    let (bo, _) = trio[0];
    for (name, path) in [
        ("overview", "/".to_owned()),
        ("users", "/users".to_owned()),
        (
            "users-filtered",
            "/users?app=chat&status=provisioned&sort=email".to_owned(),
        ),
        ("person-new", "/users/new".to_owned()),
        ("person", format!("/users/{bo}")),
        ("import", "/users/import".to_owned()),
        ("groups", "/groups".to_owned()),
        ("apps", "/apps".to_owned()),
        ("app", "/apps/chat".to_owned()),
        ("app-sync", "/apps/chat/sync".to_owned()),
        ("app-drift", "/apps/chat/drift".to_owned()),
        ("activity", "/activity".to_owned()),
        ("audit", "/audit".to_owned()),
        ("not-found", "/no/such/page".to_owned()),
    ] {
        b.goto(&format!("{base}{path}"));
        problems.extend(axe::check_page(&b, &axe_js, name));
    }
    b.goto(&format!("{base}/users"));
    b.click(&b.find("form.signout button[type=submit]"));
    b.wait_for_url(|u| u.contains("/login"), SETTLE);
    problems.extend(axe::check_page(&b, &axe_js, "login"));
    b.fill("#email", ADMIN_EMAIL);
    b.fill("#password", "not the password");
    b.click(&b.find("form[action='/login'] button[type=submit]"));
    b.wait_for("p.alert", |t| t.contains("do not match"), SETTLE);
    let focused = b.execute(
        "return document.activeElement && document.activeElement.id;",
        json!([]),
    );
    assert_eq!(
        focused,
        json!("password"),
        "after a refused sign-in the password field has the focus"
    );
    problems.extend(axe::check_page(&b, &axe_js, "login-refused"));
    step("every page checked at 1280 and 390 px");
    assert!(
        problems.is_empty(),
        "pages that scroll sideways or fail axe-core:\n{}",
        problems.join("\n")
    );

    drop(b);
    drop(serve);
    eprintln!(
        "browser end-to-end took {:.1}s; screenshots at {} and target/e2e/",
        started.elapsed().as_secs_f64(),
        path.display()
    );
}

#[test]
fn finds_the_setup_link_in_a_log_line() {
    let line = "2026-01-01T00:00:00Z  WARN no dashboard admin yet; open this link within the hour to create one: http://127.0.0.1:4000/setup?token=00ff3a";
    assert_eq!(
        setup_link_in(line).as_deref(),
        Some("http://127.0.0.1:4000/setup?token=00ff3a")
    );
    assert_eq!(setup_link_in("accessboard is serving"), None);
}
