//! Where sign-in sends the browser afterwards: a local path, never another site.

use reqwest::StatusCode;

use crate::support::app::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

#[actix_web::test]
async fn sign_in_never_sends_the_browser_to_another_site() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    for next in [
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/\n/",
    ] {
        let b = dash.browser();
        b.get("/login").await;
        let r = b
            .post(
                "/login",
                &[
                    ("email", ADMIN_EMAIL),
                    ("password", ADMIN_PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.body);
        assert_eq!(r.header("location"), "/users", "{next:?}");
    }
}
