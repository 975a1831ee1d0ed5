//! Discovery that never blocks: an app whose `/ServiceProviderConfig` always answers 500
//! (audriga/scim-server-php 1.0.0, the generic stand-in's `--spc-500`) is provisioned
//! with few requests, settings that answer discovery spare the request, and `app test`
//! passes with a warning that names the broken endpoint.

use crate::support::env::{TestEnv, stderr, stdout};
use crate::support::scim_server::ScimServer;

fn broken_discovery() -> ScimServer {
    ScimServer::builder()
        .dialect("generic")
        .arg("--spc-500")
        .start()
}

fn env_for(server: &ScimServer, extra: &str) -> TestEnv {
    TestEnv::installed("files", &server.base_url(), server.token(), extra)
}

/// Requests for `/ServiceProviderConfig` after the first `from` access-log lines.
fn spc_asked(server: &ScimServer, from: usize) -> usize {
    server
        .log_lines()
        .iter()
        .skip(from)
        .filter(|l| l.contains("/ServiceProviderConfig"))
        .count()
}

const PEOPLE: usize = 5;

fn provision_people(env: &TestEnv, domain: &str) {
    for i in 0..PEOPLE {
        env.create_person(
            &format!("p{i}@{domain}"),
            &format!("Person {i}"),
            &["files=user"],
        );
    }
    let out = env.provision_run_wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for i in 0..PEOPLE {
        let pair = env.pair(&format!("p{i}@{domain}"), "files");
        assert_eq!(pair["status"], "provisioned", "{pair}");
    }
}

#[test]
fn a_service_provider_config_answering_500_is_asked_once_and_people_are_provisioned() {
    let server = broken_discovery();
    let env = env_for(&server, "");
    let from = server.log_lines().len();
    provision_people(&env, "example.org");
    assert_eq!(server.users().len(), PEOPLE, "one account each");
    assert_eq!(
        spc_asked(&server, from),
        1,
        "asked once for the whole run, not per person"
    );
    let requests = server.requests_since(from);
    assert_eq!(requests.get("POST /Users"), Some(&PEOPLE), "{requests:?}");
    // Measured: 7 (a listing per batch, 2 here, and a POST each); before, every pair
    // failed after 4 requests with nothing written.
    let total: usize = requests.values().sum();
    assert!(total <= 2 * PEOPLE, "{total} requests: {requests:?}");

    // Settings that say filter and PATCH leave nothing for discovery to answer.
    let settled = env_for(&server, "filter = true\npatch = false");
    let from = server.log_lines().len();
    provision_people(&settled, "example.com");
    assert_eq!(spc_asked(&server, from), 0, "not asked at all");
}

#[test]
fn app_test_passes_with_a_warning_naming_the_broken_endpoint() {
    let server = broken_discovery();
    let env = env_for(&server, "");
    let out = env.cli(&["app", "test", "files"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("ok   reach and sign in"), "{text}");
    assert!(
        text.contains("warn discovery: GET /ServiceProviderConfig answers 500"),
        "{text}"
    );
    assert!(text.contains("files can be provisioned"), "{text}");
    assert_eq!(server.users().len(), 0, "app test never writes");

    let out = env.cli(&["app", "test", "files", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["usable"], true, "{report}");
    let warnings: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["warning"] == true)
        .collect();
    assert_eq!(warnings.len(), 1, "{report}");
    assert_eq!(warnings[0]["name"], "discovery");
    assert_eq!(warnings[0]["ok"], true);
    assert!(
        warnings[0]["detail"]
            .as_str()
            .unwrap()
            .contains("/ServiceProviderConfig answers 500"),
        "{report}"
    );
}
