//! `accessboard restore FILE`: puts a checked backup in the database's place while
//! nothing runs on it, keeping the replaced database as `*.before-restore`.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::db::backup::{
    BackupError, check, copy, io, remove_with_journals, sibling, sibling_dash, sync_dir, sync_file,
};
use crate::db::{DbError, time};
use crate::provisioning::worker::DEAD_AFTER_SECS;

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// The restored file's schema version (older ones are migrated at the next start).
    pub version: i64,
    /// Where the replaced database now is, if there was one.
    pub kept: Option<PathBuf>,
}

/// Why a restore was refused or failed; the database is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// A process (`serve`, `provision run`, `user sync`) is working on the database.
    #[error(
        "accessboard is running on {path} (its heartbeat is {ago} s old); stop `serve` first, or wait {DEAD_AFTER_SECS} s if it was killed"
    )]
    Running { path: PathBuf, ago: i64 },
    /// The previous restore's kept database is still there.
    #[error("{0} already exists (kept by an earlier restore); move it away first")]
    KeptExists(PathBuf),
    /// The file to restore is the database itself.
    #[error("{0} is the database itself; name a backup")]
    Same(PathBuf),
    /// The file is not a usable backup, or copying failed.
    #[error(transparent)]
    Backup(#[from] BackupError),
}

impl RestoreError {
    /// Whether the operator asked for something that cannot be done (exit 2).
    pub fn is_usage(&self) -> bool {
        match self {
            RestoreError::Same(_) | RestoreError::KeptExists(_) => true,
            RestoreError::Backup(e) => e.is_usage(),
            RestoreError::Running { .. } => false,
        }
    }
}

/// Restores `file` as the database at `live`: checks it, refuses while a process beats
/// on `live`, copies it beside `live`, then swaps the two with renames.
pub fn restore(live: &Path, file: &Path) -> Result<Restored, RestoreError> {
    let version = check(file)?;
    if live.exists() && std::fs::canonicalize(live).ok() == std::fs::canonicalize(file).ok() {
        return Err(RestoreError::Same(file.to_owned()));
    }
    let kept = sibling(live, "before-restore");
    if live.exists() {
        if kept.exists() {
            return Err(RestoreError::KeptExists(kept));
        }
        if let Some(ago) = last_heartbeat_age(live) {
            return Err(RestoreError::Running {
                path: live.to_owned(),
                ago,
            });
        }
    }
    let partial = sibling(live, "restoring");
    // A copy left by a killed restore is only ever a copy: start afresh.
    remove_with_journals(&partial)?;
    {
        let src = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| BackupError::Db(e.into()))?;
        copy(&src, &partial)?;
    }
    forget_processes(&partial)?;
    sync_file(&partial)?;
    let kept = if live.exists() {
        keep(live, &kept)?;
        Some(kept)
    } else {
        None
    };
    if let Err(e) = std::fs::rename(&partial, live) {
        // Put the old database back rather than leave none.
        if let Some(kept) = &kept {
            let _ = std::fs::rename(kept, live);
        }
        return Err(io(live)(e).into());
    }
    sync_dir(live)?;
    Ok(Restored { version, kept })
}

/// The age in seconds of the newest heartbeat, if it is recent enough that its
/// process may still run (the sweeper beats every 3 s).
fn last_heartbeat_age(live: &Path) -> Option<i64> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    // A database that cannot be read has no running server to protect.
    let conn = Connection::open_with_flags(live, flags).ok()?;
    let newest: Option<i64> = conn
        .query_row("SELECT max(heartbeat_at) FROM instances", [], |r| r.get(0))
        .ok()?;
    let ago = time::now() - newest?;
    (ago < DEAD_AFTER_SECS).then_some(ago.max(0))
}

/// Forgets the processes and jobs of the backup's time in the copy: its heartbeats
/// name processes that are gone (their claims are taken back at the first sweep), and
/// its jobs are only hints that would hide due pairs behind finished ones with their
/// keys; the first sweep enqueues every due pair afresh.
fn forget_processes(partial: &Path) -> Result<(), BackupError> {
    let conn = Connection::open(partial).map_err(DbError::from)?;
    conn.execute_batch("DELETE FROM instances;")
        .map_err(DbError::from)?;
    for table in ["Jobs", "Workers"] {
        let exists: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [table],
                |r| r.get(0),
            )
            .map_err(DbError::from)?;
        if exists {
            conn.execute(&format!("DELETE FROM {table}"), [])
                .map_err(DbError::from)?;
        }
    }
    Ok(())
}

/// Moves the database at `live` (with its WAL, when a checkpoint could not empty it)
/// to `kept`.
fn keep(live: &Path, kept: &Path) -> Result<(), BackupError> {
    // Fold the WAL into the main file first, so the kept database is one file.
    if let Ok(conn) = Connection::open(live) {
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    }
    std::fs::rename(live, kept).map_err(io(live))?;
    for suffix in ["wal", "journal"] {
        let from = sibling_dash(live, suffix);
        if from.exists() {
            std::fs::rename(&from, sibling_dash(kept, suffix)).map_err(io(&from))?;
        }
    }
    let shm = sibling_dash(live, "shm");
    if shm.exists() {
        std::fs::remove_file(&shm).map_err(io(&shm))?;
    }
    Ok(())
}
