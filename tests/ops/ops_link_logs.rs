//! Sign-in links by email through the real `serve`, with every log line on (`RUST_LOG
//! = debug`): an admin's invitation and a "Forgot your password?" link arrive at a real
//! SMTP relay and work, and no token is ever in serve's log.

use reqwest::StatusCode;

use crate::support::browser::Browser;
use crate::support::env::{BOSS_EMAIL, BOSS_PASSWORD, TestEnv};
use crate::support::serve::Serve;
use crate::support::smtp::{SmtpServer, link_path};

/// Follows a link's `path` and sets `password` with it; the status.
async fn use_link(base: &str, path: &str, password: &str) -> StatusCode {
    let b = Browser::new(base);
    let form = b.get(path).await.status;
    if form != StatusCode::OK {
        return form;
    }
    let token = path.split("token=").nth(1).unwrap();
    b.post("/login/link", &[("token", token), ("password", password)])
        .await
        .status
}

#[tokio::test]
async fn links_by_email_work_and_no_token_reaches_the_log() {
    let smtp = SmtpServer::start_plain();
    let env = TestEnv::build(|s| s.lines("alerts", &smtp.plain_settings()));
    env.create_boss();
    env.create_admin("bob@example.org", "Bob", &[]);
    let serve = Serve::builder(&env).env("RUST_LOG", "debug").start();
    let base = serve.base();

    // Bob forgot his password.
    let b = Browser::new(&base);
    assert_eq!(b.get("/login/forgot").await.status, StatusCode::OK);
    let r = b
        .post("/login/forgot", &[("email", "bob@example.org")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mails = smtp.wait_for(1).await;
    let reset = link_path(mails[0]["text"].as_str().unwrap(), &base);

    // The boss invites him too (it works the same for a forgotten password).
    let boss = Browser::sign_in(&base, BOSS_EMAIL, BOSS_PASSWORD).await;
    let bob = env.cli(&["user", "list", "--json"]);
    let people: serde_json::Value = serde_json::from_slice(&bob.stdout).unwrap();
    let id = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == "bob@example.org")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    boss.get(&format!("/users/{id}")).await;
    let r = boss.post(&format!("/users/{id}/invite"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mails = smtp.wait_for(2).await;
    let invitation = link_path(mails[1]["text"].as_str().unwrap(), &base);

    assert_eq!(
        use_link(&base, &reset, "bobs first new password").await,
        StatusCode::OK
    );
    assert_eq!(
        use_link(&base, &invitation, "bobs second new password").await,
        StatusCode::GONE,
        "a new password ended the invitation"
    );

    let log = serve.log();
    assert!(log.contains("sign-in link emailed"), "{log}");
    for path in [&reset, &invitation] {
        let token = path.split("token=").nth(1).unwrap();
        assert!(!log.contains(token), "a token in the log:\n{log}");
    }
}
