//! `[sso]` read at start: a mistake stops the start with one line naming the key and
//! never the secret; a provider that is down stops nothing (its discovery is fetched
//! when someone signs in).

use crate::support::env::{TestEnv, stderr};
use crate::support::serve::Serve;

#[test]
fn an_sso_mistake_is_one_line_and_a_provider_down_does_not_stop_serve() {
    for (lines, key) in [
        (
            "issuer = \"https://id.example.org\"\nclient_id = \"accessboard\"",
            "setting sso.client_secret: is required",
        ),
        (
            "issuer = \"http://id.example.org\"\nclient_id = \"a\"\nclient_secret = \"sso-s3cr3t\"",
            "setting sso.issuer: must be https",
        ),
    ] {
        let env = TestEnv::build(|s| s.lines("sso", lines));
        let out = env.cli(&["app", "list"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(key), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(!err.contains("sso-s3cr3t"), "{err}");
    }

    // Nothing listens at the issuer: serve starts, and the button is there.
    let env = TestEnv::build(|s| {
        s.lines(
            "sso",
            "issuer = \"http://127.0.0.1:9\"\nclient_id = \"a\"\nclient_secret = \"sso-s3cr3t\"\nlabel = \"Example ID\"",
        )
    });
    let serve = Serve::start(&env);
    let page = serve.get("/login");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Sign in with Example ID"),
        "{}",
        page.body
    );
    let start = serve.get("/login/sso");
    assert_eq!(start.status, 502, "{}", start.body);
    assert!(
        start.body.contains("cannot be reached right now"),
        "{}",
        start.body
    );
    assert!(!serve.log().contains("sso-s3cr3t"));
}
