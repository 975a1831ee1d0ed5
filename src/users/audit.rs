//! The audit trail as the service writes it: inside each change's transaction, as the
//! service's actor, and never a password or hash.

use serde_json::json;

use super::{ServiceError, store};
use crate::db::audit;
use crate::domain::{Role, Slug, User, UserUpdate};
use crate::pairs::ReconcileJob;

/// Records audit entries inside a change's transaction, as the service's actor.
pub struct Audit {
    pub(super) actor: String,
}

impl Audit {
    /// Appends one entry; `before` and `after` are short JSON and never hold a secret.
    pub fn record(
        &self,
        tx: &rusqlite::Connection,
        now: i64,
        action: &str,
        target: Option<&str>,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<(), ServiceError> {
        audit::insert(
            tx,
            now,
            &audit::NewEntry {
                actor: &self.actor,
                action,
                target,
                before: before.map(|v| v.to_string()),
                after: after.map(|v| v.to_string()),
            },
        )?;
        Ok(())
    }
}

/// A person as the audit trail shows them: never a password or hash.
pub(super) fn person(u: &User) -> serde_json::Value {
    json!({ "email": u.email.as_str(), "name": u.name.as_str(), "dashboard": u.dashboard })
}

/// How many emails one `import`, `group.add` or `group.remove` entry lists.
pub(super) const IMPORT_AUDIT_EMAILS: usize = 100;

/// Updates a person and records `person.update` when something changed.
pub(super) fn update_audited(
    tx: &rusqlite::Transaction<'_>,
    now: i64,
    audit: &Audit,
    user: User,
    update: UserUpdate,
) -> Result<(User, Vec<ReconcileJob>), ServiceError> {
    let before = person(&user);
    let target = user.email.to_string();
    let (user, jobs) = store::update_user(tx, user, update, now)?;
    let after = person(&user);
    if before != after {
        audit.record(
            tx,
            now,
            "person.update",
            Some(&target),
            Some(before),
            Some(after),
        )?;
    }
    Ok((user, jobs))
}

/// Sets a role and records `access.set` when it changed.
pub(super) fn access_audited(
    tx: &rusqlite::Transaction<'_>,
    now: i64,
    audit: &Audit,
    user: &User,
    app: &Slug,
    role: Role,
) -> Result<Vec<ReconcileJob>, ServiceError> {
    store::app_exists(tx, app)?;
    let was = store::role_of(tx, user.id, app)?;
    let jobs = store::set_access(tx, user.id, app, role, now)?;
    if was != Some(role) {
        let target = format!("{} / {app}", user.email);
        audit.record(
            tx,
            now,
            "access.set",
            Some(&target),
            Some(json!({ "role": was.map(|r| r.as_str()) })),
            Some(json!({ "role": role.as_str() })),
        )?;
    }
    Ok(jobs)
}

/// Deletes a person (their pairs marked for deprovisioning) and records `person.delete`.
pub(super) fn delete_audited(
    tx: &rusqlite::Transaction<'_>,
    now: i64,
    audit: &Audit,
    user: &User,
) -> Result<Vec<ReconcileJob>, ServiceError> {
    let jobs = store::delete_user(tx, user.id, now)?;
    let target = user.email.to_string();
    audit.record(
        tx,
        now,
        "person.delete",
        Some(&target),
        Some(person(user)),
        None,
    )?;
    Ok(jobs)
}
