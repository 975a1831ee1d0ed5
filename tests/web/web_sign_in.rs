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
        assert_eq!(r.header("location"), "/", "{next:?}: the overview");
    }
}

#[actix_web::test]
async fn over_https_the_session_cookie_is_secure_and_host_only() {
    let dir = tempfile::tempdir().unwrap();
    let dash = TestApp::spawn_with(dir, true, "public_url = \"https://board.example.org\"").await;
    let r = dash.browser().get("/login").await;
    let set = r.header("set-cookie");
    assert!(set.starts_with("__Host-accessboard_session="), "{set}");
    assert!(set.contains("Secure") && set.contains("Path=/"), "{set}");
    assert!(!set.contains("Domain"), "{set}");
}

#[actix_web::test]
async fn parallel_guesses_never_get_more_checks_than_the_allowance() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let mut browsers = Vec::new();
    for _ in 0..40 {
        let b = dash.browser();
        b.get("/login").await;
        browsers.push(b);
    }
    let guesses = browsers.iter().map(|b| {
        b.post(
            "/login",
            &[("email", ADMIN_EMAIL), ("password", "guess guess guess")],
        )
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let refused = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    // Five free failures, and the one that locks the account.
    assert!(
        checked <= 6,
        "{checked} of 40 parallel guesses were checked"
    );
    assert_eq!(checked + refused, 40);
}

#[actix_web::test]
async fn sign_ins_are_in_the_audit_trail_without_the_password() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let b = dash.browser();
    b.get("/login").await;
    let r = b
        .post(
            "/login",
            &[
                ("email", ADMIN_EMAIL),
                ("password", "not-the-password-xyzzy"),
                ("next", "/users"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        dash.sql_i64(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'sign_in.failed' AND actor = '{ADMIN_EMAIL}'"
        )),
        1
    );
    let b = dash.signed_in().await;
    assert_eq!(
        dash.sql_i64(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'sign_in.ok' AND actor = '{ADMIN_EMAIL}'"
        )),
        1
    );
    let page = b.get("/audit?action=sign_in.failed").await;
    assert!(page.body.contains("sign_in.failed"), "{}", page.body);
    assert!(!page.body.contains("xyzzy"));
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM audit_log WHERE actor || coalesce(target,'') || coalesce(before,'') || coalesce(after,'') LIKE '%xyzzy%'
               OR actor || coalesce(target,'') || coalesce(before,'') || coalesce(after,'') LIKE '%correct horse%'
               OR coalesce(after,'') LIKE '%argon2%'"
        ),
        0
    );
}

#[actix_web::test]
async fn after_a_wrong_password_the_cursor_waits_in_the_password_field() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let b = dash.browser();
    let first = b.get("/login").await.body;
    assert!(
        first.contains(r#"id="email" type="email""#)
            && first.contains("autocomplete=\"username\" required autofocus"),
        "{first}"
    );
    let r = b
        .post("/login", &[("email", ADMIN_EMAIL), ("password", "not it")])
        .await;
    assert!(
        r.body.contains("do not match anyone who can sign in here"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#"value="admin@example.org""#),
        "the email is kept"
    );
    assert!(
        r.body
            .contains(r#"autocomplete="current-password" required autofocus"#),
        "{}",
        r.body
    );
    assert!(
        !r.body
            .contains(r#"autocomplete="username" required autofocus"#)
    );
}

/// `n` wrong guesses at `email` from fresh browsers, each with `headers`; the statuses.
async fn guesses(
    dash: &TestApp,
    email: &str,
    n: usize,
    headers: &[(&str, &str)],
) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        statuses.push(
            attempt(&dash.browser(), email, "guess guess guess", headers)
                .await
                .status,
        );
    }
    statuses
}

/// One sign-in from `b`, with `headers`.
async fn attempt(
    b: &crate::support::browser::Browser,
    email: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> crate::support::browser::Resp {
    b.get("/login").await;
    let csrf = b.csrf.lock().unwrap().clone().unwrap_or_default();
    b.post_raw(
        "/login",
        &[("email", email), ("password", password), ("csrf", &csrf)],
        headers,
    )
    .await
}

#[actix_web::test]
async fn a_flood_of_guesses_does_not_lock_out_a_browser_that_signed_in_before() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let mine = dash.signed_in().await;
    assert!(
        mine.device.lock().unwrap().is_some(),
        "a device cookie after signing in"
    );
    mine.get("/users").await;
    mine.post("/logout", &[]).await;

    let statuses = guesses(&dash, ADMIN_EMAIL, 8, &[]).await;
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // The account is locked for everybody else, even with the right password…
    let stranger = attempt(&dash.browser(), ADMIN_EMAIL, ADMIN_PASSWORD, &[]).await;
    assert_eq!(
        stranger.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        stranger.body
    );
    // …but not for the admin's own browser.
    let r = attempt(&mine, ADMIN_EMAIL, ADMIN_PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(mine.get("/users").await.status, StatusCode::OK);
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM audit_log WHERE action = 'sign_in.ok' AND after LIKE '%\"known_browser\":true%'"
        ),
        1
    );
}

#[actix_web::test]
async fn a_copied_device_cookie_gets_a_small_allowance_and_a_forged_one_none() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    let mine = dash.signed_in().await;
    let known = "SELECT count(*) FROM audit_log WHERE action = 'sign_in.failed' AND after LIKE '%\"known_browser\":true%'";
    // A forged cookie is a stranger's attempt.
    let forger = dash.browser();
    *forger.device.lock().unwrap() = Some(format!(
        "accessboard_device={}.{}.{}",
        uuid::Uuid::new_v4(),
        "0".repeat(32),
        "0".repeat(64)
    ));
    let r = attempt(&forger, ADMIN_EMAIL, "guess guess guess", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(dash.sql_i64(known), 0);
    // A copy of the real one: five free guesses and the one that locks it, then it is
    // a stranger like any other (the forger already used one of those).
    let thief = dash.browser();
    *thief.device.lock().unwrap() = mine.device.lock().unwrap().clone();
    let mut statuses = Vec::new();
    for _ in 0..14 {
        statuses.push(
            attempt(&thief, ADMIN_EMAIL, "guess guess guess", &[])
                .await
                .status,
        );
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(checked, 6 + 5, "{statuses:?}");
    assert_eq!(dash.sql_i64(known), 6);
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
}

#[actix_web::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_allowance() {
    let dir = tempfile::tempdir().unwrap();
    let dash = TestApp::spawn_with(dir, true, "trusted_proxies = [\"127.0.0.1/32\"]").await;
    dash.admin().await;
    // Twenty-one failures from one client behind the proxy, at many accounts…
    let flood = [("X-Forwarded-For", "203.0.113.5")];
    for i in 0..21 {
        let r = attempt(
            &dash.browser(),
            &format!("nobody{i}@example.org"),
            "guess guess guess",
            &flood,
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "attempt {i}: {}",
            r.body
        );
    }
    // …lock that client out…
    let r = attempt(&dash.browser(), ADMIN_EMAIL, ADMIN_PASSWORD, &flood).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // …and nobody else, even with a made-up address in front of the real one.
    let admin = [("X-Forwarded-For", "203.0.113.5, 198.51.100.7")];
    let r = attempt(&dash.browser(), ADMIN_EMAIL, ADMIN_PASSWORD, &admin).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'sign_in.ok' AND after LIKE '%198.51.100.7%'"),
        1
    );
}

#[actix_web::test]
async fn without_trusted_proxies_x_forwarded_for_is_ignored() {
    let dash = TestApp::spawn().await;
    dash.admin().await;
    for i in 0..21 {
        let xff = format!("203.0.113.{i}");
        let r = attempt(
            &dash.browser(),
            &format!("nobody{i}@example.org"),
            "guess guess guess",
            &[("X-Forwarded-For", &xff)],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Every one of them was the TCP peer, 127.0.0.1, whatever the header said.
    let r = attempt(
        &dash.browser(),
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        &[("X-Forwarded-For", "198.51.100.7")],
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE after LIKE '%203.0.113.%'"),
        0
    );
}

#[actix_web::test]
async fn behind_a_trusted_proxy_the_addresses_of_one_ipv6_slash_64_share_one_allowance() {
    let dir = tempfile::tempdir().unwrap();
    let dash = TestApp::spawn_with(dir, true, "trusted_proxies = [\"127.0.0.1/32\"]").await;
    dash.admin().await;
    // Twenty-one failures, each from another address of one /64…
    for i in 0..21 {
        let xff = format!("2001:db8:1:2::{:x}", i + 1);
        let r = attempt(
            &dash.browser(),
            &format!("nobody{i}@example.org"),
            "guess guess guess",
            &[("X-Forwarded-For", &xff)],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // …lock the whole /64 out, at an address it has not used yet…
    let same_net = [("X-Forwarded-For", "2001:db8:1:2:abcd:ef01:2345:6789")];
    let r = attempt(&dash.browser(), ADMIN_EMAIL, ADMIN_PASSWORD, &same_net).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    // …and not the next /64.
    let next_net = [("X-Forwarded-For", "2001:db8:1:3::1")];
    let r = attempt(&dash.browser(), ADMIN_EMAIL, ADMIN_PASSWORD, &next_net).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[actix_web::test]
async fn before_setup_the_sign_in_page_says_the_setup_link_is_in_the_servers_log() {
    let dash = TestApp::spawn().await;
    let r = dash.browser().get("/login").await;
    assert_eq!(r.status, StatusCode::OK);
    for words in [
        "Nobody can sign in yet.",
        "one-time setup link, written to the server's log",
        "no dashboard admin yet; open this link within the hour",
        "accessboard user set-password E",
    ] {
        assert!(r.body.contains(words), "{words:?} in {}", r.body);
    }
    // Once an admin can sign in, the hint is gone: it would only puzzle them.
    dash.admin().await;
    let r = dash.browser().get("/login").await;
    assert!(!r.body.contains("setup link"), "{}", r.body);
}
