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

/// A SCIM account as a mock app answers it.
fn scim_user(id: &str, user_name: &str, external_id: &str, active: bool) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id,
        "userName": user_name, "externalId": external_id, "active": active})
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_given_to_someone_else_since_the_plan_is_not_disabled() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let (dee_ext, eve_ext) = (
        "5c3d2e1f-0000-4000-8000-000000000001",
        "5c3d2e1f-0000-4000-8000-000000000002",
    );
    let mock = MockServer::start().await;
    let answer = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    Mock::given(method("GET"))
        .and(path("/ServiceProviderConfig"))
        .respond_with(answer(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true}, "filter": {"supported": true, "maxResults": 100},
            "etag": {"supported": false}, "authenticationSchemes": []})))
        .mount(&mock)
        .await;
    // Both left behind by people deleted here when the plan is made.
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(answer(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 2, "startIndex": 1, "itemsPerPage": 2,
            "Resources": [scim_user("u1", "dee", dee_ext, true),
                scim_user("u2", "Eve", eve_ext, true)]})))
        .mount(&mock)
        .await;
    let env = TestEnv::installed("files", &mock.uri(), "t", "");
    let plan = discover(&env);
    assert_eq!(
        class_of(&plan, "dee"),
        ("left_behind", &json!({"action": "disable"}))
    );
    assert_eq!(
        class_of(&plan, "Eve"),
        ("left_behind", &json!({"action": "disable"}))
    );
    let file = env.db_path().with_file_name("plan.json");
    std::fs::write(&file, plan.to_string()).expect("write the plan");

    // Since then the app gave u2 to Bob; u1 is still Dee's.
    Mock::given(method("GET"))
        .and(path("/Users/u1"))
        .respond_with(answer(scim_user("u1", "DEE", dee_ext, true)))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users/u2"))
        .respond_with(answer(scim_user("u2", "bob@example.org", "", true)))
        .mount(&mock)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/Users/u1"))
        .respond_with(answer(scim_user("u1", "dee", dee_ext, false)))
        .mount(&mock)
        .await;
    let seen = mock.received_requests().await.unwrap_or_default().len();
    let out = env.cli(&["app", "adopt", "files", file.to_str().expect("utf-8")]);
    ok(&out, "app adopt");
    let text = stdout(&out);
    assert!(
        text.contains("1 account disabled in App files"),
        "only Dee's: {text}"
    );
    assert!(
        text.contains("skipped: account u2 (Eve) now answers bob@example.org; not disabled"),
        "{text}"
    );

    // One read and one PATCH for the account disabled, one read for the one skipped.
    let mut sent: Vec<String> = mock.received_requests().await.unwrap_or_default()[seen..]
        .iter()
        .filter(|r| r.url.path().starts_with("/Users/"))
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    sent.sort();
    assert_eq!(sent, ["GET /Users/u1", "GET /Users/u2", "PATCH /Users/u1"]);
}

#[test]
fn a_paged_listing_takes_one_request_per_page_and_none_per_account() {
    // Pages of two: five accounts are three pages.
    let server = ScimServer::start_bare();
    for name in ["ann", "bob", "cy", "dee", "zed"] {
        server.create_user(json!({"userName": name, "active": true,
            "emails": [{"value": format!("{name}@example.org"), "primary": true}]}));
    }
    let env = TestEnv::installed("files", &server.base_url(), server.token(), "");
    env.create_person("ann@example.org", "Ann Lee", &["files=user"]);
    let seen = server.log_lines().len();
    let plan = discover(&env);
    assert_eq!(plan["accounts"].as_array().map(Vec::len), Some(5), "{plan}");
    assert_eq!(plan["requests"], 3, "one request per page");
    let requests = server.requests_since(seen);
    assert_eq!(requests.get("GET /Users"), Some(&3), "{requests:?}");
    assert_eq!(
        requests
            .keys()
            .filter(|k| k.as_str() != "GET /Users")
            .count(),
        0,
        "no request per account: {requests:?}"
    );
}
