//! /users filters and Unicode order (and its stored keys), times in the configured
//! zone, error pages with the navigation, the read-only page of a removed person.

use accessboard::domain::Role;
use reqwest::StatusCode;

use crate::support::app::TestApp;

/// Where `needle` first appears in `hay`, or a failure naming it.
fn at(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not on the page"))
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

#[actix_web::test]
async fn error_pages_for_a_signed_in_admin_keep_their_name_and_sign_out() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let header = |body: &str| body.contains("Ada Admin") && body.contains("Sign out");
    // A person deleted meanwhile: their address is a 404 that still shows who is signed in.
    let ana = dash.person("ana@example.org", "Ana", false, &[]).await;
    dash.ctx.service.delete_user_by_id(ana).await.unwrap();
    let gone = b.get(&format!("/users/{ana}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(
        gone.body.contains("This person does not exist (any more)."),
        "{}",
        gone.body
    );
    assert!(header(&gone.body), "{}", gone.body);
    assert!(
        !gone.body.contains("aria-current"),
        "no section is current on an error page"
    );
    // A path no route matches, and a refused form (no CSRF token): the same header.
    let none = b.get("/no/such/page").await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert!(header(&none.body), "{}", none.body);
    let forged = b.post_raw("/groups", &[("name", "x")], &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(header(&forged.body), "{}", forged.body);
    // Signed out, nobody's name shows.
    let anon = dash.browser().get("/no/such/page").await;
    assert!(!anon.body.contains("Ada Admin"));
}
