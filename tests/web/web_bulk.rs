//! /users filters and order, bulk changes behind their impact, Sync now's
//! confirmation, times in the configured zone.

use accessboard::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::support::app::{ADMIN_EMAIL, TestApp};

/// Where `needle` first appears in `hay`, or a failure naming it.
fn at(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not on the page"))
}

fn role_of(dash: &TestApp, id: Uuid) -> String {
    dash.ctx
        .service
        .db()
        .conn()
        .unwrap()
        .query_row(
            "SELECT role FROM app_access WHERE user_id = ?1 AND app_slug = 'files'",
            [id.to_string()],
            |r| r.get(0),
        )
        .unwrap()
}

#[actix_web::test]
async fn the_list_filters_by_app_and_status_and_sorts_as_a_reader_expects() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let rita = dash
        .person(
            "rita@example.org",
            "Rita Rose",
            false,
            &[("files", Role::User)],
        )
        .await;
    let zoe = dash
        .person(
            "zoe@example.org",
            "Zoë Zahn",
            false,
            &[("files", Role::Admin)],
        )
        .await;
    dash.person(
        "edouard@example.org",
        "Édouard Manet",
        false,
        &[("files", Role::User)],
    )
    .await;
    dash.person("bea@example.org", "bea lowercase", false, &[])
        .await;
    dash.sql(&format!(
        "UPDATE app_access SET status = 'error' WHERE user_id = '{zoe}';
         UPDATE app_access SET status = 'failed' WHERE user_id = '{rita}'"
    ));

    // Unicode collation: accents and case sort with their letters, not after "Z".
    let all = b.get("/users").await.body;
    assert!(at(&all, "Ada Admin") < at(&all, "bea lowercase"));
    assert!(at(&all, "bea lowercase") < at(&all, "Édouard Manet"));
    assert!(at(&all, "Édouard Manet") < at(&all, "Rita Rose"));
    assert!(at(&all, "Rita Rose") < at(&all, "Zoë Zahn"));
    // by email: bea@ < edouard@ < rita@ < zoe@ (the admin's admin@ first)
    let by_email = b.get("/users?sort=email").await.body;
    assert!(
        by_email
            .contains(r#"<th scope="col" aria-sort="ascending"><a href="/users?sort=email">Email"#),
        "{by_email}"
    );
    assert!(at(&by_email, "bea@example.org") < at(&by_email, "edouard@example.org"));
    assert!(at(&by_email, "rita@example.org") < at(&by_email, "zoe@example.org"));

    // everyone in error in Files
    let errors = b.get("/users?app=files&status=error").await.body;
    assert!(errors.contains("Zoë Zahn"), "{errors}");
    for absent in [
        "Rita Rose",
        "Édouard Manet",
        "bea lowercase",
        "<bdi>Ada Admin</bdi>",
    ] {
        assert!(!errors.contains(absent), "{absent} is not in error");
    }
    assert!(
        errors.contains(r#"<option value="error" selected>"#),
        "the filter stays chosen"
    );
    // everyone with access to Files, in whatever state
    let files = b.get("/users?app=files").await.body;
    assert!(
        files.contains("Rita Rose")
            && files.contains("Édouard Manet")
            && files.contains("Zoë Zahn")
    );
    assert!(!files.contains("bea lowercase"), "no role in Files");
    // a state in any app
    let failed = b.get("/users?status=failed").await.body;
    assert!(failed.contains("Rita Rose") && !failed.contains("Zoë Zahn"));
    // filters and search together, and nobody left
    let none = b.get("/users?app=files&status=error&q=rita").await.body;
    assert!(none.contains("Nobody matches “rita”"), "{none}");
    // unknown values are ignored rather than failing the page
    let r = b.get("/users?app=nope&status=weird&sort=sideways").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Rita Rose") && r.body.contains("bea lowercase"));
    // page links keep the filters
    for i in 0..55 {
        dash.person(
            &format!("p{i:02}@example.org"),
            &format!("Person {i:02}"),
            false,
            &[("files", Role::User)],
        )
        .await;
    }
    let page = b.get("/users?app=files").await.body;
    assert!(page.contains("app=files&amp;page=2"), "{page}");
}

#[actix_web::test]
async fn a_bulk_role_change_states_its_impact_then_changes_everyone_at_once() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ana = dash
        .person("ana@example.org", "Ana", false, &[("files", Role::User)])
        .await;
    let ben = dash
        .person("ben@example.org", "Ben", false, &[("files", Role::Admin)])
        .await;
    let cy = dash.person("cy@example.org", "Cy", false, &[]).await;
    let list = b.get("/users").await.body;
    assert!(
        list.contains(&format!(r#"name="id" value="{ana}" form="bulk""#)),
        "{list}"
    );
    let (a, bb, c) = (ana.to_string(), ben.to_string(), cy.to_string());
    let form = [
        ("action", "role"),
        ("app", "files"),
        ("role", "none"),
        ("id", &a),
        ("id", &bb),
        ("id", &c),
    ];

    // the review says what happens and changes nothing
    let review = b.post("/users/bulk", &form).await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    assert!(
        review.body.contains("2 people lose access to Files"),
        "{}",
        review.body
    );
    assert!(
        review.body.contains("Nothing changes for 1 person"),
        "{}",
        review.body
    );
    assert!(review.body.contains("Revoke their access to Files?"));
    assert_eq!(role_of(&dash, ana), "user");

    // confirmed: everyone at once, back on the list with a message, one audit entry per change
    let done = b.post("/users/bulk/apply", &form).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.header("location"), "/users");
    let page = b.get("/users").await.body;
    assert!(
        page.contains("3 people now have no access in Files"),
        "{page}"
    );
    assert!(
        !b.get("/users").await.body.contains("now have no access"),
        "the message shows once"
    );
    assert_eq!(
        (role_of(&dash, ana), role_of(&dash, ben), role_of(&dash, cy)),
        ("none".into(), "none".into(), "none".into())
    );
    assert_eq!(
        dash.sql_i64(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'access.set' AND actor LIKE '%{ADMIN_EMAIL}%'
             AND target IN ('ana@example.org / files', 'ben@example.org / files')"
        )),
        2
    );
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM app_access WHERE app_slug = 'files' AND status = 'sync_needed'"
        ),
        2
    );

    // make them admins: "gain" and the words for it
    let to_admin = [
        ("action", "role"),
        ("app", "files"),
        ("role", "admin"),
        ("id", &a),
        ("id", &bb),
    ];
    let review = b.post("/users/bulk", &to_admin).await;
    assert!(
        review
            .body
            .contains("2 people get access to Files as admin"),
        "{}",
        review.body
    );
}

#[actix_web::test]
async fn a_bulk_change_is_all_or_nothing_and_needs_the_csrf_token() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ana = dash
        .person("ana@example.org", "Ana", false, &[("files", Role::User)])
        .await;
    let gone = dash
        .person("gone@example.org", "Gone", false, &[("files", Role::User)])
        .await;
    let (a, g) = (ana.to_string(), gone.to_string());
    let form = [
        ("action", "role"),
        ("app", "files"),
        ("role", "admin"),
        ("id", &a),
        ("id", &g),
    ];
    b.get("/users").await;
    for path in ["/users/bulk", "/users/bulk/apply"] {
        let r = b.post_raw(path, &form, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} without the token");
    }
    // someone deleted between review and confirm: nobody changes
    dash.ctx.service.delete_user_by_id(gone).await.unwrap();
    let r = b.post("/users/bulk/apply", &form).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("nothing was changed"), "{}", r.body);
    assert_eq!(role_of(&dash, ana), "user");
    // nothing selected, or no such action: a sentence, nothing changed
    let r = b.post("/users/bulk", &[("action", "retry")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        b.get("/users")
            .await
            .body
            .contains("Select at least one person first")
    );
    let r = b
        .post("/users/bulk", &[("action", "explode"), ("id", &a)])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("not a bulk action"));
}

#[actix_web::test]
async fn bulk_retry_and_delete_say_which_apps_are_told() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let me = dash.sql_i64("SELECT count(*) FROM users");
    assert_eq!(me, 1);
    let ana = dash
        .person("ana@example.org", "Ana", false, &[("files", Role::User)])
        .await;
    let ben = dash
        .person("ben@example.org", "Ben", false, &[("files", Role::User)])
        .await;
    dash.sql("UPDATE app_access SET status = 'failed' WHERE app_slug = 'files' AND role = 'user'");
    let (a, bb) = (ana.to_string(), ben.to_string());
    b.get("/users").await;

    let retry = [("action", "retry"), ("id", &a), ("id", &bb)];
    let review = b.post("/users/bulk", &retry).await;
    assert!(
        review
            .body
            .contains("2 people are synced again in Files (2)"),
        "{}",
        review.body
    );
    b.post("/users/bulk/apply", &retry).await;
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM app_access WHERE status = 'sync_needed'"),
        2
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'pairs.retry'"),
        2
    );

    // yourself: refused with a reason, nobody deleted
    let admin_id: String = dash
        .ctx
        .service
        .db()
        .conn()
        .unwrap()
        .query_row(
            "SELECT id FROM users WHERE email = ?1",
            [ADMIN_EMAIL],
            |r| r.get(0),
        )
        .unwrap();
    let r = b
        .post(
            "/users/bulk",
            &[("action", "delete"), ("id", &a), ("id", &admin_id)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(b.get("/users").await.body.contains("You selected yourself"));

    dash.sql(&format!("UPDATE app_access SET status = 'provisioned' WHERE user_id = '{ana}' AND app_slug = 'files'"));
    let delete = [("action", "delete"), ("id", &a), ("id", &bb)];
    let review = b.post("/users/bulk", &delete).await;
    assert!(
        review.body.contains("2 people are deleted"),
        "{}",
        review.body
    );
    assert!(
        review.body.contains("disabled or deleted in Files (2)"),
        "{}",
        review.body
    );
    let r = b.post("/users/bulk/apply", &delete).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let list = b.get("/users").await.body;
    assert!(list.contains("2 people are being removed"), "{list}");
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM users WHERE deleted_at IS NULL"),
        1
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'person.delete'"),
        2
    );
}

#[actix_web::test]
async fn sync_now_asks_first_with_how_many_people() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    for i in 0..3 {
        dash.person(
            &format!("p{i}@example.org"),
            &format!("P {i}"),
            false,
            &[("files", Role::User)],
        )
        .await;
    }
    dash.sql("UPDATE app_access SET status = 'provisioned' WHERE role = 'user'");
    let apps = b.get("/apps").await.body;
    assert!(apps.contains(r#"href="/apps/files/sync""#), "{apps}");
    assert!(
        apps.contains("3 <span class=\"badge ok\">provisioned</span>"),
        "counts say what they count: {apps}"
    );
    let confirm = b.get("/apps/files/sync").await;
    assert!(
        confirm.body.contains("3 people are synced with Files"),
        "{}",
        confirm.body
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM app_access WHERE status = 'sync_needed'"),
        0,
        "asking changes nothing"
    );
    // install, uninstall and retry-all ask first too, with their counts
    let uninstall = b.get("/apps/files/uninstall").await.body;
    assert!(
        uninstall.contains("stops managing the accounts of 3 people in Files"),
        "{uninstall}"
    );
    let idle = b.get("/apps/files/retry").await.body;
    assert!(idle.contains("Nobody in Files needs this now"), "{idle}");
    dash.sql("UPDATE app_access SET status = 'failed' WHERE role = 'user'");
    let retry = b.get("/apps/files/retry").await.body;
    assert!(
        retry.contains("3 people in error or failed are synced with Files again"),
        "{retry}"
    );
    dash.person("w@example.org", "W", false, &[("wiki", Role::User)])
        .await;
    let install = b.get("/apps/wiki/install").await.body;
    assert!(
        install.contains("1 person has a role in Wiki. It has no SCIM settings"),
        "{install}"
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM app_access WHERE status = 'sync_needed'"),
        0,
        "asking changes nothing"
    );
    // the dashboard admin, who has no access to Files, is not listed there as noise
    let detail = b.get("/apps/files").await.body;
    assert!(!detail.contains("<bdi>Ada Admin</bdi>"), "{detail}");
}

#[actix_web::test]
async fn times_show_in_the_configured_zone_with_utc_on_hover() {
    let dir = tempfile::tempdir().unwrap();
    let dash = TestApp::spawn_with(dir, true, "timezone = \"Asia/Tokyo\"\n").await;
    let b = dash.signed_in().await;
    dash.sql("UPDATE audit_log SET at = 1768478400");
    let audit = b.get("/audit").await.body;
    // 2026-01-15 12:00 UTC is 21:00 in Tokyo
    assert!(audit.contains("2026-01-15 21:00 JST"), "{audit}");
    assert!(
        audit.contains(r#"title="2026-01-15 12:00:00 UTC""#),
        "{audit}"
    );
}

#[actix_web::test]
async fn error_pages_keep_the_navigation_and_a_removed_person_is_read_only() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let r = b.get("/no/such/page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains(r#"<nav aria-label="Main">"#), "{}", r.body);
    let ana = dash
        .person("ana@example.org", "Ana", false, &[("files", Role::User)])
        .await;
    dash.sql("UPDATE app_access SET status = 'provisioned'");
    dash.ctx.service.delete_user_by_id(ana).await.unwrap();
    let page = b.get(&format!("/users/{ana}")).await.body;
    assert!(page.contains("being removed"), "{page}");
    assert!(
        !page.contains("id=\"user-form\""),
        "no form to edit: {page}"
    );
    assert!(!page.contains("<select"), "{page}");
}

#[actix_web::test]
async fn sort_keys_missing_or_stale_are_rewritten_at_start() {
    let dash = TestApp::spawn().await;
    dash.signed_in().await;
    dash.person("a-zoe@example.org", "Zoë", false, &[]).await;
    dash.person("b-emile@example.org", "Émile", false, &[])
        .await;
    // As a database upgraded from before migration 5: no keys, no collation recorded.
    dash.sql("UPDATE users SET name_key = x'', email_key = x''; DELETE FROM meta WHERE key = 'collation_version'");
    let dash = TestApp::spawn_in(dash.stop().await, false).await;
    let b = dash.signed_in().await;
    let list = b.get("/users").await.body;
    assert!(
        at(&list, "Ada Admin") < at(&list, "Émile") && at(&list, "Émile") < at(&list, "Zoë"),
        "{list}"
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM users WHERE name_key = x''"),
        0
    );
}
