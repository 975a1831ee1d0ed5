//! `app discover`: the app's existing accounts, classified, with a proposed decision.

use std::process::ExitCode;

use super::{CliError, output};
use crate::app::App;
use crate::domain::{AccountClass, Decision, Slug};
use crate::provisioning::discover::{self, DiscoverError, n};
use crate::users::ServiceError;

/// `app discover SLUG [--json]`: counts per class, then the accounts; `--json` is the plan.
pub async fn discover(ctx: &App, slug: Slug, json: bool) -> Result<ExitCode, CliError> {
    if ctx.settings.app(slug.as_str()).is_none() {
        return Err(ServiceError::UnknownApp(slug.to_string()).into());
    }
    let found = discover::discover(&ctx.engine, &slug)
        .await
        .map_err(|e| match e {
            DiscoverError::NotProvisioned(_) | DiscoverError::Paused(_) => {
                CliError::usage(e.to_string())
            }
            _ => CliError::failure(e.to_string()),
        })?;
    if json {
        // Written as it is encoded: a 50,000-account plan is never held twice.
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        serde_json::to_writer_pretty(&mut out, &found)
            .map_err(|e| CliError::failure(format!("cannot write the plan: {e}")))?;
        writeln!(out)
            .and_then(|()| out.flush())
            .map_err(|e| CliError::failure(format!("cannot write the plan: {e}")))?;
        return Ok(ExitCode::SUCCESS);
    }
    let listed = found.accounts.len() + found.without_id;
    println!(
        "{slug}: {listed} {} listed in {} {}",
        if listed == 1 { "account" } else { "accounts" },
        found.requests,
        if found.requests == 1 {
            "request"
        } else {
            "requests"
        }
    );
    let counts: Vec<Vec<String>> = AccountClass::ALL
        .iter()
        .map(|c| vec![c.label().to_owned(), found.count(*c).to_string()])
        .collect();
    output::table(&["CLASS", "ACCOUNTS"], &counts);
    if found.without_id > 0 {
        println!(
            "{} listed without an id: nothing can be done with them",
            found.without_id
        );
    }
    println!();
    let rows: Vec<Vec<String>> = found
        .accounts
        .iter()
        .map(|a| {
            let person = match (&a.person, a.candidates.is_empty()) {
                (Some(p), _) => p.clone(),
                (None, false) => a.candidates.join(" or "),
                (None, true) => "-".into(),
            };
            vec![
                a.class.as_str().to_owned(),
                output::clean(&a.id),
                output::clean(&a.user_name),
                output::clean(a.emails.first().map_or("-", String::as_str)),
                if a.active { "yes" } else { "no" }.into(),
                match a.admin {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "-",
                }
                .into(),
                output::clean(&person),
                proposal(&a.decision),
            ]
        })
        .collect();
    output::table(
        &[
            "CLASS", "ID", "USERNAME", "EMAIL", "ACTIVE", "ADMIN", "PERSON", "PROPOSED",
        ],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

fn proposal(d: &Decision) -> String {
    match d {
        Decision::Link { role } | Decision::Import { role } => format!("{} {role}", d.word()),
        _ => d.word().to_owned(),
    }
}

/// `app adopt SLUG PLAN.json [--dry-run] [--force]`: the effect first, then the plan applied.
pub async fn adopt(
    ctx: &App,
    slug: Slug,
    file: std::path::PathBuf,
    dry_run: bool,
    force: bool,
) -> Result<ExitCode, CliError> {
    let Some(app) = ctx.settings.app(slug.as_str()) else {
        return Err(ServiceError::UnknownApp(slug.to_string()).into());
    };
    let text = std::fs::read(&file)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display())))?;
    let plan: discover::Discovery = serde_json::from_slice(&text).map_err(|e| {
        CliError::usage(format!(
            "{} is not a plan of app discover --json: {e}",
            file.display()
        ))
    })?;
    if plan.app != slug.as_str() {
        return Err(CliError::usage(format!(
            "the plan is {}'s, not {slug}'s",
            plan.app
        )));
    }
    let total = plan.accounts.len();
    let adoption = plan.adoption(&slug);
    println!("{}", plan.effect(&app.name));
    if dry_run {
        println!("dry run: nothing was changed");
        return Ok(ExitCode::SUCCESS);
    }
    let service = ctx
        .service
        .as_actor(super::actor::actor())
        .lifting_guard(force);
    let done = service.adopt(adoption).await?;
    if done.applied_before {
        println!("this plan was applied already; nothing to do");
        return Ok(ExitCode::SUCCESS);
    }
    let unowned = discover::unowned::disable(
        &ctx.engine,
        &service,
        &slug,
        &done.disable_unowned,
        total,
        force,
    )
    .await
    .map_err(|e| CliError::failure(e.to_string()))?;
    println!(
        "{} created, {} linked, {} disabled in {}, {} left unmanaged, {} as planned already",
        n(done.created, "person", "people"),
        done.linked,
        n(done.disabled + unowned.disabled, "account", "accounts"),
        app.name,
        done.left,
        done.unchanged + unowned.already
    );
    for line in done.refused.iter().chain(&unowned.failed) {
        println!("refused: {}", output::clean(line));
    }
    for line in &unowned.skipped {
        println!("skipped: {}", output::clean(line));
    }
    if !done.disable_unowned.is_empty() && unowned.held == 0 && unowned.failed.is_empty() {
        service.adopted(&slug, &plan.stamp).await?;
    }
    if done.held > 0 {
        println!(
            "the revocation guard held {} in {}: `app resume {slug}` carries them out, --cancel gives the access back",
            n(done.held, "disable", "disables"),
            app.name
        );
    }
    if unowned.held > 0 {
        println!(
            "the revocation guard held {} of accounts nobody here has: nothing was sent; run app discover and adopt the new plan with --force for a planned wave",
            n(unowned.held, "disable", "disables")
        );
    }
    if done.created + done.linked + done.disabled > 0 {
        println!(
            "the linked and imported accounts are proved and synced by provision run or serve"
        );
    }
    Ok(if done.refused.is_empty() && unowned.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
