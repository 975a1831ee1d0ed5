//! `app pause`, `app resume`, and what the command line says about paused, held and
//! quarantined apps.

use std::process::ExitCode;

use serde::Serialize;

use super::{CliError, output};
use crate::app::App;
use crate::db::rails::{self, AppRails, Pause};
use crate::db::{read, time};
use crate::domain::Slug;
use crate::provisioning::quarantine;
use crate::users::ServiceError;

/// One app of `app list --json`: the catalogue's fields and its rails.
#[derive(Serialize)]
pub struct Listed<'a> {
    #[serde(flatten)]
    app: &'a read::AppRow,
    /// Paused (for revocations by the guard, or entirely by an admin).
    paused: bool,
    /// How far: `revocations` or `all`.
    paused_for: Option<Pause>,
    /// Why.
    pause_reason: Option<&'a str>,
    /// Who caused it.
    paused_by: Option<&'a str>,
    /// Since when (RFC 3339).
    paused_at: Option<String>,
    /// Quarantined.
    quarantined: bool,
    /// Why.
    quarantine_reason: Option<&'a str>,
    /// Since when (RFC 3339).
    quarantined_at: Option<String>,
}

/// The catalogue with each app's rails, for `app list --json`.
pub fn listed<'a>(apps: &'a [read::AppRow], states: &'a [AppRails]) -> Vec<Listed<'a>> {
    apps.iter()
        .map(|app| {
            let s = states.iter().find(|s| s.app == app.slug);
            Listed {
                app,
                paused: s.is_some_and(|s| s.paused.is_some()),
                paused_for: s.and_then(|s| s.paused),
                pause_reason: s.and_then(|s| s.pause_reason.as_deref()),
                paused_by: s.and_then(|s| s.paused_by.as_deref()),
                paused_at: s.and_then(|s| s.paused_at).map(time::rfc3339),
                quarantined: s.is_some_and(AppRails::quarantined),
                quarantine_reason: s.and_then(|s| s.quarantine_reason.as_deref()),
                quarantined_at: s.and_then(|s| s.quarantined_at).map(time::rfc3339),
            }
        })
        .collect()
}

/// One line per paused or quarantined app, under `app list`'s table.
pub fn print_notes(states: &[AppRails]) {
    for s in states {
        if let Some(line) = note(s) {
            println!("{}", output::clean(&line));
        }
    }
}

fn note(s: &AppRails) -> Option<String> {
    let paused = s.paused.map(|how| {
        let what = match how {
            Pause::Revocations => "paused for revocations",
            Pause::All => "paused",
        };
        format!(
            "{}: {what} since {} by {}: {}",
            s.app,
            s.paused_at.map(time::rfc3339).unwrap_or_default(),
            s.paused_by.as_deref().unwrap_or("unknown"),
            s.pause_reason.as_deref().unwrap_or("")
        )
    });
    let quarantined = s.quarantined_at.map(|at| {
        format!(
            "{}: quarantined since {}: {}",
            s.app,
            time::rfc3339(at),
            s.quarantine_reason.as_deref().unwrap_or("")
        )
    });
    match (paused, quarantined) {
        (Some(p), Some(q)) => Some(format!("{p}\n{q}")),
        (p, q) => p.or(q),
    }
}

/// Says why `provision run` left pairs held, and how to let them go.
pub async fn explain_held(ctx: &App, held: i64) -> Result<(), CliError> {
    let states = ctx.service.db().run(|c| rails::all(c)).await?;
    eprintln!("{held} pairs are held:");
    for s in states.iter().filter(|s| s.paused.is_some()) {
        if let Some(line) = note(s) {
            eprintln!(
                "  {}; `accessboard app resume {}` lets them go",
                output::clean(&line),
                s.app
            );
        }
    }
    Ok(())
}

/// After a change: says which apps hold revocations, so a loop of commands notices the guard.
pub async fn warn_held(ctx: &App) -> Result<(), CliError> {
    let states = ctx.service.db().run(|c| rails::all(c)).await?;
    for s in states
        .iter()
        .filter(|s| s.paused == Some(Pause::Revocations))
    {
        if let Some(line) = note(s) {
            eprintln!(
                "accessboard: revocations are held: {}; `accessboard app resume {}` lets them go, --force passes one change",
                output::clean(&line),
                s.app
            );
        }
    }
    Ok(())
}

/// `app pause SLUG [--reason TEXT]`.
pub async fn pause(ctx: &App, slug: Slug, reason: Option<String>) -> Result<ExitCode, CliError> {
    known(ctx, &slug)?;
    let reason = reason
        .map(|r| output::clean(r.trim()))
        .filter(|r| !r.is_empty());
    ctx.service
        .as_actor(super::actor::actor())
        .pause_app(&slug, reason)
        .await?;
    println!("paused {slug}: nothing is sent to it until `accessboard app resume {slug}`");
    Ok(ExitCode::SUCCESS)
}

/// `app resume SLUG`: ends a pause, lets held revocations go, probes a quarantined app now.
/// With `--cancel`, the held revocations are cancelled instead (previous access back).
pub async fn resume(ctx: &App, slug: Slug, cancel: bool) -> Result<ExitCode, CliError> {
    known(ctx, &slug)?;
    if cancel {
        let cancelled = ctx
            .service
            .as_actor(super::actor::actor())
            .cancel_held(&slug)
            .await?;
        for line in cancelled.sentences(slug.as_str()) {
            println!("{}", output::clean(&line));
        }
        return Ok(if cancelled.still_held > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    let resumed = ctx
        .service
        .as_actor(super::actor::actor())
        .resume_app(&slug)
        .await?;
    match resumed.was {
        Some(_) => println!(
            "resumed {slug}; {} pairs released to be synced",
            resumed.released
        ),
        None if !resumed.quarantined => println!("{slug} was not paused"),
        None => {}
    }
    if resumed.quarantined {
        let answered = quarantine::probe(&ctx.engine, slug.as_str()).await?;
        if answered {
            println!("{slug} answered the probe: out of quarantine, its pairs are due now");
        } else {
            println!("{slug} still fails: it stays quarantined and is probed again later");
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn known(ctx: &App, slug: &Slug) -> Result<(), CliError> {
    match ctx.settings.app(slug.as_str()) {
        Some(_) => Ok(()),
        None => Err(ServiceError::UnknownApp(slug.to_string()).into()),
    }
}
