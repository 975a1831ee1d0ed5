//! Operations: the online `backup` while writes run, and its refusals.
//!
//! Every test drives the real binary (`serve`, CLI commands) in its own temporary
//! folder on loopback ports.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accessboard::domain::{DashboardAccess, Email, NewUser, PersonName, Role, Slug};
use serde_json::Value;

use crate::support::db::sql_i64;
use crate::support::env::{TestEnv, ok, stderr, stdout};
use crate::support::settings::scim_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_during_writes_is_consistent_and_holds_every_committed_user() {
    let env = TestEnv::new(&scim_app("chat", "http://127.0.0.1:9/scim", "t", ""));
    env.install("chat");
    // A database of some size (~30k people): a copy taken in small steps restarts at every
    // commit from another process and, under steady writes, never finished (fixed in db::backup).
    env.import(
        "email,name,chat",
        (0..30000).map(|i| format!("seed{i}@example.org,Seed Person {i},user")),
    );
    let pages = sql_i64(&env.db_path(), "PRAGMA page_count");
    assert!(
        pages > 4096,
        "the database should be larger than a few backup steps ({pages} pages)"
    );

    let ctx = env.open().await;
    let committed: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (service, committed, stop) = (ctx.service.clone(), committed.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let email = format!("w{i}@example.org");
                let made = service
                    .create_user(NewUser {
                        email: Email::parse(&email).unwrap(),
                        name: PersonName::parse(&format!("Writer {i}")).unwrap(),
                        dashboard: DashboardAccess::None,
                        access: vec![(Slug::parse("chat").unwrap(), Role::User)],
                    })
                    .await;
                if let Err(e) = made {
                    panic!("a write failed while the backup ran: {e}");
                }
                committed.lock().unwrap().push(email);
                i += 1;
            }
        })
    };
    let t0 = Instant::now();
    while committed.lock().unwrap().len() < 20 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the writer is stuck"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let copy = env.dir.path().join("backup.db");
    let before: Vec<String> = committed.lock().unwrap().clone();
    let started = Instant::now();
    let out = {
        let mut backup = env.command(&["backup", copy.to_str().unwrap()], &[]);
        tokio::task::spawn_blocking(move || {
            let mut child = backup
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn backup");
            // Writes keep coming the whole time: the backup must still end.
            let deadline = Instant::now() + Duration::from_secs(60);
            while child.try_wait().expect("try_wait").is_none() {
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Some(child.wait_with_output().expect("backup output"))
        })
        .await
        .unwrap()
    };
    let took = started.elapsed();
    let during = committed.lock().unwrap().len() - before.len();
    // Keep writing a moment, so writes straddle the end of the backup too.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    writer.await.expect("writer");
    let out = out.expect("the backup was still copying after 60 s of concurrent writes");
    ok(&out, "backup");
    assert!(
        stdout(&out).contains("backup written to") && stdout(&out).contains("backup.db"),
        "{}",
        stdout(&out)
    );
    assert!(
        during > 0,
        "writes kept landing while the backup ran ({took:?}), none did"
    );
    eprintln!("backup took {took:?} while {during} users were created");

    {
        let c = rusqlite::Connection::open(&copy).expect("the copy opens");
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete", "a self-contained file, no -wal needed");
        let emails: BTreeSet<String> = c
            .prepare("SELECT email FROM users")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for e in &before {
            assert!(
                emails.contains(e),
                "{e} was committed before the backup began but is missing"
            );
        }
        assert!(emails.contains("seed29999@example.org"));
        // A transaction is in the copy whole or not at all: every person has their chat pair.
        let orphans: i64 = c
            .query_row(
                "SELECT count(*) FROM users u WHERE NOT EXISTS
                 (SELECT 1 FROM app_access a WHERE a.user_id = u.id AND a.app_slug = 'chat' AND a.role = 'user')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            orphans, 0,
            "people without the access they were created with"
        );
    }
    assert!(
        !PathBuf::from(format!("{}-wal", copy.display())).exists(),
        "the copy has no write-ahead log beside it"
    );

    // The copy is a working database: accessboard lists its people.
    let in_copy = sql_i64(&copy, "SELECT count(*) FROM users");
    let out = env.cli_env(
        &["user", "list", "--json"],
        &[("ACCESSBOARD_DATABASE__PATH", copy.to_str().unwrap())],
    );
    ok(&out, "user list on the copy");
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len() as i64, in_copy);

    // Never overwrites: an existing file stays as it was.
    let existing = env.dir.path().join("existing.db");
    std::fs::write(&existing, b"precious").unwrap();
    let out = env.cli(&["backup", existing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("already exists") && err.contains("existing.db"),
        "{err}"
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");

    // A place that cannot be written: a clear sentence naming it, nothing left behind.
    let blocker = env.dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    let target = blocker.join("backup.db");
    let out = env.cli(&["backup", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("accessboard: ")
            && err.contains("not-a-folder")
            && !err.contains("panicked"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    drop(ctx);
}

#[test]
fn the_database_and_its_backups_are_readable_by_their_owner_alone() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new(&scim_app("files", "http://127.0.0.1:9", "t0ken-x", ""));
    env.create_person("ann@example.org", "Ann", &[]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let db = env.db_path();
    assert_eq!(mode(&db), 0o600, "{}", db.display());
    for side in ["-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{side}", db.display()));
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    let copy = env.dir.path().join("copy.db");
    ok(&env.cli(&["backup", copy.to_str().unwrap()]), "backup");
    assert_eq!(mode(&copy), 0o600, "the backup holds the cookie key too");
    // A database made before this check is narrowed at the next start.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.users();
    assert_eq!(mode(&db), 0o600);
}
