//! Durability and sign-in throttling, measured.
//!
//! - Every connection of both pools (rusqlite for the app, sqlx for apalis)
//!   runs with `synchronous` NORMAL or FULL, foreign keys on and WAL, also
//!   after apalis' setup (which sets `synchronous = OFF` on the connection it uses).
//! - The sign-in throttle is driven through POST /login with a simulated clock
//!   (stored throttle times are moved back, which is what time passing does to
//!   them), and the number of password guesses an hour it lets through is pinned.

use accessboard::db::time;
use accessboard::domain::{DashboardAccess, Email, NewUser, PersonName, Role, Slug};
use reqwest::StatusCode;

use crate::support::api::Context;
use crate::support::app::{ADMIN_EMAIL, TestApp};
use crate::support::browser::Browser;
use crate::support::env::TestEnv;
use crate::support::settings::{plain_app, scim_app};

/// (synchronous, foreign_keys, journal_mode) of one rusqlite connection.
fn pragmas_of(c: &rusqlite::Connection) -> (i64, i64, String) {
    let get = |p: &str| {
        c.pragma_query_value(None, p, |r| r.get::<_, i64>(0))
            .unwrap()
    };
    let mode: String = c
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    (get("synchronous"), get("foreign_keys"), mode)
}

/// Every connection the app's pool can hand out at once (its maximum is 8).
fn check_app_pool(ctx: &Context, when: &str) {
    let conns: Vec<_> = (0..8).map(|_| ctx.service.db().conn().unwrap()).collect();
    for (i, c) in conns.iter().enumerate() {
        let (sync, fk, mode) = pragmas_of(c);
        assert!(
            sync == 1 || sync == 2,
            "{when}: app connection {i} has synchronous = {sync} (0 = OFF loses commits on power loss)"
        );
        assert_eq!(fk, 1, "{when}: app connection {i} without foreign keys");
        assert_eq!(mode, "wal", "{when}: app connection {i}");
    }
}

/// Every connection of the queue's sqlx pool (its maximum is 4), held at once
/// so that each one is a different connection.
async fn check_queue_pool(ctx: &Context, when: &str) {
    let pool = ctx.queue.pool();
    let mut conns = Vec::new();
    for _ in 0..4 {
        conns.push(pool.acquire().await.unwrap());
    }
    for (i, c) in conns.iter_mut().enumerate() {
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut **c)
            .await
            .unwrap();
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut **c)
            .await
            .unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut **c)
            .await
            .unwrap();
        assert!(
            sync == 1 || sync == 2,
            "{when}: queue connection {i} has synchronous = {sync} (apalis' setup sets OFF)"
        );
        assert_eq!(fk, 1, "{when}: queue connection {i} without foreign keys");
        assert_eq!(mode, "wal", "{when}: queue connection {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pooled_connection_is_durable_after_the_queue_setup() {
    let env = TestEnv::new(&format!(
        "{}{}",
        scim_app("files", "http://127.0.0.1:9/scim", "t", ""),
        plain_app("wiki")
    ));
    // opened as every command opens it: database, then apalis' setup, then the catalogue
    let ctx = env.open().await;
    tokio::task::block_in_place(|| check_app_pool(&ctx, "after open"));
    check_queue_pool(&ctx, "after open").await;

    // a job round trip through the queue's pool
    ctx.service
        .install_app(&Slug::parse("files").unwrap())
        .await
        .unwrap();
    ctx.service
        .create_user(NewUser {
            email: Email::parse("ann@example.org").unwrap(),
            name: PersonName::parse("Ann").unwrap(),
            dashboard: DashboardAccess::None,
            access: vec![(Slug::parse("files").unwrap(), Role::User)],
        })
        .await
        .unwrap();
    assert_eq!(ctx.queue.counts().await.unwrap(), (1, 0), "one job queued");
    tokio::task::block_in_place(|| check_app_pool(&ctx, "after a job"));
    check_queue_pool(&ctx, "after a job").await;

    // a second process opening the same file runs apalis' setup again:
    // neither its pools nor the first one's may end up OFF
    let second = env.open().await;
    for (c, when) in [
        (&ctx, "first, after a second open"),
        (&second, "second open"),
    ] {
        tokio::task::block_in_place(|| check_app_pool(c, when));
        check_queue_pool(c, when).await;
    }
    assert_eq!(
        second.queue.counts().await.unwrap(),
        (1, 0),
        "the job is still there"
    );
}

// ---------------------------------------------------------------------------
// Login throttling, measured
// ---------------------------------------------------------------------------

/// Policy of src/web/throttle.rs (private there), as documented in its table.
const WINDOW_SECS: i64 = 15 * 60;
const ACCOUNT_KEY: &str = "account:admin@example.org";

/// One attacker guessing one account, with the clock under its control.
struct Attacker<'a> {
    dash: &'a TestApp,
    browser: Browser,
    /// Seconds the simulated clock is ahead of the real one.
    shift: i64,
    /// Guesses whose password was checked (401), with the attacker's time of each.
    guesses: Vec<i64>,
}

/// A throttle record, in simulated time.
#[derive(Debug, Clone, Copy)]
struct Record {
    failures: i64,
    window_start: i64,
    locked_until: i64,
}

impl<'a> Attacker<'a> {
    async fn new(dash: &'a TestApp) -> Attacker<'a> {
        dash.admin().await;
        let browser = dash.browser();
        browser.get("/login").await;
        Attacker {
            dash,
            browser,
            shift: 0,
            guesses: Vec::new(),
        }
    }

    /// The server's clock, as the simulation has moved it.
    fn server_now(&self) -> i64 {
        time::now() + self.shift
    }

    /// The attacker's own time: only the waiting counts, requests are instant.
    fn elapsed(&self) -> i64 {
        self.shift
    }

    /// Lets time pass until the server's clock reads at least `t`.
    fn wait_until(&mut self, t: i64) {
        let d = t - self.server_now();
        if d > 0 {
            self.dash.sql(&format!(
                "UPDATE login_throttle SET window_start = window_start - {d}, locked_until = locked_until - {d}"
            ));
            self.shift += d;
        }
    }

    fn record(&self) -> Option<Record> {
        let conn = self.dash.ctx.service.db().conn().unwrap();
        conn.query_row(
            "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = ?1",
            [ACCOUNT_KEY],
            |r| {
                Ok(Record {
                    failures: r.get(0)?,
                    window_start: r.get::<_, i64>(1)? + self.shift,
                    locked_until: r.get::<_, i64>(2)? + self.shift,
                })
            },
        )
        .ok()
    }

    /// One wrong password; Ok(()) when it was checked, Err(retry-after) when refused.
    async fn guess(&mut self) -> Result<(), i64> {
        let n = self.guesses.len();
        let r = self
            .browser
            .post(
                "/login",
                &[("email", ADMIN_EMAIL), ("password", &format!("guess {n}"))],
            )
            .await;
        match r.status {
            StatusCode::UNAUTHORIZED => {
                self.guesses.push(self.elapsed());
                Ok(())
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(r.body.contains("Too many failed sign-ins"), "{}", r.body);
                Err(r.header("retry-after").parse().unwrap())
            }
            s => panic!("unexpected {s}: {}", r.body),
        }
    }

    /// Guesses counted in the first hour of the attacker's time.
    fn in_first_hour(&self) -> usize {
        self.guesses.iter().filter(|&&t| t < 3600).count()
    }
}

/// The best an attacker can do against one account (found by exhaustive search
/// over "guess now or wait for the window to lapse" at every step, and driven
/// here): a burst of 6 (the free 5 and one that locks 30 s), then one guess at
/// the end of each lock (30 s, 60 s, 120 s), 9 in all, then wait until the
/// window has lapsed (15 min after the last lock began), which forgets them.
/// That is 9 guesses every 1111 s: 36 in the first hour, about 29 an hour after.
#[actix_web::test]
async fn an_account_allows_at_most_36_guesses_in_an_hour() {
    let dash = TestApp::spawn().await;
    let mut a = Attacker::new(&dash).await;
    let locks = [0, 0, 0, 0, 0, 30, 60, 120, 240];
    'hour: loop {
        for (k, &lock) in locks.iter().enumerate() {
            if let Some(rec) = a.record().filter(|r| r.locked_until > a.server_now()) {
                // a guess before the lock ends is refused and counts for nothing
                a.wait_until(rec.locked_until - 5);
                let wait = a.guess().await.expect_err("a guess while locked");
                assert!((1..=5).contains(&wait), "Retry-After {wait}");
                assert_eq!(a.record().unwrap().failures, rec.failures);
                a.wait_until(rec.locked_until);
            }
            if a.elapsed() >= 3600 {
                break 'hour;
            }
            a.guess().await.expect("a guess once the lock ended");
            let rec = a.record().unwrap();
            assert_eq!(
                rec.failures,
                k as i64 + 1,
                "the lapsed window was forgotten"
            );
            if lock > 0 {
                assert_eq!(rec.locked_until - rec.window_start, lock, "guess {}", k + 1);
            } else {
                assert!(rec.locked_until <= a.server_now(), "free guess {}", k + 1);
            }
        }
        // 15 minutes after the last lock began, and unlocked: a fresh window
        let rec = a.record().unwrap();
        a.wait_until((rec.window_start + WINDOW_SECS + 1).max(rec.locked_until));
    }
    let per_hour = a.in_first_hour();
    eprintln!(
        "optimal attacker: {per_hour} guesses in the first hour, at {:?}",
        a.guesses
    );
    assert_eq!(per_hour, 36);
    // the steady state: 9 guesses per cycle of 1111 s
    let cycles: Vec<i64> = a.guesses.chunks(9).map(|c| c[0]).collect();
    for w in cycles.windows(2) {
        assert!(
            (1100..=1111).contains(&(w[1] - w[0])),
            "cycle of {} s",
            w[1] - w[0]
        );
    }
}

/// Guessing again as soon as each lock ends: the locks double from 30 s up to
/// 15 minutes, and the 15-minute lock ends with the window lapsed, so (one
/// second later) the account starts over with 5 free guesses: 22 in the first
/// hour. Patient attackers (above) do better by never letting the lock grow.
#[actix_web::test]
async fn locks_double_up_to_15_minutes_then_the_account_starts_over() {
    let dash = TestApp::spawn().await;
    let mut a = Attacker::new(&dash).await;
    let mut locks = Vec::new();
    while a.elapsed() < 3600 {
        if let Some(rec) = a.record().filter(|r| r.locked_until > a.server_now()) {
            let lock = rec.locked_until - rec.window_start;
            // at the end of a 15-minute lock the window has lapsed too; one
            // second more and the failures are forgotten
            a.wait_until(rec.locked_until + i64::from(lock >= WINDOW_SECS));
            continue;
        }
        let before = a.record();
        a.guess().await.expect("unlocked");
        let rec = a.record().unwrap();
        if before.is_some_and(|b| b.locked_until - b.window_start >= WINDOW_SECS) {
            assert_eq!(rec.failures, 1, "after a 15-minute lock, a fresh start");
        }
        if rec.locked_until > a.server_now() {
            locks.push(rec.locked_until - rec.window_start);
        }
    }
    eprintln!("escalating attacker: guesses at {:?}", a.guesses);
    assert_eq!(
        locks,
        [30, 60, 120, 240, 480, 900, 30, 60, 120, 240, 480, 900],
        "{:?}",
        a.guesses
    );
    assert_eq!(a.in_first_hour(), 22, "{:?}", a.guesses);
}
