//! UserService: the ONE place where users, apps and access change.
//!
//! Every change is one transaction that also marks the affected (user, app)
//! pairs `sync_needed`; the jobs are enqueued after commit. If the process
//! dies in between, the sweeper finds the marked pairs, so nothing is lost.

mod identities;
mod import;
pub mod password;
mod store;

use std::sync::Arc;

use rusqlite::TransactionBehavior;
use uuid::Uuid;

use crate::db::{Conn, Db, DbError, time};
use crate::domain::{Email, NewUser, PersonName, Role, Slug, User, UserUpdate};
use crate::identity::{IdentityError, IdentityStore};
use crate::pairs::{JobQueue, Pairs, ReconcileJob, mark_for_sync};
use crate::settings::Settings;

pub use identities::IdentitySync;
use identities::UserKey;
pub use import::{ImportPlan, ImportReport, ImportRow, MAX_IMPORT_BYTES, RowError};
pub use password::hash_password;

/// What went wrong with a change; mapped to pages and exit codes at the edge.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("no user with email {0}")]
    UnknownUser(String),
    #[error("no user with id {0}")]
    UnknownUserId(Uuid),
    #[error("a user with email {0} already exists")]
    EmailTaken(String),
    #[error("{0} is still being removed from its apps; try again once that has finished")]
    BeingRemoved(String),
    #[error("no app {0:?} in the catalogue; the apps are listed in settings.toml")]
    UnknownApp(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for ServiceError {
    fn from(e: rusqlite::Error) -> Self {
        ServiceError::Db(DbError::Sqlite(e))
    }
}

impl ServiceError {
    /// Whether the caller asked for something wrong (as opposed to a failure).
    pub fn is_usage(&self) -> bool {
        match self {
            ServiceError::Db(_) => false,
            ServiceError::Identity(e) => matches!(e, IdentityError::Conflict(_)),
            _ => true,
        }
    }
}

/// The service every edge (web, CLI, provisioning hooks) goes through.
#[derive(Clone)]
pub struct UserService {
    db: Db,
    queue: JobQueue,
    settings: Arc<Settings>,
    identities: Arc<dyn IdentityStore>,
}

impl UserService {
    /// Builds the service over the stores the application opened.
    pub fn new(
        db: Db,
        queue: JobQueue,
        settings: Arc<Settings>,
        identities: Arc<dyn IdentityStore>,
    ) -> Self {
        UserService {
            db,
            queue,
            settings,
            identities,
        }
    }

    /// The job queue.
    pub fn queue(&self) -> &JobQueue {
        &self.queue
    }

    /// Where identities live (accessboard itself, or Kratos).
    pub fn identities(&self) -> &Arc<dyn IdentityStore> {
        &self.identities
    }

    /// The database handle (for reads).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The settings in force.
    pub fn settings(&self) -> &Arc<Settings> {
        &self.settings
    }

    /// Brings the `apps` table in line with settings.toml and makes sure every
    /// user has a row for every app; pairs whose app gained or lost SCIM are marked.
    pub async fn sync_catalogue(&self) -> Result<(), ServiceError> {
        let settings = self.settings.clone();
        self.write(move |tx, now| Ok(((), store::sync_catalogue(tx, &settings, now)?)))
            .await
    }

    /// Creates a user, with the given roles; returns them.
    #[tracing::instrument(skip_all, fields(email = %new.email))]
    pub async fn create_user(&self, new: NewUser) -> Result<User, ServiceError> {
        let id = self.new_identity(&new).await?;
        let created = self
            .write(move |tx, now| {
                let apps = store::load_apps(tx)?;
                let user = store::insert_user(tx, &apps, &new, id, now)?;
                let jobs = crate::pairs::jobs_of_users(tx, &[user.id])?;
                Ok((user, jobs))
            })
            .await;
        if created.is_err() {
            self.forget_identity(id).await;
        }
        created
    }

    /// Changes name, email or dashboard admin flag.
    #[tracing::instrument(skip_all, fields(email = %email))]
    pub async fn update_user(
        &self,
        email: &Email,
        update: UserUpdate,
    ) -> Result<User, ServiceError> {
        let current = self.user_by(UserKey::Email(email.clone())).await?;
        self.push_identity(&current, &update).await?;
        self.write(move |tx, now| {
            let user = store::user_by_id(tx, current.id)?;
            store::update_user(tx, user, update, now)
        })
        .await
    }

    /// Same as [`UserService::update_user`], by id (the web form).
    pub async fn update_user_by_id(
        &self,
        id: Uuid,
        update: UserUpdate,
    ) -> Result<User, ServiceError> {
        let current = self.user_by(UserKey::Id(id)).await?;
        self.push_identity(&current, &update).await?;
        self.write(move |tx, now| {
            let user = store::user_by_id(tx, id)?;
            store::update_user(tx, user, update, now)
        })
        .await
    }

    /// Changes identity fields and roles together, in one transaction (the web form).
    pub async fn save_user(
        &self,
        id: Uuid,
        update: UserUpdate,
        roles: Vec<(Slug, Role)>,
    ) -> Result<User, ServiceError> {
        let current = self.user_by(UserKey::Id(id)).await?;
        self.push_identity(&current, &update).await?;
        self.write(move |tx, now| {
            let user = store::user_by_id(tx, id)?;
            let (user, mut jobs) = store::update_user(tx, user, update, now)?;
            for (app, role) in &roles {
                jobs.extend(store::set_access(tx, id, app, *role, now)?);
            }
            Ok((user, jobs))
        })
        .await
    }

    /// Sets one user's role in one app.
    #[tracing::instrument(skip_all, fields(email = %email, app = %app, role = %role))]
    pub async fn set_access(
        &self,
        email: &Email,
        app: &Slug,
        role: Role,
    ) -> Result<(), ServiceError> {
        let (email, app) = (email.clone(), app.clone());
        self.write(move |tx, now| {
            let user = store::user_by_email(tx, &email)?;
            Ok(((), store::set_access(tx, user.id, &app, role, now)?))
        })
        .await
    }

    /// Deletes a user: they vanish from lists at once and are purged once every
    /// app was told; returns how many apps are being told.
    #[tracing::instrument(skip_all, fields(email = %email))]
    pub async fn delete_user(&self, email: &Email) -> Result<usize, ServiceError> {
        let user = self.user_by(UserKey::Email(email.clone())).await?;
        self.delete_user_by_id(user.id).await
    }

    /// Same as [`UserService::delete_user`], by id.
    pub async fn delete_user_by_id(&self, id: Uuid) -> Result<usize, ServiceError> {
        self.user_by(UserKey::Id(id)).await?;
        self.identities.delete(id).await?;
        self.write(move |tx, now| {
            store::user_by_id(tx, id)?;
            let jobs = store::delete_user(tx, id, now)?;
            Ok((jobs.len(), jobs))
        })
        .await
    }

    /// Installs an app: every pair with access is marked; returns how many.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn install_app(&self, app: &Slug) -> Result<usize, ServiceError> {
        let app = app.clone();
        self.write(move |tx, now| {
            let jobs = store::install_app(tx, &app, now)?;
            Ok((jobs.len(), jobs))
        })
        .await
    }

    /// Uninstalls an app: provisioning stops and its pairs become `not_provisioned`.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn uninstall_app(&self, app: &Slug) -> Result<(), ServiceError> {
        let app = app.clone();
        self.write(move |tx, now| Ok(((), store::uninstall_app(tx, &app, now)?)))
            .await
    }

    /// "Sync now": marks every pair of an installed app that the app should know about.
    pub async fn resync_app(&self, app: &Slug) -> Result<usize, ServiceError> {
        let app = app.clone();
        self.write(move |tx, now| {
            store::app_exists(tx, &app)?;
            let jobs = mark_for_sync(tx, Pairs::AppRelevant(app.as_str()), now)?;
            Ok((jobs.len(), jobs))
        })
        .await
    }

    /// Sets (or with `None` clears) the dashboard sign-in password hash.
    pub async fn set_password_hash(
        &self,
        email: &Email,
        hash: Option<String>,
    ) -> Result<(), ServiceError> {
        let email = email.clone();
        self.write(move |tx, now| {
            let user = store::user_by_email(tx, &email)?;
            tx.execute(
                "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3",
                rusqlite::params![hash, now, user.id.to_string()],
            )?;
            // A new password ends every session; whoever changed their own signs in afresh.
            crate::db::sessions::end_all_of(tx, user.id)?;
            Ok(((), Vec::new()))
        })
        .await
    }

    /// Ends every dashboard session of the person ("sign out everywhere"); how many.
    pub async fn sign_out_everywhere(&self, id: Uuid) -> Result<usize, ServiceError> {
        self.write(move |tx, _| {
            let user = store::user_by_id(tx, id)?;
            Ok((crate::db::sessions::end_all_of(tx, user.id)?, Vec::new()))
        })
        .await
    }

    /// Same as [`UserService::sign_out_everywhere`], by email (the command line).
    pub async fn sign_out_everywhere_by_email(&self, email: &Email) -> Result<usize, ServiceError> {
        let email = email.clone();
        self.write(move |tx, _| {
            let user = store::user_by_email(tx, &email)?;
            Ok((crate::db::sessions::end_all_of(tx, user.id)?, Vec::new()))
        })
        .await
    }

    /// Puts `error` and `failed` pairs (optionally of one app or user) back to `sync_needed`.
    pub async fn retry(
        &self,
        app: Option<Slug>,
        email: Option<Email>,
    ) -> Result<usize, ServiceError> {
        self.write(move |tx, now| {
            let user = email.map(|e| store::user_by_email(tx, &e)).transpose()?;
            if let Some(app) = &app {
                store::app_exists(tx, app)?;
            }
            let jobs = store::retry(tx, app.as_ref(), user.as_ref().map(|u| u.id), now)?;
            Ok((jobs.len(), jobs))
        })
        .await
    }

    /// Checks a CSV file without changing anything: the preview.
    pub async fn plan_import(&self, csv: Vec<u8>) -> Result<ImportPlan, ServiceError> {
        self.db
            .run(move |conn: &mut Conn| {
                let tx = conn.transaction()?;
                let apps = store::load_apps(&tx)?;
                import::plan(&tx, &apps, &csv)
            })
            .await
    }

    /// Creates every valid row of a plan in one transaction.
    #[tracing::instrument(skip_all, fields(rows = plan.rows.len()))]
    pub async fn import(&self, plan: ImportPlan) -> Result<ImportReport, ServiceError> {
        let (ids, refused) = self.new_identities(&plan).await;
        self.write(move |tx, now| {
            let apps = store::load_apps(tx)?;
            let mut errors = plan.errors();
            errors.extend(refused);
            let mut created = Vec::new();
            for row in plan.rows {
                let ImportRow::Valid { line, user } = row else {
                    continue;
                };
                let Some(id) = ids.get(&line).copied() else {
                    continue;
                };
                match store::insert_user(tx, &apps, &user, id, now) {
                    Ok(u) => created.push(u.id),
                    // the database changed since the preview
                    Err(e @ (ServiceError::EmailTaken(_) | ServiceError::BeingRemoved(_))) => {
                        errors.push(RowError {
                            line,
                            reason: e.to_string(),
                        })
                    }
                    Err(e) => return Err(e),
                }
            }
            errors.sort_by_key(|e| e.line);
            let jobs = crate::pairs::jobs_of_users(tx, &created)?;
            Ok((
                ImportReport {
                    created: created.len(),
                    errors,
                },
                jobs,
            ))
        })
        .await
    }

    /// Runs `f` in one immediate transaction, then enqueues the jobs it returns.
    async fn write<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>, i64) -> Result<(T, Vec<ReconcileJob>), ServiceError>
            + Send
            + 'static,
    {
        let (out, jobs) = self
            .db
            .run(move |conn: &mut Conn| {
                // IMMEDIATE takes the write lock up front, so a busy database
                // waits on busy_timeout instead of failing mid-transaction.
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let out = f(&tx, time::now())?;
                tx.commit()?;
                Ok::<_, ServiceError>(out)
            })
            .await?;
        self.enqueue(&jobs).await;
        Ok(out)
    }

    /// Enqueues after commit; a failure only delays the jobs until the next sweep.
    async fn enqueue(&self, jobs: &[ReconcileJob]) {
        if let Err(e) = self.queue.enqueue(jobs).await {
            tracing::warn!(error = %e, jobs = jobs.len(), "enqueue failed; the sweeper will pick these pairs up");
        }
    }
}

/// Parses a person's name, for edges that take raw text.
pub fn parse_name(raw: &str) -> Result<PersonName, ServiceError> {
    PersonName::parse(raw).map_err(|e| ServiceError::Invalid(e.to_string()))
}
