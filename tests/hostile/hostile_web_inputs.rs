//! Hostile addresses and uploads: over-long query strings on every page, sign-in's
//! `next` with line breaks, multipart bodies with a boundary the RFC does not allow.

use reqwest::StatusCode;

use crate::support::app::TestApp;

/// The query limit (a private const of `accessboard::web`).
const MAX_QUERY: usize = 2048;

#[actix_web::test]
async fn an_over_long_query_is_a_400_with_a_message_on_every_page() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let long = "x".repeat(50_000);
    let id = dash.person("ana@example.org", "Ana", false, &[]).await;
    for (_, pattern) in accessboard::web::route_table()
        .into_iter()
        .filter(|(m, _)| *m == actix_web::http::Method::GET)
    {
        let path = pattern
            .replace("{id}", &id.to_string())
            .replace("{slug}", "files")
            .replace("{name}", "app.css");
        let r = b.get(&format!("{path}?q={long}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.body);
        assert!(r.body.contains("too long"), "{path}: {}", r.body);
        assert!(!r.body.contains(&long[..100]), "{path} echoes the query");
    }
    // At the limit, the search still runs.
    let q = "y".repeat(MAX_QUERY - 2);
    let r = b.get(&format!("/users?q={q}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Nobody matches"), "{}", r.body);
    // A signed-out browser gets the same answer, not a redirect carrying it all.
    let r = dash.browser().get(&format!("/users?q={long}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn next_with_a_line_break_signs_in_to_the_overview() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let b = dash.browser();
    let r = b.get("/login?next=/%0a/").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("name=\"next\" value=\"/\""),
        "the landing page instead: {}",
        r.body
    );
}

#[actix_web::test]
async fn a_boundary_longer_than_the_rfc_allows_is_refused_without_a_stall() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/users/import").await;
    let csrf = b.csrf.lock().unwrap().clone().unwrap();
    let boundary = "b".repeat(5000);
    // Boundary look-alikes all through the body: the naive search compared almost the
    // whole boundary at every byte.
    let filler = format!("\r\n--{}", &boundary[..4999]).repeat(400);
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"csv\"\r\n\r\n{filler}\r\n--{boundary}--\r\n"
    );
    let r = b
        .post_multipart("/users/import/preview", &boundary, body)
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "{}",
        &r.body[..r.body.len().min(300)]
    );
    // A legal 70-character boundary with the same look-alikes works.
    let boundary = "c".repeat(70);
    let filler = format!("\r\n--{}", &boundary[..69]).repeat(400);
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"csv\"\r\n\r\nemail,name\r\nfi@example.org,Fi{filler}\r\n--{boundary}--\r\n"
    );
    let r = b
        .post_multipart("/users/import/preview", &boundary, body)
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        &r.body[..r.body.len().min(300)]
    );
    assert!(r.body.contains("fi@example.org"));
}
