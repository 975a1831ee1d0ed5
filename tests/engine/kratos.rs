//! Kratos as the identity source: the adapter and the identity sync against a
//! Kratos-compatible Admin API, and provisioning into a real scim2-server.

use std::time::Duration;

use accessboard::identity::{IdentityError, IdentityStore, Kratos};
use accessboard::settings::Settings;
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::env::{BOSS_EMAIL, BOSS_PASSWORD, TestEnv, stderr, stdout};
use crate::support::kratos::FakeKratos;
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::{SettingsToml, scim_app};

/// `[identity]` pointing at `kratos`.
fn kratos_identity(s: SettingsToml, kratos: &FakeKratos) -> SettingsToml {
    s.identity("backend", "\"kratos\"")
        .identity("kratos_admin_url", &format!("\"{}\"", kratos.url()))
}

fn kratos_env(kratos: &FakeKratos, apps: &str) -> TestEnv {
    TestEnv::build(|s| {
        kratos_identity(s, kratos)
            .identity("sync_interval_secs", "1")
            .apps(apps)
    })
}

fn account(server: &ScimServer, email: &str) -> Option<Value> {
    let found = server.accounts_with_email(email);
    assert!(
        found.len() <= 1,
        "duplicated account for {email}: {found:?}"
    );
    found.into_iter().next()
}

#[tokio::test]
async fn the_adapter_pages_through_every_identity() {
    let kratos = FakeKratos::start();
    kratos.set_max_page_size(2);
    kratos.add("ada@example.org", json!("Ada Lovelace"));
    kratos.add("bo@example.org", json!({"first": "Bo", "last": "Ek"}));
    for i in 0..3 {
        kratos.add(&format!("p{i}@example.org"), json!(format!("P {i}")));
    }
    let settings =
        Settings::from_toml(&kratos_identity(SettingsToml::new(), &kratos).to_toml()).unwrap();
    let adapter = Kratos::new(&settings.identity, Duration::from_secs(5)).unwrap();
    let all = adapter.list().await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(kratos.list_requests(), 3, "five identities, two a page");
    let bo = all.iter().find(|i| i.email == "bo@example.org").unwrap();
    assert_eq!(bo.name, "Bo Ek");
    assert!(adapter.get(uuid::Uuid::new_v4()).await.unwrap().is_none());

    kratos.set_down(true);
    let e = adapter.list().await.unwrap_err();
    assert!(matches!(e, IdentityError::Unreachable(_)), "{e:?}");
}

#[test]
fn a_person_created_here_lives_in_kratos_and_reaches_the_app() {
    let kratos = FakeKratos::start();
    let scim = ScimServer::start();
    let env = kratos_env(
        &kratos,
        &scim_app("chat", &scim.base_url(), scim.token(), ""),
    );
    env.install("chat");
    let out = env.create_person("Ann@Example.org", "Ann Lee", &["chat=user"]);
    let printed = stdout(&out);
    assert!(printed.contains("recovery link"), "{printed}");
    assert!(
        printed.contains("http://kratos.test/self-service/recovery"),
        "{printed}"
    );

    let identity = kratos.by_email("ann@example.org").expect("in Kratos");
    assert_eq!(identity["traits"]["name"], "Ann Lee");
    let id = identity["id"].as_str().unwrap().to_owned();
    assert!(
        printed.contains(&id),
        "the local person has the Kratos id: {printed}"
    );

    let out = env.provision_run_wait();
    assert!(out.status.success(), "{}", stderr(&out));
    let acct = account(&scim, "ann@example.org").expect("provisioned");
    assert_eq!(acct["externalId"], id.as_str());
    assert_eq!(acct["active"], true);

    // A second person with the same email is refused by both sides, clearly.
    let out = env.user_create("ann@example.org", "Again", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(kratos.identities().len(), 1);

    // Deleting here deletes in Kratos and disables the account.
    let out = env.cli(&["user", "delete", "ann@example.org"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(kratos.by_email("ann@example.org").is_none());
    assert!(env.provision_run_wait().status.success());
    assert_eq!(account(&scim, "ann@example.org").unwrap()["active"], false);
}

#[test]
fn changes_made_in_kratos_reach_the_app() {
    let kratos = FakeKratos::start();
    let scim = ScimServer::start();
    let env = kratos_env(
        &kratos,
        &scim_app("chat", &scim.base_url(), scim.token(), ""),
    );
    env.install("chat");
    kratos.set_max_page_size(2);
    let cy = kratos.add("cy@example.org", json!({"first": "Cy", "last": "Old"}));
    for i in 0..4 {
        kratos.add(
            &format!("other{i}@example.org"),
            json!(format!("Other {i}")),
        );
    }

    // Made in Kratos: picked up with no access.
    assert!(env.provision_run_wait().status.success());
    let list: Vec<Value> =
        serde_json::from_slice(&env.cli(&["user", "list", "--json"]).stdout).unwrap();
    assert_eq!(list.len(), 5, "every page was read: {list:?}");
    assert_eq!(env.pair("cy@example.org", "chat")["role"], "none");
    assert!(scim.users().is_empty(), "nobody has access yet");

    let out = env.cli(&["user", "access", "cy@example.org", "chat", "user"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(env.provision_run_wait().status.success());
    assert_eq!(account(&scim, "cy@example.org").unwrap()["active"], true);

    // Renamed and re-emailed in Kratos.
    kratos.set_trait(cy, "name", json!({"first": "Cy", "last": "New"}));
    kratos.set_trait(cy, "email", json!("cy.new@example.org"));
    let out = env.provision_run_wait();
    assert!(out.status.success(), "{}", stderr(&out));
    let acct = account(&scim, "cy.new@example.org").expect("the account follows the new email");
    assert_eq!(acct["displayName"], "Cy New", "{acct}");
    assert_eq!(acct["externalId"], cy.to_string());
    assert_eq!(scim.users().len(), 1, "renamed, not duplicated");

    // Deleted in Kratos: the account is disabled and the person goes away here.
    kratos.remove(cy);
    assert!(env.provision_run_wait().status.success());
    assert_eq!(
        account(&scim, "cy.new@example.org").unwrap()["active"],
        false
    );
    let out = env.provision_run_wait();
    assert!(out.status.success());
    let list: Vec<Value> =
        serde_json::from_slice(&env.cli(&["user", "list", "--json"]).stdout).unwrap();
    assert!(
        list.iter().all(|u| u["email"] != "cy.new@example.org"),
        "{list:?}"
    );
}

#[test]
fn a_kratos_outage_is_shown_retried_and_loses_nothing() {
    let kratos = FakeKratos::start();
    let scim = ScimServer::start();
    let env = kratos_env(
        &kratos,
        &scim_app("chat", &scim.base_url(), scim.token(), ""),
    );
    env.install("chat");
    env.create_boss();
    env.create_person("dee@example.org", "Dee", &["chat=user"]);

    kratos.set_down(true);
    // A change that needs Kratos is refused clearly, and nothing is stored.
    let out = env.user_create("eve@example.org", "Eve", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Kratos is unreachable"),
        "{}",
        stderr(&out)
    );
    let list: Vec<Value> =
        serde_json::from_slice(&env.cli(&["user", "list", "--json"]).stdout).unwrap();
    assert_eq!(list.len(), 2);

    // The pending pair waits with a reason, and retries by itself.
    let out = env.cli(&["provision", "run"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let p = env.pair("dee@example.org", "chat");
    assert_eq!(p["status"], "error", "{p}");
    assert!(
        p["last_message"]
            .as_str()
            .unwrap_or("")
            .contains("Kratos is unreachable"),
        "{p}"
    );
    assert!(scim.users().is_empty());

    // Every page says so.
    let serve = Serve::start(&env);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = rt.block_on(async {
        let c = Browser::sign_in(&serve.base(), BOSS_EMAIL, BOSS_PASSWORD).await;
        c.get("/users").await.body
    });
    assert!(body.contains("Kratos cannot be reached"), "{body}");
    drop(serve);

    kratos.set_down(false);
    let out = env.provision_run_wait();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.pair("dee@example.org", "chat")["status"], "provisioned");
    assert_eq!(account(&scim, "dee@example.org").unwrap()["active"], true);
    let serve = Serve::start(&env);
    let body = rt.block_on(async {
        let c = Browser::sign_in(&serve.base(), BOSS_EMAIL, BOSS_PASSWORD).await;
        c.get("/users").await.body
    });
    assert!(
        !body.contains("Kratos cannot be reached"),
        "the banner goes once Kratos answers"
    );
}

#[test]
fn adding_a_person_in_the_dashboard_shows_their_recovery_link_once() {
    let kratos = FakeKratos::start();
    let scim = ScimServer::start();
    let env = kratos_env(
        &kratos,
        &scim_app("chat", &scim.base_url(), scim.token(), ""),
    );
    env.install("chat");
    env.create_boss();
    let serve = Serve::start(&env);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = Browser::sign_in(&serve.base(), BOSS_EMAIL, BOSS_PASSWORD).await;
        let page = c
            .post(
                "/users/new",
                &[
                    ("name", "Fay <Test>"),
                    ("email", "fay@example.org"),
                    ("role.chat", "user"),
                ],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body
                .contains("http://kratos.test/self-service/recovery"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("Fay &lt;Test&gt;"),
            "escaped: {}",
            page.body
        );
        let id = kratos.by_email("fay@example.org").expect("in Kratos")["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // The person's own page does not show it again.
        let again = c.get(&format!("/users/{id}")).await;
        assert_eq!(again.status, 200);
        assert!(!again.body.contains("self-service/recovery"));
    });
}
