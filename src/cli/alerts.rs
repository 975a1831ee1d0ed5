//! `accessboard alerts …`

use std::process::ExitCode;

use clap::Subcommand;

use super::{CliError, output};
use crate::settings::Settings;

/// `alerts` subcommands.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Send a test message to every configured channel (webhook, email).
    Test,
}

/// Runs an `alerts` subcommand: needs the settings only, not the database.
pub async fn run(cmd: AlertsCommand, settings: &Settings) -> Result<ExitCode, CliError> {
    match cmd {
        AlertsCommand::Test => {
            if !settings.alerts.any_channel() {
                return Err(CliError::usage(
                    "no alert channel is configured: set [alerts] webhook_url (or webhook_url_file) or smtp_url",
                ));
            }
            let results = crate::alerts::test(settings)
                .await
                .map_err(CliError::usage)?;
            let mut failed = Vec::new();
            for (channel, outcome) in results {
                match outcome {
                    Ok(()) => println!("{channel}: test message sent"),
                    Err(e) => {
                        println!("{channel}: failed: {}", output::clean(&e.to_string()));
                        failed.push(channel);
                    }
                }
            }
            if failed.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                Err(CliError::failure(format!(
                    "the test message did not reach: {}",
                    failed.join(", ")
                )))
            }
        }
    }
}
