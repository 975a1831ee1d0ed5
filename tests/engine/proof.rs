//! Every answer proved before it is believed (issue 23): the right person's account,
//! filters that find nothing, deletes that only deactivate, names in the form the app
//! keeps, and an admin role taken back out of a multi-valued attribute.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::db::sql_i64;
use crate::support::env::{TestEnv, stderr, stdout};
use crate::support::scim_server::ScimServer;

const WRITES: &str = "('create_user', 'replace_user', 'add_member', 'remove_member', 'deactivate_user', 'delete_user', 'create_group')";

fn env_for(base_url: &str, token: &str, extra: &str) -> TestEnv {
    TestEnv::installed("files", base_url, token, extra)
}

fn access(env: &TestEnv, email: &str, role: &str) {
    let out = env.cli(&["user", "access", email, "files", role]);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn writes(env: &TestEnv) -> i64 {
    sql_i64(
        &env.db_path(),
        &format!("SELECT count(*) FROM provision_log WHERE operation IN {WRITES}"),
    )
}

/// The account id the pair of `email` stores.
fn scim_id(env: &TestEnv, email: &str) -> String {
    env.pair(email, "files")["scim_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn app_sync(env: &TestEnv) {
    let out = env.cli(&["app", "sync", "files"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn list(resources: Vec<Value>) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": resources.len(), "startIndex": 1, "itemsPerPage": resources.len(),
        "Resources": resources})
}

fn bob() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "b1",
        "userName": "bob@example.org", "active": true,
        "emails": [{"value": "bob@example.org", "primary": true}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_answered_with_someone_elses_account_is_never_linked() {
    let mock = MockServer::start().await;
    // No discovery: lookups list; the app holds only Bob, and answers Ann's create with him.
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(vec![bob()])))
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(201).set_body_json(bob()))
        .mount(&mock)
        .await;
    let env = env_for(&mock.uri(), "t", "");
    env.create_person("ann@example.org", "Ann Lee", &["files=user"]);
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let pair = env.pair("ann@example.org", "files");
    assert_eq!(pair["status"], "failed", "{pair}");
    assert!(pair["scim_id"].is_null(), "never linked to Bob: {pair}");
    let message = pair["last_message"].as_str().unwrap();
    assert!(
        message.contains("b1") && message.contains("bob@example.org"),
        "names the account that answered: {message}"
    );
    let requests = mock.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| matches!(r.method.as_str(), "GET" | "POST")),
        "nothing written to Bob's account"
    );
}

/// Ann as the app holds her under `id` (the create's answer echoes what was sent).
fn ann(id: &str, active: bool) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id,
        "userName": "ann@example.org", "active": active, "displayName": "Ann Lee",
        "externalId": null,
        "name": {"formatted": "Ann Lee", "givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann@example.org", "primary": true, "type": "work"}]})
}

/// An app without discovery that holds nobody and makes Ann as `id`.
async fn mount_empty_app_making_ann(mock: &MockServer, id: &str) {
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(vec![])))
        .mount(mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(201).set_body_json(ann(id, true)))
        .mount(mock)
        .await;
    // Its answer lacks an externalId: one read confirms what the app keeps.
    Mock::given(method("GET"))
        .and(path(format!("/Users/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(ann(id, true)))
        .mount(mock)
        .await;
}

fn writes_received(requests: &[wiremock::Request]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| !matches!(r.method.as_str(), "GET" | "POST"))
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stored_id_that_now_answers_a_bystander_never_touches_them() {
    let mock = MockServer::start().await;
    mount_empty_app_making_ann(&mock, "a1").await;
    let env = env_for(&mock.uri(), "t", "");
    env.create_person("ann@example.org", "Ann Lee", &["files=user"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_eq!(env.pair("ann@example.org", "files")["scim_id"], "a1");

    // Ann's account deleted by hand in the app, and her id given to Bob.
    mock.reset().await;
    let mut bob = bob();
    bob["id"] = json!("a1");
    Mock::given(method("GET"))
        .and(path("/Users/a1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(bob.clone()))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(vec![bob])))
        .mount(&mock)
        .await;
    access(&env, "ann@example.org", "none");
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let requests = mock.received_requests().await.unwrap();
    assert_eq!(
        writes_received(&requests),
        Vec::<String>::new(),
        "Bob untouched"
    );
    let pair = env.pair("ann@example.org", "files");
    assert_eq!(pair["status"], "not_provisioned", "{pair}");
    assert!(pair["scim_id"].is_null(), "Bob's id forgotten: {pair}");

    // Access back: Ann gets an account of her own.
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(201).set_body_json(ann("a2", true)))
        .mount(&mock)
        .await;
    access(&env, "ann@example.org", "user");
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    let pair = env.pair("ann@example.org", "files");
    assert_eq!(pair["status"], "provisioned", "{pair}");
    assert_eq!(pair["scim_id"], "a2");
    let requests = mock.received_requests().await.unwrap();
    assert_eq!(writes_received(&requests), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_that_only_deactivates_is_recorded_as_such() {
    let mock = MockServer::start().await;
    mount_empty_app_making_ann(&mock, "a1").await;
    let env = env_for(&mock.uri(), "t", "on_deprovision = \"delete\"");
    env.create_person("ann@example.org", "Ann Lee", &["files=user"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));

    // The app answers the DELETE with 204 and keeps the account, inactive.
    mock.reset().await;
    Mock::given(method("GET"))
        .and(path("/Users/a1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ann("a1", true)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users/a1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ann("a1", false)))
        .with_priority(2)
        .mount(&mock)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/Users/a1"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&mock)
        .await;
    access(&env, "ann@example.org", "none");
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pair = env.pair("ann@example.org", "files");
    assert_eq!(pair["status"], "deprovisioned", "{pair}");
    assert_eq!(pair["scim_id"], "a1", "the app keeps the account: {pair}");
    let message = pair["last_message"].as_str().unwrap();
    assert!(message.contains("only deactivated"), "{message}");
    assert!(!message.contains("account deleted"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_that_find_nothing_are_caught_and_nothing_is_made_twice() {
    // Generic settings on the library under Nextcloud's SCIM app: its filters keep the
    // quotes of the value, so every quoted filter answers 200 with nothing.
    let server = ScimServer::builder().dialect("nextcloud").start();
    server.create_user(json!({"userName": "bob", "displayName": "Bob",
        "emails": [{"value": "bob@example.org", "primary": true}], "active": true}));
    let env = env_for(
        &server.base_url(),
        server.token(),
        "admin_group = \"admins\"",
    );
    env.create_person("bob@example.org", "Bob Stone", &["files=user"]);
    env.create_person("ann@example.org", "Ann Lee", &["files=admin"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_eq!(
        server.accounts_with_email("bob@example.org").len(),
        1,
        "Bob's own account adopted, not duplicated"
    );
    let admins = |s: &ScimServer| {
        s.groups()
            .iter()
            .filter(|g| g["displayName"] == "admins")
            .count()
    };
    assert_eq!(admins(&server), 1);
    // Demoting: this app cannot take a member out; the pair says so, never provisioned.
    access(&env, "ann@example.org", "user");
    assert_eq!(env.provision_run_wait().status.code(), Some(1));
    assert_eq!(env.pair("ann@example.org", "files")["status"], "failed");
    // Bob promoted: the group is found, not made again.
    access(&env, "bob@example.org", "admin");
    env.provision_run_wait();
    assert_eq!(admins(&server), 1, "{:#?}", server.groups());
    assert_eq!(
        env.pair("bob@example.org", "files")["status"],
        "provisioned"
    );
    assert_eq!(server.users().len(), 3, "admin, Bob and Ann, once each");
}

#[tokio::test(flavor = "multi_thread")]
async fn zulip_gets_renames_in_its_full_name_and_no_write_when_unchanged() {
    let server = ScimServer::builder().dialect("zulip").start();
    // People rename themselves in Zulip, so the preset leaves names alone; this admin
    // manages them.
    let env = env_for(
        &server.base_url(),
        server.token(),
        "preset = \"zulip\"\nmanage_names = true",
    );
    env.create_person("ann@example.org", "Ann Lee", &["files=user"]);
    env.create_person("cy@example.org", "Cy Young", &["files=user"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    app_sync(&env);
    let before = writes(&env);
    app_sync(&env);
    assert_eq!(writes(&env), before, "an unchanged app sync writes nothing");

    let out = env.cli(&["user", "update", "ann@example.org", "--name", "Ann Smith"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    let ann = server
        .users()
        .into_iter()
        .find(|u| u["userName"] == "ann@example.org")
        .unwrap();
    assert_eq!(ann["name"]["formatted"], "Ann Smith", "{ann}");
    let before = writes(&env);
    app_sync(&env);
    assert_eq!(writes(&env), before, "and nothing after the rename either");
}

#[tokio::test(flavor = "multi_thread")]
async fn demotion_takes_the_admin_value_out_of_roles() {
    let server = ScimServer::start();
    let env = env_for(
        &server.base_url(),
        server.token(),
        "[apps.scim.roles.admin]\nattribute = \"roles\"\nvalue = \"admin\"",
    );
    env.create_person("ann@example.org", "Ann Lee", &["files=admin"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    let id = scim_id(&env, "ann@example.org");
    let roles = |s: &ScimServer| s.user(&id).unwrap()["roles"].clone();
    assert!(
        roles(&server).to_string().contains("admin"),
        "{}",
        roles(&server)
    );
    access(&env, "ann@example.org", "user");
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_eq!(
        env.pair("ann@example.org", "files")["status"],
        "provisioned"
    );
    assert!(
        !roles(&server).to_string().contains("\"admin\""),
        "no admin value left: {}",
        roles(&server)
    );
}

/// Changes Ann's or Bea's membership of `group` by hand in the app (scim2-server's PATCH).
fn by_hand(server: &ScimServer, group: &str, op: &str, account: &str) {
    let id = server
        .groups()
        .into_iter()
        .find(|g| g["displayName"] == group)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let operation = match op {
        "add" => json!({"op": "add", "path": "members", "value": [{"value": account}]}),
        _ => json!({"op": op, "path": format!("members[value eq \"{account}\"]")}),
    };
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [operation]});
    let (status, answer) = server.request("PATCH", &format!("/Groups/{id}"), Some(&body));
    assert!(status < 300, "{status} {answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_changed_by_hand_in_the_app_are_read_and_repaired() {
    let server = ScimServer::start();
    let env = env_for(
        &server.base_url(),
        server.token(),
        "admin_group = \"admins\"",
    );
    env.create_person("ann@example.org", "Ann Lee", &["files=admin"]);
    env.create_person("bea@example.org", "Bea Ray", &["files=user"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    let (ann, bea) = (
        scim_id(&env, "ann@example.org"),
        scim_id(&env, "bea@example.org"),
    );
    // Someone in the app takes Ann's admin rights away and gives them to Bea.
    by_hand(&server, "admins", "remove", &ann);
    by_hand(&server, "admins", "add", &bea);

    let seen = server.log_lines().len();
    let out = env.cli(&["app", "sync", "files"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    // The pass: one listing and one read of the admin group by its stored id. The two
    // pairs it marked: each account read by its id, the group read once, one PATCH each
    // (add, remove), each confirmed by one read (scim2-server answers PATCH without a body).
    let asked: Vec<(String, usize)> = server.requests_since(seen).into_iter().collect();
    let plan = [
        ("GET /Groups/id", 4),
        ("GET /Users", 1),
        ("GET /Users/id", 2),
        ("PATCH /Groups/id", 2),
    ];
    assert_eq!(
        asked,
        plan.map(|(k, n)| (k.to_owned(), n)).to_vec(),
        "requests"
    );
    let admins = server.group_members("admins");
    assert!(admins.contains(&ann), "Ann is admin again: {admins:?}");
    assert!(!admins.contains(&bea), "Bea is not: {admins:?}");

    // Given admin by hand once more, then revoked: she leaves the group with her access.
    by_hand(&server, "admins", "add", &bea);
    let out = env.cli(&["user", "access", "bea@example.org", "files", "none"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_eq!(server.user(&bea).unwrap()["active"], false);
    assert!(!server.group_members("admins").contains(&bea));

    // A person's Sync now reads the group too.
    by_hand(&server, "admins", "remove", &ann);
    let out = env.cli(&["user", "sync", "ann@example.org", "--app", "files"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(server.group_members("admins").contains(&ann));
}
