//! `accessboard group …`

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::{CliError, output};
use crate::app::App;
use crate::db::groups;
use crate::domain::{Email, GroupName, Role, Slug};
use crate::users::{GroupChange, GroupKey, GroupOutcome, ServiceError};

/// `group` subcommands.
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// List groups with their member and grant counts.
    List {
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// One group's members and grants.
    Show {
        /// The group's name (any case).
        name: GroupName,
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Create an empty group.
    Create {
        /// The new group's name: unique in any case, at most 100 characters.
        name: GroupName,
        /// One line, at most 500 characters.
        #[arg(long, value_name = "TEXT", default_value = "")]
        description: String,
    },
    /// Rename a group.
    Rename {
        /// The group's name (any case).
        name: GroupName,
        /// Its new name.
        new: GroupName,
    },
    /// Delete a group; its members lose what only it gave them.
    Delete {
        /// The group's name (any case).
        name: GroupName,
        /// A planned revocation: the revocation guard lets it through, uncounted.
        #[arg(long)]
        force: bool,
        /// Print how many people would lose access and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Add people to a group.
    Add {
        /// The group's name (any case).
        name: GroupName,
        /// The people's emails.
        #[arg(required = true)]
        emails: Vec<Email>,
    },
    /// Remove people from a group.
    Remove {
        /// The group's name (any case).
        name: GroupName,
        /// The people's emails.
        #[arg(required = true)]
        emails: Vec<Email>,
        /// A planned revocation: the revocation guard lets it through, uncounted.
        #[arg(long)]
        force: bool,
        /// Print how many people would lose access and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Give the group a role in an app (admin | user | none; none removes the grant).
    Grant {
        /// The group's name (any case).
        name: GroupName,
        /// The app's slug (see `app list`).
        app: Slug,
        /// One of admin, user, none (none removes the grant).
        role: Role,
        /// A planned revocation: the revocation guard lets it through, uncounted.
        #[arg(long)]
        force: bool,
        /// Print how many people would gain and lose access and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

impl GroupCommand {
    /// Whether the command only reads (it then opens the database read-only).
    pub fn is_read_only(&self) -> bool {
        matches!(self, GroupCommand::List { .. } | GroupCommand::Show { .. })
    }

    /// The group and change of a `--dry-run`, which is previewed instead of made.
    fn dry_run(&self) -> Option<(GroupName, GroupChange)> {
        match self {
            GroupCommand::Delete {
                name,
                dry_run: true,
                ..
            } => Some((name.clone(), GroupChange::Delete)),
            GroupCommand::Remove {
                name,
                emails,
                dry_run: true,
                ..
            } => Some((name.clone(), GroupChange::Remove(emails.clone()))),
            GroupCommand::Grant {
                name,
                app,
                role,
                dry_run: true,
                ..
            } => Some((name.clone(), GroupChange::Grant(app.clone(), *role))),
            _ => None,
        }
    }
}

/// Runs a `group` subcommand.
pub async fn run(cmd: GroupCommand, ctx: &App) -> Result<ExitCode, CliError> {
    let service = &ctx.service.as_actor(super::actor::actor());
    let change =
        |name: GroupName, change: GroupChange| service.change_group(GroupKey::Name(name), change);
    // A change that can take access away says how many lose it before it is made, and
    // whether the revocation guard held it after.
    let revoking = |name: GroupName, change: GroupChange, force: bool| async move {
        let key = GroupKey::Name(name);
        let ahead = service
            .preview_group_change(key.clone(), change.clone())
            .await?;
        if ahead.lose_access > 0 {
            println!("{}: {} …", ahead.group, will_lose(&ahead));
        }
        let done = service
            .lifting_guard(force)
            .change_group(key, change)
            .await?;
        Ok::<_, CliError>(done)
    };
    if let Some((name, change)) = cmd.dry_run() {
        let ahead = service
            .preview_group_change(GroupKey::Name(name), change.clone())
            .await?;
        println!("dry run: {}; nothing was changed", would(&change, &ahead));
        for line in super::preview::guard(&ahead.guard) {
            println!("{}", output::clean(&line));
        }
        return Ok(ExitCode::SUCCESS);
    }
    match cmd {
        GroupCommand::List { json } => {
            let rows = service.db().run(|c| groups::groups(c)).await?;
            if json {
                output::json(&rows);
            } else if rows.is_empty() {
                println!("no groups yet; add one with `accessboard group create NAME`");
            } else {
                let body: Vec<Vec<String>> = rows
                    .iter()
                    .map(|g| {
                        vec![
                            g.name.clone(),
                            g.members.to_string(),
                            g.grants.to_string(),
                            g.description.clone(),
                        ]
                    })
                    .collect();
                output::table(&["NAME", "MEMBERS", "APPS", "DESCRIPTION"], &body);
            }
        }
        GroupCommand::Show { name, json } => show(ctx, name, json).await?,
        GroupCommand::Create { name, description } => {
            service.create_group(name.clone(), description).await?;
            println!("created group {name}");
        }
        GroupCommand::Rename { name, new } => {
            let o = change(name.clone(), GroupChange::Rename(new)).await?;
            println!("renamed group {name} to {}", o.group);
        }
        GroupCommand::Delete { name, force, .. } => {
            let o = revoking(name, GroupChange::Delete, force).await?;
            println!("deleted group {}; {}", o.group, lose(&o));
            print_held(&o);
            super::rails::warn_held(ctx).await?;
        }
        GroupCommand::Add { name, emails } => {
            let o = change(name, GroupChange::Add(emails)).await?;
            println!(
                "added {} to {}; {}",
                people(o.members_changed),
                o.group,
                gain(&o)
            );
        }
        GroupCommand::Remove {
            name,
            emails,
            force,
            ..
        } => {
            let o = revoking(name, GroupChange::Remove(emails), force).await?;
            println!(
                "removed {} from {}; {}",
                people(o.members_changed),
                o.group,
                lose(&o)
            );
            print_held(&o);
            super::rails::warn_held(ctx).await?;
        }
        GroupCommand::Grant {
            name,
            app,
            role,
            force,
            ..
        } => {
            let o = revoking(name, GroupChange::Grant(app.clone(), role), force).await?;
            if role.grants_access() {
                println!("{} is now {role} in {app}; {}", o.group, gain(&o));
            } else {
                println!("{} no longer has a role in {app}; {}", o.group, lose(&o));
            }
            print_held(&o);
            super::rails::warn_held(ctx).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(ctx: &App, name: GroupName, json: bool) -> Result<(), CliError> {
    let norm = name.normalized();
    let detail = ctx
        .service
        .db()
        .run(move |c| match groups::id_by_name(c, &norm)? {
            Some(id) => groups::group(c, id),
            None => Ok(None),
        })
        .await?
        .ok_or_else(|| ServiceError::UnknownGroup(name.to_string()))?;
    if json {
        output::json(&json!({
            "id": detail.group.id,
            "name": detail.group.name,
            "description": detail.group.description,
            "members": detail.member_list,
            "grants": detail.grant_list,
        }));
        return Ok(());
    }
    println!("{}", output::clean(&detail.group.name));
    if !detail.group.description.is_empty() {
        println!("{}", output::clean(&detail.group.description));
    }
    println!();
    if detail.grant_list.is_empty() {
        println!("no grants; give one with `accessboard group grant NAME SLUG ROLE`");
    } else {
        let rows: Vec<Vec<String>> = detail
            .grant_list
            .iter()
            .map(|g| vec![g.app.clone(), g.role.to_string()])
            .collect();
        output::table(&["APP", "ROLE"], &rows);
    }
    println!();
    if detail.member_list.is_empty() {
        println!("no members; add some with `accessboard group add NAME EMAIL...`");
    } else {
        let rows: Vec<Vec<String>> = detail
            .member_list
            .iter()
            .map(|m| vec![m.email.clone(), m.name.clone()])
            .collect();
        output::table(&["EMAIL", "NAME"], &rows);
    }
    Ok(())
}

fn people(n: usize) -> String {
    if n == 1 {
        "1 person".into()
    } else {
        format!("{n} people")
    }
}

fn gain(o: &GroupOutcome) -> String {
    match o.gain_access {
        1 => "1 person gains access".into(),
        n => format!("{n} people gain access"),
    }
}

/// What the revocation guard held of a change, after its own line.
fn print_held(o: &GroupOutcome) {
    for h in &o.held {
        println!("{}", output::clean(&h.sentence()));
    }
}

/// What a previewed change would do, for `--dry-run`.
fn would(change: &GroupChange, o: &GroupOutcome) -> String {
    let gain = match o.gain_access {
        1 => "1 person would gain access".to_owned(),
        n => format!("{n} people would gain access"),
    };
    match change {
        GroupChange::Delete => format!("deleting group {}: {}", o.group, will_lose(o)),
        GroupChange::Remove(_) => format!(
            "removing {} from {}: {}",
            people(o.members_changed),
            o.group,
            will_lose(o)
        ),
        GroupChange::Grant(app, role) => {
            format!("{} as {role} in {app}: {gain}, {}", o.group, will_lose(o))
        }
        _ => will_lose(o),
    }
}

fn will_lose(o: &GroupOutcome) -> String {
    match o.lose_access {
        1 => "1 person will lose access".into(),
        n => format!("{n} people will lose access"),
    }
}

fn lose(o: &GroupOutcome) -> String {
    match o.lose_access {
        1 => "1 person loses access".into(),
        n => format!("{n} people lose access"),
    }
}
