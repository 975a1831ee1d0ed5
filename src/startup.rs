//! Builds the running application: HTTP server plus provisioning, on a given listener.

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use actix_web::{HttpServer, dev::Server};

use crate::cli::Context;
use crate::settings::Settings;
use crate::web::WebApp;

/// Starts the HTTP server on `listener` (tests pass port 0) and returns it un-awaited.
///
/// Reads (or on first start creates) the session key from the database.
pub fn http_server(ctx: &Context, listener: TcpListener) -> std::io::Result<Server> {
    let dashboard = WebApp::new(ctx.service.clone(), Some(ctx.queue.clone()))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let server = HttpServer::new(move || dashboard.clone().app().wrap(tracing_actix()))
        .listen(listener)?
        .shutdown_timeout(10)
        .disable_signals()
        .run();
    Ok(server)
}

fn tracing_actix() -> actix_web::middleware::Logger {
    actix_web::middleware::Logger::new("%r %s %Dms")
}

/// `accessboard serve`: the dashboard, workers and sweeper until SIGTERM/SIGINT.
pub async fn serve(ctx: Context) -> std::io::Result<()> {
    let listener = TcpListener::bind(&ctx.settings.server.bind)?;
    tracing::info!(bind = %ctx.settings.server.bind, url = %ctx.settings.server.public_url, "accessboard is serving");
    let server = http_server(&ctx, listener)?;
    server.await
}

/// `accessboard healthcheck`: GET /healthz on the local server.
pub async fn healthcheck(settings: &Settings, url: Option<String>) -> ExitCode {
    let base = url.unwrap_or_else(|| {
        let bind = settings
            .server
            .bind
            .replace("0.0.0.0", "127.0.0.1")
            .replace("[::]", "[::1]");
        format!("http://{bind}")
    });
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(_) => return ExitCode::from(1),
    };
    match client
        .get(format!("{}/healthz", base.trim_end_matches('/')))
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => ExitCode::SUCCESS,
        Ok(r) => {
            eprintln!("accessboard: {base} answered {}", r.status());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("accessboard: {base} is not answering: {e}");
            ExitCode::from(1)
        }
    }
}
