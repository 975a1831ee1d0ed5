//! /users/import: paste or upload, preview with per-row errors, confirm.

use reqwest::StatusCode;

use crate::support::app::TestApp;

#[actix_web::test]
async fn import_previews_rows_with_errors_then_creates_the_valid_ones() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let form = b.get("/users/import").await;
    assert!(form.body.contains("enctype=\"multipart/form-data\""));
    let csv = "email,name,admin,files\nana@example.org,Ana,false,user\nnot-an-email,Bob,false,user\ncy@example.org,Cy,no,owner\ndee@example.org,Dee,,admin\n";
    let r = b.post("/users/import/preview", &[("csv", csv)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains("2 people will be created; 2 rows have errors"),
        "{}",
        r.body
    );
    assert!(r.body.contains("not-an-email"));
    assert!(
        r.body
            .contains("&quot;owner&quot; is not one of admin, user, none"),
        "{}",
        r.body
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM users"),
        1,
        "the preview changes nothing"
    );
    let r = b.post("/users/import", &[("csv", csv)]).await;
    assert!(r.body.contains("Created 2 people"), "{}", r.body);
    assert!(r.body.contains("Line 3"));
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM app_access WHERE app_slug = 'files' AND status = 'sync_needed'"
        ),
        2
    );
    let r = b
        .post("/users/import/preview", &[("csv", "mail,who\nx,y\n")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("must start with email,name") || r.body.contains("neither email"),
        "{}",
        r.body
    );
    assert!(r.body.contains("mail,who"), "the pasted text is kept");
}

#[actix_web::test]
async fn import_accepts_an_uploaded_file() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/users/import").await;
    let token = b.csrf.lock().unwrap().clone().unwrap();
    let boundary = "XyZ123";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\nContent-Type: text/csv\r\n\r\nemail,name\r\nfi@example.org,Fi\r\n\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"csv\"\r\n\r\n\r\n--{boundary}--\r\n"
    );
    let r = b
        .post_multipart("/users/import/preview", boundary, body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("1 person will be created"));
    assert!(r.body.contains("fi@example.org"));
}

#[actix_web::test]
async fn the_preview_names_the_groups_the_import_creates() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/users/import").await;
    let csv = "email,name,groups\nana@example.org,Ana,Design; Board\nbo@example.org,Bo,design\n";
    let r = b.post("/users/import/preview", &[("csv", csv)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains("2 new groups are created: <bdi>Design, Board</bdi>."),
        "{}",
        r.body
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM access_groups"),
        0,
        "the preview changes nothing"
    );
    let r = b.post("/users/import", &[("csv", csv)]).await;
    assert!(
        r.body.contains("New groups: <bdi>Design, Board</bdi>."),
        "{}",
        r.body
    );
    assert_eq!(dash.sql_i64("SELECT count(*) FROM group_members"), 3);
}

#[actix_web::test]
async fn the_old_admin_column_is_read_as_dashboard_admin_with_a_warning() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/users/import").await;
    let warning = "Warning: the column &quot;admin&quot; is read as dashboard_admin: the people it marks can sign in to accessboard";
    // The new name: no warning.
    let csv = "email,name,dashboard_admin,files\nana@example.org,Ana,no,user\n";
    let r = b.post("/users/import/preview", &[("csv", csv)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("Warning:"), "{}", r.body);
    // The old name: read, said in the preview and in the report.
    let csv = "email,name,admin,files\nbo@example.org,Bo,no,admin\n";
    let r = b.post("/users/import/preview", &[("csv", csv)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(warning), "{}", r.body);
    let r = b.post("/users/import", &[("csv", csv)]).await;
    assert!(r.body.contains("Created 1 person"), "{}", r.body);
    assert!(r.body.contains(warning), "{}", r.body);
    assert_eq!(
        dash.sql_i64("SELECT dashboard = 'admin' FROM users WHERE email = 'bo@example.org'"),
        0
    );
}
