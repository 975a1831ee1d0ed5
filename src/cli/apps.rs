//! `accessboard app …`

use std::process::ExitCode;

use clap::Subcommand;

use super::{CliError, output};
use crate::app::App;
use crate::db::rails as rails_db;
use crate::db::read;
use crate::domain::Slug;
use crate::provisioning::probe;
use crate::provisioning::sync::{self, SyncError};
use crate::users::ServiceError;

/// `app` subcommands.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// List the catalogue.
    List {
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Install an app: everyone with access is provisioned.
    Install {
        /// The app's slug (see `app list`).
        slug: Slug,
    },
    /// Uninstall an app: provisioning stops; accounts in the app are left as they are.
    Uninstall {
        /// The app's slug (see `app list`).
        slug: Slug,
    },
    /// What "Sync now" does: list the app once, settle the pairs it holds as wanted, sync the rest.
    Sync {
        /// The app's slug (see `app list`).
        slug: Slug,
        /// Keep going until nothing is sync_needed, syncing or error.
        #[arg(long)]
        wait: bool,
        /// Give up after this many seconds (with --wait).
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
    },
    /// Pause an app entirely (maintenance): nothing is sent to it until it is resumed.
    Pause {
        /// The app's slug (see `app list`).
        slug: Slug,
        /// Why, shown in the banner and `app list`.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Resume an app: end a pause, let held revocations go, probe a quarantined app now.
    Resume {
        /// The app's slug (see `app list`).
        slug: Slug,
        /// Cancel the revocations the guard holds instead of carrying them out: each held
        /// person gets back the role and groups they had before the change that was held.
        #[arg(long)]
        cancel: bool,
    },
    /// List the app's existing accounts, each classified against the people here, with a
    /// proposed decision; writes nothing (`--json` is the plan `app adopt` takes).
    Discover {
        /// The app's slug (see `app list`).
        slug: Slug,
        /// The plan: one JSON document with every account, its class and decision.
        #[arg(long)]
        json: bool,
    },
    /// Apply a plan of `app discover --json`: link, import, disable or leave each account.
    Adopt {
        /// The app's slug (see `app list`).
        slug: Slug,
        /// The plan, as `app discover SLUG --json` wrote it and the admin edited it.
        plan: std::path::PathBuf,
        /// Say what it would do, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// A planned wave: the revocation guard lets these disables through.
        #[arg(long)]
        force: bool,
    },
    /// Check that an app can be provisioned (reach, sign in, discovery, mapped roles); never writes.
    Test {
        /// The app's slug (see `app list`).
        slug: Slug,
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
}

impl AppCommand {
    /// Whether the command only reads (it then opens the database read-only).
    pub fn is_read_only(&self) -> bool {
        matches!(self, AppCommand::List { .. } | AppCommand::Discover { .. })
    }
}

/// Runs an `app` subcommand.
pub async fn run(cmd: AppCommand, ctx: &App) -> Result<ExitCode, CliError> {
    match cmd {
        AppCommand::List { json } => {
            let (apps, states) = ctx
                .service
                .db()
                .run(|c| Ok::<_, crate::db::DbError>((read::apps(c)?, rails_db::all(c)?)))
                .await?;
            if json {
                output::json(&super::rails::listed(&apps, &states));
            } else {
                let rows: Vec<Vec<String>> = apps
                    .iter()
                    .map(|a| {
                        let counts: Vec<String> =
                            a.counts.iter().map(|(s, n)| format!("{s}={n}")).collect();
                        vec![
                            a.slug.clone(),
                            a.name.clone(),
                            if a.installed { "yes" } else { "no" }.into(),
                            if a.scim { "yes" } else { "no" }.into(),
                            counts.join(" "),
                        ]
                    })
                    .collect();
                output::table(&["SLUG", "NAME", "INSTALLED", "SCIM", "PAIRS"], &rows);
                super::rails::print_notes(&states);
            }
        }
        AppCommand::Discover { slug, json } => {
            return super::discover::discover(ctx, slug, json).await;
        }
        AppCommand::Adopt {
            slug,
            plan,
            dry_run,
            force,
        } => return super::discover::adopt(ctx, slug, plan, dry_run, force).await,
        AppCommand::Pause { slug, reason } => return super::rails::pause(ctx, slug, reason).await,
        AppCommand::Resume { slug, cancel } => {
            return super::rails::resume(ctx, slug, cancel).await;
        }
        AppCommand::Sync {
            slug,
            wait,
            timeout,
        } => return sync(ctx, slug, wait, timeout).await,
        AppCommand::Install { slug } => {
            if ctx.settings.app(slug.as_str()).is_none() {
                return Err(ServiceError::UnknownApp(slug.to_string()).into());
            }
            match probe::check_mapping(&ctx.engine, &slug).await {
                probe::MappingCheck::Usable => {}
                probe::MappingCheck::Unusable(why) => return Err(CliError::failure(why)),
                probe::MappingCheck::Unknown(why) => eprintln!(
                    "accessboard: warning: could not check {slug}'s role mapping ({}); installing anyway",
                    output::clean(&why)
                ),
            }
            let n = ctx
                .service
                .as_actor(super::actor::actor())
                .install_app(&slug)
                .await?;
            let scim = ctx
                .settings
                .app(slug.as_str())
                .is_some_and(|a| a.scim.is_some());
            if scim {
                println!("installed {slug}; {n} users marked for provisioning");
            } else {
                println!(
                    "installed {slug}; it has no [apps.scim] settings, so nobody is provisioned"
                );
            }
        }
        AppCommand::Uninstall { slug } => {
            ctx.service
                .as_actor(super::actor::actor())
                .uninstall_app(&slug)
                .await?;
            println!("uninstalled {slug}; provisioning to it has stopped");
        }
        AppCommand::Test { slug, json } => {
            if ctx.settings.app(slug.as_str()).is_none() {
                return Err(ServiceError::UnknownApp(slug.to_string()).into());
            }
            let report = probe::test_app(&ctx.engine, &slug)
                .await
                .map_err(|e| CliError::usage(e.to_string()))?;
            if json {
                output::json(&report);
            } else {
                for c in &report.checks {
                    let mark = match (c.ok, c.warning) {
                        (false, _) => "FAIL",
                        (true, true) => "warn",
                        (true, false) => "ok  ",
                    };
                    println!("{mark} {}: {}", c.name, output::clean(&c.detail));
                }
                println!(
                    "{slug} {}",
                    if report.usable {
                        "can be provisioned"
                    } else {
                        "cannot be provisioned as configured"
                    }
                );
            }
            if !report.usable {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `app sync SLUG [--wait] [--timeout SECS]`: the pass, then `provision run`'s progress and exit codes.
async fn sync(
    ctx: &App,
    slug: Slug,
    wait: bool,
    timeout: Option<u64>,
) -> Result<ExitCode, CliError> {
    if ctx.settings.app(slug.as_str()).is_none() {
        return Err(ServiceError::UnknownApp(slug.to_string()).into());
    }
    let service = ctx.service.as_actor(super::actor::actor());
    let report = sync::sync_app(&ctx.engine, &service, &slug)
        .await
        .map_err(|e| match e {
            SyncError::NotProvisionable(_) => CliError::usage(e.to_string()),
            SyncError::Service(e) => e.into(),
            SyncError::Db(e) => CliError::failure(e.to_string()),
        })?;
    eprintln!(
        "{slug}: {} accounts listed in {} requests; {} pairs as they should be, {} to sync",
        report.listed, report.requests, report.unchanged, report.marked
    );
    super::provision::run_once(ctx, wait, timeout.map(std::time::Duration::from_secs)).await
}
