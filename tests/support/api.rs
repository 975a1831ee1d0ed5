//! The accessboard items the tests (and benches) use, named here once: everything
//! else goes through `support::api::…`, so a move in the library is one edit here.

use std::net::TcpListener;
use std::sync::Arc;

use accessboard::domain::ProvisionStatus;
use accessboard::settings::Settings;

/// Settings, database, queue, service and engine, as every command opens them.
pub use accessboard::app::App as Context;
/// A pair's state on record: `claim` and `finish` a job, and how it settled.
pub use accessboard::pairs;
/// One queued reconcile of a (person, app) pair.
pub use accessboard::pairs::ReconcileJob;
/// An argon2 hash of a dashboard password.
pub use accessboard::users::hash_password;

/// Opens database, queue and service for `settings`; panics with the reason.
pub async fn open(settings: Arc<Settings>) -> Context {
    match Context::open(settings).await {
        Ok(ctx) => ctx,
        Err(e) => panic!("opening accessboard: {e}"),
    }
}

/// The dashboard's HTTP server (no workers) on `listener`, not yet running.
pub fn http_server(ctx: &Context, listener: TcpListener) -> actix_web::dev::Server {
    accessboard::app::http_server(ctx, listener).expect("the dashboard's HTTP server")
}

/// A job's outcome: settled at `status`, with the account id and a message.
pub fn done(status: ProvisionStatus, scim_id: Option<&str>, message: &str) -> pairs::Settle {
    pairs::Settle::Done {
        status,
        scim_id: scim_id.map(str::to_owned),
        message: message.to_owned(),
        delete_at: None,
        user_name: None,
    }
}

/// The job a worker gets for (`user_id`, `app`) at the pair's `due_seq`, due now.
pub fn job(user_id: uuid::Uuid, app: &str, due_seq: i64) -> ReconcileJob {
    ReconcileJob {
        user_id,
        app: app.to_owned(),
        due_seq,
        run_at: None,
    }
}

/// The command line as clap knows it: every command and argument, for their help.
pub fn command_line() -> clap::Command {
    <accessboard::cli::Cli as clap::CommandFactory>::command()
}
