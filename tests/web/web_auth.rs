//! Sign-in, sessions, setup link, CSRF, throttling, headers and the route guard.

use accessboard::domain::GroupName;
use accessboard::web::{Need, ensure_setup_link, is_public, route_needs, route_table};
use actix_web::http::Method;
use reqwest::StatusCode;

use crate::support::app::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

fn sample(path: &str, id: &str) -> String {
    path.replace("{id}", id)
        .replace("{slug}", "files")
        .replace("{name}", "app.css")
        .replace("{run}", id)
}

#[actix_web::test]
async fn every_private_route_sends_strangers_to_sign_in() {
    let dash = TestApp::spawn().await;
    let id = dash.admin().await.to_string();
    let b = dash.browser();
    let table = route_table();
    assert!(table.len() >= 25, "the route table lost routes: {table:?}");
    let mut checked = 0;
    for (method, path) in &table {
        if is_public(&sample(path, &id)) {
            continue;
        }
        let url = sample(path, &id);
        let r = if method == actix_web::http::Method::GET {
            b.get(&url).await
        } else {
            b.post_raw(&url, &[("name", "x")], &[]).await
        };
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "{method} {url}: {}",
            r.body
        );
        assert!(
            r.header("location").starts_with("/login"),
            "{method} {url} went to {}",
            r.header("location")
        );
        // htmx requests get 401 and an HX-Redirect instead of a page
        let hx = if method == actix_web::http::Method::GET {
            b.get_hx(&url).await
        } else {
            b.post_raw(&url, &[], &[("HX-Request", "true")]).await
        };
        assert_eq!(hx.status, StatusCode::UNAUTHORIZED, "{method} {url}");
        assert_eq!(hx.header("hx-redirect"), "/login");
        checked += 1;
    }
    assert!(checked >= 20);
    // unknown paths reveal nothing either
    assert_eq!(b.get("/no/such/page").await.status, StatusCode::SEE_OTHER);
    // a deep link comes back after sign-in
    let r = b.get("/apps/files?status=failed").await;
    assert!(
        r.header("location")
            .contains("next=%2Fapps%2Ffiles%3Fstatus%3Dfailed"),
        "{}",
        r.header("location")
    );
}

/// Every route but the public ones and signing out: a viewer gets 403 on each that
/// changes something (or confirms a change), and sees each of the others.
#[actix_web::test]
async fn a_viewer_sees_every_page_and_gets_403_on_every_change() {
    let dash = TestApp::spawn().await;
    let id = dash.admin().await.to_string();
    let b = dash.signed_in_viewer().await;
    let audit_before = dash.sql_i64("SELECT count(*) FROM audit_log");
    let (mut refused, mut shown) = (0, 0);
    for (method, path, need) in route_needs() {
        let url = sample(path, &id);
        assert_eq!(
            need == Need::Public,
            is_public(&url),
            "{method} {path}: public in the registry and in the guard alike"
        );
        // Their own sign-in (sign out, second factor) is theirs to change.
        if need == Need::Own {
            assert!(method != Method::GET, "{path}: a page only shows");
        }
        if need == Need::Public || need == Need::Own {
            continue;
        }
        if method != Method::GET {
            assert_eq!(need, Need::Change, "{method} {path} changes something");
        }
        let r = if method == Method::GET {
            b.get(&url).await
        } else {
            b.post(&url, &[("name", "x"), ("email", "x@example.org")])
                .await
        };
        if need == Need::Change {
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} {url}: {}",
                r.body
            );
            assert!(r.body.contains("your access is viewer"), "{}", r.body);
            assert!(r.body.contains("Vic Viewer"), "the page keeps their header");
            refused += 1;
        } else {
            assert!(
                r.status != StatusCode::FORBIDDEN && r.status != StatusCode::SEE_OTHER,
                "{method} {url}: {} {}",
                r.status,
                r.body
            );
            shown += 1;
        }
    }
    assert!(
        refused >= 30 && shown >= 10,
        "{refused} refused, {shown} shown"
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log"),
        audit_before,
        "a viewer changed nothing"
    );
    // htmx gets the 403 too
    let hx = b.post_hx("/users/new", &[("name", "Eve")]).await;
    assert_eq!(hx.status, StatusCode::FORBIDDEN);
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM users WHERE email = 'x@example.org'"),
        0
    );
    // and signing out still works
    assert_eq!(b.post("/logout", &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/users").await.status, StatusCode::SEE_OTHER);
}

/// The pages a viewer sees offer no change: no form that posts but Sign out, no htmx post, no
/// link to a page that confirms a change.
#[actix_web::test]
async fn a_viewer_is_offered_no_change_on_any_page() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let ana = dash
        .person(
            "ana@example.org",
            "Ana",
            true,
            &[("files", accessboard::domain::Role::User)],
        )
        .await
        .to_string();
    let group = dash
        .ctx
        .service
        .create_group(GroupName::parse("Design").unwrap(), String::new())
        .await
        .unwrap()
        .to_string();
    // A paused app: its banner and the overview's Needs attention offer Resume to admins.
    dash.ctx
        .service
        .pause_app(
            &accessboard::domain::Slug::parse("files").unwrap(),
            Some("maintenance".into()),
        )
        .await
        .unwrap();
    let b = dash.signed_in_viewer().await;
    let overview = b.get("/").await;
    assert!(overview.body.contains("maintenance"), "{}", overview.body);
    let change_pages: Vec<&str> = route_needs()
        .into_iter()
        .filter(|(m, _, need)| *m == Method::GET && *need == Need::Change)
        .map(|(_, path, _)| path)
        .collect();
    let pages = [
        "/".to_owned(),
        "/users".to_owned(),
        format!("/users/{ana}"),
        "/groups".to_owned(),
        format!("/groups/{group}"),
        "/apps".to_owned(),
        "/apps/files".to_owned(),
        "/apps/files/drift".to_owned(),
        "/activity".to_owned(),
        "/audit".to_owned(),
    ];
    for url in &pages {
        let r = b.get(url).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.body);
        let forms = r.body.matches("method=\"post\"").count();
        assert_eq!(
            forms,
            r.body.matches("action=\"/logout\"").count(),
            "{url} offers a form: {}",
            r.body
        );
        assert!(!r.body.contains("hx-post"), "{url}: {}", r.body);
        for path in &change_pages {
            let href = format!("href=\"{}\"", sample(path, &ana));
            assert!(!r.body.contains(&href), "{url} links to {path}");
        }
        assert!(!r.body.contains("/delete\""), "{url} links to a deletion");
        assert!(!r.body.contains("/uninstall\""), "{url}");
        assert!(!r.body.contains("/users/new\""), "{url}");
        assert!(!r.body.contains("/users/import\""), "{url}");
    }
}

#[actix_web::test]
async fn public_paths_answer_without_a_session_and_send_security_headers() {
    let dash = TestApp::spawn().await;
    let b = dash.browser();
    assert_eq!(b.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(b.get("/readyz").await.status, StatusCode::OK);
    let m = b.get("/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.body.contains("accessboard_pairs"));
    let css = b.get("/assets/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("cache-control").contains("max-age=31536000"));
    let js = b.get("/assets/htmx.min.js").await;
    assert!(js.header("content-type").starts_with("text/javascript"));
    assert!(js.body.contains("htmx"));
    let login = b.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    let csp = login.header("content-security-policy");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(login.header("x-content-type-options"), "nosniff");
    assert!(!login.header("referrer-policy").is_empty());
    // no inline script or style anywhere on the page
    assert!(!login.body.contains("style="));
    assert!(!login.body.contains("<script>"));
    assert!(login.body.contains("<label for=\"email\">"));
}

#[actix_web::test]
async fn signing_in_sets_a_hardened_cookie_and_logout_ends_the_session_for_good() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let b = dash.browser();
    b.get("/login").await;
    let before = b.cookie.lock().unwrap().clone();
    let wrong = b
        .post(
            "/login",
            &[("email", ADMIN_EMAIL), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("do not match"));
    assert!(
        wrong.body.contains(&format!("value=\"{ADMIN_EMAIL}\"")),
        "the email typed is kept"
    );

    let ok = b
        .post(
            "/login",
            &[("email", "ADMIN@example.org"), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(
        ok.header("location"),
        "/",
        "the overview is the landing page"
    );
    let set = ok
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("accessboard_session="))
        .unwrap_or_default()
        .to_owned();
    assert!(set.starts_with("accessboard_session="), "{set}");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "secure_cookies is off: {set}");
    let session = b.cookie.lock().unwrap().clone();
    assert_ne!(before, session, "the session is renewed at sign-in");

    let users = b.get("/users").await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(users.body.contains("Ada Admin"));
    assert!(
        users.body.contains("hx-headers="),
        "htmx sends the CSRF header"
    );

    // The pre-sign-in cookie grants nothing.
    let stranger = dash.browser();
    *stranger.cookie.lock().unwrap() = before;
    assert_eq!(stranger.get("/users").await.status, StatusCode::SEE_OTHER);

    let out = b.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.header("location"), "/login");
    assert_eq!(b.get("/users").await.status, StatusCode::SEE_OTHER);
    // a copy of the old cookie is worthless too
    let thief = dash.browser();
    *thief.cookie.lock().unwrap() = session;
    let r = thief.get("/users").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.header("location").starts_with("/login"));
}

#[actix_web::test]
async fn behind_https_the_cookie_is_secure() {
    let dir = tempfile::tempdir().unwrap();
    let dash = TestApp::spawn_with(dir, true, "secure_cookies = true").await;
    let r = dash.browser().get("/login").await;
    let set = r.header("set-cookie");
    assert!(set.contains("Secure") && set.contains("HttpOnly"), "{set}");
}

#[actix_web::test]
async fn sessions_survive_a_restart() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let cookie = b.cookie.lock().unwrap().clone();
    let dir = dash.stop().await;
    let dash = TestApp::spawn_in(dir, false).await;
    let again = dash.browser();
    *again.cookie.lock().unwrap() = cookie;
    assert_eq!(again.get("/users").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn state_changes_without_the_csrf_token_are_refused() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/users/new").await;
    let fields = [("name", "Eve"), ("email", "eve@example.org")];
    // a form without the field
    let r = b.post_raw("/users/new", &fields, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Reload the page"));
    // a form with a wrong token
    let mut forged = fields.to_vec();
    forged.push(("csrf", "0000"));
    assert_eq!(
        b.post_raw("/users/new", &forged, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    // htmx with a wrong header
    let r = b
        .post_raw(
            "/users/new",
            &fields,
            &[("HX-Request", "true"), ("X-CSRF-Token", "nope")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM users WHERE email = 'eve@example.org'"),
        0
    );
    // with the token, in either form, it works
    let ok = b.post_hx("/users/new", &fields).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(ok.header("hx-redirect").starts_with("/users/"));
    // sign-in and logout are checked too
    let stranger = dash.browser();
    let r = stranger
        .post_raw(
            "/login",
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        b.post_raw("/logout", &[], &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        b.get("/users").await.status,
        StatusCode::OK,
        "still signed in"
    );
}

#[actix_web::test]
async fn oversized_forms_are_refused() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/users/new").await;
    let big = "x".repeat(100 * 1024);
    let r = b
        .post(
            "/users/new",
            &[("name", &big), ("email", "big@example.org")],
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[actix_web::test]
async fn repeated_wrong_passwords_lock_the_account_for_a_while() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    dash.person("other@example.org", "Other Admin", true, &[])
        .await;
    dash.set_password("other@example.org", "other password 123")
        .await;
    let b = dash.browser();
    b.get("/login").await;
    for i in 0..6 {
        let r = b
            .post(
                "/login",
                &[("email", ADMIN_EMAIL), ("password", "guess guess guess")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // now even the right password waits
    let r = b
        .post(
            "/login",
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Too many failed sign-ins"));
    let wait: i64 = r.header("retry-after").parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    // another account from the same address is not locked (yet)
    let r = b
        .post(
            "/login",
            &[
                ("email", "other@example.org"),
                ("password", "other password 123"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn the_setup_link_works_once_within_an_hour() {
    let dash = TestApp::spawn().await;
    let url = ensure_setup_link(&dash.ctx.service)
        .await
        .unwrap()
        .expect("no admin yet");
    assert!(
        url.starts_with("http://dash.example.org/setup?token="),
        "{url}"
    );
    let path = &url["http://dash.example.org".len()..];
    let b = dash.browser();
    assert_eq!(
        b.get("/setup?token=wrong").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(b.get("/setup").await.status, StatusCode::FORBIDDEN);

    let form = b.get(path).await;
    assert_eq!(form.status, StatusCode::OK);
    let token = &path["/setup?token=".len()..];
    let mismatch = b
        .post(
            "/setup",
            &[
                ("token", token),
                ("email", "first@example.org"),
                ("name", "First"),
                ("password", "long enough pw"),
                ("password2", "different pw!!"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.body.contains("the two passwords differ"));
    assert!(mismatch.body.contains("value=\"first@example.org\""));

    let done = b
        .post(
            "/setup",
            &[
                ("token", token),
                ("email", "first@example.org"),
                ("name", "First"),
                ("password", "long enough pw"),
                ("password2", "long enough pw"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.header("location"), "/");
    assert_eq!(
        b.get("/users").await.status,
        StatusCode::OK,
        "signed in right away"
    );

    // used up: the same link is refused, and no new one is made
    let again = dash.browser();
    let r = again.get(path).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(r.body.contains("Sign in instead"));
    assert!(
        ensure_setup_link(&dash.ctx.service)
            .await
            .unwrap()
            .is_none()
    );
    let r = again.login("first@example.org", "long enough pw").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn an_expired_setup_link_is_refused() {
    let dash = TestApp::spawn().await;
    let url = ensure_setup_link(&dash.ctx.service).await.unwrap().unwrap();
    let path = &url["http://dash.example.org".len()..];
    dash.sql("UPDATE meta SET value = json_set(value, '$.expires_at', strftime('%s','now') - 1) WHERE key = 'setup_token'");
    let r = dash.browser().get(path).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("older than an hour"));
}

#[actix_web::test]
async fn many_failures_from_one_address_lock_that_address() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let b = dash.browser();
    b.get("/login").await;
    // 20 accounts, one guess each: no account reaches its own limit
    for i in 0..21 {
        let email = format!("guess{i}@example.org");
        let r = b
            .post(
                "/login",
                &[("email", &email), ("password", "guess guess guess")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = b
        .post(
            "/login",
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
}
