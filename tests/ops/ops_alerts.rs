//! Alerts: a real SMTP server (aiosmtpd behind STARTTLS or TLS) and a local webhook
//! receive them; `alerts test` names the channel that failed; a dead webhook never
//! slows provisioning; no secret reaches an alert, the output or the log.

use std::time::Duration;

use serde_json::Value;

use crate::support::db::{only, wait_for, wait_until};
use crate::support::env::{TestEnv, ok, stderr, stdout};
use crate::support::net::free_port;
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::{SettingsToml, scim_app};
use crate::support::smtp::SmtpServer;
use crate::support::webhook::Webhook;

/// Where a real webhook keeps its secret: the path.
const HOOK_PATH: &str = "/hooks/T0B1/s3cr3t-HOOK-path-7c2e";
const SMTP_USER: &str = "alerts@example.org";
const SMTP_PASSWORD: &str = "s3cr3t-SMTP-password-41aa";
/// A token scim2-server refuses: every pair fails for good ("refused the credentials").
const WRONG_TOKEN: &str = "s3cr3t-APP-token-wrong-0e9d";

/// `[alerts]` lines for a webhook at `hook` and email through `smtp` (STARTTLS).
fn alert_lines(env_dir: &std::path::Path, hook: Option<&str>, smtp: Option<u16>) -> String {
    let mut lines = String::new();
    if let Some(url) = hook {
        lines.push_str(&format!("webhook_url = \"{url}\"\n"));
    }
    if let Some(port) = smtp {
        let pw = env_dir.join("smtp-password");
        std::fs::write(&pw, format!("{SMTP_PASSWORD}\n")).unwrap();
        lines.push_str(&format!(
            "smtp_url = \"smtp://alerts%40example.org@127.0.0.1:{port}\"\nsmtp_password_file = \"{}\"\nfrom = \"accessboard <alerts@example.org>\"\nto = [\"ops@example.org\", \"oncall@example.org\"]\n",
            pw.display()
        ));
    }
    lines
}

fn env_with_alerts(apps: &str, alerts: impl FnOnce(&std::path::Path) -> String) -> TestEnv {
    let dir = tempfile::tempdir().unwrap();
    let settings_path = dir.path().join("settings.toml");
    let lines = alerts(dir.path());
    SettingsToml::quick(&dir.path().join("data/accessboard.db"))
        .lines("alerts", &lines)
        .apps(apps)
        .write(&settings_path);
    TestEnv { dir, settings_path }
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [
        SMTP_PASSWORD,
        WRONG_TOKEN,
        "s3cr3t-HOOK-path",
        "test-token-s3cr3t",
    ] {
        assert!(!text.contains(secret), "{what} holds a secret:\n{text}");
    }
}

/// The email's text with its quoted-printable soft breaks undone.
fn email_text(message: &Value) -> String {
    message["data"]
        .as_str()
        .unwrap_or_default()
        .replace("=\r\n", "")
        .replace("=3D", "=")
}

#[test]
fn alerts_test_reaches_every_channel_and_names_the_one_that_failed() {
    let smtp = SmtpServer::start(false, Some((SMTP_USER, SMTP_PASSWORD)));
    let hook = Webhook::start();
    let ca = smtp.ca_file();
    let ca = ca.to_str().unwrap();
    let env = env_with_alerts("", |d| {
        alert_lines(d, Some(&hook.url(HOOK_PATH)), Some(smtp.port))
    });

    let out = env.cli_env(&["alerts", "test"], &[("SSL_CERT_FILE", ca)]);
    ok(&out, "alerts test");
    assert_eq!(
        stdout(&out),
        "webhook: test message sent\nemail: test message sent\n"
    );
    let posted = hook.received();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].path, HOOK_PATH);
    assert_eq!(posted[0].body["kind"], "test");
    assert_eq!(posted[0].body["title"], "Test alert");
    let mail = smtp.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["tls"], true, "sent after STARTTLS");
    assert_eq!(mail[0]["authenticated"], true);
    assert_eq!(
        mail[0]["to"],
        serde_json::json!(["ops@example.org", "oncall@example.org"])
    );
    assert!(email_text(&mail[0]).contains("Subject: [accessboard] Test alert"));

    // A server whose certificate nobody vouches for is refused: TLS is verified.
    let out = env.cli(&["alerts", "test"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("webhook: test message sent"));
    assert!(stdout(&out).contains("email: failed: "), "{}", stdout(&out));
    assert!(
        stderr(&out).ends_with("accessboard: the test message did not reach: email\n"),
        "{}",
        stderr(&out)
    );
    assert_eq!(smtp.received().len(), 1, "nothing was sent in clear");

    // Nobody listening at the webhook: named, without its URL.
    let dead = format!("http://127.0.0.1:{}{HOOK_PATH}", free_port());
    let env = env_with_alerts("", |d| alert_lines(d, Some(&dead), Some(smtp.port)));
    let out = env.cli_env(&["alerts", "test"], &[("SSL_CERT_FILE", ca)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("webhook: failed: could not connect"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("email: test message sent"));
    assert!(
        stderr(&out).ends_with("accessboard: the test message did not reach: webhook\n"),
        "{}",
        stderr(&out)
    );
    assert_no_secret("alerts test's output", &format!("{out:?}"));

    // No channel at all is a configuration matter.
    let env = TestEnv::new("");
    let out = env.cli(&["alerts", "test"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no alert channel is configured"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn smtps_is_tls_from_the_first_byte() {
    let smtp = SmtpServer::start(true, Some((SMTP_USER, SMTP_PASSWORD)));
    let env = env_with_alerts("", |d| {
        alert_lines(d, None, Some(smtp.port)).replace("smtp://", "smtps://")
    });
    let ca = smtp.ca_file();
    let out = env.cli_env(
        &["alerts", "test"],
        &[("SSL_CERT_FILE", ca.to_str().unwrap())],
    );
    ok(&out, "alerts test over smtps");
    let mail = smtp.received();
    assert_eq!((mail.len(), &mail[0]["tls"]), (1, &Value::Bool(true)));
}

/// `n` people with access to `app`, by CSV import.
fn people(env: &TestEnv, app: &str, prefix: &str, n: usize) {
    env.import(
        &format!("email,name,{app}"),
        (1..=n).map(|i| format!("{prefix}{i:02}@example.org,{prefix} {i:02},user")),
    );
}

#[test]
fn failed_pairs_are_told_once_by_slack_webhook_and_email_and_so_is_their_resolution() {
    let scim = ScimServer::start();
    let smtp = SmtpServer::start(false, Some((SMTP_USER, SMTP_PASSWORD)));
    let hook = Webhook::start();
    let ca = smtp.ca_file().to_str().unwrap().to_owned();
    // Nothing listens where the app is said to be: every attempt fails, and after
    // max_attempts the pairs are `failed` (well before quarantine_after_secs).
    let down = format!("http://127.0.0.1:{}/scim", free_port());
    let wrong = scim_app("files", &down, WRONG_TOKEN, "");
    let env = env_with_alerts(&wrong, |d| {
        format!(
            "alert_batch_secs = 1\nwebhook_format = \"slack\"\n{}",
            alert_lines(d, Some(&hook.url(HOOK_PATH)), Some(smtp.port))
        )
    });
    env.install("files");
    people(&env, "files", "person", 25);
    // The failures happen with no alerts task running; serve tells them when it starts.
    assert_eq!(env.provision_run_wait().status.code(), Some(1));
    assert!(only(&env.pair_counts("files"), "failed", 25));

    let mut serve = Serve::builder(&env).env("SSL_CERT_FILE", &ca).start();
    wait_until(
        Duration::from_secs(60),
        || !hook.received().is_empty() && !smtp.received().is_empty(),
        || format!("no alert arrived; serve's log:\n{}", serve.log()),
    );
    let text = hook.received()[0].body["text"].as_str().unwrap().to_owned();
    assert!(
        text.starts_with("*App files: 25 people failed*\n"),
        "{text}"
    );
    let named = (1..=25)
        .filter(|i| text.contains(&format!("person {i:02} (person{i:02}@example.org)")))
        .count();
    assert_eq!(named, 20, "twenty people named:\n{text}");
    assert!(text.contains("and 5 more."), "{text}");
    assert!(
        text.contains("could not connect"),
        "the reason is given:\n{text}"
    );
    assert!(
        text.contains(&format!("{}/apps/files", serve.base())),
        "a link to the app's page:\n{text}"
    );
    let mail = email_text(&smtp.received()[0]);
    assert!(
        mail.contains("Subject: [accessboard] App files: 25 people failed"),
        "{mail}"
    );
    serve.stop();

    // Fixed: the right address and token. A restart does not tell the failures again;
    // the retry that provisions everyone is told once as resolved.
    let text = std::fs::read_to_string(&env.settings_path)
        .unwrap()
        .replace(&down, &scim.base_url())
        .replace(WRONG_TOKEN, scim.token());
    std::fs::write(&env.settings_path, text).unwrap();
    let mut serve = Serve::builder(&env).env("SSL_CERT_FILE", &ca).start();
    ok(
        &env.cli(&["provision", "retry", "--app", "files"]),
        "provision retry",
    );
    wait_for(&env, "files", Duration::from_secs(60), |c| {
        only(c, "provisioned", 25)
    });
    wait_until(
        Duration::from_secs(60),
        || hook.received().len() >= 2 && smtp.received().len() >= 2,
        || format!("no resolution arrived; serve's log:\n{}", serve.log()),
    );
    let posted = hook.received();
    assert_eq!(posted.len(), 2, "nothing told twice: {posted:?}");
    let resolved = posted[1].body["text"].as_str().unwrap();
    assert!(
        resolved.starts_with("*Resolved: no failed pairs in App files any more*"),
        "{resolved}"
    );
    assert!(
        email_text(&smtp.received()[1])
            .contains("Subject: [accessboard] Resolved: no failed pairs in App files any more")
    );
    serve.stop();

    for p in &posted {
        assert_no_secret("a webhook alert", &p.body.to_string());
    }
    for m in smtp.received() {
        assert_no_secret("an email alert", &m.to_string());
    }
    assert_no_secret("serve's log", &serve.log());
}

#[test]
fn a_hanging_webhook_never_slows_provisioning() {
    let scim = ScimServer::start();
    let hook = Webhook::hanging();
    let apps = format!(
        "{}{}",
        scim_app("files", &scim.base_url(), scim.token(), ""),
        scim_app("chat", &scim.base_url(), WRONG_TOKEN, "")
    );
    let env = env_with_alerts(&apps, |d| {
        format!(
            "alert_batch_secs = 1\n{}",
            alert_lines(d, Some(&hook.url(HOOK_PATH)), None)
        )
    });
    env.install("files");
    env.install("chat");
    let mut serve = Serve::start(&env);
    env.create_person("ann@example.org", "Ann", &["chat=user"]);
    wait_until(
        Duration::from_secs(60),
        || hook.received().len() == 1,
        || format!("the alert never reached the webhook; log:\n{}", serve.log()),
    );
    // The alert's request is held open (this receiver never answers) while 30 people
    // are provisioned into the other app: they all settle.
    people(&env, "files", "person", 30);
    wait_for(&env, "files", Duration::from_secs(120), |c| {
        c.get("provisioned") == Some(&30)
    });
    wait_until(
        Duration::from_secs(60),
        || serve.log().contains("alert channel failed"),
        || format!("the timeout was not logged; log:\n{}", serve.log()),
    );
    let log = serve.log();
    assert!(log.contains("webhook"), "{log}");
    assert_no_secret("serve's log", &log);
    serve.stop();
}

/// The webhook's JSON bodies so far, waiting until there are at least `n`.
fn wait_posts(hook: &Webhook, n: usize, serve: &Serve) -> Vec<Value> {
    wait_until(
        Duration::from_secs(60),
        || hook.received().len() >= n,
        || {
            format!(
                "{n} alerts expected, got {:?}; serve's log:\n{}",
                hook.received(),
                serve.log()
            )
        },
    );
    hook.received().into_iter().map(|r| r.body).collect()
}

#[test]
fn drift_found_by_the_periodic_check_is_told_and_so_is_its_fix() {
    let scim = ScimServer::start();
    let hook = Webhook::start();
    let env = env_with_alerts(
        &scim_app("files", &scim.base_url(), scim.token(), ""),
        |d| alert_lines(d, Some(&hook.url(HOOK_PATH)), None),
    );
    env.install("files");
    env.create_person("ann@example.org", "Ann", &["files=user"]);
    ok(&env.provision_run_wait(), "provision run");
    // Deleted by hand in the app: the daily check (here every second) finds it.
    let id = scim.users()[0]["id"].as_str().unwrap().to_owned();
    scim.delete_user(&id);
    let mut serve = Serve::builder(&env)
        .env("ACCESSBOARD_PROVISIONING__DRIFT_CHECK_INTERVAL_SECS", "1")
        .start();
    let posts = wait_posts(&hook, 1, &serve);
    assert_eq!(
        (&posts[0]["kind"], &posts[0]["state"], &posts[0]["app"]),
        (&"drift".into(), &"raised".into(), &"files".into())
    );
    assert_eq!(posts[0]["title"], "App files: drift found");
    let text = posts[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "The drift check found 1 person without the active account they should have (0 accounts in the app)."
        ),
        "{text}"
    );
    serve.stop();

    // The admin fixes it; the next start tells that it is resolved, once.
    let fixed = env.cli(&["provision", "check", "--app", "files", "--fix"]);
    assert_eq!(fixed.status.code(), Some(1), "drift found and marked");
    ok(&env.provision_run_wait(), "provision run");
    let mut serve = Serve::start(&env);
    let posts = wait_posts(&hook, 2, &serve);
    assert_eq!(
        (&posts[1]["kind"], &posts[1]["state"]),
        (&"drift".into(), &"resolved".into())
    );
    assert!(
        posts[1]["text"]
            .as_str()
            .unwrap()
            .contains("provision check --fix marked 1 pair for sync."),
        "{}",
        posts[1]
    );
    serve.stop();
    assert_eq!(hook.received().len(), 2);
}

#[test]
fn a_held_back_identity_sync_is_told_and_so_is_the_sync_that_goes_through() {
    use crate::support::kratos::FakeKratos;
    let kratos = FakeKratos::start();
    let hook = Webhook::start();
    let dir = tempfile::tempdir().unwrap();
    let settings_path = dir.path().join("settings.toml");
    SettingsToml::quick(&dir.path().join("data/accessboard.db"))
        .identity("backend", "\"kratos\"")
        .identity("kratos_admin_url", &format!("\"{}\"", kratos.url()))
        .identity("sync_interval_secs", "1")
        .lines(
            "alerts",
            &alert_lines(dir.path(), Some(&hook.url(HOOK_PATH)), None),
        )
        .write(&settings_path);
    let env = TestEnv { dir, settings_path };
    let ids: Vec<_> = (0..12)
        .map(|i| {
            kratos.add(
                &format!("p{i}@example.org"),
                serde_json::json!(format!("P {i}")),
            )
        })
        .collect();
    ok(&env.provision_run_wait(), "provision run");
    assert_eq!(env.users().len(), 12);
    // Everyone gone from Kratos at once: a wrong URL is likelier than a mass departure.
    for id in ids {
        kratos.remove(id);
    }
    let mut serve = Serve::start(&env);
    let posts = wait_posts(&hook, 1, &serve);
    assert_eq!(
        (&posts[0]["kind"], &posts[0]["state"], &posts[0]["app"]),
        (
            &"identity_sync_held_back".into(),
            &"raised".into(),
            &Value::Null
        )
    );
    assert!(
        posts[0]["text"].as_str().unwrap().starts_with(
            "The identity sync would remove 12 of 12 people at once and held that back"
        ),
        "{}",
        posts[0]
    );
    assert_eq!(env.users().len(), 12, "nobody was removed");

    // Thirty newcomers make twelve departures plausible: the sync goes through.
    for i in 0..30 {
        kratos.add(
            &format!("new{i}@example.org"),
            serde_json::json!(format!("New {i}")),
        );
    }
    let posts = wait_posts(&hook, 2, &serve);
    assert_eq!(
        (&posts[1]["kind"], &posts[1]["state"]),
        (&"identity_sync_held_back".into(), &"resolved".into())
    );
    serve.stop();
}
