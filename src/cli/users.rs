//! `accessboard user …`

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::{CliError, output};
use crate::app::App;
use crate::db::read::{self, UserQuery};
use crate::domain::{Email, NewUser, Role, Slug, UserUpdate};
use crate::users::parse_name;

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List people.
    List {
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Create a person.
    Create {
        #[arg(long)]
        email: Email,
        #[arg(long)]
        name: String,
        /// May sign in to the dashboard.
        #[arg(long)]
        admin: bool,
        /// SLUG=ROLE, ROLE one of admin, user, none; repeatable.
        #[arg(long = "access", value_name = "SLUG=ROLE", value_parser = parse_access)]
        access: Vec<(Slug, Role)>,
    },
    /// Change name, email or dashboard admin flag.
    Update {
        email: Email,
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "email", value_name = "NEW")]
        new_email: Option<Email>,
        #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
        admin: Option<bool>,
    },
    /// Set a role in one app.
    Access {
        email: Email,
        app: Slug,
        role: Role,
        /// A planned revocation: the revocation guard lets it through, uncounted.
        #[arg(long)]
        force: bool,
    },
    /// Delete a person; apps are told before the record goes.
    Delete {
        email: Email,
        /// A planned revocation: the revocation guard lets it through, uncounted.
        #[arg(long)]
        force: bool,
    },
    /// Create people from a CSV file (email,name[,admin][,groups][,<slug>...]).
    Import { file: PathBuf },
    /// Set the dashboard password, read as one line from stdin.
    SetPassword { email: Email },
    /// End every dashboard session of this person.
    SignOut { email: Email },
    /// Bring this person's accounts in line now, printing each request and answer.
    Sync {
        email: Email,
        /// Only this app.
        #[arg(long)]
        app: Option<Slug>,
    },
}

impl UserCommand {
    /// Whether the command only reads (it then opens the database read-only).
    pub fn is_read_only(&self) -> bool {
        matches!(self, UserCommand::List { .. })
    }
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
    let service = &ctx.service.as_actor(crate::domain::Actor::cli());
    match cmd {
        UserCommand::List { json } => {
            let (rows, _) = service
                .db()
                .run(|c| read::users(c, &UserQuery::default()))
                .await?;
            if json {
                output::json(&rows);
            } else if rows.is_empty() {
                println!("no users yet; add one with `accessboard user create --email E --name N`");
            } else {
                let apps: Vec<String> = rows[0].access.iter().map(|c| c.app.clone()).collect();
                let mut header = vec!["EMAIL", "NAME", "ADMIN"];
                header.extend(apps.iter().map(String::as_str));
                let body: Vec<Vec<String>> = rows
                    .iter()
                    .map(|u| {
                        let mut row = vec![
                            u.email.clone(),
                            u.name.clone(),
                            if u.admin { "yes" } else { "no" }.into(),
                        ];
                        row.extend(
                            u.access
                                .iter()
                                .map(|c| format!("{} ({})", c.role, c.status)),
                        );
                        row
                    })
                    .collect();
                output::table(&header, &body);
            }
        }
        UserCommand::Create {
            email,
            name,
            admin,
            access,
        } => {
            let user = service
                .create_user(NewUser {
                    email,
                    name: parse_name(&name)?,
                    is_admin: admin,
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
            admin,
        } => {
            let update = UserUpdate {
                name: name.as_deref().map(parse_name).transpose()?,
                email: new_email,
                is_admin: admin,
            };
            let user = service.update_user(&email, update).await?;
            println!("updated {}", user.email);
        }
        UserCommand::Access {
            email,
            app,
            role,
            force,
        } => {
            service
                .lifting_guard(force)
                .set_access(&email, &app, role)
                .await?;
            println!("{email} is now {role} in {app}");
            super::rails::warn_held(ctx).await?;
        }
        UserCommand::Delete { email, force } => {
            match service.lifting_guard(force).delete_user(&email).await? {
                0 => println!("deleted {email}"),
                n => println!(
                    "deleted {email}; {n} apps are being told, the record goes once they are"
                ),
            }
            super::rails::warn_held(ctx).await?;
        }
        UserCommand::Import { file } => return import(ctx, file).await,
        UserCommand::Sync { email, app } => return super::sync::run(ctx, email, app).await,
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
