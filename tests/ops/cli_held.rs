//! The held wave on the command line (issue 25, item 4) against a real scim2-server: a
//! `--dry-run` warns, with the numbers, that the revocation guard would hold the change;
//! `app resume files --cancel` gives every held person their previous access back, and
//! the app is asked nothing: it holds every account as before.

use crate::support::env::{TestEnv, ok, stderr, stdout};
use crate::support::scim_server::ScimServer;
use crate::support::settings::scim_app;

const PEOPLE: usize = 100;

fn email(i: usize) -> String {
    format!("p{i:03}@example.org")
}

#[test]
fn a_dry_run_warns_of_the_guard_and_resume_cancel_gives_everyone_their_access_back() {
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("files", &server.base_url(), server.token(), ""));
    env.install("files");
    env.import(
        "email,name,files",
        (0..PEOPLE).map(|i| format!("{},Person {i},user", email(i))),
    );
    ok(&env.cli(&["group", "create", "design"]), "group create");
    let members: Vec<String> = (20..30).map(email).collect();
    let mut add = vec!["group", "add", "design"];
    add.extend(members.iter().map(String::as_str));
    ok(&env.cli(&add), "group add");
    ok(
        &env.cli(&["group", "grant", "design", "files", "user"]),
        "group grant",
    );
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.users().len(), PEOPLE);
    let from = server.log_lines().len();

    // 20 lose their own role (20% of 100: the guard allows it); the 10 of design keep
    // theirs through the group, and the command says so.
    for i in 0..30 {
        let who = email(i);
        let out = env.cli(&["user", "access", &who, "files", "none"]);
        ok(&out, "user access none");
        if i == 25 {
            assert_eq!(
                stdout(&out).trim(),
                "Person 25 keeps access to App files through the group design."
            );
        }
    }
    assert_eq!(env.pair_counts("files").get("held"), None);

    // Taking them out of design too would pass 20%: the dry run says the guard holds it.
    let mut remove = vec!["group", "remove", "design"];
    remove.extend(members.iter().map(String::as_str));
    let mut dry = remove.clone();
    dry.push("--dry-run");
    let out = env.cli(&dry);
    ok(&out, "group remove --dry-run");
    assert_eq!(
        stdout(&out).trim(),
        "dry run: removing 10 people from design: 10 people will lose access; nothing was changed\n\
         dry run: 10 of these 10 revocations in App files would be held by the revocation guard \
         (limit: more than 20% of its accounts within 5 min, from 10 people on); pass --force to carry them out"
    );
    let out = env.cli(&["user", "access", &email(40), "files", "none", "--dry-run"]);
    ok(&out, "user access --dry-run");
    assert!(
        stdout(&out).contains("dry run: 1 of these 1 revocations in App files would be held"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        env.pair_counts("files").get("held"),
        None,
        "dry runs change nothing"
    );

    let out = env.cli(&remove);
    ok(&out, "group remove");
    let said = stdout(&out);
    let lines: Vec<&str> = said.trim().lines().collect();
    assert_eq!(
        lines[lines.len() - 2..],
        [
            "removed 10 people from design; 10 people lose access",
            "The revocation guard holds 10 revocations of this change in App files: App files is \
             paused for revocations, and nothing is sent there until they are carried out or cancelled."
        ],
        "{said}"
    );
    assert_eq!(env.pair_counts("files").get("held"), Some(&30));

    // Cancelled: everyone's previous access back, in one audited change.
    let out = env.cli(&["app", "resume", "files", "--cancel"]);
    ok(&out, "app resume --cancel");
    assert_eq!(
        stdout(&out).trim(),
        "30 held revocations in files cancelled: each person has the role they had before.\n\
         30 of their accounts are as files holds them: nothing is sent there for them.\n\
         files is no longer paused for revocations."
    );
    assert_eq!(env.pair_counts("files").get("held"), None);
    assert_eq!(env.app("files")["paused"], false);
    for i in [0, 19] {
        let pair = env.pair(&email(i), "files");
        assert_eq!(pair["role"], "user", "{pair}");
        assert_eq!(pair["via"], "direct", "{pair}");
    }
    let pair = env.pair(&email(25), "files");
    assert_eq!(pair["role"], "user", "{pair}");
    assert_eq!(pair["via"], serde_json::json!(["design"]), "{pair}");
    let design = stdout(&env.cli(&["group", "show", "design"]));
    assert!(design.contains(&email(25)), "back in design: {design}");
    let audit = stdout(&env.cli(&["audit", "--json"]));
    assert_eq!(audit.matches("held.cancel").count(), 30, "{audit}");

    // Nothing to send: the app holds every account as before, none disabled.
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.account_writes_since(from), 0);
    assert_eq!(server.inactive_users(), 0);
    assert_eq!(server.users().len(), PEOPLE);
}
