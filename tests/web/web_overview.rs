//! The overview during an outage: "Needs attention" is one row per app and cause that
//! opens to the people, never their stale "next in 5s"; a quarantined app's pairs say
//! what they wait for on every page; "no access" is not a worry; lists say how long ago.

use accessboard::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::support::app::TestApp;

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The `datetime` a `<time>` element carries for `ts`.
fn datetime(ts: i64) -> String {
    jiff::Timestamp::from_second(ts).unwrap().to_string()
}

/// The "Needs attention" section of the overview.
fn attention(body: &str) -> &str {
    let start = body
        .find("id=\"attention\"")
        .expect("a Needs attention section");
    let end = body[start..]
        .find("<h2>Latest events")
        .map_or(body.len(), |e| start + e);
    &body[start..end]
}

/// `n` people with access to Files, named `Person 01`…, their ids in that order.
async fn people(dash: &TestApp, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in 1..=n {
        ids.push(
            dash.person(
                &format!("p{i:02}@example.org"),
                &format!("Person {i:02}"),
                false,
                &[("files", Role::User)],
            )
            .await,
        );
    }
    ids
}

/// Every pair of Files waits after a refused connection, the way the engine words it.
fn all_waiting(dash: &TestApp, last_attempt: i64) {
    dash.sql(&format!(
        "UPDATE app_access SET status = 'error', attempts = 2, last_attempt_at = {last_attempt},
            next_attempt_at = {last_attempt} + 5,
            last_message = 'Connection refused (os error 111) (attempt 2 of 4, next in 5s)'
         WHERE app_slug = 'files' AND role != 'none'"
    ));
}

#[actix_web::test]
async fn an_outage_is_one_row_naming_the_app_the_cause_and_the_count_that_opens_to_the_people() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ids = people(&dash, 9).await;
    let t = now();
    all_waiting(&dash, t - 120);
    dash.sql(&format!(
        "INSERT INTO app_rails (app_slug, failing_since) VALUES ('files', {});
         INSERT INTO app_health (app_slug, last_error_at, last_error)
         VALUES ('files', {}, 'Connection refused (os error 111) (attempt 2 of 4, next in 5s)');",
        t - 600,
        t - 120
    ));

    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    let section = attention(&home.body);
    assert_eq!(
        section.matches("<details>").count(),
        1,
        "one row: {section}"
    );
    assert!(
        section.contains(&format!(
            "<summary><strong>Files unreachable</strong> since <time datetime=\"{}\"",
            datetime(t - 600)
        )),
        "{section}"
    );
    assert!(
        section.contains("</time> — 9 people waiting</summary>"),
        "{section}"
    );
    // Opened: everyone by name, with when they were last tried; not one stale retry time.
    for (i, id) in ids.iter().enumerate() {
        assert!(
            section.contains(&format!(
                "<a href=\"/users/{id}\"><bdi>Person {:02}</bdi></a>",
                i + 1
            )),
            "{section}"
        );
    }
    assert!(section.contains(">2 min ago</time>"), "{section}");
    assert!(!home.body.contains("next in 5s"), "{}", home.body);
    // The card quotes the app's last error, without one person's attempt count and the
    // wait that is over by now.
    assert!(
        home.body
            .contains("<p class=\"message\">Connection refused (os error 111)</p>"),
        "{}",
        home.body
    );
    assert!(!section.contains("All 9"), "all of them are shown");

    // Quarantined: the same one row, what it waits for, and the card says it too.
    dash.sql(&format!(
        "UPDATE app_rails SET quarantined_at = {q}, next_probe_at = {next},
            quarantine_reason = 'every request failed for 5 min; the last: connection refused'",
        q = t - 60,
        next = t + 170
    ));
    let home = b.get("/").await;
    let section = attention(&home.body);
    assert_eq!(section.matches("<details>").count(), 1, "{section}");
    assert!(
        section.contains(&format!(
            "<summary><strong>Files quarantined</strong> since <time datetime=\"{}\"",
            datetime(t - 60)
        )),
        "{section}"
    );
    assert!(section.contains("— 9 people waiting</summary>"));
    assert!(
        section.contains("waiting for Files to answer again (next probe in 2 min)."),
        "{section}"
    );
    assert!(section.contains("Why: every request failed for 5 min"));
    assert!(
        home.body
            .contains("<span class=\"badge bad\">quarantined</span>")
    );
    assert!(!home.body.contains("attempt 2 of 4"), "{}", home.body);

    // Everywhere a pair is shown: the person page, the app's page, in place of the attempt count.
    for page in [format!("/users/{}", ids[0]), "/apps/files".to_owned()] {
        let r = b.get(&page).await;
        assert_eq!(r.status, StatusCode::OK, "{page}");
        assert!(
            r.body
                .contains("waiting for Files to answer again (next probe in 2 min)"),
            "{page}: {}",
            r.body
        );
        assert!(!r.body.contains("attempt 2 of 4"), "{page}: {}", r.body);
    }
}

#[actix_web::test]
async fn a_large_group_shows_a_few_people_and_links_to_all_of_them() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    people(&dash, 14).await;
    all_waiting(&dash, now() - 30);
    let home = b.get("/").await;
    let section = attention(&home.body);
    assert_eq!(section.matches("<details>").count(), 1, "{section}");
    assert!(
        section.contains(
            "<summary><strong>Files answers with errors</strong> — 14 people waiting to retry</summary>"
        ),
        "{section}"
    );
    assert_eq!(
        section.matches("<a href=\"/users/").count(),
        10,
        "{section}"
    );
    assert!(
        section.contains("<a href=\"/apps/files?status=error\">All 14 in Files</a>"),
        "{section}"
    );
    assert!(!section.contains("next in 5s"));
}

#[actix_web::test]
async fn failed_and_held_pairs_are_groups_of_their_own_with_what_to_do() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ids = people(&dash, 5).await;
    let t = now();
    dash.sql(&format!(
        "UPDATE app_access SET status = 'failed', last_attempt_at = {t},
            last_message = 'gave up after 4 attempts: the app said no'
         WHERE user_id = '{}' AND app_slug = 'files';
         UPDATE app_access SET status = 'held', last_message = 'revocation held: the app is paused for revocations'
         WHERE user_id IN ('{}', '{}') AND app_slug = 'files';
         INSERT INTO app_rails (app_slug, paused, pause_reason, paused_by, paused_at)
         VALUES ('files', 'revocations', '2 of 5 accounts revoked within 5 min (the guard allows 10%)', 'ada@example.org', {t});",
        ids[0], ids[1], ids[2]
    ));
    let home = b.get("/").await;
    let section = attention(&home.body);
    assert_eq!(section.matches("<details>").count(), 2, "{section}");
    assert!(
        section.contains(
            "<summary><strong>Files: 1 person failed</strong> — not retried by itself</summary>"
        ),
        "{section}"
    );
    assert!(section.contains(&format!("/apps/files/retry/{}?back=overview", ids[0])));
    assert!(section.contains("href=\"/apps/files/retry\">retry all 1…</a>"));
    assert!(
        section.contains(&format!(
            "<summary><strong>Files: 2 revocations</strong> held by the revocation guard since <time datetime=\"{}\"",
            datetime(t)
        )),
        "{section}"
    );
    assert!(section.contains("2 of 5 accounts revoked within 5 min"));
    assert!(section.contains("href=\"/apps/files/resume\""));
    let failed_first = section.find("1 person failed").unwrap();
    let held_after = section.find("2 revocations").unwrap();
    assert!(failed_first < held_after, "{section}");

    // Retried and let go: nothing needs an admin any more.
    dash.sql("UPDATE app_access SET status = 'provisioned'; DELETE FROM app_rails;");
    let home = b.get("/").await;
    assert!(
        attention(&home.body).contains("Nothing: no person is waiting, failed or held in any app."),
        "{}",
        home.body
    );
}

#[actix_web::test]
async fn people_without_access_are_counted_as_no_access_not_as_a_state_to_worry_about() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    people(&dash, 2).await;
    for i in 0..3 {
        dash.person(
            &format!("nobody{i}@example.org"),
            &format!("Nobody {i}"),
            false,
            &[],
        )
        .await;
    }
    dash.sql("UPDATE app_access SET status = 'provisioned' WHERE role != 'none'");
    let home = b.get("/").await;
    // The three, and the signed-in admin, simply have no access to Files.
    assert!(
        home.body.contains(
            "href=\"/apps/files?status=not_provisioned\"><span class=\"neutral\">no access</span> 4</a>"
        ),
        "{}",
        home.body
    );
    assert!(!home.body.contains("not provisioned 4"));
    assert!(!home.body.contains("badge none"), "{}", home.body);
    assert!(
        home.body
            .contains("<span class=\"badge ok\">provisioned</span> 2"),
        "{}",
        home.body
    );
}

#[actix_web::test]
async fn lists_say_how_long_ago_with_the_exact_time_on_hover() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let t = now() - 180;
    dash.sql(&format!(
        "INSERT INTO provision_attempts (at, user_email, user_name, app_slug, outcome, summary, requests, duration_ms)
         VALUES ({t}, 'ann@example.org', 'Ann Lee', 'files', 'provisioned', 'account created', 1, 12)"
    ));
    let exact = jiff::Timestamp::from_second(t)
        .unwrap()
        .strftime("%Y-%m-%d %H:%M UTC (%Y-%m-%d %H:%M:%S UTC)")
        .to_string();
    for page in ["/", "/activity"] {
        let r = b.get(page).await;
        let item = format!(
            "<time datetime=\"{}\" title=\"{exact}\">3 min ago</time>",
            datetime(t)
        );
        assert!(r.body.contains(&item), "{page}: {item} in {}", r.body);
    }
}
