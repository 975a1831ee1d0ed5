//! The command line: parses arguments, loads settings, opens the [`App`] and prints
//! what the core returns. Nothing outside this module and `main.rs` imports it.

mod actor;
mod alerts;
mod apps;
mod audit;
mod backup;
mod discover;
mod groups;
mod output;
mod preview;
mod provision;
mod rails;
mod sync;
mod user_list;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::app::{App, AppError};
use crate::settings::Settings;
use crate::users::ServiceError;

/// accessboard: people, their apps, and SCIM provisioning.
#[derive(Debug, Parser)]
#[command(name = "accessboard", version, about)]
pub struct Cli {
    /// Settings file [default: ./settings.toml, or $ACCESSBOARD_CONFIG]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// What to do; without one, `serve` (so `cargo run` starts the dashboard).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Web dashboard, provisioning workers and sweeper.
    Serve,
    /// Manage people.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Manage groups: many people's access at once.
    #[command(subcommand)]
    Group(groups::GroupCommand),
    /// Manage the app catalogue.
    #[command(subcommand)]
    App(apps::AppCommand),
    /// Inspect and drive provisioning.
    #[command(subcommand)]
    Provision(provision::ProvisionCommand),
    /// The admin audit trail: who changed what, newest first.
    Audit {
        /// One JSON array.
        #[arg(long)]
        json: bool,
        /// Only entries on or after this day (YYYY-MM-DD, UTC).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = audit::parse_day)]
        since: Option<i64>,
        /// At most this many entries.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Alert channels ([alerts]).
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Write a consistent online copy of the database to FILE (safe while serve runs).
    Backup {
        /// Where to write the copy; it must not exist.
        file: PathBuf,
    },
    /// Replace the database with the backup FILE (serve must be stopped).
    Restore {
        /// The backup to restore; the replaced database is kept as `<database>.before-restore`.
        file: PathBuf,
    },
    /// Exit 0 when the local server answers /healthz, else 1 (for container health checks).
    Healthcheck {
        /// Base URL of the server [default: built from server.bind]
        #[arg(long)]
        url: Option<String>,
    },
}

/// A failed command: the sentence for stderr and the exit status.
#[derive(Debug)]
pub struct CliError {
    /// 1 = something failed, 2 = bad usage or configuration.
    pub code: u8,
    /// One plain sentence.
    pub message: String,
}

impl CliError {
    /// Bad usage or configuration (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: 2,
            message: message.into(),
        }
    }
    /// A failure (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        CliError {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<ServiceError> for CliError {
    fn from(e: ServiceError) -> Self {
        CliError {
            code: if e.is_usage() { 2 } else { 1 },
            message: e.to_string(),
        }
    }
}

impl From<crate::domain::StatusError> for CliError {
    fn from(e: crate::domain::StatusError) -> Self {
        CliError::usage(e.to_string())
    }
}

impl From<crate::db::DbError> for CliError {
    fn from(e: crate::db::DbError) -> Self {
        CliError::failure(e.to_string())
    }
}

impl From<AppError> for CliError {
    fn from(e: AppError) -> Self {
        CliError {
            code: if e.is_configuration() { 2 } else { 1 },
            message: e.to_string(),
        }
    }
}

/// Resolves the settings path from `--config`, `$ACCESSBOARD_CONFIG` or the default.
pub fn settings_path(cli: &Cli) -> (PathBuf, bool) {
    if let Some(p) = &cli.config {
        return (p.clone(), true);
    }
    match std::env::var_os("ACCESSBOARD_CONFIG") {
        Some(p) => (PathBuf::from(p), true),
        None => (PathBuf::from("settings.toml"), false),
    }
}

/// Runs the parsed command and turns the outcome into an exit status.
pub fn main(cli: Cli) -> ExitCode {
    let (path, required) = settings_path(&cli);
    let settings = match Settings::load(&path, required) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("accessboard: {e}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    crate::telemetry::init(&settings.log, !matches!(command, Command::Serve));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("accessboard: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(command, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("accessboard: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

async fn dispatch(command: Command, settings: Arc<Settings>) -> Result<ExitCode, CliError> {
    match command {
        Command::Healthcheck { url } => Ok(crate::app::healthcheck(&settings, url).await),
        Command::Alerts(cmd) => alerts::run(cmd, &settings).await,
        Command::Serve => {
            let ctx = App::open(settings).await?;
            crate::app::serve(ctx)
                .await
                .map_err(|e| CliError::failure(e.to_string()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { file } => backup::backup(settings, file).await,
        Command::Restore { file } => backup::restore_file(settings, file).await,
        Command::User(cmd) => {
            let ctx = open(settings, cmd.is_read_only()).await?;
            users::run(cmd, &ctx).await
        }
        Command::Audit { json, since, limit } => {
            audit::run(&App::open_read_only(settings).await?, json, since, limit).await
        }
        Command::Group(cmd) => {
            let ctx = open(settings, cmd.is_read_only()).await?;
            groups::run(cmd, &ctx).await
        }
        Command::App(cmd) => {
            let ctx = open(settings, cmd.is_read_only()).await?;
            apps::run(cmd, &ctx).await
        }
        Command::Provision(cmd) => {
            let ctx = open(settings, cmd.is_read_only()).await?;
            provision::run(cmd, ctx).await
        }
    }
}

/// Opens the application; a command that only reads opens it without writing, so it
/// works on a full disk and a read-only database file.
async fn open(settings: Arc<Settings>, read_only: bool) -> Result<App, AppError> {
    if read_only {
        App::open_read_only(settings).await
    } else {
        App::open(settings).await
    }
}
