//! The provisioning engine end to end: CLI and workers against a real scim2-server.

use std::time::Duration;

use accessboard::domain::{
    DashboardAccess, Email, NewUser, PersonName, ProvisionStatus, Role, Slug,
};

use crate::support::api::{done, job, pairs};
use crate::support::env::{TestEnv, stderr, stdout};
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;

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

#[test]
fn grant_provisions_once_revoke_disables_and_admins_join_the_group() {
    let server = ScimServer::start();
    let env = env_for(&server, "admin_group = \"admins\"");
    env.create_person("ann@example.org", "Ann Lee", &["files=admin"]);
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1/1 settled"),
        "progress on stderr: {}",
        stderr(&out)
    );

    let pair = env.pair("ann@example.org", "files");
    assert_eq!(pair["status"], "provisioned");
    let accounts = server.accounts_with_email("ann@example.org");
    assert_eq!(accounts.len(), 1, "exactly one account");
    let account = &accounts[0];
    assert_eq!(account["id"], pair["scim_id"]);
    assert_eq!(
        account["externalId"], pair["user_id"],
        "our id stamped as externalId"
    );
    assert_eq!(account["active"], true);
    let admins = server.group_members("admins");
    assert_eq!(admins, vec![account["id"].as_str().unwrap().to_owned()]);

    // Rename reaches the app.
    assert!(
        env.cli(&["user", "update", "ann@example.org", "--name", "Ann Smith"])
            .status
            .success()
    );
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    let account = &server.accounts_with_email("ann@example.org")[0];
    assert_eq!(account["displayName"], "Ann Smith");

    // Demote: out of the admin group, still active.
    assert!(
        env.cli(&["user", "access", "ann@example.org", "files", "user"])
            .status
            .success()
    );
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert!(server.group_members("admins").is_empty());

    // Revoke: disabled, not deleted.
    assert!(
        env.cli(&["user", "access", "ann@example.org", "files", "none"])
            .status
            .success()
    );
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_eq!(
        env.pair("ann@example.org", "files")["status"],
        "deprovisioned"
    );
    let accounts = server.accounts_with_email("ann@example.org");
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["active"], false);
}

#[test]
fn delete_disables_the_account_then_purges_the_person() {
    let server = ScimServer::start();
    let env = env_for(&server, "");
    env.create_person("bo@example.org", "Bo", &["files=user"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert!(
        env.cli(&["user", "delete", "bo@example.org"])
            .status
            .success()
    );
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        server.accounts_with_email("bo@example.org")[0]["active"],
        false
    );
    let out = env.cli(&["provision", "status", "--json"]);
    assert_eq!(stdout(&out).trim(), "[]", "purged once the app was told");
}

#[test]
fn delete_mode_removes_the_account() {
    let server = ScimServer::start();
    let env = env_for(&server, "on_deprovision = \"delete\"");
    env.create_person("cy@example.org", "Cy", &["files=user"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert!(
        env.cli(&["user", "access", "cy@example.org", "files", "none"])
            .status
            .success()
    );
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert!(server.accounts_with_email("cy@example.org").is_empty());
}

#[test]
fn an_account_made_before_provisioning_is_adopted_not_duplicated() {
    let server = ScimServer::start();
    server.create_user(serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "dee.old",
        "emails": [{"value": "dee@example.org", "primary": true}],
        "active": true
    }));
    let env = env_for(&server, "");
    env.create_person("Dee@Example.ORG", "Dee", &["files=user"]);
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let accounts = server.accounts_with_email("dee@example.org");
    assert_eq!(accounts.len(), 1, "adopted, not duplicated: {accounts:?}");
    assert_eq!(
        accounts[0]["externalId"],
        env.pair("dee@example.org", "files")["user_id"]
    );
}

#[test]
fn drift_check_reports_and_fix_marks_but_never_touches_unknown_accounts() {
    let server = ScimServer::start();
    let env = env_for(&server, "");
    env.create_person("eve@example.org", "Eve", &["files=user"]);
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    // Outside accessboard: someone deletes Eve's account and adds a stranger.
    let eve = server.accounts_with_email("eve@example.org")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.delete_user(&eve);
    server.create_user(serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "stranger@example.org", "active": true
    }));
    let out = env.cli(&["provision", "check", "--app", "files", "--json"]);
    assert_eq!(out.status.code(), Some(1), "drift: {}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["missing"][0]["email"], "eve@example.org");
    assert_eq!(report["unknown"][0]["user_name"], "stranger@example.org");
    assert_eq!(report["should_be_disabled"].as_array().unwrap().len(), 0);

    let out = env.cli(&["provision", "check", "--app", "files", "--fix", "--json"]);
    // Found and marked, not yet repaired: still drift for a script.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        env.pair("eve@example.org", "files")["status"],
        "sync_needed"
    );
    assert_eq!(env.provision_run_wait().status.code(), Some(0));
    assert_eq!(
        server.accounts_with_email("eve@example.org").len(),
        1,
        "restored"
    );
    assert_eq!(
        server.accounts_with_email("stranger@example.org")[0]["active"],
        true,
        "unknown account untouched"
    );
}

#[tokio::test]
async fn a_change_during_a_job_leaves_the_pair_sync_needed() {
    let env = TestEnv::new(&scim_app("files", "http://127.0.0.1:9/scim", "t", ""));
    let ctx = env.open().await;
    let files = Slug::parse("files").unwrap();
    ctx.service.install_app(&files).await.unwrap();
    let email = Email::parse("fi@example.org").unwrap();
    let user = ctx
        .service
        .create_user(NewUser {
            email: email.clone(),
            name: PersonName::parse("Fi").unwrap(),
            dashboard: DashboardAccess::None,
            access: vec![(files.clone(), Role::User)],
        })
        .await
        .unwrap();
    let db = ctx.service.db().clone();
    let job = job(user.id, "files", 1);
    let claim = db
        .run(move |c| pairs::claim(c, &job, "w1", 10))
        .await
        .unwrap()
        .expect("claimed");
    // While the worker talks to the app, the admin makes Fi an admin there.
    ctx.service
        .set_access(&email, &files, Role::Admin)
        .await
        .unwrap();
    let follow_up = db
        .run(move |c| {
            pairs::finish(
                c,
                &claim,
                "w1",
                done(ProvisionStatus::Provisioned, Some("7"), "ok"),
                11,
            )
        })
        .await
        .unwrap();
    assert!(follow_up.is_some(), "the pair runs again");
    let pair = env.pair("fi@example.org", "files");
    assert_eq!(pair["status"], "sync_needed");
    assert_eq!(pair["scim_id"], "7", "what we learnt is kept");
}

#[tokio::test]
async fn a_claim_whose_outcome_cannot_be_recorded_is_given_back_with_a_new_job() {
    let env = TestEnv::new(&scim_app("files", "http://127.0.0.1:9/scim", "t", ""));
    let ctx = env.open().await;
    let files = Slug::parse("files").unwrap();
    ctx.service.install_app(&files).await.unwrap();
    let user = ctx
        .service
        .create_user(NewUser {
            email: Email::parse("gi@example.org").unwrap(),
            name: PersonName::parse("Gi").unwrap(),
            dashboard: DashboardAccess::None,
            access: vec![(files.clone(), Role::User)],
        })
        .await
        .unwrap();
    let db = ctx.service.db().clone();
    let claimed = job(user.id, "files", 1);
    db.run(move |c| pairs::claim(c, &claimed, "w1", 10))
        .await
        .unwrap()
        .expect("claimed");
    let held = vec![(user.id, "files".to_owned())];
    let other = held.clone();
    // Another process' claim is not this one's to give back.
    let none = db
        .run(move |c| pairs::give_back(c, &other, "w2", 11))
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(env.pair("gi@example.org", "files")["status"], "syncing");
    let jobs = db
        .run(move |c| pairs::give_back(c, &held, "w1", 11))
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    // A new key: the finished job of the old `due_seq` cannot hide the pair.
    assert_eq!(jobs[0].due_seq, 2, "{jobs:?}");
    assert_eq!(env.pair("gi@example.org", "files")["status"], "sync_needed");
}

#[test]
fn a_restart_right_after_a_crash_settles_every_pair_with_one_account_each() {
    let server = ScimServer::start();
    let env = env_for(&server, "");
    env.import(
        "email,name,files",
        (0..60).map(|i| format!("p{i}@example.org,Person {i},user")),
    );

    let serve = Serve::builder(&env).spawn();
    std::thread::sleep(Duration::from_millis(700));
    serve.crash();
    let serve = Serve::builder(&env).spawn();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = env.cli(&["provision", "status", "--json"]);
        let pairs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let settled = pairs
            .iter()
            .filter(|p| p["status"] == "provisioned")
            .count();
        if settled == 60 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {settled}/60 settled after restart"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    serve.crash();
    let users = server.users();
    assert_eq!(users.len(), 60, "exactly one account per person");
}
