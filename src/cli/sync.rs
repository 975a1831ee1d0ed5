//! `accessboard user sync EMAIL [--app SLUG]`: Sync now from the command line, printing
//! each request and answer as it completes, like the person page does.

use std::process::ExitCode;

use super::{CliError, output};
use crate::app::App;
use crate::db::read::{self, AccessQuery};
use crate::domain::{Email, Slug};
use crate::provisioning::on_demand::{self, OnDemandError};
use crate::users::ServiceError;

/// Syncs the person in one app, or in every app accessboard provisions for them.
pub async fn run(ctx: &App, email: Email, app: Option<Slug>) -> Result<ExitCode, CliError> {
    if let Some(app) = &app
        && ctx.settings.app(app.as_str()).is_none()
    {
        return Err(ServiceError::UnknownApp(app.to_string()).into());
    }
    let q = AccessQuery {
        app: app.as_ref().map(|a| a.to_string()),
        email_norm: Some(email.normalized().to_owned()),
        ..AccessQuery::default()
    };
    let pairs = ctx.service.db().run(move |c| read::access(c, &q)).await?;
    if pairs.is_empty() {
        let norm = email.normalized().to_owned();
        let known: bool = ctx
            .service
            .db()
            .run(move |c| {
                c.prepare_cached("SELECT count(*) > 0 FROM users WHERE email_norm = ?1")?
                    .query_row([norm], |r| r.get(0))
                    .map_err(crate::db::DbError::from)
            })
            .await?;
        if !known {
            return Err(ServiceError::UnknownUser(email.to_string()).into());
        }
    }
    // Without --app: the apps accessboard provisions; with it, that app, or a clear refusal.
    let targets: Vec<_> = pairs
        .iter()
        .filter(|p| app.is_some() || ctx.engine.targets.contains_key(&p.app))
        .collect();
    if targets.is_empty() {
        return Err(match app {
            Some(app) => CliError::usage(OnDemandError::NotManaged(app.to_string()).to_string()),
            None => CliError::usage(format!(
                "{email} has no record in an app accessboard provisions; nothing to sync"
            )),
        });
    }
    let mut all_ok = true;
    let result = async {
        for pair in targets {
            sync_one(ctx, pair, &mut all_ok).await?;
        }
        Ok::<_, CliError>(())
    }
    .await;
    // This process' row in `instances` goes with it, as after `provision run`.
    crate::provisioning::worker::release(&ctx.engine).await;
    result?;
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn sync_one(
    ctx: &App,
    pair: &crate::domain::Access,
    all_ok: &mut bool,
) -> Result<(), CliError> {
    {
        ctx.service
            .as_actor(super::actor::actor())
            .record(
                "sync_now",
                Some(pair.email.clone()),
                Some(serde_json::json!({ "app": pair.app })),
            )
            .await?;
        println!("{} in {}:", pair.email, pair.app);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let engine = ctx.engine.clone();
        let (user, slug) = (pair.user_id, pair.app.clone());
        let run = tokio::spawn(async move { on_demand::sync_pair(&engine, user, &slug, tx).await });
        while let Some(traced) = rx.recv().await {
            let call = &traced.call;
            let answer = call
                .status
                .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
            println!(
                "  {} {} -> {answer} ({} ms, {})",
                call.method,
                output::clean(&call.path),
                call.duration.as_millis(),
                call.operation
            );
            if let Some(e) = &call.error {
                println!("    {}", output::clean(e));
            }
            for (what, body) in [("sent", &traced.sent), ("answer", &traced.answer)] {
                if let Some(body) = body {
                    println!("    {what}:");
                    for line in body.lines() {
                        println!("      {}", output::clean(line));
                    }
                }
            }
        }
        match run.await {
            Ok(Ok(synced)) => {
                *all_ok &= synced.succeeded();
                println!(
                    "  = {}: {}",
                    synced.outcome.replace('_', " "),
                    output::clean(&synced.message)
                );
            }
            Ok(Err(e)) if e.is_usage() => return Err(CliError::usage(e.to_string())),
            Ok(Err(e)) => {
                *all_ok = false;
                println!("  = not synced: {e}");
            }
            Err(e) => return Err(CliError::failure(format!("the sync stopped: {e}"))),
        }
    }
    Ok(())
}
