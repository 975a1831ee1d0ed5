//! CSV import: `email,name[,dashboard_admin][,groups][,<slug>...]`, planned (previewed)
//! first, then applied. The old name of `dashboard_admin`, `admin`, is still read, with a
//! warning: it reads like the app role and made dashboard admins by mistake.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::audit::IMPORT_AUDIT_EMAILS;
use super::import_lines::Lines;
use super::store;
use super::store::AppInfo;
use super::{ServiceError, import_groups, roles};
use crate::db::Conn;
use crate::domain::{
    DashboardAccess, Email, GroupName, NewUser, PersonName, Role, RoleError, Slug,
};

/// Files larger than this are refused whole, before parsing.
pub const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;

/// One data row, as it will be created or why it will not.
#[derive(Debug, Clone)]
pub enum ImportRow {
    /// Will be created.
    Valid {
        /// 1-based line in the file.
        line: usize,
        /// The user.
        user: NewUser,
        /// The groups they join.
        groups: Vec<GroupName>,
    },
    /// Will be skipped.
    Invalid(RowError),
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// 1-based line in the file.
    pub line: usize,
    /// What is wrong, naming the value.
    pub reason: String,
}

/// The preview of an import.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    /// Every data row in file order.
    pub rows: Vec<ImportRow>,
    /// The app columns, in file order.
    pub apps: Vec<Slug>,
    /// Group names of valid rows that no group has yet: created by the import.
    pub new_groups: Vec<GroupName>,
    /// What the file says that is read, but probably not as meant (an old column name).
    pub warnings: Vec<String>,
}

impl ImportPlan {
    /// The rows that will be skipped.
    pub fn errors(&self) -> Vec<RowError> {
        self.rows
            .iter()
            .filter_map(|r| match r {
                ImportRow::Invalid(e) => Some(e.clone()),
                ImportRow::Valid { .. } => None,
            })
            .collect()
    }

    /// How many rows will be created.
    pub fn valid(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r, ImportRow::Valid { .. }))
            .count()
    }
}

/// The outcome of an import.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    /// Users created.
    pub created: usize,
    /// Rows skipped, with reasons.
    pub errors: Vec<RowError>,
    /// Groups created for the `groups` column.
    pub groups_created: Vec<String>,
    /// The plan's warnings, as the preview showed them.
    pub warnings: Vec<String>,
    /// Pairs marked for sync: accounts to create in installed apps.
    pub pairs_marked: usize,
}

impl ImportReport {
    /// What the import did, in words (the dashboard's and the command line's).
    pub fn summary(&self) -> String {
        let people = match self.created {
            1 => "1 person".to_owned(),
            n => format!("{n} people"),
        };
        match self.pairs_marked {
            0 => format!(
                "Created {people}. Nothing is sent to apps: none of them has access to an installed app."
            ),
            n => format!(
                "Created {people}. {n} {} being created in apps.",
                if n == 1 { "account is" } else { "accounts are" }
            ),
        }
    }
}

/// The column that lets people sign in to accessboard.
pub const DASHBOARD_ADMIN: &str = "dashboard_admin";

/// The warning of a file that still names that column `admin`.
pub const OLD_ADMIN_COLUMN: &str = "the column \"admin\" is read as dashboard_admin: the people it marks can sign in to accessboard and change everyone's access (it is not a role in any app); name it dashboard_admin";

enum Column {
    Email,
    Name,
    /// The dashboard admin flag, under the name the header gives it.
    Admin(&'static str),
    Groups,
    App(Slug),
}

/// Parses and checks a CSV file against the catalogue and the existing users.
pub fn plan(
    conn: &rusqlite::Connection,
    apps: &HashMap<String, AppInfo>,
    bytes: &[u8],
) -> Result<ImportPlan, ServiceError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ServiceError::Invalid(format!(
            "the file is {} bytes; imports are limited to {} MiB, split it into smaller files",
            bytes.len(),
            MAX_IMPORT_BYTES / 1024 / 1024
        )));
    }
    let text =
        std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).map_err(|e| {
            ServiceError::Invalid(format!(
                "the file is not UTF-8 text (first bad byte at offset {}); save it as UTF-8 CSV",
                e.valid_up_to()
            ))
        })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ServiceError::Invalid(format!("cannot read the CSV header: {e}")))?
        .clone();
    let columns = parse_header(&header, apps)?;
    let warnings = columns
        .iter()
        .filter(|c| matches!(c, Column::Admin("admin")))
        .map(|_| OLD_ADMIN_COLUMN.to_owned())
        .collect();
    let app_columns = columns
        .iter()
        .filter_map(|c| match c {
            Column::App(s) => Some(s.clone()),
            _ => None,
        })
        .collect();

    let mut existing =
        conn.prepare_cached("SELECT deleted_at IS NOT NULL FROM users WHERE email_norm = ?1")?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut rows = Vec::new();
    let mut lines = Lines::default();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_of(text, p.byte()));
                rows.push(ImportRow::Invalid(RowError {
                    line,
                    reason: format!("unreadable row: {e}"),
                }));
                continue;
            }
        };
        let line = record
            .position()
            .map_or(0, |p| lines.line_of(text, p.byte()));
        if record.iter().all(str::is_empty) {
            continue;
        }
        let row = parse_row(&columns, &record).and_then(|(user, groups)| {
            if let Some(first) = seen.get(user.email.normalized()) {
                return Err(format!("email {} is already on line {first}", user.email));
            }
            let known: Option<bool> = rusqlite::OptionalExtension::optional(
                existing.query_row([user.email.normalized()], |r| r.get(0)),
            )
            .map_err(|e| e.to_string())?;
            match known {
                Some(true) => Err(format!(
                    "{} is still being removed from its apps",
                    user.email
                )),
                Some(false) => Err(format!("a user with email {} already exists", user.email)),
                None => Ok((user, groups)),
            }
        });
        rows.push(match row {
            Ok((user, groups)) => {
                seen.insert(user.email.normalized().to_owned(), line);
                ImportRow::Valid { line, user, groups }
            }
            Err(reason) => ImportRow::Invalid(RowError { line, reason }),
        });
    }
    let new_groups = import_groups::unknown(
        conn,
        rows.iter().flat_map(|r| match r {
            ImportRow::Valid { groups, .. } => groups.as_slice(),
            ImportRow::Invalid(_) => &[],
        }),
    )?;
    Ok(ImportPlan {
        rows,
        apps: app_columns,
        new_groups,
        warnings,
    })
}

fn parse_header(
    header: &csv::StringRecord,
    apps: &HashMap<String, AppInfo>,
) -> Result<Vec<Column>, ServiceError> {
    let mut columns = Vec::new();
    let mut names = HashSet::new();
    for raw in header.iter() {
        let name = raw.to_ascii_lowercase();
        if !names.insert(name.clone()) {
            return Err(ServiceError::Invalid(format!(
                "the CSV header names column {:?} twice",
                shorten(raw)
            )));
        }
        columns.push(match name.as_str() {
            "email" => Column::Email,
            "name" => Column::Name,
            DASHBOARD_ADMIN => Column::Admin(DASHBOARD_ADMIN),
            "admin" => Column::Admin("admin"),
            "groups" => Column::Groups,
            _ => match Slug::parse(&name) {
                Ok(slug) if apps.contains_key(slug.as_str()) => Column::App(slug),
                _ => {
                    return Err(ServiceError::Invalid(format!(
                        "the CSV header has column {:?}, which is neither email, name, dashboard_admin, groups nor an app slug of the catalogue",
                        shorten(raw)
                    )));
                }
            },
        });
    }
    if names.contains(DASHBOARD_ADMIN) && names.contains("admin") {
        return Err(ServiceError::Invalid(
            "the CSV header has both dashboard_admin and admin, its old name; keep dashboard_admin"
                .into(),
        ));
    }
    if !names.contains("email") || !names.contains("name") {
        return Err(ServiceError::Invalid(
            "the CSV header must start with email,name (then optionally dashboard_admin, groups and app slugs)"
                .into(),
        ));
    }
    Ok(columns)
}

fn parse_row(
    columns: &[Column],
    record: &csv::StringRecord,
) -> Result<(NewUser, Vec<GroupName>), String> {
    if record.len() > columns.len() {
        return Err(format!(
            "{} cells, but the header has {} columns",
            record.len(),
            columns.len()
        ));
    }
    let mut email = None;
    let mut name = None;
    let mut dashboard = DashboardAccess::None;
    let mut access = Vec::new();
    let mut groups = Vec::new();
    for (column, cell) in columns.iter().zip(record.iter()) {
        match column {
            Column::Email => email = Some(Email::parse(cell).map_err(|e| e.to_string())?),
            Column::Name => name = Some(PersonName::parse(cell).map_err(|e| e.to_string())?),
            Column::Admin(named) => dashboard = parse_level(named, cell)?,
            Column::Groups => groups = import_groups::parse_cell(cell)?,
            Column::App(slug) if cell.is_empty() => access.push((slug.clone(), Role::None)),
            Column::App(slug) => {
                let role = Role::parse(cell)
                    .map_err(|_| format!("column {slug}: {}", RoleError(shorten(cell))))?;
                access.push((slug.clone(), role));
            }
        }
    }
    let user = NewUser {
        email: email.ok_or("email is missing")?,
        name: name.ok_or("name is missing")?,
        dashboard,
        access,
    };
    Ok((user, groups))
}

/// A `dashboard_admin` cell: a level (`none`, `viewer`, `admin`), or the yes/no it took
/// before viewers existed (yes is admin).
fn parse_level(column: &str, cell: &str) -> Result<DashboardAccess, String> {
    match cell.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" | "n" => Ok(DashboardAccess::None),
        "true" | "yes" | "1" | "y" => Ok(DashboardAccess::Admin),
        other => DashboardAccess::parse(other).map_err(|_| {
            format!(
                "{column} {:?} is not true or false (nor none, viewer or admin)",
                shorten(cell)
            )
        }),
    }
}

/// A cell as quoted in a message: a huge cell is cut, so the reason stays one line.
fn shorten(cell: &str) -> String {
    if cell.chars().count() <= 40 {
        cell.to_owned()
    } else {
        cell.chars().take(40).chain("…".chars()).collect()
    }
}

/// The service's side: preview, then create the valid rows.
impl super::UserService {
    /// Checks a CSV file without changing anything: the preview.
    pub async fn plan_import(&self, csv: Vec<u8>) -> Result<ImportPlan, ServiceError> {
        self.db
            .run(move |conn: &mut Conn| {
                let tx = conn.transaction()?;
                let apps = store::load_apps(&tx)?;
                plan(&tx, &apps, &csv)
            })
            .await
    }

    /// Creates every valid row of a plan in one transaction.
    #[tracing::instrument(skip_all, fields(rows = plan.rows.len()))]
    pub async fn import(&self, plan: ImportPlan) -> Result<ImportReport, ServiceError> {
        let (ids, refused) = self.new_identities(&plan).await;
        self.write(move |tx, now, audit| {
            let apps = store::load_apps(tx)?;
            let mut errors = plan.errors();
            let warnings = plan.warnings.clone();
            let mut emails = Vec::new();
            errors.extend(refused);
            let mut created = Vec::new();
            let mut joins = Vec::new();
            for row in plan.rows {
                let ImportRow::Valid { line, user, groups } = row else {
                    continue;
                };
                let Some(id) = ids.get(&line).copied() else {
                    continue;
                };
                match store::insert_user(tx, &apps, &user, id, now) {
                    Ok(u) => {
                        created.push(u.id);
                        joins.push((u.id, groups));
                        if emails.len() < IMPORT_AUDIT_EMAILS {
                            emails.push(u.email.to_string());
                        }
                    }
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
            let members: Vec<(uuid::Uuid, &[GroupName])> =
                joins.iter().map(|(id, g)| (*id, g.as_slice())).collect();
            let groups_created = import_groups::join(tx, now, audit, &members)?;
            // Their groups may give them access; the jobs are read below.
            roles::refresh(tx, &created, None, now)?;
            errors.sort_by_key(|e| e.line);
            let after =
                json!({ "created": created.len(), "rows_refused": errors.len(), "emails": emails });
            audit.record(tx, now, "import", None, None, Some(after))?;
            let jobs = crate::pairs::jobs_of_users(tx, &created)?;
            Ok((
                ImportReport {
                    created: created.len(),
                    errors,
                    groups_created,
                    warnings,
                    pairs_marked: jobs.len(),
                },
                jobs,
            ))
        })
        .await
    }
}
