//! Tokens minted or fetched, not only pasted: `auth = "jwt"` against the Nextcloud stand-in
//! (PyJWT checks signature, `exp`, `iat`, the `user` claim), `auth = "oauth2"` against Canaille
//! started as pytest-iam starts it, with the generic stand-in accepting only tokens Canaille
//! says are active (RFC 7662 introspection). Requests are counted in the servers' own logs.

use std::time::Duration;

use accessboard::scim::{
    ErrorKind, ScimAuth, ScimClient, ScimConfig, ScimError, Secret, TokenAuth,
};
use serde_json::json;

use crate::support::net::free_port;
use crate::support::scim_server::ScimServer;
use crate::support::standins::Canaille;

mod oauth2;

const JWT_SECRET: &str = "nc-jwt-s3cr3t-shared";
const CLIENT_ID: &str = "accessboard";
const CLIENT_SECRET: &str = "cl-s3cr3t-0f-accessboard";
const RS_CLIENT: &str = "scim-rs:rs-s3cr3t";

fn jwt_client(standin: &ScimServer, secret: &str) -> ScimClient {
    let config = ScimConfig::new(
        format!(
            "{}/index.php/apps/scimserviceprovider/bearer",
            standin.base_url()
        )
        .parse()
        .unwrap(),
        ScimAuth::Jwt {
            secret: Secret::new(secret.to_owned()),
            claims: json!({"user": "admin"}).as_object().unwrap().clone(),
            ttl: Duration::from_secs(300),
        },
    );
    ScimClient::new(config).unwrap()
}

fn oauth2_config(
    standin: &ScimServer,
    token_url: &str,
    secret: &str,
    how: TokenAuth,
) -> ScimConfig {
    let mut config = ScimConfig::new(
        standin.base_url().parse().unwrap(),
        ScimAuth::OAuth2 {
            token_url: token_url.parse().unwrap(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: Secret::new(secret.to_owned()),
            scope: Some("scim".to_owned()),
            token_auth: how,
        },
    );
    config.timeout = Duration::from_secs(10);
    config
}

/// The generic stand-in, accepting exactly the tokens this Canaille says are active.
fn scim_behind(canaille: &Canaille) -> ScimServer {
    ScimServer::builder()
        .dialect("generic")
        .arg("--oauth2-introspect")
        .arg(&format!("{}oauth/introspect", canaille.url()))
        .arg("--oauth2-client")
        .arg(RS_CLIENT)
        .arg("--oauth2-scope")
        .arg("scim")
        .start()
}

/// The Nextcloud stand-in, checking HS256 JWTs signed with [`JWT_SECRET`].
fn nextcloud_with_jwt() -> ScimServer {
    ScimServer::builder()
        .dialect("nextcloud")
        .arg("--jwt-secret")
        .arg(JWT_SECRET)
        .start()
}

/// No secret, no JWT (`eyJ…`) and no long opaque token (Canaille's are 48 characters) in `text`.
fn assert_clean(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "leaks a secret: {text}");
    }
    assert!(!text.contains("eyJ"), "leaks a JWT: {text}");
    let longest_run = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest_run < 40, "looks like a token: {text}");
}

fn assert_error_clean(e: &ScimError, secrets: &[&str]) {
    assert_clean(&e.to_string(), secrets);
    assert_clean(&format!("{e:?}"), secrets);
}

#[tokio::test]
async fn jwt_signed_here_is_accepted_by_the_nextcloud_standin() {
    let nextcloud = nextcloud_with_jwt();
    let client = jwt_client(&nextcloud, JWT_SECRET);
    let session = client.session();
    let users = session.list_users().await.expect("GET /Users with a JWT");
    assert!(users.iter().any(|u| u.user_name == "admin"), "{users:?}");
    for _ in 0..4 {
        let admin = session.get_user("admin").await.unwrap();
        assert!(admin.is_some());
    }
    assert!(session.calls().iter().all(|c| c.error.is_none()));
    assert_eq!(client.token_requests(), 1, "one JWT for every request");
    let log = nextcloud.log_lines();
    assert_eq!(
        count(
            &log,
            "\"GET /index.php/apps/scimserviceprovider/bearer/Users"
        ),
        5
    );
    assert_eq!(count(&log, "\" 401 "), 0, "{log:#?}");
    assert_clean(&format!("{client:?} {session:?}"), &[JWT_SECRET]);
}

#[tokio::test]
async fn a_wrong_jwt_secret_is_one_clear_permanent_error_without_a_storm() {
    let nextcloud = nextcloud_with_jwt();
    let wrong = "not-the-nc-s3cr3t";
    let client = jwt_client(&nextcloud, wrong);
    let session = client.session();
    let e = session.list_users().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert!(!e.is_transient());
    assert_eq!(e.status(), Some(401));
    let message = e.to_string();
    assert!(
        message.contains(
            "GET /Users answered 401: the app refused the credentials even after a fresh token"
        ) && message.contains("check jwt_secret and jwt_claims")
            && message.contains("the app said: Bearer token is invalid"),
        "{message}"
    );
    // The stale token's 401, one new JWT, its 401: then it stops.
    let statuses: Vec<_> = session
        .calls()
        .iter()
        .map(|c| (c.path.clone(), c.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("/ServiceProviderConfig".to_owned(), Some(200)),
            ("/Users".to_owned(), Some(401)),
            ("/Users".to_owned(), Some(401)),
        ]
    );
    assert_eq!(client.token_requests(), 2);
    // Later jobs fail at their first 401 with the same sentence, signing nothing new.
    for _ in 0..5 {
        let again = client.session().list_users().await.unwrap_err();
        assert_eq!(again.to_string(), message);
        assert_eq!(again.kind(), ErrorKind::Permanent);
    }
    assert_eq!(client.token_requests(), 2);
    let log = nextcloud.log_lines();
    assert_eq!(count(&log, "/Users?"), 2 + 5, "{log:#?}");
    assert_error_clean(&e, &[wrong, JWT_SECRET]);
    for call in session.calls() {
        assert_clean(&format!("{call:?}"), &[wrong, JWT_SECRET]);
    }
    assert_clean(&format!("{client:?}"), &[wrong]);
}

fn base64_standard(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn count(lines: &[String], needle: &str) -> usize {
    lines.iter().filter(|l| l.contains(needle)).count()
}
