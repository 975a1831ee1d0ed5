//! `accessboard group …` as a subprocess: every command, what it says, its exit codes,
//! and what `user list --json` and `provision status --json` show of groups.

use crate::support::env::{TestEnv, stderr, stdout};
use crate::support::settings::{plain_app, scim_app};

fn env() -> TestEnv {
    let env = TestEnv::new(&format!(
        "{}{}",
        scim_app("files", "http://127.0.0.1:9/scim", "t", ""),
        plain_app("wiki")
    ));
    env.install("files");
    env
}

#[test]
fn every_group_command_works_and_says_who_gains_or_loses_access() {
    let env = env();
    let ok = |args: &[&str]| {
        let out = env.cli(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    env.create_person("ann@example.org", "Ann", &[]);
    env.create_person("bob@example.org", "Bob", &["files=user"]);
    assert_eq!(
        ok(&[
            "group",
            "create",
            "Design",
            "--description",
            "the design team"
        ])
        .trim(),
        "created group Design"
    );
    assert_eq!(
        ok(&[
            "group",
            "add",
            "design",
            "ann@example.org",
            "bob@example.org"
        ])
        .trim(),
        "added 2 people to Design; 0 people gain access"
    );
    assert_eq!(
        ok(&["group", "grant", "DESIGN", "files", "admin"]).trim(),
        "Design is now admin in files; 1 person gains access"
    );

    let status: serde_json::Value =
        serde_json::from_str(&ok(&["provision", "status", "--json", "--app", "files"])).unwrap();
    let via = |email: &str| {
        let pair = status
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["email"] == email)
            .unwrap();
        (pair["role"].clone(), pair["via"].clone())
    };
    assert_eq!(
        via("ann@example.org"),
        ("admin".into(), serde_json::json!(["Design"]))
    );
    assert_eq!(
        via("bob@example.org"),
        ("admin".into(), serde_json::json!(["Design"]))
    );
    let users: serde_json::Value = serde_json::from_str(&ok(&["user", "list", "--json"])).unwrap();
    assert_eq!(users[0]["groups"], serde_json::json!(["Design"]));

    let list: serde_json::Value = serde_json::from_str(&ok(&["group", "list", "--json"])).unwrap();
    assert_eq!(list[0]["name"], "Design");
    assert_eq!(list[0]["members"], 2);
    assert_eq!(list[0]["grants"], 1);
    let show: serde_json::Value =
        serde_json::from_str(&ok(&["group", "show", "design", "--json"])).unwrap();
    assert_eq!(show["description"], "the design team");
    assert_eq!(show["grants"][0]["role"], "admin");
    assert_eq!(show["members"].as_array().unwrap().len(), 2);
    assert!(ok(&["group", "show", "Design"]).contains("bob@example.org"));

    assert_eq!(
        ok(&["group", "rename", "design", "Designers"]).trim(),
        "renamed group design to Designers"
    );
    assert_eq!(
        ok(&["group", "remove", "designers", "bob@example.org"]).trim(),
        "removed 1 person from Designers; 0 people lose access",
        "Bob keeps his own user role"
    );
    assert_eq!(
        ok(&["group", "delete", "Designers"]).trim(),
        "Designers: 1 person will lose access …\ndeleted group Designers; 1 person loses access",
        "said before it is done, and after"
    );
    assert!(ok(&["group", "list"]).contains("no groups yet"));
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let env = env();
    env.create_person("ann@example.org", "Ann", &[]);
    let fails = |args: &[&str], says: &str| {
        let out = env.cli(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        // One sentence first (clap adds its --help hint below a bad argument).
        let first = stderr(&out).lines().next().unwrap_or_default().to_owned();
        assert!(first.contains(says), "{args:?}: {}", stderr(&out));
    };
    let out = env.cli(&["group", "create", "Board"]);
    assert!(out.status.success());
    fails(&["group", "create", "BOARD"], "already exists");
    fails(&["group", "create", &"x".repeat(101)], "longer than 100");
    fails(&["group", "create", "a\u{1b}b"], "control character");
    fails(&["group", "add", "board", "nobody@example.org"], "no user");
    fails(&["group", "grant", "board", "nope", "user"], "no app");
    fails(&["group", "grant", "board", "files", "owner"], "owner");
    fails(&["group", "show", "nobody"], "no group");
    let show: serde_json::Value =
        serde_json::from_str(&stdout(&env.cli(&["group", "show", "board", "--json"]))).unwrap();
    assert_eq!(show["members"], serde_json::json!([]));
    assert_eq!(show["grants"], serde_json::json!([]));
}
