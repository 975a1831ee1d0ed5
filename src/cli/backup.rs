//! `backup` and `restore`: the database's copies, each made or put in place atomically.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::CliError;
use crate::app::restore::{RestoreError, restore};
use crate::db::Db;
use crate::db::backup::BackupError;
use crate::settings::Settings;

impl From<BackupError> for CliError {
    fn from(e: BackupError) -> Self {
        CliError {
            code: if e.is_usage() { 2 } else { 1 },
            message: e.to_string(),
        }
    }
}

impl From<RestoreError> for CliError {
    fn from(e: RestoreError) -> Self {
        CliError {
            code: if e.is_usage() { 2 } else { 1 },
            message: e.to_string(),
        }
    }
}

/// `accessboard backup FILE`: reads the database without writing to it, so a full disk
/// or a read-only file can still be backed up.
pub async fn backup(settings: Arc<Settings>, file: PathBuf) -> Result<ExitCode, CliError> {
    let live = settings.database.path.clone();
    let target = file.clone();
    tokio::task::spawn_blocking(move || {
        let (db, _) = Db::open_read_only(&live)?;
        crate::db::backup::backup(&db, &target)
    })
    .await
    .map_err(|e| CliError::failure(e.to_string()))??;
    println!("backup written to {}", file.display());
    Ok(ExitCode::SUCCESS)
}

/// `accessboard restore FILE`.
pub async fn restore_file(settings: Arc<Settings>, file: PathBuf) -> Result<ExitCode, CliError> {
    let live = settings.database.path.clone();
    let (from, to) = (file.clone(), live.clone());
    let restored = tokio::task::spawn_blocking(move || restore(&to, &from))
        .await
        .map_err(|e| CliError::failure(e.to_string()))??;
    println!(
        "restored {} (schema version {}) as {}",
        file.display(),
        restored.version,
        live.display()
    );
    if let Some(kept) = restored.kept {
        println!("the replaced database is kept as {}", kept.display());
    }
    println!(
        "start `accessboard serve`: its first sweep enqueues every pair that is due; `provision check --fix` marks what the apps gained or lost since the backup"
    );
    Ok(ExitCode::SUCCESS)
}
