//! OAuth2 client credentials against Canaille: one token for many requests, renewed
//! before expiry and after a 401, and a wrong secret as one clear error.

use std::time::Duration;

use accessboard::scim::{ErrorKind, ScimClient, TOKEN_FAILURE_MEMORY, TokenAuth};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oauth2_token_is_fetched_once_for_many_concurrent_requests() {
    let canaille = Canaille::start(
        CLIENT_ID,
        CLIENT_SECRET,
        RS_CLIENT,
        3600,
        "client_secret_basic",
    );
    let scim = scim_behind(&canaille);
    let config = oauth2_config(
        &scim,
        &canaille.token_url(),
        CLIENT_SECRET,
        TokenAuth::Basic,
    );
    let client = ScimClient::new(config.clone()).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let session = client.session();
            for _ in 0..3 {
                session
                    .list_users()
                    .await
                    .expect("GET /Users with a Canaille token");
            }
            session.into_calls()
        }));
    }
    let mut calls = Vec::new();
    for t in tasks {
        calls.extend(t.await.unwrap());
    }
    assert!(calls.iter().all(|c| c.error.is_none()), "{calls:#?}");
    assert_eq!(canaille.token_requests(), 1, "one token for 8 workers");
    assert_eq!(client.token_requests(), 1);
    let log = scim.log_lines();
    assert_eq!(count(&log, "\"GET /Users?"), 24);
    assert_eq!(count(&log, "\" 401 "), 0, "{log:#?}");
    assert_clean(
        &format!("{client:?} {config:?} {calls:?}"),
        &[CLIENT_SECRET, "rs-s3cr3t"],
    );
}

#[tokio::test]
async fn oauth2_token_is_renewed_before_it_expires() {
    let canaille = Canaille::start(
        CLIENT_ID,
        CLIENT_SECRET,
        RS_CLIENT,
        4,
        "client_secret_basic",
    );
    let scim = scim_behind(&canaille);
    let config = oauth2_config(
        &scim,
        &canaille.token_url(),
        CLIENT_SECRET,
        TokenAuth::Basic,
    );
    let client = ScimClient::new(config).unwrap();
    let session = client.session();
    session.list_users().await.unwrap();
    session.list_users().await.unwrap();
    assert_eq!(canaille.token_requests(), 1);
    tokio::time::sleep(Duration::from_millis(4500)).await;
    session.list_users().await.unwrap();
    assert_eq!(
        canaille.token_requests(),
        2,
        "a new token once the first expired"
    );
    let log = scim.log_lines();
    assert_eq!(count(&log, "\"GET /Users?"), 3);
    assert_eq!(
        count(&log, "\" 401 "),
        0,
        "renewed before, not after, a 401: {log:#?}"
    );
}

#[tokio::test]
async fn oauth2_a_401_gets_one_new_token_and_the_request_succeeds() {
    let mut canaille = Canaille::start(
        CLIENT_ID,
        CLIENT_SECRET,
        RS_CLIENT,
        3600,
        "client_secret_basic",
    );
    let scim = scim_behind(&canaille);
    let config = oauth2_config(
        &scim,
        &canaille.token_url(),
        CLIENT_SECRET,
        TokenAuth::Basic,
    );
    let client = ScimClient::new(config).unwrap();
    client.session().list_users().await.unwrap();
    assert_eq!(canaille.token_requests(), 1);
    // Canaille keeps tokens in memory: restarted, it no longer knows ours (as a revocation).
    canaille.restart();
    let session = client.session();
    let users = session
        .list_users()
        .await
        .expect("a new token after the 401");
    assert!(users.is_empty());
    let calls: Vec<_> = session
        .calls()
        .iter()
        .map(|c| (c.path.clone(), c.status))
        .collect();
    assert_eq!(
        calls,
        [
            ("/Users".to_owned(), Some(401)),
            ("/Users".to_owned(), Some(200))
        ]
    );
    assert_eq!(
        canaille.token_requests(),
        1,
        "one token from the restarted Canaille"
    );
    assert_eq!(client.token_requests(), 2);
    let log = scim.log_lines();
    assert_eq!(count(&log, "\" 401 "), 1, "{log:#?}");
    // And it sticks: no further token, no further 401.
    session.list_users().await.unwrap();
    assert_eq!(canaille.token_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oauth2_a_wrong_client_secret_is_one_clear_error_and_no_storm() {
    let canaille = Canaille::start(
        CLIENT_ID,
        CLIENT_SECRET,
        RS_CLIENT,
        3600,
        "client_secret_basic",
    );
    let scim = scim_behind(&canaille);
    let wrong = "wr0ng-cl-s3cr3t";
    let token_url = canaille.token_url();
    let client =
        ScimClient::new(oauth2_config(&scim, &token_url, wrong, TokenAuth::Basic)).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client.session().list_users().await.unwrap_err()
        }));
    }
    let mut errors = Vec::new();
    for t in tasks {
        errors.push(t.await.unwrap());
    }
    let first = errors[0].to_string();
    assert!(
        first.starts_with(&format!(
            "GET /ServiceProviderConfig failed: the OAuth2 token endpoint {token_url} refused client \"accessboard\": 401 invalid_client: "
        )),
        "{first}"
    );
    for e in &errors {
        assert_eq!(e.kind(), ErrorKind::Permanent, "{e}");
        assert_eq!(e.to_string(), first);
        assert_eq!(e.status(), None, "the app was never asked");
        assert_error_clean(e, &[wrong, CLIENT_SECRET]);
    }
    assert_eq!(
        canaille.token_requests(),
        1,
        "six jobs, one refused token request"
    );
    assert_eq!(scim.log_lines().len(), 0, "no request reached the app");
    // Once the failure is forgotten, the next job asks again: once.
    tokio::time::sleep(TOKEN_FAILURE_MEMORY + Duration::from_millis(200)).await;
    let later = client.session().list_users().await.unwrap_err();
    assert_eq!(later.to_string(), first);
    assert_eq!(canaille.token_requests(), 2);
    assert_clean(&format!("{client:?}"), &[wrong]);
}

#[tokio::test]
async fn oauth2_a_token_endpoint_that_is_down_is_transient_and_named() {
    let port = free_port();
    let token_url = format!("http://localhost:{port}/oauth/token");
    let mut config = ScimConfig::new(
        "http://127.0.0.1:9/".parse().unwrap(),
        ScimAuth::OAuth2 {
            token_url: token_url.parse().unwrap(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: Secret::new(CLIENT_SECRET.to_owned()),
            scope: None,
            token_auth: TokenAuth::Basic,
        },
    );
    config.timeout = Duration::from_secs(3);
    let client = ScimClient::new(config).unwrap();
    let e = client.session().list_users().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert!(e.is_transient());
    assert!(
        e.to_string().starts_with(&format!(
            "GET /ServiceProviderConfig failed: the OAuth2 token endpoint {token_url} is unreachable: could not connect"
        )),
        "{e}"
    );
    assert_error_clean(&e, &[CLIENT_SECRET]);
}

/// Canaille 0.3.6 registers authlib's plain client-credentials grant, which takes only
/// `client_secret_basic`; what `token_auth = "post"` sends is checked against a scripted endpoint.
#[tokio::test]
async fn oauth2_token_auth_post_and_basic_send_the_client_as_rfc_6749_says() {
    use wiremock::matchers::{body_string, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let idp = MockServer::start().await;
    let scim = MockServer::start().await;
    let secret = "p@ss w:rd+/s3cr3t";
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(
            "grant_type=client_credentials&scope=scim%20write&client_id=acc%3Aboard&client_secret=p%40ss%20w%3Ard%2B%2Fs3cr3t",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "tok-post", "token_type": "bearer", "expires_in": "300"}),
        ))
        .mount(&idp)
        .await;
    // Basic: id and secret form-encoded, then joined and base64-encoded (§2.3.1).
    let basic = format!(
        "Basic {}",
        base64_standard("acc%3Aboard:p%40ss%20w%3Ard%2B%2Fs3cr3t")
    );
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("authorization", basic.as_str()))
        .and(body_string(
            "grant_type=client_credentials&scope=scim%20write",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "tok-basic", "token_type": "Bearer", "expires_in": 300}),
        ))
        .mount(&idp)
        .await;
    for (how, token) in [
        (TokenAuth::Post, "tok-post"),
        (TokenAuth::Basic, "tok-basic"),
    ] {
        Mock::given(method("GET"))
            .and(path("/Users/u1"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(ResponseTemplate::new(404))
            .mount(&scim)
            .await;
        let config = ScimConfig::new(
            scim.uri().parse().unwrap(),
            ScimAuth::OAuth2 {
                token_url: format!("{}/token", idp.uri()).parse().unwrap(),
                client_id: "acc:board".to_owned(),
                client_secret: Secret::new(secret.to_owned()),
                scope: Some("scim write".to_owned()),
                token_auth: how,
            },
        );
        let client = ScimClient::new(config).unwrap();
        let found = client.session().get_user("u1").await;
        assert!(matches!(found, Ok(None)), "{how:?}: {found:?}");
    }
}
