//! The SQL behind UserService; every function runs inside the caller's transaction.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::ServiceError;
use crate::db::columns::RowExt;
use crate::db::sort_keys;
use crate::domain::{
    DashboardAccess, DesiredAccess, Email, NewUser, PersonName, Role, Slug, User, UserUpdate,
};
use crate::pairs::{
    Pairs, ReconcileJob, initial_status, mark_for_sync, purge_removed_users, unmanage,
};
use crate::settings::Settings;

/// What a change needs to know about an app.
#[derive(Debug, Clone)]
pub struct AppInfo {
    /// Installed by an admin.
    pub installed: bool,
    /// Has `[apps.scim]` in settings.
    pub scim_enabled: bool,
}

/// The apps in the catalogue, by slug.
pub fn load_apps(tx: &rusqlite::Connection) -> Result<HashMap<String, AppInfo>, ServiceError> {
    let mut stmt =
        tx.prepare_cached("SELECT slug, installed, scim_enabled FROM apps WHERE in_catalogue = 1")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            AppInfo {
                installed: r.get(1)?,
                scim_enabled: r.get(2)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Fails with `UnknownApp` unless the slug is in the catalogue.
pub fn app_exists(tx: &Transaction<'_>, app: &Slug) -> Result<(), ServiceError> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM apps WHERE slug = ?1 AND in_catalogue = 1")?
        .query_row([app.as_str()], |r| r.get(0))
        .optional()?;
    found
        .map(|_| ())
        .ok_or_else(|| ServiceError::UnknownApp(app.to_string()))
}

type UserCols = (String, String, String, DashboardAccess, bool);

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserCols> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.typed(3, "users")?,
        r.get::<_, Option<i64>>(4)?.is_some(),
    ))
}

fn to_user((id, email, name, dashboard, deleted): UserCols) -> Result<User, ServiceError> {
    let bad = |what: &str| ServiceError::Invalid(format!("stored user {id} has an invalid {what}"));
    Ok(User {
        id: Uuid::parse_str(&id).map_err(|_| bad("id"))?,
        email: Email::parse(&email).map_err(|_| bad("email"))?,
        name: PersonName::parse(&name).map_err(|_| bad("name"))?,
        dashboard,
        deleted,
    })
}

const USER_COLUMNS: &str = "id, email, name, dashboard, deleted_at";

/// A live (not deleted) user by email, case-insensitively.
pub fn user_by_email(tx: &Transaction<'_>, email: &Email) -> Result<User, ServiceError> {
    let row = tx
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email_norm = ?1 AND deleted_at IS NULL"
        ))?
        .query_row([email.normalized()], user_from_row)
        .optional()?;
    to_user(row.ok_or_else(|| ServiceError::UnknownUser(email.to_string()))?)
}

/// A live user by id.
pub fn user_by_id(tx: &Transaction<'_>, id: Uuid) -> Result<User, ServiceError> {
    let row = tx
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = ?1 AND deleted_at IS NULL"
        ))?
        .query_row([id.to_string()], user_from_row)
        .optional()?;
    to_user(row.ok_or(ServiceError::UnknownUserId(id))?)
}

pub fn ensure_email_free(
    tx: &Transaction<'_>,
    email: &Email,
    except: Option<Uuid>,
) -> Result<(), ServiceError> {
    let existing: Option<(String, Option<i64>)> = tx
        .prepare_cached("SELECT id, deleted_at FROM users WHERE email_norm = ?1")?
        .query_row([email.normalized()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match existing {
        Some((id, _)) if Some(id.as_str()) == except.map(|u| u.to_string()).as_deref() => Ok(()),
        Some((_, Some(_))) => Err(ServiceError::BeingRemoved(email.to_string())),
        Some((_, None)) => Err(ServiceError::EmailTaken(email.to_string())),
        None => Ok(()),
    }
}

/// The roles a new person asks for, by app; an app not in the catalogue is refused.
fn requested_roles<'a>(
    apps: &HashMap<String, AppInfo>,
    new: &'a NewUser,
) -> Result<HashMap<&'a str, Role>, ServiceError> {
    let mut roles = HashMap::new();
    for (slug, role) in &new.access {
        if !apps.contains_key(slug.as_str()) {
            return Err(ServiceError::UnknownApp(slug.to_string()));
        }
        roles.insert(slug.as_str(), *role);
    }
    Ok(roles)
}

/// Inserts a user and one access row per catalogued app, already marked where access is granted.
pub fn insert_user(
    tx: &Transaction<'_>,
    apps: &HashMap<String, AppInfo>,
    new: &NewUser,
    id: Uuid,
    now: i64,
) -> Result<User, ServiceError> {
    ensure_email_free(tx, &new.email, None)?;
    let roles = requested_roles(apps, new)?;
    let (name_key, email_key) = sort_keys::keys(new.name.as_str(), new.email.as_str())?;
    tx.prepare_cached(
        "INSERT INTO users (id, email, email_norm, name, dashboard, created_at, updated_at, name_key, email_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)",
    )?
    .execute(params![
        id.to_string(),
        new.email.as_str(),
        new.email.normalized(),
        new.name.as_str(),
        new.dashboard,
        now,
        name_key,
        email_key
    ])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO app_access (user_id, app_slug, role, direct_role, status, desired_gen, due_seq, status_since)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?5, ?6)",
    )?;
    for (slug, app) in apps {
        let role = roles.get(slug.as_str()).copied().unwrap_or(Role::None);
        let marked = app.installed
            && app.scim_enabled
            && matches!(DesiredAccess::of(role, false), DesiredAccess::Active { .. });
        insert.execute(params![
            id.to_string(),
            slug,
            role,
            initial_status(marked),
            marked as i64,
            now
        ])?;
    }
    Ok(User {
        id,
        email: new.email.clone(),
        name: new.name.clone(),
        dashboard: new.dashboard,
        deleted: false,
    })
}

/// [`insert_user`] for many people in two statements: the search index is brought up to
/// date once per statement, which per person was most of the cost of a large import.
pub fn insert_users(
    tx: &Transaction<'_>,
    apps: &HashMap<String, AppInfo>,
    people: &[(NewUser, Uuid)],
    now: i64,
) -> Result<(), ServiceError> {
    if people.is_empty() {
        return Ok(());
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut users = Vec::with_capacity(people.len());
    let mut pairs = Vec::with_capacity(people.len() * apps.len());
    for (new, id) in people {
        ensure_email_free(tx, &new.email, None)?;
        let roles = requested_roles(apps, new)?;
        let (name_key, email_key) = sort_keys::keys(new.name.as_str(), new.email.as_str())?;
        users.push(serde_json::json!([
            id.to_string(),
            new.email.as_str(),
            new.email.normalized(),
            new.name.as_str(),
            new.dashboard.as_str(),
            hex(&name_key),
            hex(&email_key)
        ]));
        for (slug, app) in apps {
            let role = roles.get(slug.as_str()).copied().unwrap_or(Role::None);
            let marked = app.installed
                && app.scim_enabled
                && matches!(DesiredAccess::of(role, false), DesiredAccess::Active { .. });
            pairs.push(serde_json::json!([
                id.to_string(),
                slug,
                role.as_str(),
                initial_status(marked).as_str(),
                marked as i64
            ]));
        }
    }
    tx.prepare_cached(
        "INSERT INTO users (id, email, email_norm, name, dashboard, created_at, updated_at, name_key, email_key)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, ?2, ?2,
                unhex(value ->> 5), unhex(value ->> 6)
           FROM json_each(?1)",
    )?
    .execute(params![serde_json::Value::from(users).to_string(), now])?;
    tx.prepare_cached(
        "INSERT INTO app_access (user_id, app_slug, role, direct_role, status, desired_gen, due_seq, status_since)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 2, value ->> 3, value ->> 4, value ->> 4, ?2
           FROM json_each(?1)",
    )?
    .execute(params![serde_json::Value::from(pairs).to_string(), now])?;
    Ok(())
}

/// Applies an update; a new name or email re-provisions every app the user has access to.
pub fn update_user(
    tx: &Transaction<'_>,
    mut user: User,
    update: UserUpdate,
    now: i64,
) -> Result<(User, Vec<ReconcileJob>), ServiceError> {
    let mut identity_changed = false;
    if let Some(email) = update.email.filter(|e| e.as_str() != user.email.as_str()) {
        ensure_email_free(tx, &email, Some(user.id))?;
        user.email = email;
        identity_changed = true;
    }
    if let Some(name) = update.name.filter(|n| *n != user.name) {
        user.name = name;
        identity_changed = true;
    }
    let before = user.dashboard;
    let admin_changed = update.dashboard.is_some_and(|a| a != before);
    if let Some(a) = update.dashboard {
        user.dashboard = a;
    }
    if !identity_changed && !admin_changed {
        return Ok((user, Vec::new()));
    }
    let (name_key, email_key) = sort_keys::keys(user.name.as_str(), user.email.as_str())?;
    tx.execute(
        "UPDATE users SET email = ?1, email_norm = ?2, name = ?3, dashboard = ?4, updated_at = ?5,
                name_key = ?7, email_key = ?8 WHERE id = ?6",
        params![
            user.email.as_str(),
            user.email.normalized(),
            user.name.as_str(),
            user.dashboard,
            now,
            user.id.to_string(),
            name_key,
            email_key
        ],
    )?;
    if admin_changed {
        // A link made for one level of access does not outlive it.
        crate::db::sign_in_links::end_all_of(tx, user.id)?;
    }
    if admin_changed && user.dashboard < before {
        // A lower level ends every session: none may go on with the rights it had,
        // nor come back with them later (a viewer signs in again as a viewer).
        crate::db::sessions::end_all_of(tx, user.id)?;
    }
    // Dashboard access is about signing in here; it grants nothing inside apps.
    let jobs = if identity_changed {
        mark_for_sync(tx, Pairs::UserWithAccess(&user.id), now)?
    } else {
        Vec::new()
    };
    Ok((user, jobs))
}

/// The role a user was given in an app themselves (not through a group), if there is a row.
pub fn role_of(tx: &Transaction<'_>, user: Uuid, app: &Slug) -> Result<Option<Role>, ServiceError> {
    Ok(tx
        .prepare_cached("SELECT direct_role FROM app_access WHERE user_id = ?1 AND app_slug = ?2")?
        .query_row(params![user.to_string(), app.as_str()], |r| {
            r.typed(0, "app_access")
        })
        .optional()?)
}

/// Sets a person's own role; the pair is marked when the role it should have moved
/// (a group may still give the person what their own role no longer does).
pub fn set_access(
    tx: &Transaction<'_>,
    user: Uuid,
    app: &Slug,
    role: Role,
    now: i64,
) -> Result<Vec<ReconcileJob>, ServiceError> {
    app_exists(tx, app)?;
    if role_of(tx, user, app)? == Some(role) {
        return Ok(Vec::new());
    }
    tx.execute(
        "INSERT INTO app_access (user_id, app_slug, direct_role, status_since) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, app_slug) DO UPDATE SET direct_role = excluded.direct_role",
        params![user.to_string(), app.as_str(), role, now],
    )?;
    Ok(super::roles::refresh(tx, &[user], Some(app.as_str()), now)?.jobs)
}

/// Marks a user deleted and their known pairs for deprovisioning; purges at once if no app knows them.
pub fn delete_user(
    tx: &Transaction<'_>,
    user: Uuid,
    now: i64,
) -> Result<Vec<ReconcileJob>, ServiceError> {
    tx.execute(
        "UPDATE users SET deleted_at = ?1, updated_at = ?1 WHERE id = ?2",
        params![now, user.to_string()],
    )?;
    crate::db::sessions::end_all_of(tx, user)?;
    // They leave their groups at once; their pairs are deprovisioned whatever the groups said.
    tx.execute(
        "DELETE FROM group_members WHERE user_id = ?1",
        [user.to_string()],
    )?;
    let jobs = mark_for_sync(tx, Pairs::UserKnownToApps(&user), now)?;
    purge_removed_users(tx)?;
    Ok(jobs)
}

/// Installs an app and marks every pair that should exist, or that the app may already hold.
pub fn install_app(
    tx: &Transaction<'_>,
    app: &Slug,
    now: i64,
) -> Result<Vec<ReconcileJob>, ServiceError> {
    app_exists(tx, app)?;
    let changed = tx.execute(
        "UPDATE apps SET installed = 1, installed_at = ?1 WHERE slug = ?2 AND installed = 0",
        params![now, app.as_str()],
    )?;
    if changed == 0 {
        return Ok(Vec::new());
    }
    Ok(mark_for_sync(tx, Pairs::AppRelevant(app.as_str()), now)?)
}

/// Uninstalls an app; its pairs stop being provisioned without calling the app.
pub fn uninstall_app(
    tx: &Transaction<'_>,
    app: &Slug,
    now: i64,
) -> Result<Vec<ReconcileJob>, ServiceError> {
    app_exists(tx, app)?;
    tx.execute(
        "UPDATE apps SET installed = 0 WHERE slug = ?1",
        [app.as_str()],
    )?;
    unmanage(tx, app.as_str(), now)?;
    Ok(Vec::new())
}

/// Puts `error` and `failed` pairs back to `sync_needed`.
pub fn retry(
    tx: &Transaction<'_>,
    app: Option<&Slug>,
    user: Option<Uuid>,
    now: i64,
) -> Result<Vec<ReconcileJob>, ServiceError> {
    let pairs = Pairs::Unsettled {
        app: app.map(Slug::as_str),
        user: user.as_ref(),
    };
    Ok(mark_for_sync(tx, pairs, now)?)
}

/// Mirrors settings.toml into `apps` and fills in missing access rows.
pub fn sync_catalogue(
    tx: &Transaction<'_>,
    settings: &Settings,
    now: i64,
) -> Result<Vec<ReconcileJob>, ServiceError> {
    let before = load_apps(tx)?;
    tx.execute("UPDATE apps SET in_catalogue = 0", [])?;
    let mut jobs = Vec::new();
    for app in &settings.apps {
        let slug = app.slug.as_str();
        let scim = app.scim.is_some();
        tx.execute(
            "INSERT INTO apps (slug, name, url, scim_enabled, in_catalogue) VALUES (?1, ?2, ?3, ?4, 1)
             ON CONFLICT (slug) DO UPDATE SET name = excluded.name, url = excluded.url,
                scim_enabled = excluded.scim_enabled, in_catalogue = 1",
            params![slug, app.name, app.url, scim],
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO app_access (user_id, app_slug, status_since) SELECT id, ?1, ?2 FROM users",
            params![slug, now],
        )?;
        match before.get(slug) {
            Some(old) if old.scim_enabled && !scim => unmanage(tx, slug, now)?,
            Some(old) if !old.scim_enabled && scim => {
                jobs.extend(mark_for_sync(tx, Pairs::AppRelevant(slug), now)?);
            }
            _ => {}
        }
    }
    // Apps gone from settings.toml can no longer be called.
    let gone: Vec<String> = before
        .keys()
        .filter(|slug| settings.app(slug).is_none())
        .cloned()
        .collect();
    for slug in gone {
        tx.execute("UPDATE apps SET scim_enabled = 0 WHERE slug = ?1", [&slug])?;
        unmanage(tx, &slug, now)?;
    }
    Ok(jobs)
}
