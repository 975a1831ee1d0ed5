//! Email to a local relay without TLS (`smtp_tls = "none"`): sent in clear only with the
//! opt-in; without it a relay that offers no STARTTLS gets nothing.

use crate::support::env::{TestEnv, ok, stderr, stdout};
use crate::support::settings::SettingsToml;
use crate::support::smtp::SmtpServer;

fn env_with(lines: &str) -> TestEnv {
    let dir = tempfile::tempdir().unwrap();
    let settings_path = dir.path().join("settings.toml");
    SettingsToml::quick(&dir.path().join("data/accessboard.db"))
        .lines("alerts", lines)
        .write(&settings_path);
    TestEnv { dir, settings_path }
}

#[test]
fn a_plain_relay_on_loopback_gets_email_with_the_opt_in_and_nothing_without() {
    let relay = SmtpServer::start_plain();
    let mail_lines = format!(
        "smtp_url = \"smtp://127.0.0.1:{}\"\nfrom = \"accessboard <alerts@example.org>\"\nto = \"ops@example.org\"\n",
        relay.port
    );

    // Without the opt-in STARTTLS is required, and this relay offers none.
    let env = env_with(&mail_lines);
    let out = env.cli(&["alerts", "test"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("email: failed: "), "{}", stdout(&out));
    assert!(relay.received().is_empty(), "nothing was sent in clear");

    // With it: sent, in clear, without AUTH, and no warning for a loopback relay.
    let env = env_with(&format!("{mail_lines}smtp_tls = \"none\"\n"));
    let out = env.cli(&["alerts", "test"]);
    ok(&out, "alerts test to a plain relay");
    assert_eq!(stdout(&out), "email: test message sent\n");
    assert!(!stderr(&out).contains("in clear"), "{}", stderr(&out));
    let mail = relay.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["tls"], false);
    assert_eq!(mail[0]["authenticated"], false);
    assert_eq!(mail[0]["to"], serde_json::json!(["ops@example.org"]));
}

#[test]
fn no_tls_is_refused_with_a_password_or_with_smtps() {
    for (url, says) in [
        ("smtp://alerts@127.0.0.1:25", "sends no password"),
        ("smtps://127.0.0.1", "needs an smtp:// URL"),
    ] {
        let env = env_with(&format!(
            "smtp_url = \"{url}\"\nsmtp_tls = \"none\"\nfrom = \"a@example.org\"\nto = \"b@example.org\"\n"
        ));
        let out = env.cli(&["alerts", "test"]);
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("alerts.smtp_tls") && stderr(&out).contains(says),
            "{url}: {}",
            stderr(&out)
        );
    }
}
