//! The SQLite database: connection pool, durable pragmas, migrations, and its
//! modules by table (people and access reads, pairs and log, meta, sessions, throttle, audit).

pub mod access;
pub mod alerts;
pub mod attention;
pub mod audit;
pub mod backup;
pub mod columns;
pub mod events;
pub mod groups;
pub mod meta;
mod migrations;
pub mod overview;
pub mod pairs;
pub mod passkeys;
pub mod pushed_groups;
pub mod rails;
pub mod read;
mod read_only;
mod search;
pub mod second_factor;
pub mod sessions;
pub mod sign_in_links;
pub mod sort_keys;
pub mod throttle;
pub mod time;
pub mod unmanaged;
mod user_cells;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;

pub use migrations::{latest as schema_version, migrate};
pub use read_only::ReadMode;

/// A pooled SQLite connection.
pub type Conn = r2d2::PooledConnection<SqliteConnectionManager>;

/// Storage failures; mapped to pages and exit codes at the edge.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("cannot create the database folder or file {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Migration(String),
    #[error("the database holds a value that makes no sense: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Collation(#[from] crate::domain::CollationError),
    #[error("database task was cancelled")]
    Cancelled,
}

/// How long a writer waits for the lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Quick retries before backing off: 200 × 50 µs = the first 10 ms of a wait.
const QUICK_TRIES: i32 = 200;

/// The busy handler of our connections: waits up to [`BUSY_TIMEOUT`] for the write lock.
///
/// SQLite's own handler (what `busy_timeout` installs) sleeps 1, 2, 5, 10 … ms between
/// tries, so a writer that collides with a transaction holding the lock for 100 µs loses
/// a millisecond or more; with the workers' short claim and finish transactions that cost
/// most of the provisioning throughput. This one retries every 50 µs for the first 10 ms,
/// then every millisecond.
fn busy_wait(tries: i32) -> bool {
    let waited_ms = if tries < QUICK_TRIES {
        i64::from(tries) / 20
    } else {
        10 + i64::from(tries - QUICK_TRIES)
    };
    if waited_ms >= BUSY_TIMEOUT.as_millis() as i64 {
        return false;
    }
    std::thread::sleep(if tries < QUICK_TRIES {
        Duration::from_micros(50)
    } else {
        Duration::from_millis(1)
    });
    true
}

/// The pragmas every connection runs with, whoever opened it.
///
/// `synchronous = NORMAL` is durable in WAL mode across process crashes;
/// apalis' setup turns it OFF on its own connections, which we undo there too.
pub const CONNECTION_PRAGMAS: &str = "PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
PRAGMA temp_store = MEMORY;";

/// A `LIKE … ESCAPE '\\'` pattern matching text that contains `s` literally.
pub(crate) fn contains_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Plans that do not depend on bound values (SQLite's query planner stability guarantee).
///
/// Otherwise a statement whose plan looked at a bound value (a `LIMIT ?`, a `LIKE ?`, a
/// parameter compared with a partial index's condition) is marked expired each time that
/// parameter is bound again, and parsed and planned anew at its next step: a cached
/// statement then costs as much as an uncached one, on every request of the pages.
pub(crate) fn stable_plans(c: &rusqlite::Connection) -> rusqlite::Result<()> {
    c.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// Prepared statements kept per pooled connection.
pub(crate) const STATEMENT_CACHE: usize = 256;

/// Connections in a pool, and database jobs of `Db::run` running at once.
pub(crate) const POOL_SIZE: u32 = 8;

/// The shared handle to the database.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// One permit per pooled connection: a job waits for its turn on the async side,
    /// not as a blocking thread asleep on the pool (32 requests in flight made 32
    /// threads wake each other for 8 connections).
    gate: Arc<tokio::sync::Semaphore>,
    path: PathBuf,
}

impl Db {
    /// Opens (creating file and folder) and migrates the database.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DbError::Folder {
                path: dir.to_owned(),
                source,
            })?;
        }
        owner_only(path)?;
        // Switch a new file to WAL and migrate it on one connection first: eight
        // pooled connections doing that at once on a new file collide ("database is
        // locked" in the log, though r2d2 retries).
        {
            let mut first = rusqlite::Connection::open(path)?;
            first.busy_handler(Some(busy_wait))?;
            first.execute_batch(CONNECTION_PRAGMAS)?;
            migrate(&mut first)?;
            sort_keys::refresh(&mut first)?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            // rusqlite keeps 16 statements per connection by default; the pages alone use
            // more, and an evicted one is parsed again on every request.
            c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            stable_plans(c)?;
            c.busy_handler(Some(busy_wait))?;
            c.execute_batch(CONNECTION_PRAGMAS)
        });
        Db::with_pool(manager, path)
    }

    /// The handle over a pool of `POOL_SIZE` connections made by `manager`.
    pub(crate) fn with_pool(manager: SqliteConnectionManager, path: &Path) -> Result<Db, DbError> {
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .connection_timeout(Duration::from_secs(30))
            .build(manager)?;
        Ok(Db {
            pool,
            gate: Arc::new(tokio::sync::Semaphore::new(POOL_SIZE as usize)),
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A connection from the pool (blocking).
    pub fn conn(&self) -> Result<Conn, DbError> {
        Ok(self.pool.get()?)
    }

    /// Runs a read of a few microseconds (an indexed row) at once on the calling thread
    /// when a connection is free without waiting; otherwise as `run` does. It saves the
    /// request a trip through the blocking pool: two thread switches that cost more
    /// than the read.
    pub async fn read_now<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        if let Ok(turn) = self.gate.clone().try_acquire_owned()
            && let Some(mut conn) = self.pool.try_get()
        {
            let result = f(&mut conn);
            // The connection back in the pool before the turn is given up, so that the
            // next job's turn always finds one.
            drop(conn);
            drop(turn);
            return result;
        }
        self.run(f).await
    }

    /// Runs blocking database work off the async executor.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        // The permit goes with the job, so a request dropped meanwhile still holds its turn
        // until its statement ends. The gate is never closed.
        let permit = self.gate.clone().acquire_owned().await.ok();
        tokio::task::spawn_blocking(move || {
            let _turn = permit;
            let mut conn = pool.get().map_err(DbError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(|_| E::from(DbError::Cancelled))?
    }
}

/// Creates the database file readable by its owner alone (it holds the cookie-signing key
/// and session ids), or narrows an existing one; SQLite gives its `-wal` and `-shm` files
/// the database file's mode. Whatever the umask.
fn owner_only(path: &Path) -> Result<(), DbError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let fail = |source| DbError::Folder {
            path: path.to_owned(),
            source,
        };
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(fail)?;
        for file in [
            path.to_owned(),
            PathBuf::from(format!("{}-wal", path.display())),
            PathBuf::from(format!("{}-shm", path.display())),
        ] {
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(fail)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// `.cargo/config.toml` builds SQLite for a pool of readers: without it, every page a
    /// query touches takes a mutex shared by all connections (docs/benchmarks.md, fix 7).
    #[test]
    fn sqlite_is_built_without_the_process_wide_cache_and_statistics_mutexes() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let options: Vec<String> = conn
            .prepare("PRAGMA compile_options")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }
}
