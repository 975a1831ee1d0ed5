//! The UserService's side of the identity source: changes go there first, and
//! changes made there come back through [`UserService::sync_identities`].

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::{ImportPlan, ImportRow, RowError, ServiceError, UserService, store};
use crate::db::{Conn, alerts, time};
use crate::domain::{
    AlertKind, Condition, DashboardAccess, Email, NewUser, PersonName, User, UserUpdate,
};
use crate::identity::{self, IdentityError};

/// How a service call names a user.
pub(super) enum UserKey {
    Email(Email),
    Id(Uuid),
}

/// What one identity sync changed.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IdentitySync {
    /// Identities new to accessboard (added with no access).
    pub added: usize,
    /// Identities whose email or name changed.
    pub changed: usize,
    /// Identities gone from the source (their accounts are being disabled).
    pub removed: usize,
    /// Identities skipped, with the reason.
    pub skipped: Vec<String>,
}

/// More removals than this in one sync, and more than half of everyone, look
/// like a misconfigured source rather than people leaving: they are held back.
const MASS_REMOVAL: usize = 10;

fn identity_error(e: IdentityError, email: &Email) -> ServiceError {
    match e {
        IdentityError::Conflict(_) => ServiceError::EmailTaken(email.to_string()),
        other => ServiceError::Identity(other),
    }
}

impl UserService {
    pub(super) async fn user_by(&self, key: UserKey) -> Result<User, ServiceError> {
        self.db
            .run(move |c: &mut Conn| {
                let tx = c.transaction()?;
                match &key {
                    UserKey::Email(e) => store::user_by_email(&tx, e),
                    UserKey::Id(id) => store::user_by_id(&tx, *id),
                }
            })
            .await
    }

    /// The id a new person gets: from the identity source, created there first.
    pub(super) async fn new_identity(&self, new: &NewUser) -> Result<Uuid, ServiceError> {
        if self.identities.is_remote() {
            // A clear answer before anything is created in Kratos.
            let email = new.email.clone();
            self.db
                .run(move |c: &mut Conn| {
                    let tx = c.transaction()?;
                    store::ensure_email_free(&tx, &email, None)
                })
                .await?;
        }
        self.identities
            .create(&new.email, &new.name)
            .await
            .map_err(|e| identity_error(e, &new.email))
    }

    /// Undoes a source identity whose local record could not be written.
    pub(super) async fn forget_identity(&self, id: Uuid) {
        if self.identities.is_remote()
            && let Err(e) = self.identities.delete(id).await
        {
            tracing::warn!(error = %e, %id, "could not delete the identity again; the identity sync will pick it up");
        }
    }

    /// Sends a new email or name to the identity source before it is stored here.
    pub(super) async fn push_identity(
        &self,
        current: &User,
        update: &UserUpdate,
    ) -> Result<(), ServiceError> {
        if !self.identities.is_remote() {
            return Ok(());
        }
        let email = update
            .email
            .clone()
            .unwrap_or_else(|| current.email.clone());
        let name = update.name.clone().unwrap_or_else(|| current.name.clone());
        if email.as_str() == current.email.as_str() && name == current.name {
            return Ok(());
        }
        self.identities
            .update(current.id, &email, &name)
            .await
            .map_err(|e| identity_error(e, &email))
    }

    /// Creates the source identities of an import's valid rows; rows the source
    /// refuses become row errors. Returns the id of every row that has one.
    pub(super) async fn new_identities(
        &self,
        plan: &ImportPlan,
    ) -> (HashMap<usize, Uuid>, Vec<RowError>) {
        let mut ids = HashMap::new();
        let mut refused = Vec::new();
        for row in &plan.rows {
            let ImportRow::Valid { line, user, .. } = row else {
                continue;
            };
            match self.identities.create(&user.email, &user.name).await {
                Ok(id) => {
                    ids.insert(*line, id);
                }
                Err(e) => refused.push(RowError {
                    line: *line,
                    reason: identity_error(e, &user.email).to_string(),
                }),
            }
        }
        (ids, refused)
    }

    /// A password-setting link for a person of the identity source, to hand over once.
    pub async fn recovery_link(&self, id: Uuid) -> Result<Option<String>, ServiceError> {
        Ok(self.identities.recovery_link(id).await?)
    }

    /// When and why the identity source was last found unreachable, if it still is.
    pub async fn identity_outage(&self) -> Result<Option<(i64, String)>, ServiceError> {
        if !self.identities.is_remote() {
            return Ok(None);
        }
        Ok(self.db.run(|c: &mut Conn| identity::outage(c)).await?)
    }

    /// Brings accessboard's people in line with the identity source: new
    /// identities are added with no access, renamed or re-emailed ones are
    /// re-provisioned, and deleted ones are deprovisioned.
    #[tracing::instrument(skip_all)]
    pub async fn sync_identities(&self) -> Result<IdentitySync, ServiceError> {
        if !self.identities.is_remote() {
            return Ok(IdentitySync::default());
        }
        let remote = match self.identities.list().await {
            Ok(r) => r,
            Err(e) => {
                let message = e.to_string();
                self.db
                    .run(move |c: &mut Conn| identity::record_outage(c, &message, time::now()))
                    .await?;
                return Err(e.into());
            }
        };
        let report = self
            .write(move |tx, now, _| {
                identity::clear_outage(tx)?;
                apply(tx, remote, now)
            })
            .await?;
        if report != IdentitySync::default() {
            tracing::info!(
                added = report.added,
                changed = report.changed,
                removed = report.removed,
                skipped = report.skipped.len(),
                "identity sync"
            );
        }
        for s in &report.skipped {
            tracing::warn!("identity sync skipped {s}");
        }
        Ok(report)
    }
}

fn apply(
    tx: &rusqlite::Transaction<'_>,
    remote: Vec<identity::RemoteIdentity>,
    now: i64,
) -> Result<(IdentitySync, Vec<crate::pairs::ReconcileJob>), ServiceError> {
    let mut report = IdentitySync::default();
    let mut jobs = Vec::new();
    let apps = store::load_apps(tx)?;
    let local: Vec<Uuid> = {
        let mut stmt = tx.prepare("SELECT id FROM users WHERE deleted_at IS NULL")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut ids = Vec::new();
        for r in rows {
            if let Ok(id) = Uuid::parse_str(&r?) {
                ids.push(id);
            }
        }
        ids
    };
    let seen: HashSet<Uuid> = remote.iter().map(|r| r.id).collect();
    for r in remote {
        let (Ok(email), Ok(name)) = (Email::parse(&r.email), PersonName::parse(&r.name)) else {
            report
                .skipped
                .push(format!("identity {}: its email or name is not valid", r.id));
            continue;
        };
        // A person being removed here (their identity deleted after this list was read).
        let being_removed: bool = tx
            .prepare_cached(
                "SELECT count(*) > 0 FROM users WHERE id = ?1 AND deleted_at IS NOT NULL",
            )?
            .query_row([r.id.to_string()], |row| row.get(0))?;
        if being_removed {
            continue;
        }
        let outcome = match store::user_by_id(tx, r.id) {
            Ok(user) => {
                let same = user.email.as_str() == email.as_str() && user.name == name;
                if same {
                    continue;
                }
                let update = UserUpdate {
                    email: Some(email),
                    name: Some(name),
                    dashboard: None,
                };
                store::update_user(tx, user, update, now).map(|(_, j)| {
                    report.changed += 1;
                    j
                })
            }
            Err(ServiceError::UnknownUserId(_)) => {
                let new = NewUser {
                    email,
                    name,
                    dashboard: DashboardAccess::None,
                    access: Vec::new(),
                };
                store::insert_user(tx, &apps, &new, r.id, now).map(|_| {
                    report.added += 1;
                    Vec::new()
                })
            }
            Err(e) => return Err(e),
        };
        match outcome {
            Ok(j) => jobs.extend(j),
            Err(e @ (ServiceError::EmailTaken(_) | ServiceError::BeingRemoved(_))) => {
                report.skipped.push(format!("identity {}: {e}", r.id))
            }
            Err(e) => return Err(e),
        }
    }
    let gone: Vec<Uuid> = local.into_iter().filter(|id| !seen.contains(id)).collect();
    let total = seen.len() + gone.len();
    let held_back = Condition::global(AlertKind::IdentitySyncHeldBack);
    if gone.len() > MASS_REMOVAL && gone.len() * 2 > total {
        report.skipped.push(format!(
            "removing {} of {total} people at once; check kratos_admin_url, or delete them in accessboard",
            gone.len()
        ));
        let detail = format!(
            "The identity sync would remove {} of {total} people at once and held that back: a wrong kratos_admin_url is likelier than a mass departure. Nobody was removed.",
            gone.len()
        );
        alerts::raise(tx, &held_back, &detail, now)?;
    } else {
        alerts::resolve(
            tx,
            &held_back,
            "An identity sync ran without holding anything back.",
            now,
        )?;
        for id in gone {
            jobs.extend(store::delete_user(tx, id, now)?);
            report.removed += 1;
        }
    }
    Ok((report, jobs))
}
