//! First run (issue 25, item 12): what `serve` says when it starts.

use crate::support::env::TestEnv;
use crate::support::serve::Serve;
use crate::support::settings::{plain_app, scim_app};

#[test]
fn the_start_log_counts_every_app_of_the_catalogue() {
    // Two apps without SCIM and one with: the start line used to count only the last.
    let env = TestEnv::new(&format!(
        "{}{}{}",
        plain_app("wiki"),
        plain_app("chat"),
        scim_app("files", "http://127.0.0.1:9/scim", "t", "")
    ));
    let mut serve = Serve::builder(&env)
        .env("ACCESSBOARD_LOG__LEVEL", "info")
        .start();
    serve.stop();
    let log = serve.log();
    let line = log
        .lines()
        .find(|l| l.contains("accessboard is serving"))
        .unwrap_or_else(|| panic!("no start line:\n{log}"));
    assert!(line.contains("apps=3"), "{line}");
    assert!(line.contains("scim_apps=1"), "{line}");
}
