//! `accessboard user …`

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::{CliError, output};
use crate::app::App;
use crate::domain::{DashboardAccess, Email, GroupName, NewUser, Role, Slug, UserUpdate};
use crate::users::parse_name;

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List people; the filters combine (all must hold).
    List {
        /// One JSON array.
        #[arg(long)]
        json: bool,
        /// Only people with a role in this app (a slug of `app list`); with --status,
        /// only people whose pair in this app is in that state.
        #[arg(long, value_name = "SLUG")]
        app: Option<Slug>,
        /// Only people with a pair in this state (in --app, else in any app): one of
        /// sync_needed, syncing, held, error, failed, provisioned, deprovisioned, not_provisioned.
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// Only members of this group (a name of `group list`, any case).
        #[arg(long, value_name = "NAME")]
        group: Option<GroupName>,
    },
    /// Create a person.
    Create {
        /// Their email, unique (any case).
        #[arg(long)]
        email: Email,
        /// Their display name.
        #[arg(long)]
        name: String,
        /// A dashboard admin: may sign in to accessboard and change everyone's access
        /// (not a role in any app).
        #[arg(long = "dashboard-admin", alias = "dashboard_admin")]
        dashboard_admin: bool,
        /// The old name of --dashboard-admin, still read, with a warning.
        #[arg(long = "admin", hide = true)]
        admin: bool,
        /// SLUG=ROLE, ROLE one of admin, user, none; repeatable.
        #[arg(long = "access", value_name = "SLUG=ROLE", value_parser = parse_access)]
        access: Vec<(Slug, Role)>,
    },
    /// Change name, email or whether they are a dashboard admin.
    Update {
        /// The person's current email.
        email: Email,
        /// Their new display name.
        #[arg(long)]
        name: Option<String>,
        /// Their new email.
        #[arg(long = "email", value_name = "NEW")]
        new_email: Option<Email>,
        /// Whether they are a dashboard admin (may sign in to accessboard): true or false.
        #[arg(long = "dashboard-admin", alias = "dashboard_admin", value_name = "true|false", action = clap::ArgAction::Set)]
        dashboard_admin: Option<bool>,
        /// The old name of --dashboard-admin, still read, with a warning.
        #[arg(long = "admin", hide = true, value_name = "true|false", action = clap::ArgAction::Set, conflicts_with = "dashboard_admin")]
        admin: Option<bool>,
    },
    /// Set a role in one app.
    Access {
        /// The person's email.
        email: Email,
        /// The app's slug (see `app list`).
        app: Slug,
        /// One of admin, user, none (none takes their own access away; their groups may still give some).
        role: Role,
        /// A planned revocation: the revocation guard lets it through, uncounted.
        #[arg(long)]
        force: bool,
        /// Print what would happen and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete a person; apps are told before the record goes.
    Delete {
        /// The person's email.
        email: Email,
        /// A planned revocation: the revocation guard lets it through, uncounted.
        #[arg(long)]
        force: bool,
        /// Print which apps would be told and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create people from a CSV file (email,name[,dashboard_admin][,groups][,<slug>...]).
    Import {
        /// The CSV file; header email,name[,dashboard_admin][,groups][,<slug>...], at most
        /// 16 MiB (the old column name `admin` is read as dashboard_admin, with a warning).
        file: PathBuf,
    },
    /// Set what a person may do in accessboard's own dashboard (not a role in any app);
    /// a lower level ends their sessions at once.
    Dashboard {
        /// The person's email.
        email: Email,
        /// none (may not sign in), viewer (sees every page, changes nothing) or admin.
        level: DashboardAccess,
    },
    /// Make a one-time link for someone who may sign in to set their password: emailed
    /// to them when email is set up ([alerts] smtp_url), else printed.
    Invite {
        /// The person's email.
        email: Email,
        /// Print the link instead of emailing it.
        #[arg(long)]
        show: bool,
    },
    /// Turn off a person's two-factor sign-in (a lost device); they set it up again.
    #[command(name = "reset-2fa")]
    Reset2fa {
        /// The person's email.
        email: Email,
    },
    /// Set the dashboard password, read as one line from stdin.
    SetPassword {
        /// The person's email.
        email: Email,
    },
    /// End every dashboard session of this person.
    SignOut {
        /// The person's email.
        email: Email,
    },
    /// Bring this person's accounts in line now, printing each request and answer.
    Sync {
        /// The person's email.
        email: Email,
        /// Only this app (a slug of `app list`).
        #[arg(long, value_name = "SLUG")]
        app: Option<Slug>,
    },
}

impl UserCommand {
    /// Whether the command only reads (it then opens the database read-only).
    pub fn is_read_only(&self) -> bool {
        // Not a dry run: the revocation guard's verdict on it is the change itself, run
        // and rolled back (as a group change's dry run is).
        matches!(self, UserCommand::List { .. })
    }
}

/// `--admin` read the same as the app role `admin`; it is still accepted, with a warning.
fn old_flag() {
    eprintln!(
        "accessboard: warning: --admin is now --dashboard-admin (it lets them sign in to accessboard; it is not a role in any app)"
    );
}

fn parse_access(raw: &str) -> Result<(Slug, Role), String> {
    let (slug, role) = raw
        .split_once('=')
        .ok_or_else(|| format!("{raw:?} is not SLUG=ROLE"))?;
    Ok((
        Slug::parse(slug.trim()).map_err(|e| e.to_string())?,
        Role::parse(role).map_err(|e| e.to_string())?,
    ))
}

/// Runs a `user` subcommand.
pub async fn run(cmd: UserCommand, ctx: &App) -> Result<ExitCode, CliError> {
    let service = &ctx.service.as_actor(super::actor::actor());
    match cmd {
        UserCommand::List {
            json,
            app,
            status,
            group,
        } => {
            let filters = super::user_list::Filters { app, status, group };
            super::user_list::run(ctx, filters, json).await?;
        }
        UserCommand::Create {
            email,
            name,
            dashboard_admin,
            admin,
            access,
        } => {
            if admin {
                old_flag();
            }
            let user = service
                .create_user(NewUser {
                    email,
                    name: parse_name(&name)?,
                    dashboard: if dashboard_admin || admin {
                        DashboardAccess::Admin
                    } else {
                        DashboardAccess::None
                    },
                    access,
                })
                .await?;
            println!("created {} ({})", user.email, user.id);
            // Kratos: the one time this link is shown; it lets them set a password.
            match service.recovery_link(user.id).await {
                Ok(Some(link)) => println!("recovery link (valid 24 hours, shown once): {link}"),
                Ok(None) => {}
                Err(e) => eprintln!(
                    "accessboard: {} was created, but no recovery link could be made: {e}",
                    user.email
                ),
            }
        }
        UserCommand::Update {
            email,
            name,
            new_email,
            dashboard_admin,
            admin,
        } => {
            if admin.is_some() {
                old_flag();
            }
            let update = UserUpdate {
                name: name.as_deref().map(parse_name).transpose()?,
                email: new_email,
                dashboard: dashboard_admin.or(admin).map(|a| {
                    if a {
                        DashboardAccess::Admin
                    } else {
                        DashboardAccess::None
                    }
                }),
            };
            let user = service.update_user(&email, update).await?;
            println!("updated {}", user.email);
        }
        UserCommand::Access {
            email,
            app,
            role,
            dry_run: true,
            ..
        } => {
            let effect = service.preview_access(&email, &app, role).await?;
            println!("{}", super::preview::access(&email, &app, &effect));
            let warnings = service.guard_preview_access(&email, &app, role).await?;
            for line in super::preview::guard(&warnings) {
                println!("{}", output::clean(&line));
            }
        }
        UserCommand::Delete {
            email,
            dry_run: true,
            ..
        } => {
            let effect = service.preview_delete(&email).await?;
            println!("{}", super::preview::delete(&email, &effect));
            let warnings = service.guard_preview_delete(&email).await?;
            for line in super::preview::guard(&warnings) {
                println!("{}", output::clean(&line));
            }
        }
        UserCommand::Access {
            email,
            app,
            role,
            force,
            ..
        } => {
            let outcome = service
                .lifting_guard(force)
                .set_access(&email, &app, role)
                .await?;
            println!("{}", output::clean(&outcome.text()));
            super::rails::warn_held(ctx).await?;
        }
        UserCommand::Delete { email, force, .. } => {
            let outcome = service.lifting_guard(force).delete_user(&email).await?;
            println!("{}", output::clean(&outcome.text()));
            super::rails::warn_held(ctx).await?;
        }
        UserCommand::Import { file } => return import(ctx, file).await,
        UserCommand::Sync { email, app } => return super::sync::run(ctx, email, app).await,
        UserCommand::Dashboard { email, level } => {
            let change = service.set_dashboard(&email, level).await?;
            println!("{}", output::clean(&change.text()));
        }
        UserCommand::Invite { email, show } => match service.invite_by_email(&email, show).await? {
            crate::users::Invitation::Sent { to, valid } => {
                println!("{}", crate::users::Invitation::sent_text(&to, &valid));
            }
            crate::users::Invitation::Shown {
                to,
                url,
                expires_at,
            } => {
                let until = crate::db::time::local_text(expires_at, &ctx.settings.server.zone);
                println!("sign-in link for {to} (works once, until {until}; shown once):");
                println!("{url}");
            }
        },
        UserCommand::Reset2fa { email } => {
            let removed = service.reset_second_factor(&email).await?;
            if removed.any() {
                println!(
                    "two-factor sign-in of {email} turned off ({} removed); they can set it up again after signing in",
                    removed.describe()
                );
            } else {
                println!("{email} had no two-factor sign-in; nothing changed");
            }
        }
        UserCommand::SignOut { email } => {
            let n = service.sign_out_everywhere_by_email(&email).await?;
            println!("{n} dashboard sessions of {email} ended");
        }
        UserCommand::SetPassword { email } => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map_err(|e| {
                CliError::failure(format!("cannot read the password from stdin: {e}"))
            })?;
            let password = line.trim_end_matches(['\r', '\n']);
            let hash = crate::users::hash_password(password).map_err(CliError::usage)?;
            service.set_password_hash(&email, Some(hash)).await?;
            println!("password set for {email}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(ctx: &App, file: PathBuf) -> Result<ExitCode, CliError> {
    let size = std::fs::metadata(&file)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display())))?;
    if size.len() as usize > crate::users::MAX_IMPORT_BYTES {
        return Err(CliError::usage(format!(
            "{} is {} bytes; imports are limited to {} MiB, split it into smaller files",
            file.display(),
            size.len(),
            crate::users::MAX_IMPORT_BYTES / 1024 / 1024
        )));
    }
    let bytes = std::fs::read(&file)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display())))?;
    let plan = ctx.service.plan_import(bytes).await?;
    let report = ctx.service.import(plan).await?;
    for w in &report.warnings {
        eprintln!("{}: warning: {w}", file.display());
    }
    for e in &report.errors {
        eprintln!("{}:{}: {}", file.display(), e.line, e.reason);
    }
    println!(
        "imported {} users, skipped {} rows",
        report.created,
        report.errors.len()
    );
    if !report.groups_created.is_empty() {
        println!(
            "created groups: {}",
            output::clean(&report.groups_created.join(", "))
        );
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
