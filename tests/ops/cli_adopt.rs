//! `app adopt`: a reviewed discovery plan applied through the command line against a real
//! scim2-server, each decision read back at the app.

use serde_json::{Value, json};

use crate::support::env::{TestEnv, ok, stderr, stdout};
use crate::support::scim_server::ScimServer;

const GONE: &str = "5c3d2e1f-0000-4000-8000-000000000000";

fn account(server: &ScimServer, user_name: &str, email: Option<&str>, ext: Option<&str>) -> String {
    let mut user = json!({"userName": user_name, "active": true,
        "name": {"givenName": user_name, "familyName": "Hand", "formatted": format!("{user_name} Hand")}});
    if let Some(e) = email {
        user["emails"] = json!([{"value": e, "primary": true}]);
    }
    if let Some(x) = ext {
        user["externalId"] = json!(x);
    }
    server.create_user(user)["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

fn plan_file(env: &TestEnv, edit: impl FnOnce(&mut Value)) -> String {
    let out = env.cli(&["app", "discover", "files", "--json"]);
    ok(&out, "app discover --json");
    let mut plan: Value = serde_json::from_slice(&out.stdout).expect("the plan");
    edit(&mut plan);
    let path = env.db_path().with_file_name("plan.json");
    std::fs::write(&path, plan.to_string()).expect("write the plan");
    path.to_str().expect("utf-8").to_owned()
}

fn decide(plan: &mut Value, user_name: &str, decision: Value) {
    let a = plan["accounts"]
        .as_array_mut()
        .expect("accounts")
        .iter_mut()
        .find(|a| a["user_name"] == user_name)
        .expect("listed");
    a["decision"] = decision;
}

#[test]
fn a_reviewed_plan_does_what_it_says_at_the_app_once() {
    let server = ScimServer::start();
    let bob = account(&server, "bob", Some("Bob@Example.org"), None);
    let zed = account(&server, "zed", Some("zed@example.org"), None);
    let dee = account(&server, "dee", Some("dee@example.org"), Some(GONE));
    let kim = account(&server, "kim", None, None);
    let ivy = account(&server, "ivy", Some("ivy@example.org"), None);
    let env = TestEnv::installed("files", &server.base_url(), server.token(), "");
    env.create_person("bob@example.org", "Bob Stone", &[]);
    let plan = plan_file(&env, |p| {
        decide(p, "kim", json!({"action": "import", "role": "user"}));
        decide(p, "ivy", json!({"action": "leave"}));
    });

    let seen = server.log_lines().len();
    let out = env.cli(&["app", "adopt", "files", &plan, "--dry-run"]);
    ok(&out, "app adopt --dry-run");
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "2 people will be created, 1 linked, 1 account disabled in App files, 1 left unmanaged"
        ),
        "{text}"
    );
    assert_eq!(
        server.account_writes_since(seen),
        0,
        "a dry run writes nothing"
    );

    let out = env.cli(&["app", "adopt", "files", &plan]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "kim is refused: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(
        text.contains(
            "1 person created, 1 linked, 1 account disabled in App files, 1 left unmanaged"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("refused: account {kim} (kim): no valid email")),
        "{text}"
    );
    ok(&env.provision_run_wait(), "provision run");

    // Read back at the app: each decision did what it said, and nothing more.
    let bob_pair = env.pair("bob@example.org", "files");
    assert_eq!(bob_pair["status"], "provisioned", "{bob_pair}");
    assert_eq!(
        bob_pair["scim_id"],
        bob.as_str(),
        "linked to his own account"
    );
    assert_eq!(
        server.user(&bob).expect("bob")["externalId"],
        bob_pair["user_id"]
    );
    let zed_pair = env.pair("zed@example.org", "files");
    assert_eq!(zed_pair["status"], "provisioned", "{zed_pair}");
    assert_eq!(
        zed_pair["scim_id"],
        zed.as_str(),
        "imported onto its account"
    );
    assert_eq!(
        server.user(&dee).expect("dee")["active"],
        false,
        "left behind: disabled"
    );
    assert_eq!(
        server.user(&ivy).expect("ivy")["active"],
        true,
        "left alone"
    );
    assert_eq!(
        server.user(&kim).expect("kim")["active"],
        true,
        "refused: untouched"
    );
    assert_eq!(server.users().len(), 5, "no account was made");

    // The same plan again does nothing.
    let seen = server.log_lines().len();
    let out = env.cli(&["app", "adopt", "files", &plan]);
    ok(&out, "app adopt again");
    assert!(stdout(&out).contains("applied already"), "{}", stdout(&out));
    ok(&env.provision_run_wait(), "provision run");
    assert_eq!(server.account_writes_since(seen), 0);

    // A plan made before a change here is refused in one line.
    let stale = plan_file(&env, |_| {});
    env.create_person("amy@example.org", "Amy Pond", &[]);
    let out = env.cli(&["app", "adopt", "files", &stale]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("older than the state of App files here"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_revocation_guard_holds_a_large_disable_wave_unless_forced() {
    let server = ScimServer::start();
    let gone: Vec<String> = (0..3)
        .map(|i| {
            let ext = format!("5c3d2e1f-0000-4000-8000-00000000000{i}");
            account(&server, &format!("gone{i}"), None, Some(&ext))
        })
        .collect();
    account(&server, "stay", Some("stay@example.org"), None);
    let env = TestEnv::build(|s| {
        s.provisioning("revoke_guard_min", "2")
            .apps(&crate::support::settings::scim_app(
                "files",
                &server.base_url(),
                server.token(),
                "",
            ))
    });
    env.install("files");
    let plan = plan_file(&env, |_| {});
    let out = env.cli(&["app", "adopt", "files", &plan]);
    ok(&out, "app adopt");
    assert!(
        stdout(&out).contains("guard held 3 disables"),
        "{}",
        stdout(&out)
    );
    assert!(
        gone.iter()
            .all(|id| server.user(id).expect("listed")["active"] == true)
    );

    let plan = plan_file(&env, |_| {});
    let out = env.cli(&["app", "adopt", "files", &plan, "--force"]);
    ok(&out, "app adopt --force");
    assert!(
        stdout(&out).contains("3 accounts disabled in App files"),
        "{}",
        stdout(&out)
    );
    assert!(
        gone.iter()
            .all(|id| server.user(id).expect("listed")["active"] == false)
    );
}

#[test]
fn an_unmanaged_account_survives_sync_fix_and_a_later_person_with_its_email() {
    let server = ScimServer::start();
    let ivy = account(&server, "ivy", Some("ivy@example.org"), None);
    let env = TestEnv::installed("files", &server.base_url(), server.token(), "");
    let plan = plan_file(&env, |p| decide(p, "ivy", json!({"action": "leave"})));
    let out = env.cli(&["app", "adopt", "files", &plan]);
    ok(&out, "app adopt");
    assert!(
        stdout(&out).contains("1 left unmanaged"),
        "{}",
        stdout(&out)
    );
    let again = plan_file(&env, |_| {});
    assert!(
        std::fs::read_to_string(&again)
            .expect("plan")
            .contains("\"class\":\"unmanaged\""),
        "discovery remembers it"
    );

    let seen = server.log_lines().len();
    ok(&env.cli(&["app", "sync", "files", "--wait"]), "app sync");
    let out = env.cli(&["provision", "check", "--app", "files", "--fix", "--json"]);
    ok(&out, "provision check --fix");
    let report: Value = serde_json::from_slice(&out.stdout).expect("the drift report");
    assert_eq!(
        report["unknown"],
        json!([]),
        "not drift, not even unknown: {report}"
    );

    // A person made later with its email is not given it: the pair names it instead.
    env.create_person("ivy@example.org", "Ivy Green", &["files=user"]);
    env.provision_run_wait();
    let pair = env.pair("ivy@example.org", "files");
    assert_eq!(pair["status"], "failed", "{pair}");
    assert!(
        pair["last_message"]
            .as_str()
            .is_some_and(|m| m.contains("left unmanaged")),
        "{pair}"
    );
    assert_eq!(server.account_writes_since(seen), 0, "never touched");
    assert_eq!(server.users().len(), 1, "and no second account made");
    assert_eq!(server.user(&ivy).expect("ivy")["active"], true);
}
