//! The accessboard items the tests (and benches) use that are about to move,
//! named here once: everything else goes through `support::api::…`, so each
//! move is one edit in this file:
//!
//! - `cli::Context` becomes `app::App`: `pub use accessboard::app::App as Context;`
//!   (`http_server` keeps its shape; in `open`, `AppError` is shown with `{e}`
//!   where `CliError` needed `e.message`);
//! - `provisioning::state` becomes `pairs`: `pub use accessboard::pairs;`, and
//!   in `done` the status goes in as it is, without `as_str()`;
//! - `provisioning::queue` becomes `pairs::queue`;
//! - `web::auth::hash_password` becomes `users::hash_password`.

use std::net::TcpListener;
use std::sync::Arc;

use accessboard::domain::ProvisionStatus;
use accessboard::settings::Settings;

/// Settings, database, queue and service, as every command opens them.
pub use accessboard::cli::Context;
/// One queued reconcile of a (person, app) pair.
pub use accessboard::provisioning::queue::ReconcileJob;
/// A pair's state on record: `claim` and `finish` a job, and how it settled.
pub use accessboard::provisioning::state as pairs;
/// An argon2 hash of a dashboard password.
pub use accessboard::web::auth::hash_password;

/// Opens database, queue and service for `settings`; panics with the reason.
pub async fn open(settings: Arc<Settings>) -> Context {
    match Context::open(settings).await {
        Ok(ctx) => ctx,
        Err(e) => panic!("opening accessboard: {}", e.message),
    }
}

/// The dashboard's HTTP server (no workers) on `listener`, not yet running.
pub fn http_server(ctx: &Context, listener: TcpListener) -> actix_web::dev::Server {
    accessboard::startup::http_server(ctx, listener).expect("the dashboard's HTTP server")
}

/// A job's outcome: settled at `status`, with the account id and a message.
pub fn done(status: ProvisionStatus, scim_id: Option<&str>, message: &str) -> pairs::Settle {
    pairs::Settle::Done {
        status: status.as_str(),
        scim_id: scim_id.map(str::to_owned),
        message: message.to_owned(),
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
