//! Real apps' dialects, against the stand-ins in `tests/standins/` (each built on the real
//! scim2-server, each quirk read from the app's own code): presets, roles by group or by
//! attribute, verified writes, and the fewest requests for an unchanged person.

use serde_json::json;

use crate::support::db::sql_i64;
use crate::support::env::{TestEnv, stderr, stdout};
use crate::support::scim_server::ScimServer;
use crate::support::settings::scim_app;

const WRITES: &str = "('create_user', 'replace_user', 'add_member', 'remove_member', 'deactivate_user', 'delete_user', 'create_group')";

fn env_for(server: &ScimServer, extra: &str) -> TestEnv {
    let env = TestEnv::new(&scim_app(
        "files",
        &server.base_url(),
        server.token(),
        extra,
    ));
    env.install("files");
    env
}

/// Requests of `operation` (a list in SQL) that accessboard logged so far.
fn logged(env: &TestEnv, operations: &str) -> i64 {
    sql_i64(
        &env.db_path(),
        &format!("SELECT count(*) FROM provision_log WHERE operation IN {operations}"),
    )
}

/// Marks every pair of the app for a pass, as "Sync now" does, and runs it.
async fn sync_again(env: &TestEnv) {
    let app = env.open().await;
    let slug = accessboard::domain::Slug::parse("files").unwrap();
    app.service.resync_app(&slug).await.unwrap();
    let out = env
        .cli_off_thread(&["provision", "run", "--wait", "--timeout", "60"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn access(env: &TestEnv, email: &str, role: &str) {
    let out = env.cli(&["user", "access", email, "files", role]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn nextcloud_lifecycle_works_and_demotion_fails_with_the_step_by_hand() {
    // As Nextcloud up to 25: a body not sent as application/json is read as empty.
    let server = ScimServer::builder()
        .dialect("nextcloud")
        .arg("--json-only")
        .start();
    // An account made by hand before provisioning, as Nextcloud keeps it (email lowercased).
    server.create_user(json!({"userName": "bob", "displayName": "Bob",
        "emails": [{"value": "bob@example.org", "primary": true}], "active": true}));
    let env = env_for(&server, "preset = \"nextcloud\"");
    env.create_person("Ann@Example.org", "Ann Lee", &["files=user"]);
    env.create_person("bob@example.org", "Bob Stone", &["files=user"]);
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        env.pair("Ann@Example.org", "files")["status"],
        "provisioned"
    );
    assert_eq!(
        server.accounts_with_email("bob@example.org").len(),
        1,
        "bob adopted, not duplicated"
    );
    let ann_id = env.pair("Ann@Example.org", "files")["scim_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!server.group_members("admin").contains(&ann_id));

    // Promote: into Nextcloud's own admin group.
    access(&env, "Ann@Example.org", "admin");
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert!(
        server.group_members("admin").contains(&ann_id),
        "ann is an admin in the app"
    );

    // An unchanged pass writes nothing, though Nextcloud drops externalId on PUT.
    sync_again(&env).await;
    let writes = logged(&env, WRITES);
    sync_again(&env).await;
    assert_eq!(
        logged(&env, WRITES),
        writes,
        "no write for unchanged people"
    );

    // Demote: Nextcloud's SCIM app cannot remove a member. Never a false success.
    access(&env, "Ann@Example.org", "user");
    let out = env.provision_run_wait();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed pair: {}",
        stderr(&out)
    );
    let pair = env.pair("Ann@Example.org", "files");
    assert_eq!(pair["status"], "failed");
    let message = pair["last_message"].as_str().unwrap();
    assert!(
        message.contains("kept") && message.contains("\"admin\""),
        "{message}"
    );
    assert!(
        server.group_members("admin").contains(&ann_id),
        "still admin in the app, and we say so"
    );
    let check = env.cli(&["provision", "check", "--app", "files", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(
        report["wrong_role"].as_array().unwrap().len(),
        1,
        "{}",
        stdout(&check)
    );

    // Revoke a plain user: disabled.
    access(&env, "bob@example.org", "none");
    env.provision_run_wait();
    assert_eq!(
        env.pair("bob@example.org", "files")["status"],
        "deprovisioned"
    );
    assert_eq!(
        server.accounts_with_email("bob@example.org")[0]["active"],
        false
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn zulip_people_are_provisioned_promoted_demoted_and_deactivated() {
    let server = ScimServer::builder().dialect("zulip").start();
    let env = env_for(&server, "preset = \"zulip\"");
    env.create_person("carol@example.org", "Carol Diaz", &["files=user"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    let pair = env.pair("carol@example.org", "files");
    assert_eq!(pair["status"], "provisioned", "{pair}");
    let id = pair["scim_id"].as_str().unwrap().to_owned();
    let role = |server: &ScimServer| server.user(&id).unwrap()["role"].clone();
    assert_eq!(role(&server), "member");

    access(&env, "carol@example.org", "admin");
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_eq!(role(&server), "administrator");

    // An owner made in Zulip by hand stays an owner while her role here stays admin.
    let (status, _) = server.request(
        "PATCH",
        &format!("/Users/{id}"),
        Some(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "role", "value": "owner"}]})),
    );
    assert_eq!(status, 200);
    let out = env.cli(&[
        "user",
        "update",
        "carol@example.org",
        "--name",
        "Carol Díaz",
    ]);
    assert!(out.status.success());
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_eq!(role(&server), "owner");

    access(&env, "carol@example.org", "user");
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_eq!(role(&server), "member", "a role change here overrides");

    access(&env, "carol@example.org", "none");
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_eq!(
        env.pair("carol@example.org", "files")["status"],
        "deprovisioned"
    );
    assert_eq!(server.user(&id).unwrap()["active"], false);
    assert_eq!(
        logged(
            &env,
            "('find_group', 'get_group', 'add_member', 'remove_member', 'create_group', 'delete_user')"
        ),
        0,
        "no group request and no DELETE ever reaches Zulip"
    );
    // The name Carol chose in Zulip is hers (the preset does not manage names).
    assert_eq!(server.user(&id).unwrap()["name"]["formatted"], "Carol Diaz");
}

#[test]
fn roles_by_attribute_set_the_attribute_and_never_touch_groups() {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/standins/schemas/user-with-role.json"
    );
    let server = ScimServer::builder()
        .dialect("generic")
        .arg("--schema")
        .arg(schema)
        .start();
    let env = env_for(
        &server,
        "[apps.scim.roles.admin]\nattribute = \"role\"\nvalue = \"admin\"\n[apps.scim.roles.user]\nattribute = \"role\"\nvalue = \"user\"",
    );
    env.create_person("dan@example.org", "Dan Park", &["files=admin"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    let id = env.pair("dan@example.org", "files")["scim_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(server.user(&id).unwrap()["role"], "admin");
    for (role, value) in [("user", "user"), ("admin", "admin")] {
        access(&env, "dan@example.org", role);
        assert_eq!(env.provision_run_wait().status.code(), Some(0));
        assert_eq!(server.user(&id).unwrap()["role"], value, "after {role}");
    }
    access(&env, "dan@example.org", "none");
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_eq!(server.user(&id).unwrap()["active"], false);
    access(&env, "dan@example.org", "user");
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    let account = server.user(&id).unwrap();
    assert_eq!(
        (account["active"].clone(), account["role"].clone()),
        (json!(true), json!("user"))
    );
    assert_eq!(
        logged(
            &env,
            "('find_group', 'get_group', 'add_member', 'remove_member', 'create_group')"
        ),
        0
    );
}

/// Demotes one admin on a server whose group handling is `switches`, with these app
/// settings; the pair and message.
fn demote_on(switches: &[&str], extra: &str) -> (serde_json::Value, ScimServer, TestEnv) {
    let mut builder = ScimServer::builder().dialect("generic");
    for s in switches {
        builder = builder.arg(s);
    }
    let server = builder.start();
    let env = env_for(&server, &format!("admin_group = \"admins\"\n{extra}"));
    env.create_person("erin@example.org", "Erin Wu", &["files=admin"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    let id = env.pair("erin@example.org", "files")["scim_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(server.group_members("admins"), vec![id.clone()]);
    access(&env, "erin@example.org", "user");
    env.provision_run_wait();
    (env.pair("erin@example.org", "files"), server, env)
}

#[test]
fn removal_by_value_list_is_found_and_remembered() {
    let (pair, server, env) = demote_on(
        &[
            "--member-removal",
            "value-list",
            "--group-put-ignores-members",
        ],
        "",
    );
    assert_eq!(pair["status"], "provisioned", "{pair}");
    assert!(server.group_members("admins").is_empty());
    let stored = sql_i64(
        &env.db_path(),
        "SELECT count(*) FROM meta WHERE key = 'dialect:files' AND value LIKE '%value_list%'",
    );
    assert_eq!(stored, 1, "the form that works is stored for the app");
}

#[test]
fn removal_by_filter_path_works_where_put_ignores_members() {
    let (pair, server, _env) = demote_on(
        &[
            "--member-removal",
            "filter-path",
            "--group-put-ignores-members",
        ],
        "",
    );
    assert_eq!(pair["status"], "provisioned", "{pair}");
    assert!(server.group_members("admins").is_empty());
}

#[test]
fn a_server_that_takes_no_removal_gets_a_failed_pair_never_a_false_success() {
    let refusing = ["--member-removal", "none", "--group-put-ignores-members"];
    let (pair, server, _env) = demote_on(&refusing, "");
    assert_eq!(pair["status"], "failed", "{pair}");
    let message = pair["last_message"].as_str().unwrap();
    assert!(
        message.contains("kept erin@example.org in group \"admins\" after PATCH and PUT"),
        "{message}"
    );
    assert!(
        message.starts_with("PUT /Groups/"),
        "the last sent: {message}"
    );
    assert_eq!(server.group_members("admins").len(), 1);

    // Without PATCH only a PUT goes out, and the message names only it.
    let (pair, server, _env) = demote_on(&refusing, "patch = false");
    let message = pair["last_message"].as_str().unwrap();
    assert!(message.starts_with("PUT /Groups/"), "{message}");
    assert!(
        message.ends_with("in group \"admins\" after PUT"),
        "{message}"
    );
    assert!(!server.log().contains("\"PATCH "), "no PATCH was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_without_external_id_and_with_lowercased_user_names_costs_no_write_when_unchanged() {
    let server = ScimServer::builder()
        .dialect("generic")
        .arg("--no-external-id")
        .arg("--lowercase-username")
        .start();
    let env = env_for(&server, "");
    env.create_person("Fay.Lin@Example.org", "Fay Lin", &["files=user"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    sync_again(&env).await;
    let writes = logged(&env, WRITES);
    sync_again(&env).await;
    assert_eq!(
        logged(&env, WRITES),
        writes,
        "the second pass of an unchanged pair writes nothing"
    );
    assert_eq!(server.users().len(), 1);
}

#[test]
fn app_test_says_what_works_and_exits_by_it() {
    let good = ScimServer::start();
    let env = env_for(&good, "admin_group = \"admins\"");
    let out = env.cli(&["app", "test", "files"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("can be provisioned"),
        "{}",
        stdout(&out)
    );
    assert_eq!(good.users().len(), 0, "app test never writes");
    assert_eq!(good.groups().len(), 0);

    let wrong_token = TestEnv::new(&scim_app("files", &good.base_url(), "not-the-token", ""));
    let out = wrong_token.cli(&["app", "test", "files"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("refused the credentials"),
        "{}",
        stdout(&out)
    );

    let port = crate::support::net::free_port();
    let nowhere = TestEnv::new(&scim_app(
        "files",
        &format!("http://127.0.0.1:{port}"),
        "t",
        "",
    ));
    let out = nowhere.cli(&["app", "test", "files", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["usable"], false);
    assert_eq!(report["checks"][0]["ok"], false);

    // Zulip has no Group resource; a group mapping cannot work there.
    let zulip = ScimServer::builder().dialect("zulip").start();
    let env = TestEnv::new(&scim_app(
        "files",
        &zulip.base_url(),
        zulip.token(),
        "admin_group = \"admins\"",
    ));
    let out = env.cli(&["app", "test", "files"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("FAIL group"), "{}", stdout(&out));
    assert_eq!(env.cli(&["app", "test", "nope"]).status.code(), Some(2));
}
