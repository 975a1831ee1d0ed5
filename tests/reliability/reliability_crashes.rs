//! The promises of a provisioner, under crashes: `serve` SIGKILLed mid-run and
//! restarted at once loses no change and duplicates no account. Figures go to
//! docs/reliability.md.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use accessboard::domain::{Email, Role, Slug};

use crate::support::api;
use crate::support::db::{connect, only, wait_for};
use crate::support::env::TestEnv;
use crate::support::net::free_port;
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;

/// On a failed assertion, prints the database rows still unsettled (and, as
/// every [`Serve`] does when dropped then, serve's log).
struct Keep<'a>(&'a TestEnv);
impl Drop for Keep<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let conn = connect(&self.0.db_path());
            let mut stmt = conn.prepare("SELECT user_id, status, claimed_by, next_attempt_at, desired_gen, synced_gen, due_seq, attempts, last_message FROM app_access WHERE status NOT IN ('provisioned','deprovisioned','not_provisioned')").unwrap();
            let rows: Vec<String> = stmt
                .query_map([], |r| {
                    Ok(format!(
                        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, Option<String>>(8)?
                    ))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            eprintln!("--- unsettled ---\n{}", rows.join("\n"));
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            eprintln!("now {now}");
            let mut stmt = conn
                .prepare("SELECT id, started_at, heartbeat_at FROM instances")
                .unwrap();
            let rows: Vec<String> = stmt
                .query_map([], |r| {
                    Ok(format!(
                        "{:?} {:?} {:?}",
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?
                    ))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            eprintln!("--- instances ---\n{}", rows.join("\n"));
        }
    }
}

/// A small deterministic generator, so a failing run can be replayed from its seed.
struct Lcg(u64);
impl Lcg {
    fn seeded() -> Lcg {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7);
        eprintln!("seed {seed}");
        Lcg(seed)
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + (self.0 >> 33) % (hi - lo)
    }
}

/// Kills serve at `kills` random moments, restarting it at once each time.
/// Kills serve three times mid-run, each at a random point of the progress that
/// `done` counts (within the first, second and last third), restarting it at once.
fn crash_three_times(
    env: &TestEnv,
    rng: &mut Lcg,
    total: usize,
    done: impl Fn(&BTreeMap<String, i64>) -> i64,
) -> Serve {
    // One port throughout: each restart comes back where the last one was.
    let port = free_port();
    let mut serve = Serve::builder(env).port(port).start();
    for third in 0..3u64 {
        let lo = (total as u64 * (3 * third + 1)) / 10;
        let at = rng.between(lo, lo + (total as u64 / 5).max(1)) as i64;
        let give_up = Instant::now() + Duration::from_secs(60);
        while done(&env.pair_counts("files")) < at && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
        let before = done(&env.pair_counts("files"));
        serve.crash();
        eprintln!("figure: SIGKILL at {before}/{total}");
        serve = Serve::builder(env).port(port).start();
    }
    serve
}

fn crash_and_restart(n: usize) {
    let server = ScimServer::start();
    let env = TestEnv::new(&scim_app("files", &server.base_url(), server.token(), ""));
    env.install("files");
    env.import(
        "email,name,files",
        (0..n).map(|i| format!("p{i}@example.org,Person {i},user")),
    );
    let mut rng = Lcg::seeded();

    // Provisioning, with three crashes.
    let serve = crash_three_times(&env, &mut rng, n, |s| {
        s.get("provisioned").copied().unwrap_or(0)
    });
    let watcher = Keep(&env);
    let took = wait_for(&env, "files", Duration::from_secs(60), |s| {
        only(s, "provisioned", n as i64)
    });
    std::mem::forget(watcher);
    let accounts = server.accounts_by_user_name();
    assert_eq!(accounts.len(), n, "one account per person");
    assert!(
        accounts.values().all(|a| a.len() == 1),
        "no duplicated account"
    );
    eprintln!("figure: {n} pairs provisioned, 3 crashes, settled {took:?} after the last restart");
    serve.crash();

    // Revoking half, with three more crashes while the changes are still coming in: a
    // planned wave, so the revocation guard is lifted for it (`--force`).
    let half = n / 2;
    let revoker = {
        let settings = env.settings();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let ctx = api::open(settings).await;
                let files = Slug::parse("files").unwrap();
                for i in 0..half {
                    let email = Email::parse(&format!("p{i}@example.org")).unwrap();
                    ctx.service
                        .lifting_guard(true)
                        .set_access(&email, &files, Role::None)
                        .await
                        .unwrap();
                }
            })
        })
    };
    let serve = crash_three_times(&env, &mut rng, half, |s| {
        s.get("deprovisioned").copied().unwrap_or(0)
    });
    revoker.join().expect("every revocation was accepted");
    let took = wait_for(&env, "files", Duration::from_secs(60), |s| {
        s.get("deprovisioned") == Some(&(half as i64))
            && s.get("provisioned") == Some(&((n - half) as i64))
    });
    eprintln!("figure: {half} revocations, 3 crashes, settled {took:?} after the last restart");
    let accounts = server.accounts_by_user_name();
    assert_eq!(accounts.len(), n, "no account made or lost by revoking");
    for i in 0..n {
        let a = &accounts[&format!("p{i}@example.org")];
        assert_eq!(a.len(), 1);
        assert_eq!(
            a[0]["active"],
            i >= half,
            "p{i} should be {}",
            if i >= half { "active" } else { "disabled" }
        );
    }
    drop(serve);
}

#[test]
fn crashes_during_provisioning_and_revocation_lose_nothing_and_duplicate_nothing() {
    crash_and_restart(150);
}

#[test]
#[ignore = "soak: 1,000 people and six crashes take minutes; .ci/run runs it with --include-ignored"]
fn soak_crashes_with_a_thousand_people() {
    crash_and_restart(1000);
}
