//! Operations: `restore` puts a checked backup in place while nothing runs, keeps the
//! replaced database, and every pair of the restored database settles at the first sweep.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::db::{connect, pair_counts, wait_until};
use crate::support::env::{TestEnv, ok, stderr, stdout};
use crate::support::scim_server::ScimServer;
use crate::support::serve::Serve;
use crate::support::settings::scim_app;

fn people(db: &Path) -> Vec<String> {
    let c = connect(db);
    let mut stmt = c.prepare("SELECT email FROM users ORDER BY email").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn restore_is_refused_while_serve_runs_and_keeps_the_replaced_database() {
    let env = TestEnv::new(&scim_app("chat", "http://127.0.0.1:9/scim", "t", ""));
    env.create_person("ada@example.org", "Ada", &[]);
    let backup = env.dir.path().join("backup.db");
    ok(&env.cli(&["backup", backup.to_str().unwrap()]), "backup");
    env.create_person("bob@example.org", "Bob", &[]);
    let db = env.db_path();
    let kept = db.with_file_name("accessboard.db.before-restore");

    let mut serve = Serve::start(&env);
    let out = env.cli(&["restore", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("stop `serve` first"),
        "{}",
        stderr(&out)
    );
    serve.stop();
    assert!(people(&db).contains(&"bob@example.org".to_owned()));
    assert!(!kept.exists());

    // Not a database, and the database itself: refused, one line, exit 2.
    let junk = env.dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database at all, just some text").unwrap();
    for file in [&junk, &db] {
        let out = env.cli(&["restore", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
    }

    let out = env.cli(&["restore", backup.to_str().unwrap()]);
    ok(&out, "restore");
    assert!(stdout(&out).contains("before-restore"), "{}", stdout(&out));
    assert_eq!(people(&db), vec!["ada@example.org".to_owned()]);
    assert!(
        people(&kept).contains(&"bob@example.org".to_owned()),
        "the replaced database, with its last writes, is kept"
    );
    let list = env.cli(&["user", "list"]);
    ok(&list, "user list after the restore");

    // A second restore would lose the kept database: refused until it is moved away.
    let out = env.cli(&["restore", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("before-restore"), "{}", stderr(&out));
}

#[test]
fn a_backup_taken_mid_provisioning_restores_to_pairs_that_settle_at_the_first_sweep() {
    const PEOPLE: usize = 300;
    let server = ScimServer::start();
    // One sweep in the whole run: the one at start. A pair it cannot enqueue waits an hour.
    let env = TestEnv::with_provisioning(
        &scim_app("chat", &server.base_url(), server.token(), ""),
        "sweep_interval_secs = 3600",
    );
    env.install("chat");
    let db = env.db_path();
    let mut serve = Serve::start(&env);
    env.import(
        "email,name,chat",
        (0..PEOPLE).map(|i| format!("p{i}@example.org,Person {i},user")),
    );
    let mut backups = Vec::new();
    let started = Instant::now();
    while backups.len() < 6 && started.elapsed() < Duration::from_secs(30) {
        let provisioned = pair_counts(&db, "chat")
            .get("provisioned")
            .copied()
            .unwrap_or(0);
        if provisioned == PEOPLE as i64 {
            break;
        }
        let file = env.dir.path().join(format!("b{}.db", backups.len()));
        ok(
            &env.cli(&["backup", file.to_str().unwrap()]),
            "backup under load",
        );
        backups.push((file, provisioned));
    }
    serve.stop();
    assert!(
        backups.len() >= 3,
        "backups taken mid-run: {}",
        backups.len()
    );

    let kept = db.with_file_name("accessboard.db.before-restore");
    for (file, provisioned) in &backups {
        let _ = std::fs::remove_file(&kept);
        ok(&env.cli(&["restore", file.to_str().unwrap()]), "restore");
        let at_start = Instant::now();
        let mut serve = Serve::start(&env);
        wait_until(
            Duration::from_secs(20),
            || pair_counts(&db, "chat").get("provisioned") == Some(&(PEOPLE as i64)),
            || {
                format!(
                    "{} (backup had {provisioned} provisioned): {:?}\n{}",
                    file.display(),
                    pair_counts(&db, "chat"),
                    serve.log()
                )
            },
        );
        eprintln!(
            "{}: {provisioned} provisioned in the backup; all {PEOPLE} settled {:?} after start",
            file.display(),
            at_start.elapsed()
        );
        serve.stop();
    }
    let accounts = server.accounts_by_user_name();
    assert_eq!(accounts.len(), PEOPLE, "one account per person");
    assert!(
        accounts.values().all(|a| a.len() == 1),
        "no duplicate account"
    );
}
