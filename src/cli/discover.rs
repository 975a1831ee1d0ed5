//! `app discover`: the app's existing accounts, classified, with a proposed decision.

use std::process::ExitCode;

use super::{CliError, output};
use crate::app::App;
use crate::domain::{AccountClass, Decision, Slug};
use crate::provisioning::discover::{self, DiscoverError};
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
        output::json(&found);
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
