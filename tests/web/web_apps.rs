//! /apps, /apps/{slug}, the drift report and /activity.

use accessboard::domain::Role;
use reqwest::StatusCode;

use crate::support::app::TestApp;

#[actix_web::test]
async fn apps_show_scim_without_secrets_and_install_uninstall_and_sync() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    dash.person(
        "ana@example.org",
        "Ana Lima",
        false,
        &[("files", Role::User)],
    )
    .await;
    dash.sql("UPDATE app_access SET status = 'provisioned' WHERE app_slug = 'files'");
    let page = b.get("/apps").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("configured: <code class=\"wrap\">https://127.0.0.1:9/scim/v2</code>"),
        "{}",
        page.body
    );
    for secret in ["hunter2", "svc:", "topsecret", "tok-never-shown"] {
        assert!(!page.body.contains(secret), "{secret} is shown");
    }
    assert!(
        page.body.contains("not configured; add [apps.scim]"),
        "wiki has no SCIM"
    );
    assert!(
        page.body
            .contains("2 <span class=\"badge ok\">provisioned</span>"),
        "per-status counts: {}",
        page.body
    );
    assert!(page.body.contains("Sync now") && page.body.contains("Check drift"));

    // install wiki: it shows as installed and gets a column on /users
    let r = b.post("/apps/wiki/install", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = b.get(r.header("location")).await;
    assert!(page.body.contains("Wiki is installed"), "{}", page.body);
    assert!(
        b.get("/users")
            .await
            .body
            .contains("<th scope=\"col\">Wiki</th>")
    );

    // sync now asks first, then marks the app's people
    let ask = b.get("/apps/files/sync").await;
    assert!(
        ask.body
            .contains("are checked against one listing of the accounts in Files"),
        "{}",
        ask.body
    );
    let r = b.post("/apps/files/sync", &[]).await;
    let page = b.get(r.header("location")).await;
    assert!(
        page.body.contains("people of Files are being synced"),
        "{}",
        page.body
    );
    assert!(
        dash.sql_i64(
            "SELECT count(*) FROM app_access WHERE app_slug = 'files' AND status = 'sync_needed'"
        ) >= 1
    );

    // uninstall: provisioning stops
    let r = b.post("/apps/files/uninstall", &[]).await;
    let page = b.get(r.header("location")).await;
    assert!(page.body.contains("Files is uninstalled"));
    assert_eq!(dash.sql_i64("SELECT count(*) FROM app_access WHERE app_slug = 'files' AND status <> 'not_provisioned'"), 0);
    assert_eq!(
        b.post("/apps/nope/install", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn an_app_lists_its_pairs_with_the_full_message_and_retries_failures() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ana = dash
        .person(
            "ana@example.org",
            "Ana Lima",
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
    let long = format!("409 Conflict: uniqueness — {} <b>end</b>", "x".repeat(300));
    dash.sql(&format!(
        "UPDATE app_access SET status = 'failed', attempts = 8, last_attempt_at = 1700000000, last_message = '{long}'
         WHERE user_id = '{ana}'"
    ));
    dash.sql("UPDATE app_access SET status = 'provisioned' WHERE status <> 'failed'");
    let page = b.get("/apps/files").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(&long.replace('<', "&lt;").replace('>', "&gt;")),
        "the message in full, escaped"
    );
    assert!(page.body.contains("2023-11-14 22:13:20 UTC"));
    assert!(page.body.contains(">failed</span>"));
    assert_eq!(
        page.body.matches(">Retry</button>").count(),
        1,
        "only the failed row can be retried"
    );
    assert!(
        !page.body.contains("hx-trigger=\"every"),
        "nothing transient: no polling"
    );

    let only_failed = b.get("/apps/files?status=failed").await;
    assert!(only_failed.body.contains("Ana Lima") && !only_failed.body.contains("Bob Stone"));
    assert!(
        only_failed
            .body
            .contains("<option value=\"failed\" selected>")
    );

    // Retry from htmx: the row comes back already "sync needed", and polling starts
    let r = b.post_hx(&format!("/apps/files/retry/{ana}"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .starts_with(&format!("<tr id=\"r-{}-files\"", ana.simple())),
        "{}",
        r.body
    );
    assert!(r.body.contains("sync needed"));
    assert!(!r.body.contains(">Retry</button>"));
    assert!(r.body.contains("hx-trigger=\"every 2s\""));
    // the row view of the poll redraws the whole row when attempts change
    dash.sql("UPDATE app_access SET status = 'error', attempts = 1, next_attempt_at = 1700000100 WHERE app_slug = 'files' AND status = 'sync_needed'");
    let r = b
        .get_hx(&format!(
            "/poll?view=row&w={}:files:sync_needed:0",
            ana.simple()
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "error is still transient");
    assert!(r.body.contains("hx-swap-oob=\"true\"") && r.body.contains("retry at"));
    assert!(r.body.contains(">Retry</button>"));
}

#[actix_web::test]
async fn test_connection_shows_the_checklist_in_the_apps_words() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let page = b.get("/apps/files").await;
    assert!(
        page.body.contains(">Test connection</button>"),
        "{}",
        page.body
    );
    // Nothing listens where `files` points: the first check fails, and says why.
    let r = b.post("/apps/files/test", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert!(
        r.body.contains("cannot be provisioned as configured"),
        "{}",
        r.body
    );
    assert!(r.body.contains("reach and sign in"), "{}", r.body);
    assert!(!r.body.contains("topsecret") && !r.body.contains("tok-never-shown"));
    let r = b.post("/apps/nope/test", &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn the_drift_report_page_says_when_none_ran() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let r = b.get("/apps/files/drift").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("No drift check has run for this app yet."));
    dash.sql(r#"INSERT INTO meta (key, value) VALUES ('drift:files', '{"app":"files","checked_at":"2026-01-01T00:00:00Z","remote_accounts":3,"missing":[{"email":"ana@example.org","user_name":null,"scim_id":null,"reason":"no account in the app"}],"should_be_disabled":[],"unknown":[{"email":"","user_name":"<svc>","scim_id":"9","reason":"not a person accessboard knows"}],"fixed":0}')"#);
    let r = b.get("/apps/files/drift").await;
    assert!(r.body.contains("the app holds 3 accounts"));
    assert!(r.body.contains("Missing (1)") && r.body.contains("ana@example.org"));
    assert!(r.body.contains("Unknown to accessboard (1)") && r.body.contains("&lt;svc&gt;"));
}

/// The position of `needle` in `hay`, or a panic naming what is missing.
fn at(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not on the page:\n{hay}"))
}

#[actix_web::test]
async fn the_app_page_runs_the_app_with_uninstall_last_and_dangerous() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    dash.person(
        "ana@example.org",
        "Ana Lima",
        false,
        &[("files", Role::User)],
    )
    .await;
    dash.person(
        "bob@example.org",
        "Bob Stone",
        false,
        &[("files", Role::User)],
    )
    .await;
    dash.sql("UPDATE app_access SET status = 'failed' WHERE user_id = (SELECT id FROM users WHERE email = 'ana@example.org')");
    dash.sql("UPDATE app_access SET status = 'provisioned' WHERE app_slug = 'files' AND status <> 'failed' AND role <> 'none'");
    let page = b.get("/apps/files").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains("Nothing has been sent to Files yet."),
        "{body}"
    );
    // Every action is here, the everyday ones first, Uninstall last and in red.
    let sync = at(body, "href=\"/apps/files/sync?back=app\"");
    let drift = at(body, "action=\"/apps/files/drift?back=app\"");
    let test = at(body, "action=\"/apps/files/test\"");
    let pause = at(body, "href=\"/apps/files/pause\"");
    let uninstall = at(
        body,
        "class=\"button danger\" href=\"/apps/files/uninstall?back=app\"",
    );
    assert!(sync < drift && drift < test && test < pause && pause < uninstall);
    assert!(!body.contains("/apps/files/resume"), "nothing to resume");
    // Its people, each count a link to the people list filtered so.
    assert!(
        body.contains(
            "href=\"/users?app=files&amp;status=failed\">1 <span class=\"badge bad\">failed</span>"
        ),
        "{body}"
    );
    assert!(body.contains("href=\"/users?app=files&amp;status=provisioned\">1 "));
    assert!(body.contains("href=\"/activity?app=files\""));
    assert!(body.contains("No drift check has run for Files yet."));
    // The filtered list it links to holds exactly those people.
    let failed = b.get("/users?app=files&status=failed").await;
    assert!(failed.body.contains("Ana Lima") && !failed.body.contains("Bob Stone"));

    // A plain app: no SCIM actions, but it can be installed from its page.
    let wiki = b.get("/apps/wiki").await;
    assert!(wiki.body.contains("Wiki is not installed"), "{}", wiki.body);
    assert!(wiki.body.contains("href=\"/apps/wiki/install?back=app\""));
    assert!(!wiki.body.contains("/apps/wiki/drift") && !wiki.body.contains("/apps/wiki/pause"));
}

#[actix_web::test]
async fn actions_asked_from_the_app_page_come_back_to_it() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    dash.person(
        "ana@example.org",
        "Ana Lima",
        false,
        &[("files", Role::User)],
    )
    .await;
    dash.sql("UPDATE app_access SET status = 'provisioned' WHERE app_slug = 'files'");
    let ask = b.get("/apps/files/sync?back=app").await;
    assert!(
        ask.body.contains("action=\"/apps/files/sync?back=app\""),
        "{}",
        ask.body
    );
    assert!(
        ask.body
            .contains("class=\"button\" href=\"/apps/files\">Cancel")
    );
    // Files does not answer: Sync now marks everyone, and says so on the app's page.
    let r = b.post("/apps/files/sync?back=app", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.header("location").starts_with("/apps/files?done=synced"));
    let page = b.get(r.header("location")).await;
    assert!(
        page.body.contains("people of Files are being synced."),
        "{}",
        page.body
    );
    // The same handler, asked from /apps, still answers there.
    let r = b.post("/apps/files/sync", &[]).await;
    assert!(r.header("location").starts_with("/apps?done=synced"));

    let ask = b.get("/apps/files/uninstall?back=app").await;
    assert!(
        ask.body
            .contains("<button class=\"danger\" type=\"submit\">Uninstall Files")
    );
    let r = b.post("/apps/files/uninstall?back=app", &[]).await;
    let page = b.get(r.header("location")).await;
    assert!(page.body.contains("Files is uninstalled"), "{}", page.body);
    assert!(page.body.contains("href=\"/apps/files/install?back=app\""));
    assert!(!page.body.contains("/apps/files/uninstall"));
    let r = b.post("/apps/files/install?back=app", &[]).await;
    assert!(
        r.header("location")
            .starts_with("/apps/files?done=installed")
    );
}

#[actix_web::test]
async fn pause_asks_why_and_the_page_says_who_paused_until_resumed() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ask = b.get("/apps/files/pause").await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(
        ask.body
            .contains("Nothing is sent to Files until it is resumed")
    );
    let r = b.post("/apps/files/pause", &[("reason", "  ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Say why, so that the other admins know."));
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM app_rails WHERE paused IS NOT NULL"),
        0,
        "not paused without a reason"
    );

    let r = b
        .post("/apps/files/pause", &[("reason", "storage migration")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/apps/files");
    let page = b.get("/apps/files").await;
    assert!(
        page.body
            .contains("Files is paused: nothing is sent to it until it is resumed.")
    );
    let banner = &page.body[at(&page.body, "health-banner")..];
    assert!(banner.contains("<span class=\"badge health warn\">paused</span>"));
    assert!(
        banner.contains("by admin@example.org") || banner.contains("by Admin"),
        "{banner}"
    );
    assert!(banner.contains("Why: storage migration."), "{banner}");
    assert!(page.body.contains("href=\"/apps/files/resume\""));
    assert!(!page.body.contains("href=\"/apps/files/pause\""));
    // Not even a drift check's listing goes to a paused app.
    let r = b.post("/apps/files/drift", &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body
            .contains("Files is paused: nothing is sent to it, not even a drift check"),
        "{}",
        r.body
    );
    let apps = b.get("/apps").await;
    assert!(
        apps.body
            .contains("<span class=\"badge health warn\">paused</span>")
    );

    let r = b.post("/apps/files/resume", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = b.get("/apps/files").await;
    assert!(page.body.contains("Files resumed"), "{}", page.body);
    assert!(!page.body.contains(">paused</span>"));
    assert!(page.body.contains("href=\"/apps/files/pause\""));
}

#[actix_web::test]
async fn app_cards_and_pages_show_health_and_a_down_app_is_unreachable() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    dash.sql(
        "INSERT INTO app_health (app_slug, last_success_at) VALUES ('files', 1700000000)
              ON CONFLICT (app_slug) DO UPDATE SET last_success_at = 1700000000",
    );
    let apps = b.get("/apps").await;
    assert!(
        apps.body
            .contains("<span class=\"badge health ok\">working</span>"),
        "{}",
        apps.body
    );
    // On the card too, Uninstall comes last and in red.
    let sync = at(&apps.body, "href=\"/apps/files/sync\"");
    let uninstall = at(
        &apps.body,
        "class=\"button danger\" href=\"/apps/files/uninstall\"",
    );
    assert!(sync < uninstall);

    // Every request failing since a minute: unreachable, with the error in full.
    let error = format!(
        "GET /Users/{} failed: Connection refused (os error 111)",
        "a".repeat(32)
    );
    dash.sql(&format!(
        "UPDATE app_health SET last_error_at = 1700000100, last_error = '{error}' WHERE app_slug = 'files'"
    ));
    dash.sql("INSERT INTO app_rails (app_slug, failing_since) VALUES ('files', 1700000050)");
    let apps = b.get("/apps").await;
    assert!(apps.body.contains(">unreachable</span>"), "{}", apps.body);
    let page = b.get("/apps/files").await;
    assert!(
        page.body
            .contains("Files does not answer: every request failed since")
    );
    assert!(page.body.contains(&format!("Last error: {error}")));

    dash.sql("UPDATE app_rails SET quarantined_at = 1700000200, quarantine_reason = 'no answer for 10 minutes', next_probe_at = 1700000500 WHERE app_slug = 'files'");
    let apps = b.get("/apps").await;
    assert!(apps.body.contains(">quarantined</span>"));
    let page = b.get("/apps/files").await;
    assert!(page.body.contains("Files is quarantined since"));
    assert!(page.body.contains("no answer for 10 minutes"));
    assert!(
        page.body.contains("href=\"/apps/files/resume\""),
        "Resume probes it now"
    );

    // An answer again: the rails clear, and the last error is only history.
    dash.sql("DELETE FROM app_rails");
    dash.sql("UPDATE app_health SET last_success_at = 1700000600 WHERE app_slug = 'files'");
    let apps = b.get("/apps").await;
    assert!(apps.body.contains(">working</span>") && !apps.body.contains(">unreachable</span>"));
}

#[actix_web::test]
async fn the_drift_report_offers_fix_and_a_fixed_report_is_not_shown_as_current() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    dash.sql(r#"INSERT INTO meta (key, value) VALUES ('drift:files', '{"app":"files","checked_at":"2026-01-01T00:00:00Z","remote_accounts":3,"missing":[{"email":"ana@example.org","user_name":null,"scim_id":null,"reason":"no account in the app"}],"should_be_disabled":[],"unknown":[],"fixed":0}')"#);
    let page = b.get("/apps/files").await;
    assert!(
        page.body.contains(
            "1 missing, 0 should be disabled, 0 with the wrong role, 0 unknown to accessboard."
        ),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("action=\"/apps/files/drift/fix?back=app\"")
    );
    let report = b.get("/apps/files/drift").await;
    assert!(report.body.contains("action=\"/apps/files/drift/fix\""));
    // Files does not answer, so the fix cannot check again: it says why and marks nobody.
    let r = b.post("/apps/files/drift/fix?back=app", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert!(r.body.contains("Drift check of Files failed"), "{}", r.body);

    // A report whose drift was handed to sync says so, and offers no second fix.
    dash.sql(r#"UPDATE meta SET value = json_set(value, '$.fixed', 1) WHERE key = 'drift:files'"#);
    let page = b.get("/apps/files").await;
    assert!(
        page.body
            .contains("1 out of step marked for sync; check again once they are provisioned."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("1 missing") && !page.body.contains("/drift/fix"));
    let report = b.get("/apps/files/drift").await;
    assert!(report.body.contains("What that check found"));
    assert!(!report.body.contains("/drift/fix"));
}

#[actix_web::test]
async fn the_app_page_counts_the_accounts_left_unmanaged() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let page = b.get("/apps/files").await;
    assert!(!page.body.contains("left unmanaged"), "{}", page.body);
    dash.sql("INSERT INTO unmanaged_accounts (app_slug, scim_id, user_name, noted_by, noted_at) VALUES ('files', '7', 'svc', 'root', 0), ('files', '8', 'ops', 'root', 0)");
    let page = b.get("/apps/files").await;
    assert!(
        page.body.contains("2 accounts in Files left unmanaged"),
        "{}",
        page.body
    );
}
