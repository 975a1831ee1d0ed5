//! The real Django SCIM servers of `tests/support/real_apps.rs` start and answer through the
//! same `ScimServer` helpers as scim2-server: readiness, bearer auth, a create and a read,
//! and the access log the request counters read. What accessboard does against them is
//! tested elsewhere; what they keep and drop is in `tests/standins/README.md`.

use serde_json::json;

use crate::support::env::{TestEnv, stderr, stdout};
use crate::support::real_apps::APPS;
use crate::support::scim_server::ScimServer;

fn smoke(app: &str) {
    let server = ScimServer::builder().real(app).start();
    assert!(
        server.base_url().ends_with("/scim/v2"),
        "{app}: {}",
        server.base_url()
    );

    // Ready (start() waited for it), and SCIM under the base path with the token.
    let (status, config) = server.request("GET", "/ServiceProviderConfig", None);
    assert_eq!(status, 200, "{app}: {config}");
    assert_eq!(config["patch"]["supported"], true, "{app}: {config}");

    let created = server.create_user(json!({
        "userName": "ada@example.org",
        "externalId": "ab-1",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "ada@example.org", "primary": true}],
        "active": true
    }));
    let id = created["id"].as_str().expect("an id").to_owned();
    let (status, read) = server.request("GET", &format!("/Users/{id}"), None);
    assert_eq!(status, 200, "{app}: {read}");
    assert_eq!(read["userName"], "ada@example.org", "{app}: {read}");
    assert_eq!(read["externalId"], "ab-1", "{app}: {read}");
    assert_eq!(read["name"]["familyName"], "Lovelace", "{app}: {read}");
    assert_eq!(
        server.users().len(),
        1,
        "{app}: the token's client is no account"
    );

    // The same counters as for scim2-server.
    let seen = server.requests_since(0);
    assert_eq!(seen.get("POST /Users"), Some(&1), "{app}: {seen:?}");
    assert_eq!(seen.get("GET /Users/id"), Some(&1), "{app}: {seen:?}");
    assert_eq!(server.account_writes_since(0), 0, "{app}");
}

#[test]
fn django_scim2_starts_creates_and_reads() {
    smoke(APPS[0]);
}

#[test]
fn django_scim2_server_starts_creates_and_reads() {
    smoke(APPS[1]);
}

/// What one lifecycle measured, for `docs/compatibility.md`.
struct Figures {
    requests_per_new_person: usize,
    writes_of_unchanged_sync: usize,
}

fn cli_ok(env: &TestEnv, args: &[&str]) {
    let out = env.cli(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
}

fn run(env: &TestEnv) {
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn id_of(env: &TestEnv, email: &str) -> String {
    let pair = env.pair(email, "files");
    assert_eq!(pair["status"], "provisioned", "{pair}");
    pair["scim_id"].as_str().unwrap().to_owned()
}

/// The name as the app holds it, in whichever form it keeps.
fn held_name(server: &ScimServer, id: &str) -> String {
    let user = server.user(id).unwrap();
    let name = &user["name"];
    match name["formatted"].as_str() {
        Some(f) if !f.is_empty() => f.to_owned(),
        _ => format!(
            "{} {}",
            name["givenName"].as_str().unwrap_or_default(),
            name["familyName"].as_str().unwrap_or_default()
        ),
    }
}

/// The whole lifecycle with generic settings and an admin group: a hand-made account
/// adopted, create, rename, promote, demote, an unchanged sync, revoke, re-grant, app test.
fn lifecycle(server: &ScimServer) -> Figures {
    server.create_user(json!({"userName": "bob", "active": true,
        "name": {"givenName": "Bob", "familyName": "Stone"},
        "emails": [{"value": "bob@example.org", "primary": true}]}));
    let env = TestEnv::installed(
        "files",
        &server.base_url(),
        server.token(),
        "admin_group = \"admins\"",
    );
    cli_ok(&env, &["app", "test", "files"]);
    env.create_person("bob@example.org", "Bob Stone", &["files=user"]);
    env.create_person("ann@example.org", "Ann Lee", &["files=user"]);
    run(&env);
    assert_eq!(
        server.accounts_with_email("bob@example.org").len(),
        1,
        "Bob's own account adopted"
    );
    let ann = id_of(&env, "ann@example.org");

    let seen = server.log_lines().len();
    env.create_person("cy@example.org", "Cy Young", &["files=user"]);
    run(&env);
    let requests_per_new_person = server.requests_since(seen).values().sum();

    cli_ok(
        &env,
        &["user", "update", "ann@example.org", "--name", "Ann Smith"],
    );
    run(&env);
    assert_eq!(held_name(server, &ann), "Ann Smith", "the rename arrived");

    cli_ok(
        &env,
        &["user", "access", "ann@example.org", "files", "admin"],
    );
    run(&env);
    assert!(server.group_members("admins").contains(&ann), "promoted");
    cli_ok(
        &env,
        &["user", "access", "ann@example.org", "files", "user"],
    );
    run(&env);
    assert_eq!(
        env.pair("ann@example.org", "files")["status"],
        "provisioned"
    );
    assert!(!server.group_members("admins").contains(&ann), "demoted");

    cli_ok(&env, &["app", "sync", "files", "--wait"]);
    let seen = server.log_lines().len();
    cli_ok(&env, &["app", "sync", "files", "--wait"]);
    let writes_of_unchanged_sync = server
        .requests_since(seen)
        .iter()
        .filter(|(k, _)| !k.starts_with("GET"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        writes_of_unchanged_sync, 0,
        "an unchanged app sync writes nothing"
    );

    cli_ok(
        &env,
        &["user", "access", "ann@example.org", "files", "none"],
    );
    run(&env);
    assert_eq!(server.user(&ann).unwrap()["active"], false, "revoked");
    cli_ok(
        &env,
        &["user", "access", "ann@example.org", "files", "user"],
    );
    run(&env);
    assert_eq!(server.user(&ann).unwrap()["active"], true, "access back");
    assert_eq!(id_of(&env, "ann@example.org"), ann, "the same account");
    assert_eq!(server.users().len(), 3, "Bob, Ann and Cy, once each");
    Figures {
        requests_per_new_person,
        writes_of_unchanged_sync,
    }
}

#[test]
fn the_whole_lifecycle_holds_on_scim2_server() {
    let figures = lifecycle(&ScimServer::start());
    eprintln!(
        "scim2-server: {} requests per new person, {} writes in an unchanged app sync",
        figures.requests_per_new_person, figures.writes_of_unchanged_sync
    );
}

#[test]
fn the_whole_lifecycle_holds_on_django_scim2() {
    let figures = lifecycle(&ScimServer::builder().real("django-scim2").start());
    eprintln!(
        "django-scim2: {} requests per new person, {} writes in an unchanged app sync",
        figures.requests_per_new_person, figures.writes_of_unchanged_sync
    );
}

#[test]
fn the_whole_lifecycle_holds_on_django_scim2_server() {
    let figures = lifecycle(&ScimServer::builder().real("django-scim2-server").start());
    eprintln!(
        "django-scim2-server: {} requests per new person, {} writes in an unchanged app sync",
        figures.requests_per_new_person, figures.writes_of_unchanged_sync
    );
}

#[test]
fn a_delete_on_django_scim2_server_is_read_back_and_called_a_deactivation() {
    let server = ScimServer::builder().real("django-scim2-server").start();
    let env = TestEnv::installed(
        "files",
        &server.base_url(),
        server.token(),
        "on_deprovision = \"delete\"",
    );
    env.create_person("ann@example.org", "Ann Lee", &["files=user"]);
    run(&env);
    let ann = id_of(&env, "ann@example.org");
    cli_ok(
        &env,
        &["user", "access", "ann@example.org", "files", "none"],
    );
    run(&env);
    let pair = env.pair("ann@example.org", "files");
    assert_eq!(pair["status"], "deprovisioned", "{pair}");
    let message = pair["last_message"].as_str().unwrap();
    assert!(message.contains("only deactivated"), "{message}");
    assert_eq!(server.user(&ann).unwrap()["active"], false);
    // `app test` says which deletion the app really does.
    let out = env.cli(&["app", "test", "files"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("warn deletion") && stdout(&out).contains("only deactivates"),
        "{}",
        stdout(&out)
    );
}
