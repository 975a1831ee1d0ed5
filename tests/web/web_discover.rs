//! The Discover page with the real `serve` and a real scim2-server: the accounts listed
//! and classified, a decision per account, the review stating the effect, then apply.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::browser::Browser;
use crate::support::env::{BOSS_EMAIL, BOSS_PASSWORD, TestEnv};
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;

#[test]
fn the_discover_page_lists_reviews_and_applies_a_plan() {
    let server = ScimServer::start();
    let id_of = |user_name: &str, email: &str| {
        server.create_user(json!({"userName": user_name, "active": true,
            "emails": [{"value": email, "primary": true}]}))["id"]
            .as_str()
            .expect("an id")
            .to_owned()
    };
    id_of("bob", "Bob@Example.org");
    let zed = id_of("zed", "zed@example.org");
    let ivy = id_of("ivy", "ivy@example.org");
    let env = TestEnv::new(&scim_app("files", &server.base_url(), server.token(), ""));
    env.install("files");
    env.create_boss();
    env.create_person("bob@example.org", "Bob Stone", &[]);
    let serve = Serve::start(&env);
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let b = rt.block_on(Browser::sign_in(&serve.base(), BOSS_EMAIL, BOSS_PASSWORD));
    let seen = server.log_lines().len();

    let app = rt.block_on(b.get("/apps/files")).body;
    assert!(app.contains("href=\"/apps/files/discover\""), "{app}");
    let page = rt.block_on(b.get("/apps/files/discover")).body;
    assert!(page.contains("List the accounts of App files"), "{page}");
    let listed = rt.block_on(b.post("/apps/files/discover", &[]));
    assert_eq!(listed.status, StatusCode::SEE_OTHER, "{}", listed.body);
    let page = rt.block_on(b.get("/apps/files/discover")).body;
    assert!(page.contains("1 matches a person without access"), "{page}");
    assert!(page.contains("2 unknown"), "{page}");

    let left = rt.block_on(b.post(
        "/apps/files/discover/decide",
        &[("account", &ivy), ("decision", "leave")],
    ));
    assert_eq!(left.status, StatusCode::SEE_OTHER, "{}", left.body);
    let review = rt.block_on(b.get("/apps/files/discover/review")).body;
    assert!(
        review.contains(
            "1 person will be created, 1 linked, 0 accounts disabled in App files, 1 left unmanaged."
        ),
        "{review}"
    );
    assert_eq!(server.account_writes_since(seen), 0, "nothing before apply");
    assert_eq!(server.users().len(), 3);

    let applied = rt.block_on(b.post("/apps/files/discover/apply", &[]));
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    let app = rt.block_on(b.get("/apps/files")).body;
    assert!(
        app.contains(
            "App files: 1 person created, 1 linked, 0 accounts disabled, 1 left unmanaged."
        ),
        "{app}"
    );
    assert!(
        app.contains("1 account in App files left unmanaged"),
        "{app}"
    );
    let zed_pair = env.pair("zed@example.org", "files");
    assert_eq!(
        zed_pair["scim_id"],
        zed.as_str(),
        "imported onto its account"
    );
    assert_eq!(
        env.pair("bob@example.org", "files")["role"],
        "user",
        "linked and granted"
    );
    drop(serve);
}
