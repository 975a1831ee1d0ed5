//! `accessboard user invite EMAIL [--show]`: the same invitation as the person page's,
//! emailed through the SMTP server of `[alerts]` (a real aiosmtpd relay here) or printed.

use crate::support::env::{TestEnv, ok, stderr, stdout};
use crate::support::smtp::{SmtpServer, link_path};

const PUBLIC: &str = "http://dash.example.org";

fn env(alerts: &str) -> TestEnv {
    TestEnv::build(|s| {
        s.server("public_url", &format!("\"{PUBLIC}/\""))
            .lines("alerts", alerts)
    })
}

#[test]
fn invite_emails_the_link_or_prints_it_with_show() {
    let smtp = SmtpServer::start_plain();
    let env = env(&smtp.plain_settings());
    env.create_admin("bob@example.org", "Bob", &[]);

    // Debug logs on: the token must not be in them either.
    let out = env.cli_env(
        &["user", "invite", "bob@example.org"],
        &[("RUST_LOG", "debug"), ("USER", "ops")],
    );
    ok(&out, "user invite");
    assert_eq!(
        stdout(&out),
        "Invitation sent to bob@example.org (valid 48 hours)\n"
    );
    let mails = smtp.received();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let text = mails[0]["text"].as_str().unwrap();
    assert!(
        text.contains("ops, an operator of the accessboard server, invited you"),
        "{text}"
    );
    let path = link_path(text, PUBLIC);
    let token = path.split("token=").nth(1).unwrap();
    assert_eq!(token.len(), 64);
    assert!(!stderr(&out).contains(token), "{}", stderr(&out));
    assert!(!stdout(&out).contains(token));

    let out = env.cli(&["user", "invite", "bob@example.org", "--show"]);
    ok(&out, "user invite --show");
    let printed = stdout(&out);
    assert!(printed.starts_with("sign-in link for bob@example.org (works once, until "));
    assert!(
        printed.contains(&format!("{PUBLIC}/login/link?token=")),
        "{printed}"
    );
    assert_eq!(smtp.received().len(), 1, "--show sends nothing");

    let audit = env.cli(&["audit", "--json"]);
    ok(&audit, "audit");
    let created = stdout(&audit).matches("sign_in_link.create").count();
    assert_eq!(created, 2, "{}", stdout(&audit));
}

#[test]
fn invite_without_email_prints_the_link_and_refuses_who_may_not_sign_in() {
    let env = env("");
    env.create_admin("bob@example.org", "Bob", &[]);
    env.create_person("carl@example.org", "Carl", &[]);
    let out = env.cli(&["user", "invite", "bob@example.org"]);
    ok(&out, "user invite without SMTP");
    assert!(
        stdout(&out).contains(&format!("{PUBLIC}/login/link?token=")),
        "{}",
        stdout(&out)
    );
    let out = env.cli(&["user", "invite", "carl@example.org"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("may not sign in here"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn invite_to_an_smtp_server_that_is_down_fails_and_leaves_no_link() {
    let down = crate::support::net::free_port();
    let env = env(&format!(
        "smtp_url = \"smtp://127.0.0.1:{down}\"\nsmtp_tls = \"none\"\nfrom = \"board@example.org\"\nto = \"ops@example.org\"\n"
    ));
    env.create_admin("bob@example.org", "Bob", &[]);
    let out = env.cli(&["user", "invite", "bob@example.org"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the email to bob@example.org could not be sent")
            && err.contains("its link was withdrawn"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}
