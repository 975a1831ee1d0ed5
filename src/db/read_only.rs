//! Opening the database without writing a byte: the read-only commands (`user list`,
//! `provision status`, …) must work on a full disk and on a file they may not write.

use std::path::{Path, PathBuf};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::OpenFlags;

use super::{Db, DbError, busy_wait, migrations};

/// How a read-only open reached the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// `SQLITE_OPEN_READ_ONLY`: sees other processes' commits, WAL included.
    ReadOnly,
    /// `immutable=1`: no WAL index could be made beside the file (read-only folder,
    /// full disk) and no `-wal` exists, so the main file alone holds every commit.
    Immutable,
}

/// The read-only connections' pragmas: `query_only` turns any write that slipped
/// through into an error instead of an attempt.
const READ_PRAGMAS: &str = "PRAGMA query_only = ON;
PRAGMA foreign_keys = ON;
PRAGMA temp_store = MEMORY;";

impl Db {
    /// Opens an existing database for reading only: no folder or file is created,
    /// no mode changed, no migration run; a schema other than this binary's is refused.
    pub fn open_read_only(path: &Path) -> Result<(Db, ReadMode), DbError> {
        if !path.exists() {
            return Err(DbError::Folder {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no database here yet"),
            });
        }
        narrow(path);
        let mode = match probe(path, ReadMode::ReadOnly) {
            Ok(()) => ReadMode::ReadOnly,
            // Without a `-wal` the file is whole; reading it as immutable needs no
            // `-shm`, which a read-only folder or a full disk cannot give.
            Err(_) if !wal_of(path).exists() => {
                probe(path, ReadMode::Immutable)?;
                ReadMode::Immutable
            }
            Err(e) => return Err(e),
        };
        let manager = SqliteConnectionManager::file(uri(path, mode))
            .with_flags(flags())
            .with_init(|c| {
                c.set_prepared_statement_cache_capacity(super::STATEMENT_CACHE);
                super::stable_plans(c)?;
                c.busy_handler(Some(busy_wait))?;
                c.execute_batch(READ_PRAGMAS)
            });
        Ok((Db::with_pool(manager, path)?, mode))
    }
}

/// Takes group and other bits off the database and its WAL files, as every open does
/// (an older database was 0644), without adding a write bit a read-only file lacks.
/// Best effort: a file of another owner stays as it is and is still read.
fn narrow(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in [
            path.to_owned(),
            wal_of(path),
            PathBuf::from(format!("{}-shm", path.display())),
        ] {
            if let Ok(meta) = std::fs::metadata(&file) {
                let mode = meta.permissions().mode() & 0o7777;
                if mode & 0o077 != 0 {
                    let _ = std::fs::set_permissions(
                        &file,
                        std::fs::Permissions::from_mode(mode & !0o077),
                    );
                }
            }
        }
    }
}

/// Opens one connection the way the pool will and checks the schema version.
fn probe(path: &Path, mode: ReadMode) -> Result<(), DbError> {
    let conn = rusqlite::Connection::open_with_flags(uri(path, mode), flags())?;
    conn.busy_handler(Some(busy_wait))?;
    migrations::require_latest(&conn)
}

fn flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// The `file:` URI of `path` in `mode` (percent-encoding what a URI would misread).
pub(crate) fn uri(path: &Path, mode: ReadMode) -> String {
    let mut encoded = String::new();
    for b in path.to_string_lossy().bytes() {
        match b {
            b'%' | b'?' | b'#' | 0x80.. => encoded.push_str(&format!("%{b:02X}")),
            _ => encoded.push(b as char),
        }
    }
    match mode {
        ReadMode::ReadOnly => format!("file:{encoded}?mode=ro"),
        ReadMode::Immutable => format!("file:{encoded}?mode=ro&immutable=1"),
    }
}

/// The `-wal` file beside a database.
pub(crate) fn wal_of(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}-wal", path.display()))
}
