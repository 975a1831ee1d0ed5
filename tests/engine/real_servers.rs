//! The real Django SCIM servers of `tests/support/real_apps.rs` start and answer through the
//! same `ScimServer` helpers as scim2-server: readiness, bearer auth, a create and a read,
//! and the access log the request counters read. What accessboard does against them is
//! tested elsewhere; what they keep and drop is in `tests/standins/README.md`.

use serde_json::json;

use crate::support::real_apps::APPS;
use crate::support::scim_server::ScimServer;

fn smoke(app: &str) {
    let server = ScimServer::builder().real(app).start();
    assert!(
        server.base_url().ends_with("/scim/v2"),
        "{app}: {}",
        server.base_url()
    );

    // Ready (start() waited for it), and SCIM under the base path with the token.
    let (status, config) = server.request("GET", "/ServiceProviderConfig", None);
    assert_eq!(status, 200, "{app}: {config}");
    assert_eq!(config["patch"]["supported"], true, "{app}: {config}");

    let created = server.create_user(json!({
        "userName": "ada@example.org",
        "externalId": "ab-1",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "ada@example.org", "primary": true}],
        "active": true
    }));
    let id = created["id"].as_str().expect("an id").to_owned();
    let (status, read) = server.request("GET", &format!("/Users/{id}"), None);
    assert_eq!(status, 200, "{app}: {read}");
    assert_eq!(read["userName"], "ada@example.org", "{app}: {read}");
    assert_eq!(read["externalId"], "ab-1", "{app}: {read}");
    assert_eq!(read["name"]["familyName"], "Lovelace", "{app}: {read}");
    assert_eq!(
        server.users().len(),
        1,
        "{app}: the token's client is no account"
    );

    // The same counters as for scim2-server.
    let seen = server.requests_since(0);
    assert_eq!(seen.get("POST /Users"), Some(&1), "{app}: {seen:?}");
    assert_eq!(seen.get("GET /Users/id"), Some(&1), "{app}: {seen:?}");
    assert_eq!(server.account_writes_since(0), 0, "{app}");
}

#[test]
fn django_scim2_starts_creates_and_reads() {
    smoke(APPS[0]);
}

#[test]
fn django_scim2_server_starts_creates_and_reads() {
    smoke(APPS[1]);
}
