//! `accessboard provision …`

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use super::{CliError, Context, output};
use crate::db::read::{self, AccessQuery};
use crate::domain::{Email, Slug};

/// `provision` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProvisionCommand {
    /// Show every pair's provisioning record.
    Status {
        /// One JSON array.
        #[arg(long)]
        json: bool,
        /// Only this app.
        #[arg(long)]
        app: Option<Slug>,
        /// Only this user.
        #[arg(long)]
        user: Option<Email>,
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
        #[arg(long)]
        app: Option<Slug>,
        #[arg(long)]
        user: Option<Email>,
    },
    /// Compare the app's accounts with what accessboard wants.
    Check {
        #[arg(long)]
        app: Slug,
        /// Mark the pairs that need it for sync (never touches unknown accounts).
        #[arg(long)]
        fix: bool,
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `provision` subcommand.
pub async fn run(cmd: ProvisionCommand, ctx: Context) -> Result<ExitCode, CliError> {
    match cmd {
        ProvisionCommand::Status { json, app, user } => {
            if let Some(app) = &app
                && ctx.settings.app(app.as_str()).is_none()
            {
                return Err(CliError::usage(format!(
                    "no app {app:?} in the catalogue; the apps are listed in settings.toml"
                )));
            }
            let q = AccessQuery {
                app: app.map(|a| a.to_string()),
                email_norm: user.map(|u| u.normalized().to_owned()),
                ..AccessQuery::default()
            };
            let pairs = ctx.service.db().run(move |c| read::access(c, &q)).await?;
            if json {
                output::json(&pairs);
            } else {
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
                            p.last_message.clone().unwrap_or_default(),
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
            let n = ctx.service.retry(app, user).await?;
            println!("{n} pairs marked for another attempt");
            Ok(ExitCode::SUCCESS)
        }
        ProvisionCommand::Run { wait, timeout } => {
            let timeout = timeout.map(Duration::from_secs);
            crate::provisioning::run_once(ctx, wait, timeout).await
        }
        ProvisionCommand::Check { app, fix, json } => {
            crate::provisioning::drift::check_cli(ctx, app, fix, json).await
        }
    }
}
