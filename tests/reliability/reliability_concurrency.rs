//! The promises of a provisioner, under concurrent edits: twenty admins editing at
//! once over HTTP while workers run lose no update. Figures go to
//! docs/reliability.md.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::support::browser::Browser;
use crate::support::db::wait_for;
use crate::support::env::{BOSS_EMAIL, BOSS_PASSWORD, TestEnv};
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;

fn user_ids(env: &TestEnv) -> BTreeMap<String, String> {
    env.users()
        .iter()
        .map(|r| {
            (
                r["email"].as_str().unwrap().to_owned(),
                r["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn twenty_admins_editing_at_once_lose_no_update() {
    let server = ScimServer::start();
    // Every third edit takes a person's access away: the revocation guard would
    // rightly hold such a wave, and this test is about concurrent edits, so it is off.
    let env = TestEnv::with_provisioning(
        &scim_app(
            "files",
            &server.base_url(),
            server.token(),
            "admin_group = \"admins\"",
        ),
        "revoke_guard_window_secs = 0",
    );
    env.install("files");
    env.create_boss();
    const CLIENTS: usize = 20;
    const ROUNDS: usize = 8;
    env.import(
        "email,name,files",
        (0..CLIENTS).map(|i| format!("c{i}@example.org,Client {i},user")),
    );
    let ids = Arc::new(user_ids(&env));
    let serve = Serve::start(&env);
    let roles = ["user", "admin", "none"];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = serve.base();
    let failures: Vec<String> = rt.block_on(async {
        // Signed in one after the other: twenty sign-ins to one account at the same
        // instant are, to the throttle, twenty guesses (only the allowance is checked).
        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            clients.push(Browser::sign_in(&base, BOSS_EMAIL, BOSS_PASSWORD).await);
        }
        let mut tasks = Vec::new();
        for (c, client) in clients.into_iter().enumerate() {
            let ids = ids.clone();
            tasks.push(tokio::spawn(async move {
                let email = format!("c{c}@example.org");
                let id = &ids[&email];
                let mut failures = Vec::new();
                for r in 0..ROUNDS {
                    let name = format!("Client {c} round {r}");
                    let role = roles[(c + r) % 3];
                    let a = client
                        .post(
                            &format!("/users/{id}"),
                            &[("name", &name), ("email", &email), ("role.files", role)],
                        )
                        .await;
                    if a.status != 303 {
                        failures.push(format!("c{c} r{r}: {} {}", a.status, a.body));
                    }
                }
                failures
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    assert!(failures.is_empty(), "{failures:#?}");

    let final_role = |c: usize| roles[(c + ROUNDS - 1) % 3];
    let out = env.cli(&["provision", "status", "--json", "--app", "files"]);
    let pairs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let list: Vec<Value> =
        serde_json::from_slice(&env.cli(&["user", "list", "--json"]).stdout).unwrap();
    for c in 0..CLIENTS {
        let email = format!("c{c}@example.org");
        let row = list.iter().find(|u| u["email"] == email.as_str()).unwrap();
        assert_eq!(
            row["name"],
            format!("Client {c} round {}", ROUNDS - 1),
            "last write wins"
        );
        let pair = pairs.iter().find(|p| p["email"] == email.as_str()).unwrap();
        assert_eq!(pair["role"], final_role(c), "{pair}");
    }
    let revoked = (0..CLIENTS).filter(|c| final_role(*c) == "none").count() as i64;
    let took = wait_for(&env, "files", Duration::from_secs(60), |s| {
        s.get("provisioned").copied().unwrap_or(0) == CLIENTS as i64 - revoked
            && s.get("deprovisioned").copied().unwrap_or(0)
                + s.get("not_provisioned").copied().unwrap_or(0)
                // the signed-in admin has no access to files: one more not_provisioned
                == revoked + 1
    });
    eprintln!(
        "figure: {CLIENTS} clients x {ROUNDS} edits, every pair synced {took:?} after the last edit"
    );
    let accounts = server.accounts_by_user_name();
    let admins = server.group_members("admins");
    for c in 0..CLIENTS {
        let email = format!("c{c}@example.org");
        let Some(a) = accounts.get(&email) else {
            assert_eq!(final_role(c), "none", "{email} has no account");
            continue;
        };
        assert_eq!(a.len(), 1);
        let a = &a[0];
        assert_eq!(a["active"], final_role(c) != "none", "{a}");
        if final_role(c) != "none" {
            let shown = a["displayName"]
                .as_str()
                .or(a["name"]["formatted"].as_str())
                .unwrap_or_default();
            assert_eq!(shown, format!("Client {c} round {}", ROUNDS - 1), "{a}");
        }
        let id = a["id"].as_str().unwrap();
        assert_eq!(
            admins.iter().any(|m| m == id),
            final_role(c) == "admin",
            "{email} in admins"
        );
    }
    let log = serve.log();
    assert!(!log.contains("database is locked"), "{log}");
}
