//! The typed database boundary: domain values in and out of columns.
//!
//! A value the code cannot read is an error naming the table and column, never a
//! silent default: a nil id or `Role::None` invented from a bad row would act on
//! the wrong person or revoke access nobody revoked.

use rusqlite::Row;
use rusqlite::types::{ToSql, ToSqlOutput, Type};
use uuid::Uuid;

use crate::domain::{DashboardAccess, ProvisionStatus, Role, Slug};

/// A domain type stored as text in one column.
pub trait Stored: Sized {
    /// What the column should hold, for the error message.
    const EXPECTED: &'static str;
    /// Parses the stored form.
    fn from_stored(raw: &str) -> Option<Self>;
}

// Stored forms are exactly `as_str`'s (the tables' CHECKs say so): matched as they are,
// without the trimming and case folding (an allocation per cell) that typed input gets.
impl Stored for Role {
    const EXPECTED: &'static str = "role (admin, user or none)";
    fn from_stored(raw: &str) -> Option<Self> {
        [Role::Admin, Role::User, Role::None]
            .into_iter()
            .find(|r| r.as_str() == raw)
    }
}

impl Stored for ProvisionStatus {
    const EXPECTED: &'static str = "provisioning status";
    fn from_stored(raw: &str) -> Option<Self> {
        ProvisionStatus::parse(raw).ok()
    }
}

impl Stored for Slug {
    const EXPECTED: &'static str = "app slug";
    fn from_stored(raw: &str) -> Option<Self> {
        Slug::parse(raw).ok()
    }
}

impl Stored for DashboardAccess {
    const EXPECTED: &'static str = "dashboard access (none, viewer or admin)";
    fn from_stored(raw: &str) -> Option<Self> {
        DashboardAccess::ALL.into_iter().find(|d| d.as_str() == raw)
    }
}

impl Stored for Uuid {
    const EXPECTED: &'static str = "id";
    fn from_stored(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw).ok()
    }
}

/// A stored value that makes no sense; carried inside the rusqlite error.
#[derive(Debug, thiserror::Error)]
#[error("{table}.{column} holds {value:?}, which is not a valid {expected}")]
pub struct BadValue {
    /// The table read.
    pub table: &'static str,
    /// The column read.
    pub column: String,
    /// What it held (ids and statuses: never a secret).
    pub value: String,
    /// What it should hold.
    pub expected: &'static str,
}

/// Reads typed values from a row.
pub trait RowExt {
    /// The column at `idx` of `table`, parsed; NULL or nonsense is an error naming both.
    fn typed<T: Stored>(&self, idx: usize, table: &'static str) -> rusqlite::Result<T>;
    /// Like [`RowExt::typed`], where NULL means "none".
    fn typed_opt<T: Stored>(&self, idx: usize, table: &'static str) -> rusqlite::Result<Option<T>>;
}

impl RowExt for Row<'_> {
    fn typed<T: Stored>(&self, idx: usize, table: &'static str) -> rusqlite::Result<T> {
        match self.typed_opt(idx, table)? {
            Some(v) => Ok(v),
            None => Err(bad(self, idx, table, "NULL".into(), T::EXPECTED)),
        }
    }

    fn typed_opt<T: Stored>(&self, idx: usize, table: &'static str) -> rusqlite::Result<Option<T>> {
        // Read in place: these are the cells of every page, and a copy each costs.
        let cell = self.get_ref(idx)?;
        let text = cell.as_str_or_null().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, cell.data_type(), Box::new(e))
        })?;
        let Some(raw) = text else {
            return Ok(None);
        };
        match T::from_stored(raw) {
            Some(v) => Ok(Some(v)),
            None => Err(bad(self, idx, table, raw.to_owned(), T::EXPECTED)),
        }
    }
}

fn bad(
    row: &Row<'_>,
    idx: usize,
    table: &'static str,
    value: String,
    expected: &'static str,
) -> rusqlite::Error {
    let column = row
        .as_ref()
        .column_name(idx)
        .map(str::to_owned)
        .unwrap_or_else(|_| format!("column {idx}"));
    rusqlite::Error::FromSqlConversionFailure(
        idx,
        Type::Text,
        Box::new(BadValue {
            table,
            column,
            value,
            expected,
        }),
    )
}

impl ToSql for Role {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl ToSql for ProvisionStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl ToSql for DashboardAccess {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl ToSql for Slug {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonsense_role_is_an_error_naming_table_and_column() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let err = c
            .query_row("SELECT 'superuser' AS role", [], |r| {
                r.typed::<Role>(0, "app_access")
            })
            .unwrap_err();
        let text = format!("{err}");
        assert!(text.contains("app_access.role"), "{text}");
        assert!(text.contains("superuser"), "{text}");
    }

    #[test]
    fn ids_and_statuses_round_trip() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let id = Uuid::new_v4();
        let (back, status): (Uuid, ProvisionStatus) = c
            .query_row(
                "SELECT ?1, ?2",
                rusqlite::params![id.to_string(), ProvisionStatus::Failed],
                |r| Ok((r.typed(0, "t")?, r.typed(1, "t")?)),
            )
            .unwrap();
        assert_eq!((back, status), (id, ProvisionStatus::Failed));
        let none: Option<Uuid> = c
            .query_row("SELECT NULL", [], |r| r.typed_opt(0, "t"))
            .unwrap();
        assert_eq!(none, None);
    }
}
