//! Copies of the database: `backup` writes one atomically, `check` proves a file is a
//! whole accessboard database, `copy` is the online copy both backup and restore use.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Db, DbError, migrations, owner_only};

/// Why a copy could not be made or a file is not a usable backup.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The target exists: backups are never overwritten.
    #[error("{0} already exists; choose a new file name so no backup is overwritten")]
    Exists(PathBuf),
    /// The file is missing, not SQLite, damaged, or not accessboard's.
    #[error("{path} is not a usable accessboard backup: {reason}")]
    Unusable { path: PathBuf, reason: String },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl BackupError {
    /// Whether the operator named a file that is not a backup (exit 2); an existing
    /// target is a failure (exit 1), as it always was.
    pub fn is_usage(&self) -> bool {
        matches!(self, BackupError::Unusable { .. })
    }
}

/// Writes a consistent copy of the live database to `target`, atomically.
///
/// The copy is written to `<target>.partial` beside it, checked, fsynced and only
/// then linked into place: a backup killed at any moment leaves no file or a whole
/// backup under the target's name. A `.partial` left by a killed run is replaced.
pub fn backup(db: &Db, target: &Path) -> Result<(), BackupError> {
    if target.exists() {
        return Err(BackupError::Exists(target.to_owned()));
    }
    let partial = sibling(target, "partial");
    remove_with_journals(&partial)?;
    let src = db.conn()?;
    copy(&src, &partial)?;
    let version = check(&partial)?;
    if version != migrations::latest() {
        return Err(unusable(
            &partial,
            format!(
                "schema version {version}, expected {}",
                migrations::latest()
            ),
        ));
    }
    sync_file(&partial)?;
    // A hard link never replaces a file another backup put there meanwhile; where the
    // file system has no links, a rename (still atomic) does.
    match std::fs::hard_link(&partial, target) {
        Ok(()) => remove_with_journals(&partial)?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            remove_with_journals(&partial)?;
            return Err(BackupError::Exists(target.to_owned()));
        }
        Err(_) => std::fs::rename(&partial, target).map_err(io(&partial))?,
    }
    sync_dir(target)?;
    Ok(())
}

/// Copies the database behind `src` into a new file `dst` (owner-only), in SQLite's
/// rollback-journal mode, ready to be moved into place.
///
/// All pages are copied in one step, from one read snapshot (WAL: writers are not
/// blocked). Copying in smaller steps restarts whenever another process commits in
/// between, so on a busy database it never ends.
pub fn copy(src: &Connection, dst: &Path) -> Result<(), BackupError> {
    // The copy holds the same secrets as the database: owner-only from the first byte.
    owner_only(dst)?;
    let mut out = Connection::open(dst).map_err(DbError::from)?;
    {
        use rusqlite::backup::StepResult;
        let backup = rusqlite::backup::Backup::new(src, &mut out).map_err(DbError::from)?;
        loop {
            match backup.step(-1).map_err(DbError::from)? {
                StepResult::Done => break,
                StepResult::More => {}
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }
    out.execute_batch("PRAGMA journal_mode = DELETE;")
        .map_err(DbError::from)?;
    Ok(())
}

/// Proves `path` is a whole accessboard database no newer than this binary, without
/// writing to it; returns its schema version.
pub fn check(path: &Path) -> Result<i64, BackupError> {
    if !path.is_file() {
        return Err(unusable(path, "no such file".into()));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| unusable(path, e.to_string()))?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))
        .map_err(|e| unusable(path, e.to_string()))?;
    if verdict != "ok" {
        return Err(unusable(path, format!("integrity check: {verdict}")));
    }
    let version = migrations::version(&conn)?;
    let has_pairs: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'app_access')",
            [],
            |r| r.get(0),
        )
        .map_err(DbError::from)?;
    if version < 1 || !has_pairs {
        return Err(unusable(path, "it holds no accessboard data".into()));
    }
    if version > migrations::latest() {
        return Err(unusable(
            path,
            format!(
                "schema version {version} is newer than this accessboard's ({})",
                migrations::latest()
            ),
        ));
    }
    Ok(version)
}

/// `<path>.<suffix>`, beside `path`.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}.{suffix}", path.display()))
}

/// Removes `path` and the journals SQLite may have left beside it, if any.
pub fn remove_with_journals(path: &Path) -> Result<(), BackupError> {
    for file in [
        path.to_owned(),
        sibling_dash(path, "journal"),
        sibling_dash(path, "wal"),
        sibling_dash(path, "shm"),
    ] {
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&file)(e)),
        }
    }
    Ok(())
}

/// `<path>-<suffix>`: SQLite's journal names.
pub fn sibling_dash(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}-{suffix}", path.display()))
}

/// Flushes a file's bytes to the disk.
pub fn sync_file(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io(path))
}

/// Flushes the folder holding `path`, so a rename or link into it survives a power cut.
pub fn sync_dir(path: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d.to_owned(),
            None => PathBuf::from("."),
        };
        std::fs::File::open(&dir)
            .and_then(|f| f.sync_all())
            .map_err(io(&dir))?;
    }
    Ok(())
}

fn unusable(path: &Path, reason: String) -> BackupError {
    BackupError::Unusable {
        path: path.to_owned(),
        reason,
    }
}

/// A closure turning an I/O error into one naming `path`.
pub fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}
