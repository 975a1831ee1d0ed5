//! `accessboard audit [--json] [--since YYYY-MM-DD]`

use std::process::ExitCode;

use super::{CliError, output};
use crate::app::App;
use crate::db::audit::{self, AuditQuery};
use crate::db::time::rfc3339;

/// Parses `YYYY-MM-DD` as the start of that day, UTC, in unix seconds.
pub fn parse_day(raw: &str) -> Result<i64, String> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw.trim(), &fmt)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .map_err(|_| format!("{raw:?} is not a date like 2026-01-31"))
}

/// Prints the audit trail, newest first.
pub async fn run(
    ctx: &App,
    json: bool,
    since: Option<i64>,
    limit: usize,
) -> Result<ExitCode, CliError> {
    let q = AuditQuery {
        since,
        limit,
        ..AuditQuery::default()
    };
    let (rows, total) = ctx.service.db().run(move |c| audit::list(c, &q)).await?;
    if json {
        output::json(&rows);
    } else if rows.is_empty() {
        println!("nothing recorded yet");
    } else {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    rfc3339(r.at),
                    r.actor.clone(),
                    r.action.clone(),
                    r.target.clone().unwrap_or_default(),
                    r.before.clone().unwrap_or_default(),
                    r.after.clone().unwrap_or_default(),
                ]
            })
            .collect();
        output::table(
            &["TIME", "ACTOR", "ACTION", "TARGET", "BEFORE", "AFTER"],
            &table,
        );
        if total > rows.len() {
            eprintln!(
                "showing the newest {} of {total}; use --since or --limit",
                rows.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
