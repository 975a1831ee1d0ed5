//! Read models for the CLI and the pages: plain queries, no changes.

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use super::DbError;
use super::columns::RowExt;
use super::search::PeopleSearch;
use crate::domain::{DashboardAccess, ProvisionStatus, Role};

pub use super::access::{AccessQuery, access};

/// A user as listed, with their role and status per app.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserRow {
    /// The id.
    pub id: Uuid,
    /// Email as entered.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Dashboard admin (may change everything in accessboard), `dashboard_admin` in JSON.
    #[serde(rename = "dashboard_admin")]
    pub admin: bool,
    /// Dashboard access: `none`, `viewer` or `admin`.
    pub dashboard: DashboardAccess,
    /// Whether they may sign in (a password is set).
    pub can_sign_in: bool,
    /// Being removed from apps.
    pub deleting: bool,
    /// Per-app role and status, in catalogue order.
    pub access: Vec<PairCell>,
    /// The names of their groups, by name.
    pub groups: Vec<String>,
}

/// One cell of the users table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PairCell {
    /// App slug.
    pub app: String,
    /// Role there: the highest of their own and their groups'.
    pub role: Role,
    /// The role given to them, not through a group.
    pub direct: Role,
    /// The highest role their groups give them there.
    pub groups: Role,
    /// Provisioning status.
    pub status: ProvisionStatus,
}

/// An app of the catalogue with its state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AppRow {
    /// Slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Where people open it.
    pub url: Option<String>,
    /// Installed by an admin.
    pub installed: bool,
    /// Has SCIM settings.
    pub scim: bool,
    /// Pairs per status, for the apps with access rows.
    pub counts: Vec<(ProvisionStatus, i64)>,
}

/// Which users to list.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Substring of name or email, case-insensitive.
    pub search: Option<String>,
    /// Include users being removed.
    pub include_deleting: bool,
    /// Only people with a role in this installed app (or, with `status`, a pair there in it).
    pub app: Option<String>,
    /// Only people with a pair in this state (in `app`, or in any installed app).
    pub status: Option<StatusFilter>,
    /// Only people with a pair in exactly this stored state (in `app`, or in any app
    /// of the catalogue, installed or not); `user list --status` replaces `status` with it.
    pub pair_status: Option<ProvisionStatus>,
    /// Only members of this group (by id).
    pub group: Option<Uuid>,
    /// The order.
    pub sort: SortBy,
    /// Rows to skip.
    pub offset: usize,
    /// Rows to return; 0 means all.
    pub limit: usize,
}

/// The order of the people list; both by Unicode collation (see `domain::sort_key`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortBy {
    /// By name, then email.
    #[default]
    Name,
    /// By email.
    Email,
}

impl SortBy {
    /// The query-string word.
    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::Name => "name",
            SortBy::Email => "email",
        }
    }

    /// From the query-string word; anything else is `None`.
    pub fn parse(raw: &str) -> Option<SortBy> {
        [SortBy::Name, SortBy::Email]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }

    /// The ORDER BY terms of the people list (each an index's columns).
    pub(crate) fn order(self) -> &'static str {
        match self {
            SortBy::Name => "name_key, email_norm",
            SortBy::Email => "email_key, email_norm",
        }
    }
}

/// The states an admin filters people by; `Pending` covers both waiting states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// The app confirmed the account.
    Provisioned,
    /// Waiting for, or in, a sync.
    Pending,
    /// Failed for now; retried with backoff.
    Error,
    /// Given up on.
    Failed,
    /// The account is disabled.
    Disabled,
    /// A revocation the revocation guard holds.
    Held,
}

impl StatusFilter {
    /// Every filter, in the order the page offers them.
    pub const ALL: [StatusFilter; 6] = [
        StatusFilter::Error,
        StatusFilter::Failed,
        StatusFilter::Held,
        StatusFilter::Pending,
        StatusFilter::Provisioned,
        StatusFilter::Disabled,
    ];

    /// The query-string word.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Provisioned => "provisioned",
            StatusFilter::Pending => "pending",
            StatusFilter::Error => "error",
            StatusFilter::Failed => "failed",
            StatusFilter::Disabled => "disabled",
            StatusFilter::Held => "held",
        }
    }

    /// From the query-string word; anything else is `None`.
    pub fn parse(raw: &str) -> Option<StatusFilter> {
        StatusFilter::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The stored states it stands for (always two; the same one twice when there is one).
    fn statuses(self) -> [ProvisionStatus; 2] {
        match self {
            StatusFilter::Provisioned => [ProvisionStatus::Provisioned; 2],
            StatusFilter::Pending => [ProvisionStatus::SyncNeeded, ProvisionStatus::Syncing],
            StatusFilter::Error => [ProvisionStatus::Error; 2],
            StatusFilter::Failed => [ProvisionStatus::Failed; 2],
            StatusFilter::Disabled => [ProvisionStatus::Deprovisioned; 2],
            StatusFilter::Held => [ProvisionStatus::Held; 2],
        }
    }
}

/// The condition of the people list, numbered as `users` binds it: ?1 the search, ?2
/// whether people being removed count, ?5 the app, ?6/?7 a status filter's states,
/// ?8 a group, ?9 a pair's state.
pub(crate) fn users_filter(search: &PeopleSearch) -> String {
    // One statement whatever the filters: unset ones are NULL and short-circuit.
    // With a status, the pair must be in it; with an app alone, the person has a role there.
    format!(
        "{}
        AND (?2 OR deleted_at IS NULL)
        AND ((?5 IS NULL AND ?6 IS NULL) OR ?9 IS NOT NULL OR EXISTS (
            SELECT 1 FROM app_access a JOIN apps p ON p.slug = a.app_slug
            WHERE a.user_id = users.id AND p.in_catalogue = 1 AND p.installed = 1
              AND (?5 IS NULL OR a.app_slug = ?5)
              AND CASE WHEN ?6 IS NULL THEN a.role != 'none' ELSE a.status IN (?6, ?7) END))
        AND (?8 IS NULL OR EXISTS (
            SELECT 1 FROM group_members m WHERE m.user_id = users.id AND m.group_id = ?8))
        AND (?9 IS NULL OR EXISTS (
            SELECT 1 FROM app_access a JOIN apps p ON p.slug = a.app_slug
            WHERE a.user_id = users.id AND p.in_catalogue = 1
              AND (?5 IS NULL OR a.app_slug = ?5) AND a.status = ?9))",
        search.clause()
    )
}

/// The page of the people list: `users_filter`, then ?3 (limit) and ?4 (offset).
pub(crate) fn users_page_sql(search: &PeopleSearch, order: &str) -> String {
    // Qualified: the search index has `name` and `email` columns too.
    format!(
        "SELECT {USER_COLUMNS} FROM {} WHERE {} ORDER BY {order} LIMIT ?3 OFFSET ?4",
        search.source(),
        users_filter(search)
    )
}

/// Users matching the query, in its order, with total count.
pub fn users(conn: &Connection, q: &UserQuery) -> Result<(Vec<UserRow>, usize), DbError> {
    let search = PeopleSearch::of(q.search.as_deref());
    let pattern = search.param();
    let filter = users_filter(&search);
    let [s1, s2] = q
        .status
        .map(StatusFilter::statuses)
        .map_or([None, None], |[a, b]| [Some(a), Some(b)]);
    let group = q.group.map(|g| g.to_string());
    let unfiltered = q.app.is_none() && s1.is_none() && group.is_none() && q.pair_status.is_none();
    let page_params = |limit: i64, offset: i64| {
        (
            pattern,
            q.include_deleting,
            limit,
            offset,
            &q.app,
            s1,
            s2,
            &group,
            &q.pair_status,
        )
    };
    let mut stmt = conn.prepare_cached(&users_page_sql(&search, q.sort.order()))?;
    let (mut rows, total): (Vec<UserRow>, usize) = if matches!(search, PeopleSearch::Indexed(_)) {
        // A search's matches are few and already sorted for the page: read them all once,
        // counting, instead of a second pass through the index only to count them.
        let first = q.offset;
        let end = if q.limit == 0 {
            usize::MAX
        } else {
            first.saturating_add(q.limit)
        };
        let mut matches = stmt.query(page_params(-1, 0))?;
        let (mut page, mut total) = (Vec::new(), 0usize);
        while let Some(r) = matches.next()? {
            if (first..end).contains(&total) {
                page.push(user_row(r)?);
            }
            total += 1;
        }
        (page, total)
    } else {
        let total: i64 = if search.is_none() && q.include_deleting && unfiltered {
            // Without a filter SQLite counts the b-tree's cells instead of reading every row.
            conn.prepare_cached("SELECT count(*) FROM users")?
                .query_row([], |r| r.get(0))?
        } else {
            // ?3 and ?4 (limit, offset) are unused here but keep the numbering of the page query.
            conn.prepare_cached(&format!(
                "SELECT count(*) FROM {} WHERE {filter}",
                search.source()
            ))?
            .query_row(page_params(0, 0), |r| r.get(0))?
        };
        let limit = if q.limit == 0 { -1 } else { q.limit as i64 };
        let page = stmt
            .query_map(page_params(limit, q.offset as i64), user_row)?
            .collect::<Result<_, _>>()?;
        (page, total as usize)
    };
    super::user_cells::fill(conn, &mut rows)?;
    Ok((rows, total))
}

/// One user by id, including one being removed.
pub fn user(conn: &Connection, id: Uuid) -> Result<Option<UserRow>, DbError> {
    let row = conn
        .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))?
        .query_row([id.to_string()], user_row)
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    // The same cells and groups as the people list shows.
    let mut rows = [row];
    super::user_cells::fill(conn, &mut rows)?;
    let [row] = rows;
    Ok(Some(row))
}

/// The columns [`user_row`] reads, in its order.
const USER_COLUMNS: &str = "users.id, users.email, users.name, users.dashboard,
    users.password_hash IS NOT NULL, users.deleted_at IS NOT NULL";

/// A person as read by [`USER_COLUMNS`], without cells or groups yet.
fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    let dashboard = r.typed(3, "users")?;
    Ok(UserRow {
        id: r.typed(0, "users")?,
        email: r.get(1)?,
        name: r.get(2)?,
        admin: dashboard == DashboardAccess::Admin,
        dashboard,
        can_sign_in: r.get(4)?,
        deleting: r.get(5)?,
        access: Vec::new(),
        groups: Vec::new(),
    })
}

/// The installed apps of the catalogue, in settings order, without counts (the people table's columns).
pub fn installed_apps(conn: &Connection) -> Result<Vec<AppRow>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT slug, name, url, installed, scim_enabled FROM apps WHERE in_catalogue = 1 AND installed = 1 ORDER BY rowid",
    )?;
    let apps = stmt
        .query_map([], |r| {
            Ok(AppRow {
                slug: r.get(0)?,
                name: r.get(1)?,
                url: r.get(2)?,
                installed: r.get(3)?,
                scim: r.get(4)?,
                counts: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(apps)
}

/// The apps of the catalogue, in settings order, with per-status counts.
pub fn apps(conn: &Connection) -> Result<Vec<AppRow>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT slug, name, url, installed, scim_enabled FROM apps WHERE in_catalogue = 1 ORDER BY rowid",
    )?;
    let mut apps: Vec<AppRow> = stmt
        .query_map([], |r| {
            Ok(AppRow {
                slug: r.get(0)?,
                name: r.get(1)?,
                url: r.get(2)?,
                installed: r.get(3)?,
                scim: r.get(4)?,
                counts: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    // Kept by triggers as pairs change (migration 0005): no count over app_access here.
    let mut counts = conn
        .prepare_cached("SELECT status, n FROM app_status_counts WHERE app_slug = ?1 AND n != 0")?;
    for app in &mut apps {
        app.counts = counts
            .query_map([&app.slug], |r| Ok((r.typed(0, "app_access")?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        app.counts
            .sort_by_key(|(s, _)| ProvisionStatus::ALL.iter().position(|x| x == s));
    }
    Ok(apps)
}
