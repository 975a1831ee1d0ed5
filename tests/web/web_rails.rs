//! The revocation guard on the dashboard, with the real `serve` and a real scim2-server:
//! a confirmed bulk revocation of 30 of 100 is held and says so on `/` and `/apps`,
//! Resume asks first and lets them go, and "This revocation is planned" passes the guard.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::browser::Browser;
use crate::support::db::wait_until;
use crate::support::env::{BOSS_EMAIL, BOSS_PASSWORD, TestEnv, stderr};
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;

fn ids(env: &TestEnv, from: usize, to: usize) -> Vec<String> {
    let mut people: Vec<Value> = env
        .users()
        .into_iter()
        .filter(|u| u["email"].as_str().is_some_and(|e| e.starts_with('p')))
        .collect();
    people.sort_by_key(|u| u["email"].as_str().unwrap_or_default().to_owned());
    people[from..to]
        .iter()
        .map(|u| u["id"].as_str().expect("an id").to_owned())
        .collect()
}

fn revoke_form(ids: &[String], force: bool) -> Vec<(&str, &str)> {
    let mut form = vec![("action", "role"), ("app", "files"), ("role", "none")];
    form.extend(ids.iter().map(|id| ("id", id.as_str())));
    if force {
        form.push(("force", "1"));
    }
    form
}

#[test]
fn a_bulk_revocation_of_thirty_is_held_shown_and_resumed_from_the_dashboard() {
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("files", &server.base_url(), server.token(), ""));
    env.install("files");
    env.create_boss();
    env.import(
        "email,name,files",
        (0..100).map(|i| format!("p{i:03}@example.org,Person {i},user")),
    );
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let from = server.log_lines().len();
    let mut serve = Serve::start(&env);
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let b = rt.block_on(Browser::sign_in(&serve.base(), BOSS_EMAIL, BOSS_PASSWORD));

    let first = ids(&env, 0, 30);
    let review = rt.block_on(b.post("/users/bulk", &revoke_form(&first, false)));
    assert!(
        review.body.contains("This revocation is planned"),
        "{}",
        review.body
    );
    let done = rt.block_on(b.post("/users/bulk/apply", &revoke_form(&first, false)));
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let list = rt.block_on(b.get("/users")).body;
    assert!(
        list.contains("30 people lost access to App files. The revocation guard holds 30 revocations of this change in App files")
            && list.contains("<p class=\"note flash\" role=\"status\">"),
        "{list}"
    );
    assert_eq!(env.pair_counts("files").get("held"), Some(&30));
    for page in ["/", "/apps"] {
        let body = rt.block_on(b.get(page)).body;
        assert!(
            body.contains("is paused for revocations: 30 revocations held")
                && body.contains(BOSS_EMAIL)
                && body.contains("href=\"/apps/files/resume\""),
            "{page}: {body}"
        );
    }
    // The banner leads to the people held: the first 30 (p000–p029), not the others.
    let banner = rt.block_on(b.get("/")).body;
    assert!(
        banner.contains("href=\"/users?app=files&amp;status=held\""),
        "{banner}"
    );
    let held = rt.block_on(b.get("/users?app=files&status=held")).body;
    assert!(
        held.contains("p000@example.org")
            && held.contains("p029@example.org")
            && !held.contains("p030@example.org"),
        "{held}"
    );
    let metrics = serve.metrics();
    assert_eq!(
        metrics.get("accessboard_pairs{app=\"files\",status=\"held\"}"),
        Some(&30.0)
    );
    assert_eq!(
        metrics.get("accessboard_app_paused{app=\"files\"}"),
        Some(&1.0)
    );
    // Workers run all along; held means nothing is sent.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(server.account_writes_since(from), 0);

    // Resume asks first, then lets them go.
    let confirm = rt.block_on(b.get("/apps/files/resume")).body;
    assert!(
        confirm.contains(
            "30 revocations held by the guard: carry them out, and those accounts are disabled"
        ),
        "{confirm}"
    );
    let r = rt.block_on(b.post("/apps/files/resume", &[]));
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    wait_until(
        Duration::from_secs(60),
        || server.inactive_users() == 30,
        || format!("{:?}\n{}", env.pair_counts("files"), serve.log()),
    );
    assert!(!rt.block_on(b.get("/")).body.contains("is paused"));

    // A planned wave, confirmed as such, passes the guard.
    let second = ids(&env, 30, 60);
    let done = rt.block_on(b.post("/users/bulk/apply", &revoke_form(&second, true)));
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(env.pair_counts("files").get("held"), None);
    wait_until(
        Duration::from_secs(60),
        || server.inactive_users() == 60,
        || format!("{:?}\n{}", env.pair_counts("files"), serve.log()),
    );
    serve.stop();
}

#[test]
fn a_held_wave_cancelled_from_the_dashboard_leaves_every_account_as_the_app_holds_it() {
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("files", &server.base_url(), server.token(), ""));
    env.install("files");
    env.create_boss();
    env.import(
        "email,name,files",
        (0..100).map(|i| {
            let role = if i % 3 == 0 { "admin" } else { "user" };
            format!("p{i:03}@example.org,Person {i},{role}")
        }),
    );
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let accounts = server.users();
    let mut serve = Serve::start(&env);
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let b = rt.block_on(Browser::sign_in(&serve.base(), BOSS_EMAIL, BOSS_PASSWORD));
    let from = server.log_lines().len();

    let wave = ids(&env, 0, 30);
    let review = rt
        .block_on(b.post("/users/bulk", &revoke_form(&wave, false)))
        .body;
    assert!(
        review.contains(
            "30 of these 30 revocations in App files would be held by the revocation guard"
        ),
        "{review}"
    );
    let done = rt.block_on(b.post("/users/bulk/apply", &revoke_form(&wave, false)));
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(env.pair_counts("files").get("held"), Some(&30));
    let overview = rt.block_on(b.get("/")).body;
    assert!(
        overview.contains("held by the revocation guard")
            && !overview.contains("Nothing: no person"),
        "Needs attention lists the held pairs: {overview}"
    );

    let r = rt.block_on(b.post("/apps/files/cancel-held", &[]));
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let app = rt.block_on(b.get("/apps/files")).body;
    assert!(
        app.contains("30 held revocations in App files cancelled"),
        "{app}"
    );
    assert_eq!(env.pair_counts("files").get("held"), None);
    // Each person has their role back: p000 was an admin, p001 a user.
    for (i, role) in [(0, "admin"), (1, "user")] {
        let id = &wave[i];
        let page = rt.block_on(b.get(&format!("/users/{id}"))).body;
        assert!(
            page.contains(&format!("<option value=\"{role}\" selected>")),
            "p{i:03} is {role} again: {page}"
        );
    }
    // Every pair is provisioned as the app last confirmed it, so the workers (running all
    // along) have nothing to send: the app holds every account as before.
    let counts = env.pair_counts("files");
    assert_eq!(counts.get("provisioned"), Some(&100), "{counts:?}");
    assert_eq!(counts.get("sync_needed"), None, "{counts:?}");
    assert_eq!(
        server.account_writes_since(from),
        0,
        "{:?}",
        server.requests_since(from)
    );
    assert_eq!(server.inactive_users(), 0);
    assert_eq!(server.users(), accounts);
    serve.stop();
}
