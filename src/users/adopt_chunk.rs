//! One chunk of a discovery plan (at most `ROWS_PER_TX` accounts) applied in one
//! transaction, by the set: the people it names read at once, one write per account of
//! its pair's own role and account id, then the chunk's roles refreshed, its unmanaged
//! entries forgotten and its pairs marked once, each in one statement.

use std::collections::HashMap;

use rusqlite::{Transaction, params};
use serde_json::json;
use uuid::Uuid;

use super::adopt::{AdoptStep, Adopted, Unowned, person_name};
use super::audit::Audit;
use super::{ServiceError, roles, store};
use crate::db::unmanaged;
use crate::domain::{Decision, Email, NewUser, Role, Slug};
use crate::pairs::{Pairs, ReconcileJob, jobs_of_users, mark_for_sync};

/// A living person the chunk names, and their pair in the app as it stands.
#[derive(Debug, Clone)]
struct Here {
    user: Uuid,
    scim_id: Option<String>,
    direct: Option<Role>,
    status: Option<String>,
}

/// The key a person is found by: their email as stored to be compared.
fn key(email: &Email) -> String {
    email.normalized().to_owned()
}

/// The living people the chunk's emails name, with their pair in `app`, in one read.
fn people(
    tx: &Transaction<'_>,
    app: &Slug,
    chunk: &[AdoptStep],
) -> Result<HashMap<String, Here>, ServiceError> {
    let emails: Vec<String> = chunk
        .iter()
        .filter_map(|s| Some(key(s.email.as_ref()?)))
        .collect();
    let mut stmt = tx.prepare_cached(
        "SELECT u.email_norm, u.id, a.scim_id, a.direct_role, a.status FROM users u
           LEFT JOIN app_access a ON a.user_id = u.id AND a.app_slug = ?1
          WHERE u.email_norm IN (SELECT value FROM json_each(?2)) AND u.deleted_at IS NULL",
    )?;
    let mut rows = stmt.query(params![
        app.as_str(),
        serde_json::Value::from(emails).to_string()
    ])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        let Ok(user) = Uuid::parse_str(&r.get::<_, String>(1)?) else {
            continue;
        };
        let direct = r
            .get::<_, Option<String>>(3)?
            .map(|d| Role::parse(&d))
            .transpose()
            .map_err(|_| {
                ServiceError::Invalid(format!("stored pair of {user} has an invalid role"))
            })?;
        out.insert(
            r.get::<_, String>(0)?,
            Here {
                user,
                scim_id: r.get(2)?,
                direct,
                status: r.get(4)?,
            },
        );
    }
    Ok(out)
}

/// What the chunk writes once every step is decided.
#[derive(Default)]
struct Writes<'a> {
    /// Pairs given their own role and the account (link, disable).
    recorded: Vec<(Uuid, &'a str, Role)>,
    /// People made with access, and the account their pair starts from.
    created: Vec<(Uuid, &'a str)>,
    /// Those people, inserted together.
    people: Vec<(NewUser, Uuid)>,
}

/// Applies one chunk; answers what it did and the jobs of the pairs it marked.
pub(super) fn apply(
    tx: &Transaction<'_>,
    now: i64,
    audit: &Audit,
    app: &Slug,
    chunk: &[AdoptStep],
    ids: &HashMap<String, Uuid>,
) -> Result<(Adopted, Vec<ReconcileJob>), ServiceError> {
    let mut out = Adopted::default();
    let mut here = people(tx, app, chunk)?;
    let mut writes = Writes::default();
    for step in chunk {
        decide(
            tx,
            now,
            audit,
            app,
            step,
            ids,
            &mut here,
            &mut writes,
            &mut out,
        )?;
    }
    // Made before their pairs are given their accounts below.
    if !writes.people.is_empty() {
        store::insert_users(tx, &store::load_apps(tx)?, &writes.people, now)?;
    }
    if !writes.recorded.is_empty() {
        store::app_exists(tx, app)?;
    }
    let mut record = tx.prepare_cached(
        "INSERT INTO app_access (user_id, app_slug, direct_role, scim_id, status_since)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (user_id, app_slug) DO UPDATE
            SET direct_role = excluded.direct_role, scim_id = excluded.scim_id",
    )?;
    for (user, account, role) in &writes.recorded {
        record.execute(params![user.to_string(), app.as_str(), role, account, now])?;
    }
    let mut account_of = tx.prepare_cached(
        "UPDATE app_access SET scim_id = ?3 WHERE user_id = ?1 AND app_slug = ?2",
    )?;
    for (user, account) in &writes.created {
        account_of.execute(params![user.to_string(), app.as_str(), account])?;
    }
    let accounts: Vec<&str> = writes
        .recorded
        .iter()
        .map(|r| r.1)
        .chain(writes.created.iter().map(|c| c.1))
        .collect();
    unmanaged::remove_many(tx, app.as_str(), &accounts)?;
    // Each linked or disabled pair is marked once, whether its role moved or not: the
    // account it now names must be proved by the worker before it is called provisioned.
    let users: Vec<Uuid> = writes.recorded.iter().map(|r| r.0).collect();
    roles::refresh_unmarked(tx, &users, app.as_str())?;
    let mut jobs = mark_for_sync(tx, Pairs::Many(&users, app.as_str()), now)?;
    // A person made here was marked as they were inserted.
    let created: Vec<Uuid> = writes.created.iter().map(|c| c.0).collect();
    jobs.extend(jobs_of_users(tx, &created)?);
    Ok((out, jobs))
}

/// The account as messages name it.
fn account(step: &AdoptStep) -> String {
    format!("account {} ({})", step.account_id, step.user_name)
}

/// The account as the caller disables it.
fn unowned(step: &AdoptStep) -> Unowned {
    Unowned {
        id: step.account_id.clone(),
        user_name: step.user_name.clone(),
        active: step.active,
    }
}

/// Whether the pair was settled as disabled (or is on its way).
fn disabled_already(h: &Here) -> bool {
    matches!(
        h.status.as_deref(),
        Some("deprovisioned" | "sync_needed" | "syncing" | "held")
    )
}

/// Decides one step against the people here (as the chunk left them so far), writing
/// only what cannot wait: a person made, an account left, the audit entry.
#[allow(clippy::too_many_arguments)]
fn decide<'a>(
    tx: &Transaction<'_>,
    now: i64,
    audit: &Audit,
    app: &Slug,
    step: &'a AdoptStep,
    ids: &HashMap<String, Uuid>,
    here: &mut HashMap<String, Here>,
    writes: &mut Writes<'a>,
    out: &mut Adopted,
) -> Result<(), ServiceError> {
    let target = |email: &Email| format!("{email} / {app}");
    let id = step.account_id.as_str();
    match (&step.decision, &step.email) {
        (Decision::Keep, _) => {}
        (Decision::Leave, _) => {
            if unmanaged::insert(tx, app.as_str(), id, &step.user_name, &audit.actor, now)? {
                out.left += 1;
                let after = json!({ "account": id, "user_name": step.user_name });
                audit.record(
                    tx,
                    now,
                    "account.leave",
                    Some(app.as_str()),
                    None,
                    Some(after),
                )?;
            } else {
                out.unchanged += 1;
            }
        }
        (Decision::Link { role }, Some(email)) => {
            let Some(h) = here.get_mut(&key(email)) else {
                out.refused.push(format!(
                    "{}: nobody here has the email {email}",
                    account(step)
                ));
                return Ok(());
            };
            if h.scim_id.as_deref() == Some(id) && h.direct == Some(*role) {
                out.unchanged += 1;
                return Ok(());
            }
            (h.scim_id, h.direct, h.status) = (Some(id.to_owned()), Some(*role), None);
            writes.recorded.push((h.user, id, *role));
            out.linked += 1;
            let after = json!({ "account": id, "role": role.as_str() });
            audit.record(
                tx,
                now,
                "account.link",
                Some(&target(email)),
                None,
                Some(after),
            )?;
        }
        (Decision::Import { role }, Some(email)) => {
            if let Some(h) = here.get(&key(email)) {
                if h.scim_id.as_deref() == Some(id) {
                    out.unchanged += 1;
                } else {
                    out.refused.push(format!(
                        "{}: a person with the email {email} is here already; link it instead",
                        account(step)
                    ));
                }
                return Ok(());
            }
            let Some(new_id) = ids.get(&email.as_str().to_lowercase()).copied() else {
                out.refused.push(format!(
                    "{}: its name cannot be a person's name",
                    account(step)
                ));
                return Ok(());
            };
            let new = NewUser {
                email: email.clone(),
                name: person_name(step)?,
                dashboard: crate::domain::DashboardAccess::None,
                access: vec![(app.clone(), *role)],
            };
            here.insert(
                key(email),
                Here {
                    user: new_id,
                    scim_id: Some(id.to_owned()),
                    direct: Some(*role),
                    status: None,
                },
            );
            let after = json!({ "account": id, "name": new.name.to_string(),
                "role": role.as_str() });
            writes.created.push((new_id, id));
            writes.people.push((new, new_id));
            out.created += 1;
            audit.record(
                tx,
                now,
                "account.import",
                Some(&target(email)),
                None,
                Some(after),
            )?;
        }
        (Decision::Import { .. }, None) => out.refused.push(format!(
            "{}: no valid email, so no person is made from it",
            account(step)
        )),
        (Decision::Link { .. }, None) => out
            .refused
            .push(format!("{}: no person chosen to link it to", account(step))),
        (Decision::Disable, Some(email)) => {
            let Some(h) = here.get_mut(&key(email)) else {
                out.disable_unowned.push(unowned(step));
                return Ok(());
            };
            if h.scim_id.as_deref() == Some(id)
                && h.direct.is_none_or(|r| r == Role::None)
                && disabled_already(h)
            {
                out.unchanged += 1;
                return Ok(());
            }
            (h.scim_id, h.direct, h.status) = (
                Some(id.to_owned()),
                Some(Role::None),
                Some("sync_needed".into()),
            );
            writes.recorded.push((h.user, id, Role::None));
            out.disabled += 1;
            let after = json!({ "account": id });
            audit.record(
                tx,
                now,
                "account.disable",
                Some(&target(email)),
                None,
                Some(after),
            )?;
        }
        (Decision::Disable, None) => out.disable_unowned.push(unowned(step)),
    }
    Ok(())
}
