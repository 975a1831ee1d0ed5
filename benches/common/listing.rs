//! `unpaged_listing_50k`: one new person into an app that answers every account in one
//! listing (Nextcloud ignores `count`), with 50,000 accounts there (about 35 MB).

use std::time::{Duration, Instant};

use super::env::{BenchEnv, Serve, wait_provisioned};
use super::peer::{self, Peer};
use super::procfs;
use super::report::{Report, Target};
use super::settings::scim_app;

const ACCOUNTS: usize = 50_000;

/// The lookup streams the whole listing; `serve`'s peak RSS must stay within its target.
pub fn unpaged_listing(report: &mut Report) {
    let peer = Peer::spawn_listing(ACCOUNTS);
    // As the nextcloud preset does: no filter, no PATCH, so the lookup lists everyone.
    let env = BenchEnv::new(&scim_app(
        "files",
        &peer.base_url(),
        peer::TOKEN,
        "filter = false\npatch = false",
    ));
    env.cli(&["app", "install", "files"]);
    let mut serve = Serve::start(&env);
    let t0 = Instant::now();
    env.cli(&[
        "user",
        "create",
        "--email",
        "new@example.org",
        "--name",
        "New Person",
        "--access",
        "files=user",
    ]);
    let done = wait_provisioned(&env, "files", 1, Duration::from_secs(120), &serve.log);
    let secs = done.duration_since(t0).as_secs_f64();
    let hwm_kb = procfs::status_kb(serve.pid(), "VmHWM").unwrap_or(0);
    serve.stop();
    report.figure(
        "unpaged_listing_50k_peak_rss",
        hwm_kb as f64 / 1024.0,
        "MiB",
        Target::AtMost(64.0),
    );
    report.figure("unpaged_listing_50k_seconds", secs, "s", Target::None);
    report.note(format!(
        "unpaged_listing_50k: one new person into an app announcing no filter whose `GET /Users` answers all \
         {ACCOUNTS} accounts at once (about 700 bytes each, shaped like Nextcloud's); the lookup parses the \
         listing as it streams in, 200 accounts at a time. VmHWM of `serve` afterwards; {secs:.2} s from \
         `user create` until the pair read `provisioned`."
    ));
}
