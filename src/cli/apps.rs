//! `accessboard app …`

use std::process::ExitCode;

use clap::Subcommand;

use super::{CliError, output};
use crate::app::App;
use crate::db::read;
use crate::domain::Slug;

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
    Install { slug: Slug },
    /// Uninstall an app: provisioning stops; accounts in the app are left as they are.
    Uninstall { slug: Slug },
}

/// Runs an `app` subcommand.
pub async fn run(cmd: AppCommand, ctx: &App) -> Result<ExitCode, CliError> {
    match cmd {
        AppCommand::List { json } => {
            let apps = ctx.service.db().run(|c| read::apps(c)).await?;
            if json {
                output::json(&apps);
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
            }
        }
        AppCommand::Install { slug } => {
            let n = ctx.service.install_app(&slug).await?;
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
            ctx.service.uninstall_app(&slug).await?;
            println!("uninstalled {slug}; provisioning to it has stopped");
        }
    }
    Ok(ExitCode::SUCCESS)
}
