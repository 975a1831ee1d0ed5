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
