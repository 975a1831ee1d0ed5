//! `[apps.scim] push_groups` against scim2-server: a granted group provisions its members
//! and exists in the app with them; leaving it revokes (without another grant) and takes
//! the account out; a rename renames it there; deleting deletes ours and never a group
//! of the same name made by hand.

use crate::support::env::{TestEnv, stderr, stdout};
use crate::support::scim_server::ScimServer;
use crate::support::settings::scim_app;

fn run(env: &TestEnv, args: &[&str]) -> String {
    let out = env.cli(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn env_for(server: &ScimServer, extra: &str) -> TestEnv {
    let env = TestEnv::new(&scim_app(
        "files",
        &server.base_url(),
        server.token(),
        &format!("push_groups = true\n{extra}"),
    ));
    env.install("files");
    env
}

fn account_id(server: &ScimServer, email: &str) -> String {
    server.accounts_with_email(email)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn active(server: &ScimServer, email: &str) -> bool {
    server.accounts_with_email(email)[0]["active"] != false
}

fn group_names(server: &ScimServer) -> Vec<String> {
    let mut names: Vec<String> = server
        .groups()
        .iter()
        .filter_map(|g| g["displayName"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_group_provisions_its_members_and_follows_each_change() {
    let server = ScimServer::start();
    let env = env_for(&server, "group_prefix = \"ab-\"");
    env.create_person("ann@example.org", "Ann", &[]);
    env.create_person("bob@example.org", "Bob", &["files=user"]);
    env.create_person("cy@example.org", "Cy", &[]);
    run(&env, &["group", "create", "Design"]);
    run(
        &env,
        &[
            "group",
            "add",
            "design",
            "ann@example.org",
            "bob@example.org",
        ],
    );
    run(&env, &["group", "grant", "design", "files", "user"]);
    run(&env, &["provision", "run", "--wait"]);

    assert!(
        active(&server, "ann@example.org"),
        "granted through the group"
    );
    assert!(server.accounts_with_email("cy@example.org").is_empty());
    let mut members = server.group_members("ab-Design");
    members.sort();
    let mut want = vec![
        account_id(&server, "ann@example.org"),
        account_id(&server, "bob@example.org"),
    ];
    want.sort();
    assert_eq!(members, want, "the pushed group holds exactly its members");

    // Ann leaves: no other grant, so her account is disabled and out of the group;
    // Bob leaves too but keeps his own access, and only leaves the group.
    run(
        &env,
        &[
            "group",
            "remove",
            "design",
            "ann@example.org",
            "bob@example.org",
        ],
    );
    run(&env, &["provision", "run", "--wait"]);
    assert!(!active(&server, "ann@example.org"));
    assert!(active(&server, "bob@example.org"));
    assert!(server.group_members("ab-Design").is_empty());

    // Renaming renames the group in the app (the same group, not a new one).
    run(&env, &["group", "add", "design", "cy@example.org"]);
    run(&env, &["provision", "run", "--wait"]);
    let before = server.groups().len();
    run(&env, &["group", "rename", "design", "Studio"]);
    run(&env, &["provision", "run", "--wait"]);
    assert_eq!(group_names(&server), ["ab-Studio"]);
    assert_eq!(server.groups().len(), before);
    assert_eq!(
        server.group_members("ab-Studio"),
        [account_id(&server, "cy@example.org")]
    );

    let status: serde_json::Value = serde_json::from_str(&run(
        &env,
        &["provision", "status", "--json", "--user", "cy@example.org"],
    ))
    .unwrap();
    assert_eq!(status[0]["status"], "provisioned", "{status}");
    assert_eq!(status[0]["via"], serde_json::json!(["Studio"]));

    // Deleting the group revokes Cy and deletes the group it made.
    run(&env, &["group", "delete", "studio"]);
    run(&env, &["provision", "run", "--wait"]);
    assert!(!active(&server, "cy@example.org"));
    assert!(group_names(&server).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_made_by_hand_with_the_same_name_is_never_used_nor_deleted() {
    let server = ScimServer::start();
    let env = env_for(&server, "");
    let hand = server.create_group("Board", &[]);
    env.create_person("ann@example.org", "Ann", &[]);
    run(&env, &["group", "create", "Board"]);
    run(&env, &["group", "add", "board", "ann@example.org"]);
    run(&env, &["group", "grant", "board", "files", "user"]);
    let out = env.cli(&["provision", "run", "--wait"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the pair fails: {}",
        stderr(&out)
    );
    let status: serde_json::Value =
        serde_json::from_str(&run(&env, &["provision", "status", "--json"])).unwrap();
    let message = status[0]["last_message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("did not create") && message.contains("group_prefix"),
        "{message}"
    );
    assert!(
        server.group_members("Board").is_empty(),
        "nothing adopted silently"
    );

    run(&env, &["group", "delete", "board"]);
    run(&env, &["provision", "run", "--wait"]);
    let left: Vec<serde_json::Value> = server
        .groups()
        .into_iter()
        .filter(|g| g["id"] == hand["id"])
        .collect();
    assert_eq!(left.len(), 1, "the hand-made group is still there");
}

#[tokio::test(flavor = "multi_thread")]
async fn push_groups_on_an_app_without_groups_is_refused_by_app_test_and_install() {
    // The Zulip stand-in has no Group resource.
    let zulip = ScimServer::builder().dialect("zulip").start();
    let env = TestEnv::new(&scim_app(
        "chat",
        &zulip.base_url(),
        zulip.token(),
        "preset = \"zulip\"\npush_groups = true",
    ));
    let out = env.cli(&["app", "test", "chat"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("push_groups"), "{}", stdout(&out));
    let out = env.cli(&["app", "install", "chat"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("push_groups cannot be used: the app has no Group resource"),
        "{}",
        stderr(&out)
    );
    let apps: serde_json::Value =
        serde_json::from_str(&run(&env, &["app", "list", "--json"])).unwrap();
    assert_eq!(apps[0]["installed"], false, "nothing installed");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_nextcloud_a_member_leaving_a_pushed_group_fails_with_what_the_app_kept() {
    // As Nextcloud up to 25: its SCIM groups only grow, and bodies must be JSON.
    let server = ScimServer::builder()
        .dialect("nextcloud")
        .arg("--json-only")
        .start();
    let env = env_for(&server, "preset = \"nextcloud\"");
    env.create_person("ann@example.org", "Ann", &["files=user"]);
    run(&env, &["group", "create", "Design"]);
    run(&env, &["group", "add", "design", "ann@example.org"]);
    run(&env, &["group", "grant", "design", "files", "user"]);
    run(&env, &["provision", "run", "--wait"]);
    let ann = account_id(&server, "ann@example.org");
    assert_eq!(server.group_members("Design"), std::slice::from_ref(&ann));

    run(&env, &["group", "remove", "design", "ann@example.org"]);
    let out = env.cli(&["provision", "run", "--wait"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed pair: {}",
        stderr(&out)
    );
    let status: serde_json::Value =
        serde_json::from_str(&run(&env, &["provision", "status", "--json"])).unwrap();
    assert_eq!(status[0]["status"], "failed");
    let message = status[0]["last_message"].as_str().unwrap();
    assert!(
        message.contains("kept") && message.contains("\"Design\""),
        "{message}"
    );
    assert_eq!(
        server.group_members("Design"),
        [ann],
        "never a false success"
    );
}

/// An app that made our group `Design` (prefixed `ab-`) for Ann, but whose answer never
/// reached accessboard (serve killed while waiting): the group holds our externalId, and
/// no id of it is stored here. Answers the group's id in the app.
fn lost_create(server: &ScimServer, env: &TestEnv) -> serde_json::Value {
    env.create_person("ann@example.org", "Ann", &[]);
    run(env, &["group", "create", "Design"]);
    run(env, &["group", "add", "design", "ann@example.org"]);
    let shown: serde_json::Value =
        serde_json::from_str(&run(env, &["group", "show", "design", "--json"])).unwrap();
    let (status, lost) = server.request(
        "POST",
        "/Groups",
        Some(&serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "ab-Design", "externalId": shown["id"]})),
    );
    assert_eq!(status, 201, "{lost}");
    run(env, &["group", "grant", "design", "files", "user"]);
    lost["id"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_whose_create_answer_was_lost_is_found_by_our_external_id() {
    let server = ScimServer::start();
    let env = env_for(&server, "group_prefix = \"ab-\"");
    let lost = lost_create(&server, &env);
    run(&env, &["provision", "run", "--wait"]);
    assert_eq!(group_names(&server), ["ab-Design"], "no second group");
    assert_eq!(server.groups()[0]["id"], lost, "the one the app made");
    assert_eq!(
        server.group_members("ab-Design"),
        [account_id(&server, "ann@example.org")]
    );

    run(&env, &["group", "rename", "design", "Studio"]);
    run(&env, &["provision", "run", "--wait"]);
    assert_eq!(
        group_names(&server),
        ["ab-Studio"],
        "renamed, not made again"
    );
    assert_eq!(server.groups()[0]["id"], lost);

    run(&env, &["group", "delete", "studio"]);
    run(&env, &["provision", "run", "--wait"]);
    assert!(group_names(&server).is_empty(), "deleted with ours");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_renamed_here_before_its_lost_create_was_found_is_renamed_there() {
    let server = ScimServer::start();
    let env = env_for(&server, "group_prefix = \"ab-\"");
    let lost = lost_create(&server, &env);
    run(&env, &["group", "rename", "design", "Studio"]);
    run(&env, &["provision", "run", "--wait"]);
    assert_eq!(group_names(&server), ["ab-Studio"], "one group, renamed");
    assert_eq!(server.groups()[0]["id"], lost);
    assert_eq!(
        server.group_members("ab-Studio"),
        [account_id(&server, "ann@example.org")]
    );
}
