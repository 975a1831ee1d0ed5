//! The overview, the event view of /activity and the person page with Sync now.

use accessboard::domain::Role;
use reqwest::StatusCode;

use crate::support::app::TestApp;

/// Inserts an event of `name` in `app` with `requests` requests; its id.
fn event(
    dash: &TestApp,
    at: i64,
    name: &str,
    app: &str,
    outcome: &str,
    summary: &str,
    requests: i64,
) -> i64 {
    dash.sql(&format!(
        "INSERT INTO provision_attempts (at, user_email, user_name, app_slug, outcome, summary, message, requests, duration_ms)
         VALUES ({at}, '{}@example.org', '{name}', '{app}', '{outcome}', '{summary}', 'message of {name}', {requests}, 42)",
        name.to_lowercase().replace(' ', ".")
    ));
    let id = dash.sql_i64("SELECT max(id) FROM provision_attempts");
    for i in 0..requests {
        dash.sql(&format!(
            "INSERT INTO provision_log (at, user_email, app_slug, operation, method, path, http_status, duration_ms, outcome, message, attempt_id)
             VALUES ({at}, 'x@example.org', '{app}', 'find_user', 'GET', '/Users', 200, {i}, 'ok', NULL, {id})"
        ));
    }
    id
}

#[actix_web::test]
async fn activity_shows_one_event_per_attempt_with_its_requests_filtered_and_paginated() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let empty = b.get("/activity").await;
    assert!(empty.body.contains("Nothing has happened yet"));
    for i in 0..60 {
        let (outcome, summary) = if i % 3 == 0 {
            ("failed", "failed")
        } else {
            ("provisioned", "account created, admin")
        };
        event(
            &dash,
            1_700_000_000 + i,
            &format!("Person {i:02}"),
            "files",
            outcome,
            summary,
            2,
        );
    }
    let page = b.get("/activity").await;
    assert_eq!(page.status, StatusCode::OK);
    let first = page.body.find("Person 59").expect("newest");
    let later = page.body.find("Person 58").expect("next");
    assert!(first < later, "newest first");
    assert!(!page.body.contains("Person 09"), "50 a page");
    assert!(page.body.contains("Page 1 of 2"));
    // One line per attempt, in the app's and the person's names, expandable to its requests.
    assert!(
        page.body.contains(
            "Person 58</bdi></strong> · Files · account created, admin · 2 requests · 42 ms"
        ),
        "{}",
        page.body
    );
    assert_eq!(page.body.matches("<details>").count(), 50);
    assert!(page.body.contains("<code>GET /Users</code>"));
    assert!(page.body.contains("message of Person 58"));
    let failed = b.get("/activity?outcome=failed").await;
    assert_eq!(failed.body.matches("<details>").count(), 20);
    assert!(!failed.body.contains("account created"));
    let one = b.get("/activity?user=person%2042").await;
    assert_eq!(
        one.body.matches("<details>").count(),
        1,
        "by name, any case"
    );
    let by_email = b.get("/activity?user=PERSON.41@").await;
    assert_eq!(by_email.body.matches("<details>").count(), 1, "by email");
    let wiki = b.get("/activity?app=wiki").await;
    assert!(wiki.body.contains("Nothing matches these filters"));
    assert_eq!(
        b.get("/activity?page=2")
            .await
            .body
            .matches("<details>")
            .count(),
        10
    );
}

#[actix_web::test]
async fn the_overview_counts_health_attention_with_retry_and_latest_events() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ann = dash
        .person(
            "ann@example.org",
            "Ann Lee",
            false,
            &[("files", Role::User)],
        )
        .await;
    dash.person(
        "bob@example.org",
        "Bob Stone",
        false,
        &[("files", Role::Admin)],
    )
    .await;
    dash.sql(&format!(
        "UPDATE app_access SET status = 'failed', last_message = 'the app said no', last_attempt_at = 1700000000
         WHERE user_id = '{ann}' AND app_slug = 'files'"
    ));
    event(
        &dash,
        1_700_000_000,
        "Ann Lee",
        "files",
        "failed",
        "failed",
        1,
    );

    let home = b.get("/").await;
    assert_eq!(
        home.status,
        StatusCode::OK,
        "the overview is the landing page"
    );
    let body = &home.body;
    assert!(body.contains("<h1>Overview</h1>"));
    assert!(body.contains("aria-current=\"page\">Overview"), "{body}");
    // Files: one failed, one waiting; its health says it is failing, with the app's words.
    assert!(
        body.contains(
            "href=\"/apps/files?status=failed\"><span class=\"badge bad\">failed</span> 1"
        ),
        "{body}"
    );
    assert!(body.contains(
        "href=\"/apps/files?status=sync_needed\"><span class=\"badge pending\">sync needed</span> 1"
    ));
    assert!(body.contains("failing"));
    assert!(body.contains("message of Ann Lee"));
    // Needs attention: Files' one failure, opening to Ann with Retry; the latest event.
    assert!(body.contains("Needs attention"));
    assert!(
        body.contains("<strong>Files: 1 person failed</strong>"),
        "{body}"
    );
    let retry = format!("/apps/files/retry/{ann}?back=overview");
    assert!(body.contains(&retry), "{body}");
    assert!(body.contains("Ann Lee</bdi></strong> · Files · failed · 1 request · 42 ms"));
    // The page polls; nothing changed, nothing comes back.
    let version = body
        .split("name=\"v\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the page's version")
        .to_owned();
    assert!(body.contains("hx-get=\"/poll?view=overview\""));
    let same = b.get_hx(&format!("/poll?view=overview&v={version}")).await;
    assert_eq!(same.status, StatusCode::OK);
    assert!(same.body.trim().is_empty(), "{}", same.body);

    // Retry without the token is refused; with it the pair is due again, back on the overview.
    let forged = b.post_raw(&retry, &[], &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let r = b.post(&retry, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/#attention");
    let changed = b.get_hx(&format!("/poll?view=overview&v={version}")).await;
    assert!(
        changed
            .body
            .contains("id=\"overview-live\" hx-swap-oob=\"true\""),
        "{}",
        changed.body
    );
    assert!(
        changed
            .body
            .contains("Nothing: no person is waiting, failed or held in any app."),
        "{}",
        changed.body
    );
    assert!(changed.body.contains("sync needed</span> 2"));
    assert!(
        changed.body.contains("every 2s"),
        "polls quickly while pairs are on their way"
    );
}

#[actix_web::test]
async fn the_person_page_shows_what_each_app_holds_and_sync_now_traces_each_request() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ann = dash
        .person(
            "ann@example.org",
            "Ann Lee",
            false,
            &[("files", Role::Admin)],
        )
        .await;
    dash.sql(&format!(
        "UPDATE app_access SET status = 'provisioned', scim_id = 'acct-77', last_message = 'account acct-77 is active',
         last_attempt_at = 1700000000 WHERE user_id = '{ann}'"
    ));
    let page = b.get(&format!("/users/{ann}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("In each app"));
    assert!(
        page.body.contains("acct-77"),
        "the account id the app holds"
    );
    assert!(page.body.contains("account acct-77 is active"));
    let sync = format!("/users/{ann}/sync/files");
    assert!(page.body.contains(&format!("action=\"{sync}\"")));
    assert!(page.body.contains("id=\"trace\""));
    assert!(page.body.contains("Recent events"));

    // CSRF: no token, no run.
    assert_eq!(
        b.post_raw(&sync, &[], &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(dash.sql_i64("SELECT count(*) FROM provision_attempts"), 0);
    // A plain app has nothing to sync.
    assert_eq!(
        b.post_hx(&format!("/users/{ann}/sync/wiki"), &[])
            .await
            .status,
        StatusCode::CONFLICT
    );

    // htmx: the trace comes back and polls until the run ends (nothing listens at Files' URL).
    let started = b.post_hx(&sync, &[]).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    assert!(started.body.contains("Sync now: Files"));
    let url = started
        .body
        .split("hx-get=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(str::to_owned);
    let mut last = started.body.clone();
    if let Some(url) = url {
        assert!(url.starts_with(&format!("/users/{ann}/trace/")), "{url}");
        for _ in 0..600 {
            last = b.get_hx(&url).await.body;
            if !last.contains("hx-get=") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    assert!(
        !last.contains("hx-get="),
        "the trace stops polling once the run ended: {last}"
    );
    assert!(
        last.contains("id=\"in-apps\" aria-labelledby=\"in-apps-title\" hx-swap-oob=\"true\""),
        "the table of what each app holds comes up to date: {last}"
    );
    assert!(
        last.contains("id=\"recent\" aria-labelledby=\"recent-title\" hx-swap-oob=\"true\"")
            && last.contains("Ann Lee</bdi></strong> · Files · error, will retry"),
        "the run's event is among the recent ones: {last}"
    );
    assert!(
        last.contains("<code>GET /"),
        "each request, as it happened: {last}"
    );
    assert!(last.contains("no answer"), "{last}");
    assert!(
        last.contains("badge warn"),
        "the run ended in error, to be retried: {last}"
    );
    for secret in ["topsecret", "tok-never-shown"] {
        assert!(!last.contains(secret), "{secret} shown in the trace");
    }
    assert_eq!(
        dash.sql_i64(&format!(
            "SELECT count(*) FROM provision_attempts WHERE user_id = '{ann}' AND outcome = 'error'"
        )),
        1
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'sync_now' AND target = 'ann@example.org'"),
        1
    );
    // A trace of another person is not served under this one.
    let other = dash
        .person("bob@example.org", "Bob Stone", false, &[])
        .await;
    let run = b.post(&sync, &[]).await;
    assert_eq!(
        run.status,
        StatusCode::SEE_OTHER,
        "browsers get the page with the trace"
    );
    let location = run.header("location").to_owned();
    assert!(
        location.starts_with(&format!("/users/{ann}?run=")),
        "{location}"
    );
    let run_id = location
        .split("run=")
        .nth(1)
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        b.get(&format!("/users/{other}/trace/{run_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let shown = b.get(&location).await;
    assert!(shown.body.contains("Sync now: Files"), "{}", shown.body);
}

#[actix_web::test]
async fn a_person_being_removed_is_shown_read_only() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ann = dash
        .person(
            "ann@example.org",
            "Ann Lee",
            false,
            &[("files", Role::User)],
        )
        .await;
    dash.sql(&format!(
        "UPDATE users SET deleted_at = 1700000000 WHERE id = '{ann}'"
    ));
    let page = b.get(&format!("/users/{ann}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("being removed"));
    assert!(
        !page.body.contains("id=\"user-form\""),
        "no form to edit: {}",
        page.body
    );
    assert!(!page.body.contains("Delete this person"));
    assert!(
        page.body.contains("In each app"),
        "what the apps hold is still shown"
    );
}
