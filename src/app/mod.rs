//! Builds the running application once: settings, database, queue, identity store,
//! the service and the one provisioning engine; `serve` runs it. The command line and
//! the tests start from an [`App`]; this module is the only one above `web`.

pub mod restore;
mod serve;

pub use serve::{ServeError, healthcheck, http_server, serve};

use std::sync::Arc;

use crate::db::{Db, DbError};
use crate::identity::IdentityError;
use crate::pairs::JobQueue;
use crate::provisioning::engine::{Engine, EngineError};
use crate::settings::Settings;
use crate::users::{ServiceError, UserService};

/// Everything a front end needs, opened once.
#[derive(Clone)]
pub struct App {
    /// Settings in force.
    pub settings: Arc<Settings>,
    /// The one place where people, apps and access change.
    pub service: UserService,
    /// The job queue (in the same SQLite file).
    pub queue: JobQueue,
    /// The provisioning engine: one SCIM client per app.
    pub engine: Arc<Engine>,
}

/// Why the application could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The job queue could not be opened.
    #[error("cannot open the job queue: {0}")]
    Queue(String),
    /// The identity source is misconfigured.
    #[error("identity source: {0}")]
    Identity(#[from] IdentityError),
    /// An app's SCIM settings cannot be used.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The SMTP server of `[alerts]` cannot be used.
    #[error("email: {0}")]
    Mail(String),
    /// The catalogue could not be brought in line with settings.toml.
    #[error(transparent)]
    Catalogue(#[from] ServiceError),
}

impl AppError {
    /// Whether the settings are at fault (exit 2) rather than the machine (exit 1).
    pub fn is_configuration(&self) -> bool {
        match self {
            AppError::Identity(_) | AppError::Engine(_) | AppError::Mail(_) => true,
            AppError::Catalogue(e) => e.is_usage(),
            AppError::Db(_) | AppError::Queue(_) => false,
        }
    }
}

impl App {
    /// Opens database and queue, builds service and engine, and syncs the catalogue.
    pub async fn open(settings: Arc<Settings>) -> Result<App, AppError> {
        let path = settings.database.path.clone();
        let db = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || Db::open(&path))
                .await
                .map_err(|_| DbError::Cancelled)??
        };
        let queue = JobQueue::open(&path)
            .await
            .map_err(|e| AppError::Queue(e.to_string()))?;
        let app = App::build(settings, db, queue).await?;
        app.service.sync_catalogue().await?;
        Ok(app)
    }

    /// Opens the database and queue for reading only (the listing commands): nothing is
    /// created, migrated or synced, so they work on a full disk and a read-only file.
    ///
    /// The catalogue is the one the last writing start stored. A database that does
    /// not exist yet is made by [`App::open`] (there is nothing to read).
    pub async fn open_read_only(settings: Arc<Settings>) -> Result<App, AppError> {
        let path = settings.database.path.clone();
        if !path.exists() {
            return App::open(settings).await;
        }
        let (db, mode) = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || Db::open_read_only(&path))
                .await
                .map_err(|_| DbError::Cancelled)??
        };
        let queue =
            JobQueue::open_read_only(&path, mode).map_err(|e| AppError::Queue(e.to_string()))?;
        App::build(settings, db, queue).await
    }

    /// Builds identity store, engine and service over an opened database and queue.
    async fn build(settings: Arc<Settings>, db: Db, queue: JobQueue) -> Result<App, AppError> {
        let identities = crate::identity::open(&settings)?;
        let dialects = db
            .run(|c| crate::provisioning::engine::load_dialects(c))
            .await?;
        let group_ids = db
            .run(|c| crate::provisioning::engine::load_group_ids(c))
            .await?;
        let engine = Engine::new(
            db.clone(),
            queue.clone(),
            settings.clone(),
            identities.clone(),
            dialects,
            group_ids,
        )?;
        // The one mailer of the service: invitations and reset links.
        let mailer = crate::mail::Smtp::new(&settings.alerts, crate::mail::SEND_TIMEOUT)
            .map_err(AppError::Mail)?
            .map(|m| Arc::new(m) as Arc<dyn crate::mail::Mailer>);
        let service =
            UserService::new(db, queue.clone(), settings.clone(), identities).with_mailer(mailer);
        Ok(App {
            settings,
            service,
            queue,
            engine,
        })
    }
}
