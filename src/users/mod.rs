//! UserService: the ONE place where users, apps and access change.
//!
//! Every change is one transaction that also marks the affected (user, app)
//! pairs `sync_needed`; the jobs are enqueued after commit. If the process
//! dies in between, the sweeper finds the marked pairs, so nothing is lost.

mod adopt;
mod adopt_chunk;
mod apps;
mod audit;
mod bulk;
mod bulk_groups;
mod error;
mod group_store;
mod groups;
mod held;
mod identities;
mod import;
mod import_groups;
mod import_lines;
mod invite;
mod links;
mod outcome;
pub mod passkeys;
pub mod password;
mod preview;
mod roles;
pub mod second_factor;
mod signin;
mod store;
pub mod totp;
pub mod webauthn;
mod write;

use std::sync::Arc;

use uuid::Uuid;

use serde_json::json;

use crate::db::Db;
use crate::domain::{
    Actor, DashboardAccess, Email, NewUser, PersonName, Role, Slug, User, UserUpdate,
};
use crate::identity::IdentityStore;
use crate::pairs::JobQueue;
use crate::settings::Settings;

pub use adopt::{AdoptStep, Adopted, Adoption, ROWS_PER_TX, Unowned};
pub use apps::Resumed;
pub use audit::Audit;
use audit::{access_audited, delete_audited, person, update_audited};
pub use bulk::{BulkAction, BulkPerson, BulkPlan, Effect, MAX_BULK, Tally};
pub use bulk_groups::RoleMove;
pub use error::ServiceError;
pub use groups::{GroupChange, GroupKey, GroupOutcome, MAX_DESCRIPTION, parse_description};
pub use held::{Cancelled, GuardWarning};
pub use identities::IdentitySync;
use identities::UserKey;
pub use import::{ImportPlan, ImportReport, ImportRow, MAX_IMPORT_BYTES, RowError};
pub use invite::{Invitation, link_url};
pub use links::{NewLink, duration_words};
pub use outcome::{Held, HeldIn, Outcome, Reach, Saved};
pub use password::hash_password;
pub use signin::DashboardChange;

/// The service every edge (web, CLI, provisioning hooks) goes through.
#[derive(Clone)]
pub struct UserService {
    db: Db,
    queue: JobQueue,
    settings: Arc<Settings>,
    identities: Arc<dyn IdentityStore>,
    actor: Actor,
    // `--force`: this service's changes pass the revocation guard, uncounted.
    lift_guard: bool,
    // Email to people (invitations, reset links), when `[alerts] smtp_url` is set.
    mailer: Option<Arc<dyn crate::mail::Mailer>>,
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
            actor: Actor::System,
            lift_guard: false,
            mailer: None,
        }
    }

    /// The same service, sending email to people through `mailer`.
    pub fn with_mailer(self, mailer: Option<Arc<dyn crate::mail::Mailer>>) -> Self {
        UserService { mailer, ..self }
    }

    /// The same service, recording its changes in the audit trail as `actor`.
    pub fn as_actor(&self, actor: Actor) -> Self {
        UserService {
            actor,
            ..self.clone()
        }
    }

    /// The same service, with the revocation guard lifted for its changes (`--force`, a
    /// confirmed bulk action): revocations are carried out and not counted.
    pub fn lifting_guard(&self, lift: bool) -> Self {
        UserService {
            lift_guard: lift,
            ..self.clone()
        }
    }

    /// Who this service's changes are recorded as.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Records one entry of the audit trail on its own (sign-ins, setup).
    pub async fn record(
        &self,
        action: &'static str,
        target: Option<String>,
        after: Option<serde_json::Value>,
    ) -> Result<(), ServiceError> {
        self.write(move |tx, now, audit| {
            audit.record(tx, now, action, target.as_deref(), None, after)?;
            Ok(((), Vec::new()))
        })
        .await
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
        self.write(move |tx, now, _| Ok(((), store::sync_catalogue(tx, &settings, now)?)))
            .await
    }

    /// Creates a user, with the given roles; returns them.
    pub async fn create_user(&self, new: NewUser) -> Result<User, ServiceError> {
        Ok(self.create_user_saved(new).await?.0)
    }

    /// Creates a user, with the given roles; returns them and the apps told.
    #[tracing::instrument(skip_all, fields(email = %new.email))]
    pub async fn create_user_saved(&self, new: NewUser) -> Result<(User, Saved), ServiceError> {
        let id = self.new_identity(&new).await?;
        let names = self.app_names();
        let created = self
            .write(move |tx, now, audit| {
                let apps = store::load_apps(tx)?;
                let user = store::insert_user(tx, &apps, &new, id, now)?;
                let mut after = person(&user);
                let access: serde_json::Map<String, serde_json::Value> = new
                    .access
                    .iter()
                    .map(|(app, role)| (app.to_string(), json!(role.as_str())))
                    .collect();
                after["access"] = access.into();
                let target = user.email.to_string();
                audit.record(tx, now, "person.create", Some(&target), None, Some(after))?;
                let jobs = crate::pairs::jobs_of_users(tx, &[user.id])?;
                let saved = Saved {
                    apps: Saved::told(&jobs, &names),
                    held: Vec::new(),
                };
                Ok(((user, saved), jobs))
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
        self.write(move |tx, now, audit| {
            let user = store::user_by_id(tx, current.id)?;
            update_audited(tx, now, audit, user, update)
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
        self.write(move |tx, now, audit| {
            let user = store::user_by_id(tx, id)?;
            update_audited(tx, now, audit, user, update)
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
        Ok(self.save_user_as_seen(id, update, roles, None).await?.0)
    }

    /// [`Self::save_user`], refused with [`ServiceError::ChangedMeanwhile`] when the
    /// person's dashboard access is no longer `seen_admin`: whether the change needed
    /// the admin's own password was decided on it, so it is checked again inside the
    /// save's transaction, against the state the save writes over.
    pub async fn save_user_as_seen(
        &self,
        id: Uuid,
        update: UserUpdate,
        roles: Vec<(Slug, Role)>,
        seen_admin: Option<DashboardAccess>,
    ) -> Result<(User, Saved), ServiceError> {
        let current = self.user_by(UserKey::Id(id)).await?;
        if seen_admin.is_some_and(|seen| seen != current.dashboard) {
            // Before the identity store is told anything.
            return Err(ServiceError::ChangedMeanwhile(current.email.to_string()));
        }
        self.push_identity(&current, &update).await?;
        let names = self.app_names();
        let ((user, apps), held) = self
            .write_held(move |tx, now, audit| {
                let user = store::user_by_id(tx, id)?;
                if seen_admin.is_some_and(|seen| seen != user.dashboard) {
                    return Err(ServiceError::ChangedMeanwhile(user.email.to_string()));
                }
                let (user, mut jobs) = update_audited(tx, now, audit, user, update)?;
                for (app, role) in &roles {
                    jobs.extend(access_audited(tx, now, audit, &user, app, *role)?);
                }
                let apps = Saved::told(&jobs, &names);
                Ok(((user, apps), jobs))
            })
            .await?;
        let held = self.held_in(held);
        Ok((user, Saved { apps, held }))
    }

    /// Sets one user's role in one app; returns what it did (a group may keep their
    /// access, the guard may hold the revocation).
    #[tracing::instrument(skip_all, fields(email = %email, app = %app, role = %role))]
    pub async fn set_access(
        &self,
        email: &Email,
        app: &Slug,
        role: Role,
    ) -> Result<Outcome, ServiceError> {
        let (email, app) = (email.clone(), app.clone());
        let name = self
            .settings
            .app(app.as_str())
            .map_or_else(|| app.to_string(), |a| a.name.clone());
        let (mut outcome, held) = self
            .write_held(move |tx, now, audit| {
                let user = store::user_by_email(tx, &email)?;
                let mut outcome = Outcome::new(Reach::Role { app: name, role });
                outcome.person = Some(user.name.to_string());
                let before = outcome::role_in(tx, user.id, app.as_str())?;
                let jobs = access_audited(tx, now, audit, &user, &app, role)?;
                let after = outcome::role_in(tx, user.id, app.as_str())?;
                let groups = outcome::granting_groups(tx, user.id, app.as_str())?;
                outcome.count_role(role, before, after, groups);
                Ok((outcome, jobs))
            })
            .await?;
        outcome.held = self.held_in(held);
        Ok(outcome)
    }

    /// Deletes a user: they vanish from lists at once and are purged once every
    /// app was told; returns what it did (the apps told, a revocation held).
    #[tracing::instrument(skip_all, fields(email = %email))]
    pub async fn delete_user(&self, email: &Email) -> Result<Outcome, ServiceError> {
        let user = self.user_by(UserKey::Email(email.clone())).await?;
        self.delete_user_by_id(user.id).await
    }

    /// Same as [`UserService::delete_user`], by id.
    pub async fn delete_user_by_id(&self, id: Uuid) -> Result<Outcome, ServiceError> {
        let user = self.user_by(UserKey::Id(id)).await?;
        self.identities.delete(id).await?;
        let names = self.app_names();
        let (mut outcome, held) = self
            .write_held(move |tx, now, audit| {
                let user = store::user_by_id(tx, id)?;
                let jobs = delete_audited(tx, now, audit, &user)?;
                let mut outcome = Outcome::new(Reach::Delete);
                outcome.done = 1;
                for job in &jobs {
                    let name = names
                        .get(&job.app)
                        .cloned()
                        .unwrap_or_else(|| job.app.clone());
                    *outcome.told.entry(name).or_insert(0) += 1;
                }
                Ok((outcome, jobs))
            })
            .await?;
        outcome.person = Some(user.name.to_string());
        outcome.held = self.held_in(held);
        Ok(outcome)
    }

    /// Puts `error` and `failed` pairs (optionally of one app or user) back to `sync_needed`.
    pub async fn retry(
        &self,
        app: Option<Slug>,
        email: Option<Email>,
    ) -> Result<usize, ServiceError> {
        self.write(move |tx, now, audit| {
            let user = email.map(|e| store::user_by_email(tx, &e)).transpose()?;
            if let Some(app) = &app {
                store::app_exists(tx, app)?;
            }
            let jobs = store::retry(tx, app.as_ref(), user.as_ref().map(|u| u.id), now)?;
            let target = match (&app, &user) {
                (Some(a), Some(u)) => Some(format!("{a} / {}", u.email)),
                (Some(a), None) => Some(a.to_string()),
                (None, Some(u)) => Some(u.email.to_string()),
                (None, None) => None,
            };
            let after = json!({ "pairs_marked": jobs.len() });
            audit.record(tx, now, "pairs.retry", target.as_deref(), None, Some(after))?;
            Ok((jobs.len(), jobs))
        })
        .await
    }
}

/// Parses a person's name, for edges that take raw text.
pub fn parse_name(raw: &str) -> Result<PersonName, ServiceError> {
    PersonName::parse(raw).map_err(|e| ServiceError::Invalid(e.to_string()))
}
