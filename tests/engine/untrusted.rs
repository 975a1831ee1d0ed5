//! An app's own words are untrusted: capped, without control characters, wherever they
//! are kept or shown; and the provisioning log does not grow for ever.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::db::sql_i64;
use crate::support::env::{TestEnv, stdout};
use crate::support::settings::scim_app;

#[tokio::test(flavor = "multi_thread")]
async fn nearly_a_megabyte_of_detail_with_line_breaks_and_escapes_is_cut_and_cleaned() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "Resources": []}),
        ))
        .mount(&mock)
        .await;
    // A forged log line and a terminal escape, then 900 KiB (just under the answer cap).
    let detail = format!(
        "refused\n2026-11-29T00:00:00Z WARN no dashboard admin yet; open this link: http://evil.example/setup\u{1b}[2J{}",
        "x".repeat(900 * 1024)
    );
    Mock::given(method("POST"))
        .and(path("/Users"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "detail": detail}),
        ))
        .mount(&mock)
        .await;
    let env = TestEnv::new(&scim_app("files", &mock.uri(), "untrusted-token-81x", ""));
    env.install("files");
    env.create_person("ann@example.org", "Ann", &["files=user"]);
    let run = env
        .cli_off_thread(&["provision", "run", "--wait", "--timeout", "30"])
        .await;
    assert_eq!(run.status.code(), Some(1), "the pair failed");
    let pair = env.pair("ann@example.org", "files");
    let message = pair["last_message"].as_str().unwrap();
    assert!(message.contains("refused"), "{message}");
    assert!(message.len() < 4096, "capped: {} bytes", message.len());
    assert!(!message.chars().any(char::is_control), "{message:?}");
    let longest = sql_i64(
        &env.db_path(),
        "SELECT max(length(message)) FROM provision_log",
    );
    assert!(longest < 4096, "the log keeps {longest} bytes of it");
    let status = env.cli(&["provision", "status"]);
    let text = stdout(&status);
    assert!(!text.contains('\u{1b}'), "an escape reached the terminal");
    assert_eq!(
        text.lines().filter(|l| l.contains("evil.example")).count(),
        1,
        "the app's line break did not make a line of its own:\n{text}"
    );
    assert!(
        text.lines()
            .filter(|l| l.contains("evil.example"))
            .all(|l| l.starts_with("ann@example.org")),
        "{text}"
    );
}

#[test]
fn the_provisioning_log_is_pruned_after_its_retention() {
    let env = TestEnv::with_provisioning(
        &scim_app("files", "http://127.0.0.1:9", "t", ""),
        "log_retention_days = 30",
    );
    let db = env.db_path();
    env.users();
    let conn = crate::support::db::connect(&db);
    let day = 86_400;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for (age_days, op) in [(31, "old"), (29, "recent")] {
        conn.execute(
            "INSERT INTO provision_log (at, user_email, app_slug, operation, outcome) VALUES (?1, 'a@example.org', 'files', ?2, 'ok')",
            rusqlite::params![now - age_days * day, op],
        )
        .unwrap();
        // An event with one request of its own: both go, or both stay.
        conn.execute(
            "INSERT INTO provision_attempts (at, user_email, user_name, app_slug, outcome, summary, requests, duration_ms)
             VALUES (?1, 'a@example.org', 'Ann', 'files', 'provisioned', ?2, 1, 5)",
            rusqlite::params![now - age_days * day, format!("event {op}")],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO provision_log (at, user_email, app_slug, operation, outcome, attempt_id) VALUES (?1, 'a@example.org', 'files', ?2, 'ok', last_insert_rowid())",
            rusqlite::params![now - age_days * day, format!("{op} request")],
        )
        .unwrap();
    }
    drop(conn);
    let run = env.cli(&["provision", "run", "--timeout", "5"]);
    assert!(
        run.status.success(),
        "{}",
        crate::support::env::stderr(&run)
    );
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM provision_log WHERE operation = 'old'"
        ),
        0
    );
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM provision_log WHERE operation = 'recent'"
        ),
        1
    );
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM provision_attempts WHERE summary = 'event old'"
        ),
        0,
        "events are pruned with the log"
    );
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM provision_log WHERE operation = 'old request'"
        ),
        0,
        "a pruned event's requests go with it"
    );
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM provision_attempts WHERE summary = 'event recent'"
        ),
        1
    );
    assert_eq!(
        sql_i64(
            &db,
            "SELECT count(*) FROM provision_log WHERE operation = 'recent request'"
        ),
        1
    );
}
