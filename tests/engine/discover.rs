//! `app discover` against real SCIM servers: every hand-made account classified as the
//! admin would, and nothing but GETs sent while discovering.

use serde_json::{Value, json};

use crate::support::env::{TestEnv, ok, stdout};
use crate::support::scim_server::ScimServer;

/// Hand-made accounts: one matching a person with access (in another case), one a person
/// without access, two of one person, one of a person deleted here, one nobody's.
fn hand_made(server: &ScimServer) {
    let account = |user_name: &str, email: &str, external_id: Option<&str>| {
        let mut user = json!({"userName": user_name, "active": true,
            "name": {"givenName": user_name, "familyName": "Hand"},
            "emails": [{"value": email, "primary": true}]});
        if let Some(x) = external_id {
            user["externalId"] = json!(x);
        }
        server.create_user(user)
    };
    account("Ann@Example.org", "ann@example.org", None);
    account("bob", "BOB@example.org", None);
    account("cy", "cy@example.org", None);
    account("cy.young", "Cy@Example.org", None);
    // The uuid of a person deleted here long ago: accessboard made it.
    account(
        "dee",
        "dee@example.org",
        Some("5c3d2e1f-0000-4000-8000-000000000000"),
    );
    account("zed", "zed@example.org", None);
}

fn discover(env: &TestEnv) -> Value {
    let out = env.cli(&["app", "discover", "files", "--json"]);
    ok(&out, "app discover --json");
    serde_json::from_slice(&out.stdout).expect("the plan is JSON")
}

fn class_of<'a>(plan: &'a Value, user_name: &str) -> (&'a str, &'a Value) {
    let a = plan["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["user_name"] == user_name)
        .unwrap_or_else(|| panic!("{user_name} is listed: {plan}"));
    (a["class"].as_str().expect("a class"), &a["decision"])
}

fn classifies_each_account(server: &ScimServer, extra: &str) {
    hand_made(server);
    let env = TestEnv::installed("files", &server.base_url(), server.token(), extra);
    env.create_person("ann@example.org", "Ann Lee", &["files=user"]);
    env.create_person("bob@example.org", "Bob Stone", &[]);
    env.create_person("cy@example.org", "Cy Young", &["files=user"]);
    let seen = server.log_lines().len();

    let plan = discover(&env);
    let (class, decision) = class_of(&plan, "Ann@Example.org");
    assert_eq!((class, &decision["action"]), ("linked", &json!("keep")));
    let (class, decision) = class_of(&plan, "bob");
    assert_eq!(class, "matches_without_access");
    assert_eq!(decision, &json!({"action": "link", "role": "user"}));
    assert_eq!(class_of(&plan, "cy").0, "ambiguous");
    assert_eq!(class_of(&plan, "cy.young").0, "ambiguous");
    let (class, decision) = class_of(&plan, "dee");
    assert_eq!(
        (class, &decision["action"]),
        ("left_behind", &json!("disable"))
    );
    let (class, decision) = class_of(&plan, "zed");
    assert_eq!(class, "unknown");
    assert_eq!(decision, &json!({"action": "import", "role": "user"}));
    for (class, n) in [
        ("linked", 1),
        ("matches_without_access", 1),
        ("ambiguous", 2),
        ("left_behind", 1),
        ("unknown", 1),
        ("unmanaged", 0),
    ] {
        assert_eq!(plan["counts"][class], n, "{class}: {}", plan["counts"]);
    }
    assert!(plan["stamp"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(plan["requests"], 1, "one page, no request per account");

    // Counts first, then the accounts, for a person at a terminal.
    let out = env.cli(&["app", "discover", "files"]);
    ok(&out, "app discover");
    let text = stdout(&out);
    assert!(text.starts_with("files: 6 accounts listed in"), "{text}");
    let counts = text.find("left behind").expect("the counts");
    let accounts = text.find("zed@example.org").expect("the accounts");
    assert!(counts < accounts, "{text}");

    let requests = server.requests_since(seen);
    assert!(
        requests.keys().all(|k| k.starts_with("GET")),
        "discovery only reads: {requests:?}"
    );
    assert_eq!(server.users().len(), 6, "nothing was made");
    let bob = env.pair("bob@example.org", "files");
    assert!(
        matches!(bob["role"].as_str(), None | Some("none")),
        "nobody was granted anything: {bob}"
    );
}

#[test]
fn discovery_classifies_hand_made_accounts_on_scim2_server() {
    classifies_each_account(&ScimServer::start(), "");
}

#[test]
fn discovery_classifies_hand_made_accounts_on_django_scim2() {
    classifies_each_account(&ScimServer::builder().real("django-scim2").start(), "");
}

#[test]
fn an_account_in_the_admin_group_is_proposed_as_an_admin() {
    let server = ScimServer::start();
    let zed = server.create_user(json!({"userName": "zed", "active": true,
        "emails": [{"value": "zed@example.org", "primary": true}]}));
    server.create_group("admins", &[zed["id"].as_str().expect("an id")]);
    let env = TestEnv::installed(
        "files",
        &server.base_url(),
        server.token(),
        "admin_group = \"admins\"",
    );
    let plan = discover(&env);
    let (class, decision) = class_of(&plan, "zed");
    assert_eq!(class, "unknown");
    assert_eq!(decision, &json!({"action": "import", "role": "admin"}));
    assert_eq!(plan["accounts"][0]["admin"], true);
}
