//! Provisioning at the app's pace: requests counted at the app (scim2-server's access
//! log), one listing per batch, one admin group however many workers, changes made by
//! hand seen by the next pass, and a hanging app held to its own `max_concurrency`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use crate::support::env::{TestEnv, stderr};
use crate::support::scim_server::ScimServer;
use crate::support::settings::scim_app;

fn plan(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

fn run(env: &TestEnv, args: &[&str]) {
    let out = env.cli(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
}

fn env_for(server: &ScimServer) -> TestEnv {
    let env = TestEnv::new(&scim_app(
        "files",
        &server.base_url(),
        server.token(),
        "admin_group = \"admins\"",
    ));
    env.install("files");
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn each_step_costs_the_fewest_requests_with_filter_and_patch() {
    let server = ScimServer::start();
    let env = env_for(&server);
    let seen = server.log_lines().len();
    env.create_person("ann@example.org", "Ann Lee", &["files=user"]);
    run(&env, &["provision", "run", "--wait"]);
    // The first person of a new app: the filter's empty answer is not proved yet, so a
    // listing confirms it; once made, the account proves each lookup filter (three).
    // Not an admin, so no group request at all.
    assert_eq!(
        server.requests_since(seen),
        plan(&[
            ("GET /Users?filter", 4),
            ("GET /Users", 1),
            ("POST /Users", 1)
        ])
    );
    // From then on: one lookup, one create.
    let seen = server.log_lines().len();
    env.create_person("bo@example.org", "Bo Ek", &["files=user"]);
    run(&env, &["provision", "run", "--wait"]);
    assert_eq!(
        server.requests_since(seen),
        plan(&[("GET /Users?filter", 1), ("POST /Users", 1)])
    );

    let seen = server.log_lines().len();
    run(&env, &["app", "sync", "files", "--wait"]);
    // The admin group's members are read too (roles are read, not remembered): it does
    // not exist yet and its filter is unproved, so the empty answer is confirmed by a
    // listing of the groups.
    assert_eq!(
        server.requests_since(seen),
        plan(&[
            ("GET /Users", 1),
            ("GET /Groups?filter", 1),
            ("GET /Groups", 1)
        ]),
        "unchanged: one listing, the admin group read, no write"
    );

    let seen = server.log_lines().len();
    run(
        &env,
        &["user", "access", "ann@example.org", "files", "admin"],
    );
    run(&env, &["provision", "run", "--wait"]);
    // The account read by its id, the group looked for (the filter's empty answer
    // confirmed by a listing, since it is not proved yet) and made with Ann in it (the
    // answer lists her: confirmed without another read); the made group proves the filter.
    assert_eq!(
        server.requests_since(seen),
        plan(&[
            ("GET /Users/id", 1),
            ("GET /Groups?filter", 2),
            ("GET /Groups", 1),
            ("POST /Groups", 1),
        ])
    );
    assert_eq!(server.group_members("admins").len(), 1);

    let seen = server.log_lines().len();
    run(
        &env,
        &["user", "access", "ann@example.org", "files", "none"],
    );
    run(&env, &["provision", "run", "--wait"]);
    // Disabled with one PATCH, taken out of the group with one more; scim2-server
    // answers both without the resource, so each is confirmed by one read. The group,
    // known by its stored id, is read first: a revocation leaves it as the app holds it.
    assert_eq!(
        server.requests_since(seen),
        plan(&[
            ("GET /Users/id", 2),
            ("PATCH /Users/id", 1),
            ("PATCH /Groups/id", 1),
            ("GET /Groups/id", 2),
        ])
    );
    assert!(server.group_members("admins").is_empty());

    let seen = server.log_lines().len();
    run(&env, &["app", "sync", "files", "--wait"]);
    // The group is read by its stored id.
    assert_eq!(
        server.requests_since(seen),
        plan(&[("GET /Users", 1), ("GET /Groups/id", 1)]),
        "a disabled account as wanted: one listing, one read of the group, no write"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_filter_or_patch_a_batch_lists_once_instead_of_once_per_person() {
    // Pages of two, no filter, no PATCH: the common library the issue measured.
    let server = ScimServer::start_bare();
    let env = env_for(&server);
    for i in 0..6 {
        env.create_person(
            &format!("p{i}@example.org"),
            &format!("P {i}"),
            &["files=user"],
        );
    }
    let seen = server.log_lines().len();
    run(&env, &["provision", "run", "--wait"]);
    let made = server.requests_since(seen);
    assert_eq!(made.get("POST /Users"), Some(&6), "{made:?}");
    // One listing of an empty app is one page; a lookup each would be six.
    assert_eq!(made.get("GET /Users"), Some(&1), "{made:?}");
    assert_eq!(server.users().len(), 6);

    let seen = server.log_lines().len();
    run(&env, &["app", "sync", "files", "--wait"]);
    assert_eq!(
        server.requests_since(seen),
        plan(&[("GET /Users", 3), ("GET /Groups", 1)]),
        "six accounts in pages of two, the admin group read, nothing written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_new_admins_at_once_end_in_one_group_holding_all() {
    let server = ScimServer::start();
    let env = env_for(&server);
    env.import(
        "email,name,files",
        (0..100).map(|i| format!("a{i}@example.org,Admin {i},admin")),
    );
    let seen = server.log_lines().len();
    run(&env, &["provision", "run", "--wait"]);
    let groups = server.groups();
    assert_eq!(groups.len(), 1, "{groups:#?}");
    assert_eq!(server.group_members("admins").len(), 100);
    let made = server.requests_since(seen);
    let group_requests: usize = made
        .iter()
        .filter(|(k, _)| k.contains("/Groups"))
        .map(|(_, n)| n)
        .sum();
    assert!(group_requests <= 10, "{made:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_changed_by_hand_between_two_passes_are_seen() {
    let server = ScimServer::start();
    let env = env_for(&server);
    for i in 0..5 {
        env.create_person(
            &format!("h{i}@example.org"),
            &format!("H {i}"),
            &["files=user"],
        );
    }
    run(&env, &["provision", "run", "--wait"]);
    // By hand in the app: one account deleted, one renamed, one disabled.
    let id = |email: &str| {
        env.pair(email, "files")["scim_id"]
            .as_str()
            .expect("scim id")
            .to_owned()
    };
    server.delete_user(&id("h0@example.org"));
    let mut renamed = server.user(&id("h1@example.org")).expect("h1");
    renamed["displayName"] = json!("Someone Else");
    server.replace_user(&id("h1@example.org"), &renamed);
    let mut disabled = server.user(&id("h2@example.org")).expect("h2");
    disabled["active"] = json!(false);
    server.replace_user(&id("h2@example.org"), &disabled);

    run(&env, &["app", "sync", "files", "--wait"]);
    assert_eq!(server.accounts_with_email("h0@example.org").len(), 1);
    assert_eq!(
        server.user(&id("h1@example.org")).expect("h1")["displayName"],
        "H 1"
    );
    assert_eq!(
        server.user(&id("h2@example.org")).expect("h2")["active"],
        true
    );
    assert_eq!(server.users().len(), 5);
}

/// Accepts connections and never answers; the most requests it held at once. Only
/// requests under its own random path count: another test may connect to a port it
/// once found free and that this listener then got.
async fn hanging_app() -> (String, Arc<AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let prefix = format!("/hang-{}", uuid::Uuid::new_v4().simple());
    let url = format!("http://{}{prefix}", listener.local_addr().expect("addr"));
    let most = Arc::new(AtomicUsize::new(0));
    let open = Arc::new(AtomicUsize::new(0));
    let report = most.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (open, most, prefix) = (open.clone(), most.clone(), prefix.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let ours = match socket.read(&mut buf).await {
                    Ok(n) => String::from_utf8_lossy(&buf[..n]).contains(&prefix),
                    Err(_) => false,
                };
                if !ours {
                    return;
                }
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Held until the client gives up (timeout, or its process ended).
                while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (url, report)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_app_holds_no_more_than_its_max_concurrency_and_the_other_app_finishes() {
    let (hang_url, held) = hanging_app().await;
    let server = ScimServer::start();
    let apps = format!(
        "{}{}",
        scim_app("files", &server.base_url(), server.token(), ""),
        scim_app("chat", &hang_url, "t", "max_concurrency = 2"),
    );
    let env = TestEnv::with_provisioning(&apps, "request_timeout_secs = 120");
    env.install("files");
    env.install("chat");
    env.import(
        "email,name,files,chat",
        (0..500).map(|i| format!("u{i}@example.org,User {i},user,user")),
    );
    let out = env
        .cli_off_thread(&["provision", "run", "--wait", "--timeout", "60"])
        .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "chat never answers: {}",
        stderr(&out)
    );
    let files = env.pair_counts("files");
    assert_eq!(files.get("provisioned"), Some(&500), "{files:?}");
    assert!(
        held.load(Ordering::SeqCst) <= 2,
        "the hanging app held {} requests at once",
        held.load(Ordering::SeqCst)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_refusing_joined_filters_gets_one_key_per_request_from_then_on() {
    let server = ScimServer::builder()
        .dialect("generic")
        .arg("--single-comparison-filters")
        .start();
    // Made by hand before provisioning: found by email, adopted, not duplicated.
    server.create_user(json!({"userName": "bob", "active": true,
        "emails": [{"value": "bob@example.org", "primary": true}]}));
    let env = env_for(&server);
    env.create_person("ann@example.org", "Ann Lee", &["files=user"]);
    env.create_person("bob@example.org", "Bob Stone", &["files=user"]);
    run(&env, &["provision", "run", "--wait"]);
    assert_eq!(server.accounts_with_email("ann@example.org").len(), 1);
    assert_eq!(server.accounts_with_email("bob@example.org").len(), 1);

    // Remembered across processes: the next person is never sent a joined filter.
    let seen = server.log_lines().len();
    env.create_person("carl@example.org", "Carl Berg", &["files=user"]);
    run(&env, &["provision", "run", "--wait"]);
    let lines = server.log_lines();
    assert!(
        lines.iter().skip(seen).all(|l| !l.contains("\" 400 ")),
        "{lines:#?}"
    );
    assert_eq!(
        server.requests_since(seen),
        plan(&[("GET /Users?filter", 3), ("POST /Users", 1)]),
        "externalId, userName and email asked one by one, then the create"
    );
}
