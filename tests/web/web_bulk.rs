//! Bulk changes on /users behind their impact, and the app changes that ask
//! first (Install, Uninstall, Sync now, Retry all) with how many people they reach.

use accessboard::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::support::app::{ADMIN_EMAIL, TestApp};

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
    assert_eq!(list.matches(r#"form="bulk" checked"#).count(), 0);
    assert!(
        list.contains(r#"<a href="/users?select=page">Select everyone on this page</a>"#),
        "{list}"
    );
    // "select everyone on this page" without script: the same list, every box ticked
    let all = b.get("/users?select=page").await.body;
    assert_eq!(all.matches(r#"form="bulk" checked"#).count(), 4, "{all}");
    assert!(all.contains(r#"<a href="/users">Clear the selection</a>"#));
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
        page.contains("2 people lost access to Files. Nothing changed for 1 person (already so)."),
        "{page}"
    );
    assert!(
        !b.get("/users").await.body.contains("lost access"),
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
        confirm
            .body
            .contains("3 people are checked against one listing of the accounts in Files"),
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
async fn people_are_added_to_and_removed_from_a_group_in_bulk_after_a_review() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ana = dash
        .person("ana@example.org", "Ana", false, &[("files", Role::User)])
        .await;
    let ben = dash.person("ben@example.org", "Ben", false, &[]).await;
    let cy = dash.person("cy@example.org", "Cy", false, &[]).await;
    b.get("/groups").await;
    let r = b
        .post("/groups", &[("name", "Design"), ("description", "")])
        .await;
    let at = r.header("location").to_owned();
    let group = at.trim_start_matches("/groups/").to_owned();
    b.post(&format!("{at}/grant/files"), &[("role", "user")])
        .await;
    b.post(&format!("{at}/members"), &[("email", "cy@example.org")])
        .await;
    let list = b.get("/users").await.body;
    assert!(list.contains("value=\"group-add\""), "{list}");
    assert!(list.contains("Add to group…") && list.contains("Remove from group…"));
    assert!(list.contains(&format!("<option value=\"{group}\">Design</option>")));

    let (a, bb, c) = (ana.to_string(), ben.to_string(), cy.to_string());
    let add = [
        ("action", "group-add"),
        ("group", group.as_str()),
        ("id", &a),
        ("id", &bb),
        ("id", &c),
    ];
    // The review: who joins, who gets access where, who is already in; nothing changes yet.
    let review = b.post("/users/bulk", &add).await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    for line in [
        "Add them to Design?",
        "2 people join Design.",
        "1 person gets access to Files.",
        "Nothing changes for 1 person (already in Design).",
        "joins; gets Files as user",
        "joins; their access stays",
    ] {
        assert!(review.body.contains(line), "{line}: {}", review.body);
    }
    assert_eq!(dash.sql_i64("SELECT count(*) FROM group_members"), 1);
    let done = b.post("/users/bulk/apply", &add).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = b.get("/users").await.body;
    assert!(
        page.contains("2 people were added to Design; 1 person gains access."),
        "{page}"
    );
    assert_eq!(dash.sql_i64("SELECT count(*) FROM group_members"), 3);
    assert_eq!(role_of(&dash, ben), "user");

    // Removing Ana and Ben: Ben loses Files, Ana keeps her own role.
    let remove = [
        ("action", "group-remove"),
        ("group", group.as_str()),
        ("id", &a),
        ("id", &bb),
    ];
    let review = b.post("/users/bulk", &remove).await;
    for line in [
        "Remove them from Design?",
        "2 people leave Design.",
        "1 person loses access to Files",
        "leaves; loses Files",
        "leaves; their access stays",
        "This revocation is planned",
    ] {
        assert!(review.body.contains(line), "{line}: {}", review.body);
    }
    assert_eq!(role_of(&dash, ben), "user", "the review changes nothing");
    b.post("/users/bulk/apply", &remove).await;
    let page = b.get("/users").await.body;
    assert!(
        page.contains("2 people were removed from Design; 1 person loses access."),
        "{page}"
    );
    assert_eq!(role_of(&dash, ben), "none");
    assert_eq!(role_of(&dash, ana), "user");
    assert_eq!(dash.sql_i64("SELECT count(*) FROM group_members"), 1);
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM audit_log WHERE action IN ('group.add', 'group.remove')"
        ),
        3,
        "Cy's add, then one entry per bulk change"
    );
}
