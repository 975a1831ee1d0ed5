//! /users, the user form, deleting, importing, live badges and escaping.

use accessboard::domain::Role;
use reqwest::StatusCode;

use crate::support::app::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

/// The number of person rows in a /users page.
fn rows(html: &str) -> usize {
    html.matches("<tr id=\"u-").count()
}

#[actix_web::test]
async fn an_empty_dashboard_says_what_to_do_next() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let r = b.get("/users").await;
    assert!(r.body.contains("Only you so far"), "{}", r.body);
    assert!(r.body.contains("href=\"/users/import\""));
    // search for someone who is not there
    let r = b.get("/users?q=nobody-like-this").await;
    assert!(
        r.body.contains("Nobody matches “nobody-like-this”"),
        "{}",
        r.body
    );
    assert!(r.body.contains("href=\"/users\""));
    dash.sql("UPDATE users SET deleted_at = 1");
    let r = b.get("/users").await;
    // a removed admin is signed out at once
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn the_table_shows_roles_and_badges_with_words_and_pages_of_fifty() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    for i in 0..120 {
        dash.person(
            &format!("p{i:03}@example.org"),
            &format!("Person {i:03}"),
            false,
            &[("files", Role::User)],
        )
        .await;
    }
    dash.sql("UPDATE app_access SET status = 'provisioned' WHERE user_id IN (SELECT id FROM users WHERE name < 'Person 010')");
    dash.sql("UPDATE app_access SET status = 'failed' WHERE user_id = (SELECT id FROM users WHERE name = 'Person 010')");
    let page = b.get("/users").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(rows(&page.body), 50);
    assert!(page.body.contains("Page 1 of 3"), "121 people make 3 pages");
    assert!(
        page.body.contains("<th scope=\"col\">Files</th>"),
        "installed apps get a column"
    );
    assert!(
        !page.body.contains("<th scope=\"col\">Wiki</th>"),
        "apps not installed get none"
    );
    assert!(page.body.contains("class=\"badge ok\""));
    assert!(
        !page.body.contains("class=\"badge\" class="),
        "one class attribute, or the colour is lost"
    );
    assert!(page.body.contains(">provisioned</span>"));
    assert!(page.body.contains(">failed</span>"));
    assert!(page.body.contains("sync needed"));
    // transient badges on the page: exactly one poller, polling
    assert_eq!(page.body.matches("hx-trigger=\"every 2s\"").count(), 1);
    let last = b.get("/users?page=3").await;
    assert_eq!(rows(&last.body), 21);
    assert!(last.body.contains("rel=\"prev\""));
}

#[actix_web::test]
async fn search_as_you_type_returns_only_the_results_fragment() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    dash.person(
        "ana@example.org",
        "Ana Lima",
        false,
        &[("files", Role::User)],
    )
    .await;
    dash.person("bob@example.org", "Bob Stone", false, &[])
        .await;
    let page = b.get("/users").await;
    assert!(page.body.contains(
        "hx-trigger=\"input changed delay:300ms from:#q, search from:#q, change, submit\""
    ));
    let r = b.get_hx("/users?q=ana").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.starts_with("<div id=\"results\">"),
        "{}",
        &r.body[..80.min(r.body.len())]
    );
    assert!(!r.body.contains("<html"));
    assert!(r.body.contains("Ana Lima"));
    assert!(!r.body.contains("Bob Stone"));
    // Ana's badge is transient, so the poller comes along out of band, polling
    assert!(r.body.contains("id=\"poller\""));
    assert!(r.body.contains("hx-trigger=\"every 2s\""));
    let r = b.get_hx("/users?q=bob").await;
    assert!(r.body.contains("Bob Stone"));
    assert!(
        r.body
            .contains("<div id=\"poller\" hx-swap-oob=\"true\"></div>"),
        "nothing transient: the poller goes quiet"
    );
    assert!(r.header("vary").contains("HX-Request"));
}

#[actix_web::test]
async fn a_settled_page_has_no_polling_and_polls_stop_with_286() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let id = dash
        .person(
            "ana@example.org",
            "Ana Lima",
            false,
            &[("files", Role::User)],
        )
        .await;
    let w = format!("{}:files:sync_needed:0", id.simple());
    // still waiting: 200, nothing changed, nothing to swap
    let r = b.get_hx(&format!("/poll?view=badge&w={w}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.trim().is_empty(), "{}", r.body);
    // the worker picks it up: the badge changes, still transient
    dash.sql("UPDATE app_access SET status = 'syncing'");
    let r = b.get_hx(&format!("/poll?view=badge&w={w}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("hx-swap-oob=\"true\"") && r.body.contains(">syncing"),
        "{}",
        r.body
    );
    // done: the changed badge, and 286 so htmx stops
    dash.sql("UPDATE app_access SET status = 'provisioned'");
    let w = format!("{}:files:syncing:0", id.simple());
    let r = b.get_hx(&format!("/poll?view=badge&w={w}")).await;
    assert_eq!(r.status.as_u16(), 286);
    assert!(r.body.contains(&format!("id=\"b-{}-files\"", id.simple())));
    assert!(r.body.contains(">provisioned</span>"));
    assert!(
        !r.body.contains("class=\"watch\""),
        "a settled badge is not watched"
    );
    // a page with nothing transient makes no requests at all
    let page = b.get("/users").await;
    assert!(
        !page.body.contains("hx-trigger=\"every"),
        "settled page polls"
    );
    assert!(page.body.contains("<div id=\"poller\"></div>"));
    let page = b.get(&format!("/users/{id}")).await;
    assert!(!page.body.contains("hx-trigger=\"every"));
    // an empty poll stops at once
    assert_eq!(b.get_hx("/poll?view=badge").await.status.as_u16(), 286);
    // a page of 100 badges in flight (an import) still gets its answers
    let many: Vec<String> = (0..100)
        .map(|_| format!("w={}%3Afiles%3Async_needed%3A0", uuid::Uuid::new_v4()))
        .collect();
    let r = b
        .get_hx(&format!("/poll?view=badge&{}", many.join("&")))
        .await;
    assert_eq!(
        r.status.as_u16(),
        286,
        "{}",
        &r.body[..r.body.len().min(300)]
    );
    assert_eq!(r.body.matches("hx-swap-oob").count(), 100);
}

#[actix_web::test]
async fn the_form_shows_errors_next_to_fields_and_keeps_what_was_typed() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let form = b.get("/users/new").await;
    assert!(
        form.body
            .contains("<label for=\"role-files\">Files</label>")
    );
    assert!(form.body.contains("<label for=\"name\">Name</label>"));
    let r = b
        .post(
            "/users/new",
            &[
                ("name", "Zoë \"Z\" Ortiz"),
                ("email", "zoe at example"),
                ("role.files", "admin"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"email-error\""), "{}", r.body);
    assert!(r.body.contains("contains a space"), "{}", r.body);
    assert!(
        r.body.contains("value=\"Zoë &quot;Z&quot; Ortiz\""),
        "the name typed is kept"
    );
    assert!(r.body.contains("value=\"zoe at example\""));
    assert!(
        r.body.contains("<option value=\"admin\" selected>"),
        "the role chosen is kept"
    );
    let r = b
        .post("/users/new", &[("name", ""), ("email", "zoe@example.org")])
        .await;
    assert!(r.body.contains("id=\"name-error\"") && r.body.contains("name is empty"));
    // taken email
    let r = b
        .post(
            "/users/new",
            &[("name", "Admin 2"), ("email", "ADMIN@example.org")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("already exists"));
    // valid: created, and its page shows "sync needed" at once, polling
    let r = b
        .post(
            "/users/new",
            &[
                ("name", "Zoë Ortiz"),
                ("email", "zoe@example.org"),
                ("role.files", "user"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get(r.header("location")).await;
    assert!(page.body.contains("sync needed"));
    assert!(page.body.contains("hx-trigger=\"every 2s\""));
}

#[actix_web::test]
async fn saving_returns_the_form_already_showing_sync_needed() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let id = dash.person("ana@example.org", "Ana Lima", false, &[]).await;
    let page = b.get(&format!("/users/{id}")).await;
    assert!(page.body.contains("hx-post=\"/users/"));
    let r = b
        .post_hx(
            &format!("/users/{id}"),
            &[
                ("name", "Ana Lima"),
                ("email", "ana@example.org"),
                ("role.files", "user"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.starts_with("<form"), "a fragment, not a page");
    assert!(r.body.contains("Saved."));
    assert!(r.body.contains(&format!("id=\"b-{}-files\"", id.simple())));
    assert!(r.body.contains("sync needed"));
    assert!(
        r.body.contains("hx-swap-oob=\"true\"") && r.body.contains("hx-trigger=\"every 2s\""),
        "polling restarts"
    );
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM app_access WHERE role = 'user' AND status = 'sync_needed'"
        ),
        1
    );
    // an htmx validation error comes back as 422 with the fragment
    let r = b
        .post_hx(
            &format!("/users/{id}"),
            &[("name", " "), ("email", "ana@example.org")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.starts_with("<form") && r.body.contains("name is empty"));
    // admins cannot lock themselves out
    let me = dash.sql_i64("SELECT count(*) FROM users WHERE dashboard = 'admin'");
    let admin_id: String = dash
        .ctx
        .service
        .db()
        .conn()
        .unwrap()
        .query_row("SELECT id FROM users WHERE dashboard = 'admin'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let r = b
        .post(
            &format!("/users/{admin_id}"),
            &[("name", "Ada Admin"), ("email", ADMIN_EMAIL)],
        )
        .await;
    assert!(
        r.body.contains("your own dashboard access here"),
        "{}",
        r.body
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM users WHERE dashboard = 'admin'"),
        me
    );
}

#[actix_web::test]
async fn deleting_asks_first_then_shows_being_removed() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let id = dash
        .person(
            "ana@example.org",
            "Ana Lima",
            false,
            &[("files", Role::User)],
        )
        .await;
    dash.sql("UPDATE app_access SET status = 'provisioned'");
    let confirm = b.get(&format!("/users/{id}/delete")).await;
    assert!(confirm.body.contains("Delete <bdi>Ana Lima</bdi>?"));
    assert!(
        confirm.body.contains("Files"),
        "names the apps that will be told"
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM users WHERE deleted_at IS NOT NULL"),
        0
    );
    let r = b.post(&format!("/users/{id}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.header("location"),
        "/users",
        "back to the list, not to a page that may be gone"
    );
    let list = b.get("/users").await;
    assert!(
        list.body
            .contains("Ana Lima is being removed; their account is disabled or deleted in Files."),
        "{}",
        list.body
    );
    assert!(list.body.contains("being removed"));
    let page = b.get(&format!("/users/{id}")).await;
    assert!(
        page.body.contains("hx-trigger=\"every 2s\""),
        "watch the apps being told"
    );
    // deleting again (another tab) lands on the list too, with a message
    let again = b.post(&format!("/users/{id}/delete"), &[]).await;
    assert_eq!(again.header("location"), "/users");
    // once purged, the poll says so and stops
    let w = format!("{}:files:sync_needed:0", id.simple());
    dash.sql("DELETE FROM users WHERE deleted_at IS NOT NULL");
    let r = b.get_hx(&format!("/poll?view=badge&w={w}")).await;
    assert_eq!(r.status.as_u16(), 286);
    assert!(r.body.contains("removed"));
}

#[actix_web::test]
async fn hostile_names_are_shown_as_typed_and_never_run() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let name = "<script>alert(\"x\")</script> O'Brien \"Q\" 😀 שלום עליכם";
    let id = dash
        .person("evil@example.org", name, false, &[("files", Role::User)])
        .await;
    for path in [
        "/users".to_owned(),
        format!("/users/{id}"),
        "/apps/files".to_owned(),
        format!("/users/{id}/delete"),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(!r.body.contains("<script>alert"), "{path} runs the name");
        assert!(
            r.body
                .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"),
            "{path}"
        );
        assert!(
            r.body.contains("😀 שלום עליכם"),
            "{path} lost emoji or RTL text"
        );
        assert!(
            r.body.contains("<bdi>"),
            "{path} isolates bidirectional text"
        );
    }
    let form = b.get(&format!("/users/{id}")).await;
    assert!(form.body.contains(
        "value=\"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; O'Brien &quot;Q&quot;"
    ));
    let r = b.get_hx("/users?q=%3Cscript").await;
    assert!(r.body.contains("&lt;script&gt;") && !r.body.contains("<script>"));
    let r = b.get("/users?q=%3Cimg%20src%3Dx%3E").await;
    assert!(r.body.contains("Nobody matches “&lt;img src=x&gt;”"));
}

#[actix_web::test]
async fn a_change_in_the_dashboard_is_on_the_audit_page_with_who_and_before_after() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let id = dash.person("ana@example.org", "Ana Lima", false, &[]).await;
    b.get(&format!("/users/{id}")).await;
    let r = b
        .post(
            &format!("/users/{id}"),
            &[
                ("name", "Ana Souza"),
                ("email", "ana@example.org"),
                ("admin", "on"),
                ("role.files", "admin"),
                ("password", "correct horse battery staple 42"),
                ("current_password", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert!(
        r.status.is_success() || r.status.is_redirection(),
        "{}",
        r.body
    );
    let page = b.get("/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/audit\""), "in the navigation");
    let row = page
        .body
        .split("<tr>")
        .find(|r| r.contains("<code>person.update</code>"))
        .unwrap_or_else(|| panic!("no person.update row: {}", page.body));
    assert!(row.contains(ADMIN_EMAIL), "{row}");
    assert!(
        row.contains("Ana Lima") && row.contains("Ana Souza"),
        "{row}"
    );
    let access = page
        .body
        .split("<tr>")
        .find(|r| r.contains("<code>access.set</code>"))
        .expect("an access.set row");
    assert!(access.contains("ana@example.org / files") && access.contains("admin"));
    assert!(page.body.contains("password.set"));
    // filters
    let only = b.get("/audit?action=access.set").await;
    assert!(only.body.contains("access.set") && !only.body.contains("<code>person.update</code>"));
    let nobody = b.get("/audit?actor=nobody-like-this").await;
    assert!(nobody.body.contains("Nothing matches these filters"));
    // never a secret
    assert!(!page.body.contains("correct horse"));
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM audit_log WHERE coalesce(before,'') || coalesce(after,'') || actor LIKE '%correct horse%' OR coalesce(before,'') || coalesce(after,'') LIKE '%argon2%'"
        ),
        0
    );
}

#[actix_web::test]
async fn sign_in_fields_show_only_for_people_who_can_sign_in() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ana = dash.person("ana@example.org", "Ana", false, &[]).await;
    let bo = dash.person("bo@example.org", "Bo", true, &[]).await;
    // Ana cannot sign in: no password to set, no sessions to end.
    let page = b.get(&format!("/users/{ana}")).await.body;
    assert!(!page.contains("id=\"password\""), "{page}");
    assert!(!page.contains("Sign out everywhere"), "{page}");
    assert!(
        page.contains(
            "Once they can sign in here (tick the box and save), you can set their password."
        ),
        "{page}"
    );
    // Bo can: both are there.
    let page = b.get(&format!("/users/{bo}")).await.body;
    assert!(page.contains("id=\"password\""), "{page}");
    assert!(page.contains("Sign out everywhere"), "{page}");
    // A new person: the field is there for when the box is ticked (hidden until then).
    let page = b.get("/users/new").await.body;
    assert!(page.contains("<div class=\"signin-only stack\">"), "{page}");
    // Ana made a dashboard admin: now her page offers both.
    let r = b
        .post(
            &format!("/users/{ana}"),
            &[
                ("name", "Ana"),
                ("email", "ana@example.org"),
                ("admin", "on"),
                ("current_password", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get(&format!("/users/{ana}")).await.body;
    assert!(page.contains("id=\"password\""), "{page}");
    assert!(page.contains("Sign out everywhere"), "{page}");
}
