//! The database's disk fills while `serve` provisions, then space returns: nothing stops
//! for good, every pair settles without a restart, and `/healthz` tells the truth
//! meanwhile. A real fault: the database lives on a small tmpfs that a filler file fills
//! to ENOSPC (mounting needs root, as in CI; elsewhere the test says why and skips).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::browser::Browser;
use crate::support::db::{pair_counts, wait_until};
use crate::support::env::{BOSS_EMAIL, BOSS_PASSWORD, TestEnv};
use crate::support::relay::{Relay, port_of};
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;

/// A tmpfs mounted over a folder; unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` (with the reason) where mounting is not allowed.
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(Tmpfs(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the file system says ENOSPC; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("filler file");
    let mut written = 0u64;
    for chunk in [1 << 20, 4096, 512] {
        let block = vec![0xa5u8; chunk];
        while f.write_all(&block).is_ok() {
            written += chunk as u64;
        }
    }
    let _ = f.sync_all();
    written
}

// The boss has no access to files: their pair is `not_provisioned` and not counted.
fn provisioned(db: &Path) -> i64 {
    pair_counts(db, "files")
        .get("provisioned")
        .copied()
        .unwrap_or(0)
}

fn healthz(serve: &Serve) -> (u16, String) {
    let r = serve.get("/healthz");
    (r.status.as_u16(), r.body)
}

#[test]
fn a_full_disk_stops_nothing_for_good_and_healthz_says_so_until_space_returns() {
    let scim = ScimServer::start();
    let port = port_of(&scim.base_url());
    let relay = Relay::start(port);
    let url = scim
        .base_url()
        .replacen(&format!(":{port}"), &format!(":{}", relay.port), 1);
    // The shipped sweep interval: what settles the pairs must not be a frequent sweep.
    let env = TestEnv::with_provisioning(
        &scim_app("files", &url, scim.token(), ""),
        "max_attempts = 100\nsweep_interval_secs = 30\nunhealthy_after_secs = 3",
    );
    let data = env.dir.path().join("data");
    let _disk = match Tmpfs::mount(&data, "24m") {
        Ok(m) => m,
        Err(why) => {
            eprintln!("skipped: cannot mount a tmpfs for the database ({why})");
            return;
        }
    };
    env.install("files");
    env.create_boss();
    env.import(
        "email,name,files",
        (0..20).map(|i| format!("a{i}@example.org,Early {i},user")),
    );
    let serve = Serve::start(&env);
    let db = env.db_path();
    wait_until(
        Duration::from_secs(60),
        || provisioned(&db) == 20,
        || format!("{:?}", pair_counts(&db, "files")),
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let admin = rt.block_on(Browser::sign_in(&serve.base(), BOSS_EMAIL, BOSS_PASSWORD));

    // 30 more people while the app is unreachable: their pairs wait to retry...
    relay.set_down(true);
    env.import(
        "email,name,files",
        (0..30).map(|i| format!("b{i}@example.org,Late {i},user")),
    );
    wait_until(
        Duration::from_secs(30),
        || pair_counts(&db, "files").get("error").copied().unwrap_or(0) > 0,
        || format!("{:?}", pair_counts(&db, "files")),
    );
    // ... and their retries reach the app with no room left for what it answers.
    let filler = data.join("filler");
    let filled = fill(&filler);
    relay.set_down(false);
    let full = Instant::now();

    let mut said = None;
    wait_until(
        Duration::from_secs(40),
        || {
            let (status, body) = healthz(&serve);
            if status == 503 {
                said = Some(body);
            }
            said.is_some()
        },
        || format!("/healthz never said 503: {:?}", healthz(&serve)),
    );
    let reason = said.unwrap_or_default();
    eprintln!(
        "figure: /healthz 503 {:.1} s after the disk filled: {reason}",
        full.elapsed().as_secs_f64()
    );
    assert_eq!(reason.trim_end().lines().count(), 1, "{reason:?}");
    assert!(
        reason.contains("database") || reason.contains("provisioning stopped"),
        "{reason}"
    );
    let metrics = serve.metrics();
    assert!(
        metrics.get("accessboard_database_writable") == Some(&0.0)
            || metrics.get("accessboard_provisioning_up") == Some(&0.0),
        "{metrics:?}"
    );
    let overview = rt.block_on(admin.get("/"));
    assert!(
        overview
            .body
            .contains(&reason[..reason.find(" for ").unwrap_or(20)]),
        "the overview's banner says why: {}",
        overview.body
    );
    // Long enough for a worker that stopped to have stayed stopped.
    std::thread::sleep(Duration::from_secs(5));

    std::fs::remove_file(&filler).expect("free the space");
    let freed = Instant::now();
    wait_until(
        Duration::from_secs(60),
        || provisioned(&db) == 50,
        || {
            format!(
                "not settled 60 s after space returned: {:?}",
                pair_counts(&db, "files")
            )
        },
    );
    let settled = freed.elapsed();
    wait_until(
        Duration::from_secs(30),
        || healthz(&serve).0 == 200,
        || format!("/healthz after space returned: {:?}", healthz(&serve)),
    );
    let healthy = freed.elapsed();
    let mut serve = serve;
    assert!(
        serve.child.try_wait().ok().flatten().is_none(),
        "serve was not restarted: it never exited"
    );
    let metrics = serve.metrics();
    assert_eq!(metrics.get("accessboard_database_writable"), Some(&1.0));
    assert_eq!(metrics.get("accessboard_provisioning_up"), Some(&1.0));
    let restarts: f64 = metrics
        .iter()
        .filter(|(k, _)| k.starts_with("accessboard_task_restarts_total"))
        .map(|(_, v)| v)
        .sum();
    let accounts = scim.accounts_by_user_name();
    assert_eq!(accounts.len(), 50);
    assert!(accounts.values().all(|a| a.len() == 1), "one account each");
    eprintln!(
        "figure: filled {} MiB; every pair settled {:.1} s after space returned, /healthz 200 after {:.1} s; {restarts} task restarts",
        filled >> 20,
        settled.as_secs_f64(),
        healthy.as_secs_f64()
    );
    serve.stop();
}
