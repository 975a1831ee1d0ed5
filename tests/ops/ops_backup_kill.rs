//! Operations: `backup` killed with SIGKILL at random moments leaves no file or a
//! whole backup under the target's name, and the next backup succeeds.

use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::support::db::connect;
use crate::support::env::{TestEnv, ok};
use crate::support::settings::scim_app;

const PEOPLE: usize = 30_000;
const ROUNDS: usize = 12;

/// Whether a file of the backup (the target or anything beside it named after it) exists.
fn writing(target: &std::path::Path) -> bool {
    let name = target.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with(&name))
}

/// What a file under the backup's name holds: `Ok(people)` for a whole database.
fn whole_backup(path: &std::path::Path) -> Result<i64, String> {
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| e.to_string())?;
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if check != "ok" {
        return Err(check);
    }
    c.query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .map_err(|e| e.to_string())
}

#[test]
fn a_backup_killed_at_any_moment_leaves_no_file_or_a_whole_backup() {
    let env = TestEnv::new(&scim_app("chat", "http://127.0.0.1:9/scim", "t", ""));
    env.install("chat");
    env.import(
        "email,name,chat",
        (0..PEOPLE).map(|i| format!("p{i}@example.org,Person {i},user")),
    );
    let people: i64 = connect(&env.db_path())
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();

    // How long a whole backup takes here, so the kills spread over all of it.
    let timed = env.dir.path().join("timed.db");
    let started = Instant::now();
    ok(&env.cli(&["backup", timed.to_str().unwrap()]), "backup");
    let whole = started.elapsed();
    assert_eq!(whole_backup(&timed), Ok(people));

    let target = env.dir.path().join("backup.db");
    let mut rng = rand::rng();
    let (mut absent, mut complete) = (0, 0);
    for round in 0..ROUNDS {
        let mut child = env
            .command(&["backup", target.to_str().unwrap()], &[])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn backup");
        let spawned = Instant::now();
        // Half the kills anywhere in a whole run (and a little past it); the other half
        // once the copy has begun to be written, where a torn file would show.
        if round % 2 == 1 {
            while !writing(&target) && spawned.elapsed() < whole * 2 {
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(Duration::from_micros(
                rng.random_range(0..whole.as_micros() as u64 / 3),
            ));
        } else {
            std::thread::sleep(Duration::from_micros(
                rng.random_range(0..whole.as_micros() as u64 * 6 / 5),
            ));
        }
        let delay = spawned.elapsed();
        let _ = child.kill();
        let _ = child.wait();
        if target.exists() {
            match whole_backup(&target) {
                Ok(n) => assert_eq!(n, people, "round {round}: a backup missing people"),
                Err(e) => panic!(
                    "round {round}: killed after {delay:?}, the target is not a whole backup: {e}"
                ),
            }
            complete += 1;
            std::fs::remove_file(&target).unwrap();
        } else {
            absent += 1;
        }
    }
    eprintln!(
        "whole backup {whole:?}; {ROUNDS} kills: {absent} left no file, {complete} a whole backup"
    );

    // Whatever the last kill left beside the target does not block the next backup.
    let out = env.cli(&["backup", target.to_str().unwrap()]);
    ok(&out, "backup after the kills");
    assert_eq!(whole_backup(&target), Ok(people));
    let leftovers: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("backup.db") && n != "backup.db")
        .collect();
    assert!(
        leftovers.is_empty(),
        "left beside the backup: {leftovers:?}"
    );
}
