//! CSV import: `email,name[,admin][,<slug>...]`, planned (previewed) first, then applied.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::ServiceError;
use super::audit::IMPORT_AUDIT_EMAILS;
use super::store;
use super::store::AppInfo;
use crate::db::Conn;
use crate::domain::{Email, NewUser, PersonName, Role, RoleError, Slug};

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
}

enum Column {
    Email,
    Name,
    Admin,
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
        let row = parse_row(&columns, &record).and_then(|user| {
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
                None => Ok(user),
            }
        });
        rows.push(match row {
            Ok(user) => {
                seen.insert(user.email.normalized().to_owned(), line);
                ImportRow::Valid { line, user }
            }
            Err(reason) => ImportRow::Invalid(RowError { line, reason }),
        });
    }
    Ok(ImportPlan {
        rows,
        apps: app_columns,
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
            "admin" => Column::Admin,
            _ => match Slug::parse(&name) {
                Ok(slug) if apps.contains_key(slug.as_str()) => Column::App(slug),
                _ => {
                    return Err(ServiceError::Invalid(format!(
                        "the CSV header has column {:?}, which is neither email, name, admin nor an app slug of the catalogue",
                        shorten(raw)
                    )));
                }
            },
        });
    }
    if !names.contains("email") || !names.contains("name") {
        return Err(ServiceError::Invalid(
            "the CSV header must start with email,name (then optionally admin and app slugs)"
                .into(),
        ));
    }
    Ok(columns)
}

fn parse_row(columns: &[Column], record: &csv::StringRecord) -> Result<NewUser, String> {
    if record.len() > columns.len() {
        return Err(format!(
            "{} cells, but the header has {} columns",
            record.len(),
            columns.len()
        ));
    }
    let mut email = None;
    let mut name = None;
    let mut is_admin = false;
    let mut access = Vec::new();
    for (column, cell) in columns.iter().zip(record.iter()) {
        match column {
            Column::Email => email = Some(Email::parse(cell).map_err(|e| e.to_string())?),
            Column::Name => name = Some(PersonName::parse(cell).map_err(|e| e.to_string())?),
            Column::Admin => is_admin = parse_flag(cell)?,
            Column::App(slug) if cell.is_empty() => access.push((slug.clone(), Role::None)),
            Column::App(slug) => {
                let role = Role::parse(cell)
                    .map_err(|_| format!("column {slug}: {}", RoleError(shorten(cell))))?;
                access.push((slug.clone(), role));
            }
        }
    }
    Ok(NewUser {
        email: email.ok_or("email is missing")?,
        name: name.ok_or("name is missing")?,
        is_admin,
        access,
    })
}

fn parse_flag(cell: &str) -> Result<bool, String> {
    match cell.to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" | "n" => Ok(false),
        "true" | "yes" | "1" | "y" | "admin" => Ok(true),
        _ => Err(format!("admin {:?} is not true or false", shorten(cell))),
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

/// Line numbers of records, counted from the text itself: the csv crate's own
/// count points at the line break before a record after a CRLF or a blank line
/// (so every row of a Windows CSV was reported one line too early).
#[derive(Default)]
struct Lines {
    /// Bytes counted so far.
    pos: usize,
    /// Line breaks before `pos`.
    breaks: usize,
}

impl Lines {
    /// The 1-based line on which the record at `byte` starts; records come in order.
    fn line_of(&mut self, text: &str, byte: u64) -> usize {
        let bytes = text.as_bytes();
        // the record proper starts after any line breaks the reader skipped
        let mut start = (byte as usize).clamp(self.pos, bytes.len());
        while bytes.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        let chunk = &bytes[self.pos..start];
        // \n, \r\n and a lone \r each end a line
        self.breaks += chunk
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && chunk.get(i + 1) != Some(&b'\n')))
            .count();
        self.pos = start;
        self.breaks + 1
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
            let mut emails = Vec::new();
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
                    Ok(u) => {
                        created.push(u.id);
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
            errors.sort_by_key(|e| e.line);
            let after =
                json!({ "created": created.len(), "rows_refused": errors.len(), "emails": emails });
            audit.record(tx, now, "import", None, None, Some(after))?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_lf_crlf_cr_blank_lines_and_quoted_breaks() {
        for text in [
            "h\na\nb\n\nc,\"x\ny\"\nd\n",
            "h\r\na\r\nb\r\n\r\nc,\"x\r\ny\"\r\nd\r\n",
            "h\ra\rb\r\rc,\"x\ry\"\rd\r",
        ] {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut lines = Lines::default();
            let got: Vec<usize> = reader
                .records()
                .map(|r| lines.line_of(text, r.unwrap().position().unwrap().byte()))
                .collect();
            assert_eq!(got, [2, 3, 5, 7], "{text:?}");
        }
    }
}
