//! The event of one attempt (`provision_attempts`) and its requests (`provision_log`),
//! written in the transaction that settles the pair.

use rusqlite::{Transaction, params};

use super::state::{Claim, Settle};
use crate::db::DbError;
use crate::domain::{ProvisionStatus, Role};

/// One request of an attempt, as the log keeps it.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// SCIM operation, e.g. `create_user`.
    pub operation: String,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path under the app's base URL, without the query string.
    pub path: String,
    /// HTTP status, when an answer came.
    pub http_status: Option<u16>,
    /// Milliseconds the call took.
    pub duration_ms: i64,
    /// `ok`, `error` or `failed`.
    pub outcome: &'static str,
    /// Detail for the admin.
    pub message: Option<String>,
}

/// The outcome an attempt is recorded with: the status it settled in, `error` or `failed`.
pub fn outcome_of(settle: &Settle) -> &'static str {
    match settle {
        Settle::Done { status, .. } => status.as_str(),
        Settle::Retry { .. } => "error",
        Settle::Fail { .. } => "failed",
    }
}

/// What the attempt did, in a few words: "account created, admin".
pub(super) fn summary(claim: &Claim, entries: &[LogEntry], settle: &Settle) -> String {
    let wrote = |e: &&LogEntry| e.outcome == "ok" && e.method != "GET";
    match settle {
        Settle::Done {
            status: ProvisionStatus::Provisioned,
            ..
        } => {
            let what = if entries
                .iter()
                .any(|e| e.operation == "create_user" && e.outcome == "ok")
            {
                "account created"
            } else if entries.iter().any(|e| wrote(&e)) {
                "account updated"
            } else {
                "already up to date"
            };
            let role = match claim.role {
                Role::Admin => "admin",
                Role::User | Role::None => "user",
            };
            format!("{what}, {role}")
        }
        Settle::Done {
            status: ProvisionStatus::Deprovisioned,
            message,
            ..
        } => message.clone(),
        Settle::Done { .. } => "no account; nothing to do".to_owned(),
        Settle::Retry { .. } => "error, will retry".to_owned(),
        Settle::Fail { .. } => "failed".to_owned(),
    }
}

/// Writes the attempt's event and its requests, linked.
pub(super) fn record_attempt(
    tx: &Transaction<'_>,
    claim: &Claim,
    entries: &[LogEntry],
    settle: &Settle,
    now: i64,
) -> Result<(), DbError> {
    let message = match settle {
        Settle::Done { message, .. }
        | Settle::Retry { message, .. }
        | Settle::Fail { message, .. } => message,
    };
    // What the requests took: the time the app made us wait, not our own bookkeeping.
    let duration: i64 = entries.iter().map(|e| e.duration_ms).sum();
    let attempt: i64 = tx
        .prepare_cached(
            "INSERT INTO provision_attempts
                (at, user_id, user_email, user_name, app_slug, outcome, summary, message, requests, duration_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
        )?
        .query_row(
            params![
                now,
                claim.user_id.to_string(),
                claim.email,
                claim.name,
                claim.app,
                outcome_of(settle),
                summary(claim, entries, settle),
                message,
                entries.len() as i64,
                duration
            ],
            |r| r.get(0),
        )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO provision_log (at, user_id, user_email, app_slug, operation, http_status, duration_ms,
            outcome, message, attempt_id, method, path)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for e in entries {
        insert.execute(params![
            now,
            claim.user_id.to_string(),
            claim.email,
            claim.app,
            e.operation,
            e.http_status,
            e.duration_ms,
            e.outcome,
            e.message,
            attempt,
            e.method,
            e.path
        ])?;
    }
    Ok(())
}
