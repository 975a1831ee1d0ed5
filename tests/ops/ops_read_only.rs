//! Operations: the read-only commands on a database file nobody may write.
//!
//! The fault is real: the file is 0444 in 0555 folders, and as root (which ignores
//! modes) the binary runs as `nobody`, so every write the kernel sees is refused.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Output, Stdio};

use crate::support::db::connect;
use crate::support::env::{TestEnv, ok, stderr, stdout};
use crate::support::settings::scim_app;

/// The uid of `nobody`, which the commands run as when the tests run as root.
const NOBODY: u32 = 65534;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Runs the binary as a user who may not write the database.
fn cli_as_reader(env: &TestEnv, args: &[&str]) -> Output {
    let mut cmd = env.command(args, &[]);
    // /proc/self belongs to this process' effective user; root ignores file modes.
    if std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .ok()
        == Some(0)
    {
        // The checkout may sit where `nobody` cannot reach (a clone under /root): run a
        // copy of the binary from a folder anyone may enter.
        let mut as_nobody = std::process::Command::new(reachable_binary());
        as_nobody
            .arg("--config")
            .arg(&env.settings_path)
            .args(args)
            .env_remove("RUST_LOG")
            .uid(NOBODY)
            .gid(NOBODY);
        cmd = as_nobody;
    }
    cmd.stdin(Stdio::null()).output().expect("run accessboard")
}

/// A copy of the test binary in a temporary folder open to every user.
fn reachable_binary() -> std::path::PathBuf {
    static COPY: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = COPY.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir for the binary");
        chmod(dir.path(), 0o755);
        std::fs::copy(
            env!("CARGO_BIN_EXE_accessboard"),
            dir.path().join("accessboard"),
        )
        .expect("copy the binary");
        chmod(&dir.path().join("accessboard"), 0o755);
        dir
    });
    dir.path().join("accessboard")
}

/// Folds a write-ahead log the last writer left into the database: its process may end
/// before SQLite does so; the last connection to close does it (content unchanged).
fn fold_wal(env: &TestEnv) {
    let db = env.db_path();
    if Path::new(&format!("{}-wal", db.display())).exists() {
        let c = connect(&db);
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("checkpoint");
        drop(c);
    }
}

/// Makes the database, its folder and the settings readable by anyone, writable by no one.
fn freeze(env: &TestEnv) {
    let db = env.db_path();
    // The main file holds every commit (`fold_wal` ran).
    let wal = format!("{}-wal", db.display());
    assert!(
        !Path::new(&wal).exists(),
        "no -wal left beside {}",
        db.display()
    );
    chmod(env.dir.path(), 0o555);
    chmod(db.parent().expect("data folder"), 0o555);
    chmod(&db, 0o444);
    chmod(&env.settings_path, 0o444);
}

fn thaw(env: &TestEnv) {
    chmod(env.dir.path(), 0o755);
    chmod(env.db_path().parent().expect("data folder"), 0o755);
    chmod(&env.db_path(), 0o600);
}

#[test]
fn read_only_commands_work_on_a_database_file_nobody_may_write() {
    let env = TestEnv::new(&scim_app("chat", "http://127.0.0.1:9/scim", "t", ""));
    env.install("chat");
    env.create_person("ada@example.org", "Ada Lovelace", &["chat=user"]);
    ok(&env.cli(&["group", "create", "Staff"]), "group create");
    ok(
        &env.cli(&["group", "add", "Staff", "ada@example.org"]),
        "group add",
    );
    let db = env.db_path();
    fold_wal(&env);
    let before = std::fs::read(&db).expect("read the database");
    freeze(&env);

    let refused = cli_as_reader(
        &env,
        &[
            "user",
            "create",
            "--email",
            "bob@example.org",
            "--name",
            "Bob",
        ],
    );
    assert!(
        !refused.status.success(),
        "the fault is real: a write must fail ({})",
        stdout(&refused)
    );
    let checks: [(&[&str], &str); 6] = [
        (&["provision", "status"], "ada@example.org"),
        (&["user", "list"], "Ada Lovelace"),
        (&["app", "list"], "chat"),
        (&["audit"], "person.create"),
        (&["group", "list"], "Staff"),
        (&["group", "show", "Staff"], "ada@example.org"),
    ];
    let mut failures = Vec::new();
    for (args, expect) in checks {
        let out = cli_as_reader(&env, args);
        if !out.status.success() || !stdout(&out).contains(expect) {
            failures.push(format!(
                "{args:?}: {:?}\n{}{}",
                out.status.code(),
                stdout(&out),
                stderr(&out)
            ));
        }
    }
    thaw(&env);
    assert!(
        failures.is_empty(),
        "read-only commands failed:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        std::fs::read(&db).expect("read the database"),
        before,
        "not a byte of the database changed"
    );
    for suffix in ["-wal", "-shm", "-journal"] {
        assert!(
            !Path::new(&format!("{}{suffix}", db.display())).exists(),
            "no {suffix} was made beside it"
        );
    }
}

#[test]
fn a_read_only_command_refuses_an_older_schema_in_one_line_without_migrating() {
    let env = TestEnv::new(&scim_app("chat", "http://127.0.0.1:9/scim", "t", ""));
    env.create_person("ada@example.org", "Ada", &[]);
    let db = env.db_path();
    let latest: i64 = connect(&db)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    connect(&db)
        .execute_batch(&format!("PRAGMA user_version = {}", latest - 1))
        .unwrap();
    let out = env.cli(&["user", "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("older than this accessboard needs") && err.trim().lines().count() == 1,
        "{err}"
    );
    let after: i64 = connect(&db)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(after, latest - 1, "a read-only command migrates nothing");
}
