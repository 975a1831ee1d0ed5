//! `accessboard provision …`

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use super::{CliError, output};
use crate::app::App;
use crate::db::rails;
use crate::db::read::{self, AccessQuery};
use crate::domain::{Email, ProvisionStatus, Slug};
use crate::provisioning::drift::{self, DriftError};
use crate::provisioning::{RunOutcome, run_until_settled};
use crate::users::ServiceError;

/// `provision` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProvisionCommand {
    /// Show every pair's provisioning record.
    Status {
        /// One JSON array.
        #[arg(long)]
        json: bool,
        /// Only this app (a slug of `app list`).
        #[arg(long, value_name = "SLUG")]
        app: Option<Slug>,
        /// Only this person (by email).
        #[arg(long, value_name = "EMAIL")]
        user: Option<Email>,
        /// Only pairs in this state: one of sync_needed, syncing, held, error, failed,
        /// provisioned, deprovisioned, not_provisioned.
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
    },
    /// Process everything that is due in this process, then exit.
    Run {
        /// Keep going until nothing is sync_needed, syncing or error.
        #[arg(long)]
        wait: bool,
        /// Give up after this many seconds (with --wait).
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
    },
    /// Put error and failed pairs back to sync_needed.
    Retry {
        /// Only this app's pairs (a slug of `app list`).
        #[arg(long, value_name = "SLUG")]
        app: Option<Slug>,
        /// Only this person's pairs (by email).
        #[arg(long, value_name = "EMAIL")]
        user: Option<Email>,
    },
    /// Compare the app's accounts with what accessboard wants; exits 1 when they differ.
    Check {
        /// The app to check (a slug of `app list` with [apps.scim]).
        #[arg(long, value_name = "SLUG")]
        app: Slug,
        /// Mark the pairs that need it for sync (never touches unknown accounts).
        #[arg(long)]
        fix: bool,
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
}

impl ProvisionCommand {
    /// Whether the command only reads (it then opens the database read-only).
    pub fn is_read_only(&self) -> bool {
        matches!(self, ProvisionCommand::Status { .. })
    }
}

/// Runs a `provision` subcommand.
pub async fn run(cmd: ProvisionCommand, ctx: App) -> Result<ExitCode, CliError> {
    match cmd {
        ProvisionCommand::Status {
            json,
            app,
            user,
            status,
        } => {
            if let Some(app) = &app
                && ctx.settings.app(app.as_str()).is_none()
            {
                return Err(ServiceError::UnknownApp(app.to_string()).into());
            }
            let q = AccessQuery {
                app: app.map(|a| a.to_string()),
                email_norm: user.map(|u| u.normalized().to_owned()),
                status: status.as_deref().map(ProvisionStatus::parse).transpose()?,
                ..AccessQuery::default()
            };
            let (pairs, rails) = ctx
                .service
                .db()
                .run(move |c| Ok::<_, crate::db::DbError>((read::access(c, &q)?, rails::all(c)?)))
                .await?;
            if json {
                output::json(&pairs);
            } else {
                let now = crate::db::time::now();
                // A quarantined app's pairs say what they wait for, not their last attempt's
                // words, and why (no banner here says it).
                let waiting = |p: &crate::domain::Access| {
                    let name = ctx
                        .settings
                        .app(&p.app)
                        .map_or(p.app.as_str(), |a| a.name.as_str());
                    let r = rails.iter().find(|r| r.app == p.app)?;
                    let note = r.waiting_note(name, p.status, now)?;
                    Some(match r.quarantine_reason.as_deref() {
                        Some(why) => format!("{note}; quarantined: {why}"),
                        None => note,
                    })
                };
                let rows: Vec<Vec<String>> = pairs
                    .iter()
                    .map(|p| {
                        vec![
                            p.email.clone(),
                            p.app.clone(),
                            p.role.to_string(),
                            p.status.to_string(),
                            p.attempts.to_string(),
                            p.last_attempt_at.clone().unwrap_or_default(),
                            waiting(p)
                                .or_else(|| p.last_message.clone())
                                .unwrap_or_default(),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "EMAIL",
                        "APP",
                        "ROLE",
                        "STATUS",
                        "ATTEMPTS",
                        "LAST ATTEMPT",
                        "MESSAGE",
                    ],
                    &rows,
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ProvisionCommand::Retry { app, user } => {
            let n = ctx
                .service
                .as_actor(super::actor::actor())
                .retry(app, user)
                .await?;
            println!("{n} pairs marked for another attempt");
            Ok(ExitCode::SUCCESS)
        }
        ProvisionCommand::Run { wait, timeout } => {
            run_once(&ctx, wait, timeout.map(Duration::from_secs)).await
        }
        ProvisionCommand::Check {
            app: slug,
            fix,
            json,
        } => check(&ctx, slug, fix, json).await,
    }
}

/// `provision run [--wait] [--timeout]`: progress on stderr, the outcome as exit status.
pub(super) async fn run_once(
    ctx: &App,
    wait: bool,
    timeout: Option<Duration>,
) -> Result<ExitCode, CliError> {
    // Changes made in Kratos itself first, so this run provisions them too.
    if let Err(e) = ctx.service.sync_identities().await {
        eprintln!("accessboard: identity sync failed: {e}; pairs that need it will be retried");
    }
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let outcome = run_until_settled(&ctx.engine, &ctx.service, wait, deadline, |p| {
        let held = match p.held {
            0 => String::new(),
            n => format!(", {n} held"),
        };
        eprintln!(
            "{}/{} settled, {} errors, {} failed{held}",
            p.total - p.pending - p.errors - p.held,
            p.total,
            p.errors,
            p.failed
        )
    })
    .await
    .map_err(|e| CliError::failure(e.to_string()))?;
    Ok(match outcome {
        RunOutcome::Settled => ExitCode::SUCCESS,
        RunOutcome::SomeFailed(p) if p.held > 0 => {
            super::rails::explain_held(ctx, p.held).await?;
            ExitCode::from(1)
        }
        RunOutcome::SomeFailed(_) => ExitCode::from(1),
        RunOutcome::TimedOut { unsettled } => {
            eprintln!("timed out with {unsettled} pairs unsettled");
            ExitCode::from(1)
        }
    })
}

/// `provision check --app SLUG [--fix] [--json]`: exit 1 when it finds drift (with
/// `--fix` too: the pairs are only marked), so a script can tell without reading.
async fn check(ctx: &App, slug: Slug, fix: bool, json: bool) -> Result<ExitCode, CliError> {
    if ctx.settings.app(slug.as_str()).is_none() {
        return Err(ServiceError::UnknownApp(slug.to_string()).into());
    }
    let report = drift::check(&ctx.engine, &slug, fix)
        .await
        .map_err(|e| match e {
            DriftError::NotProvisioned(_) | DriftError::Paused(_) => CliError::usage(e.to_string()),
            _ => CliError::failure(e.to_string()),
        })?;
    let code = if report.has_drift() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    if json {
        output::json(&report);
        return Ok(code);
    }
    println!(
        "{}: {} accounts in the app",
        report.app, report.remote_accounts
    );
    for (title, items) in [
        ("missing", &report.missing),
        ("should be disabled", &report.should_be_disabled),
        ("wrong role in the app", &report.wrong_role),
        ("unknown to accessboard", &report.unknown),
    ] {
        println!("{title}: {}", items.len());
        for i in items {
            println!(
                "  {} {} ({})",
                i.email,
                i.user_name.as_deref().unwrap_or(""),
                i.reason
            );
        }
    }
    if fix {
        println!("{} pairs marked for sync", report.fixed);
    }
    Ok(code)
}
