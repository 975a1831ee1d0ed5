//! Runs the application: the HTTP server on a listener, and `serve` with provisioning
//! beside it until a signal.

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use actix_web::{HttpServer, dev::Server};

use super::App;
use crate::provisioning;
use crate::settings::Settings;
use crate::web::WebApp;

/// The longest a request's head may take to arrive (its body's time is in `web::csrf`).
pub const HEAD_READ_TIME: Duration = Duration::from_secs(10);
/// How long a connection is kept for a client to read the last answer before it closes.
const DISCONNECT_TIME: Duration = Duration::from_secs(5);
/// Connections open at once, per worker thread: an admin dashboard needs few, and a flood
/// of idle ones must not exhaust file descriptors (actix's default is 25,000).
pub const MAX_CONNECTIONS: usize = 512;

/// Starts the HTTP server on `listener` (tests pass port 0) and returns it un-awaited.
///
/// Reads (or on first start creates) the session key from the database.
pub fn http_server(app: &App, listener: TcpListener) -> std::io::Result<Server> {
    let dashboard = WebApp::new(app).map_err(|e| std::io::Error::other(e.to_string()))?;
    let server = HttpServer::new(move || dashboard.clone().app())
        .client_request_timeout(HEAD_READ_TIME)
        .client_disconnect_timeout(DISCONNECT_TIME)
        .max_connections(MAX_CONNECTIONS)
        .listen(listener)?
        .shutdown_timeout(10)
        .disable_signals()
        .run();
    Ok(server)
}

/// How long in-flight SCIM jobs may take to finish after SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Why `serve` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// `accessboard serve`: the dashboard, workers and sweeper until SIGTERM/SIGINT.
pub async fn serve(app: App) -> Result<(), ServeError> {
    // Listen before anything starts: a SIGTERM during start-up (the setup link's
    // password hash takes a while) must stop cleanly, not kill the process.
    let mut signals = Signals::listen();
    let bind = app.settings.server.bind.clone();
    let listener = TcpListener::bind(&bind).map_err(|source| ServeError::Bind {
        bind: bind.clone(),
        source,
    })?;
    if app.settings.server.secure_cookies == Some(false)
        && app.settings.server.public_url_is_https()
    {
        tracing::warn!(
            "server.secure_cookies = false although server.public_url is https: the session cookie may travel in clear"
        );
    }
    let engine = app.engine.clone();
    let (stop, tasks) = provisioning::spawn(engine.clone(), app.service.clone());
    // Its own task: provisioning never waits on an alert channel.
    let alerts = crate::alerts::spawn(
        app.service.db().clone(),
        app.settings.clone(),
        stop.subscribe(),
        engine.health.clone(),
    );
    let server = http_server(&app, listener)?;
    let handle = server.handle();
    // Every app of the catalogue, and of them those provisioned over SCIM (the
    // engine's targets): counting only the latter read `apps=0` beside listed apps.
    tracing::info!(
        bind = %bind,
        url = %app.settings.server.public_url,
        apps = app.settings.apps.len(),
        scim_apps = engine.targets.len(),
        "accessboard is serving"
    );
    let http = tokio::spawn(server);
    match crate::web::ensure_setup_link(&app.service).await {
        // The one place a secret is printed, on purpose: it is how the first admin gets in.
        Ok(Some(link)) => tracing::warn!(
            "no dashboard admin yet; open this link within the hour to create one: {link}"
        ),
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, "could not create the setup link; use `accessboard user set-password`")
        }
    }

    signals.recv().await;
    tracing::info!("shutting down: no new requests; letting in-flight jobs finish");
    // A second signal exits at once.
    tokio::spawn(async move {
        signals.recv().await;
        tracing::warn!("second signal: exiting now");
        std::process::exit(130);
    });
    let _ = stop.send(true);
    handle.stop(true).await;
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, futures::future::join_all(tasks)).await;
    if drained.is_err() {
        tracing::warn!(
            "jobs still running after {}s; releasing them for the next start",
            DRAIN_TIMEOUT.as_secs()
        );
    }
    provisioning::worker::release(&engine).await;
    if let Some(alerts) = alerts {
        // It stops at the switch, dropping a send in flight (sent again at the next start).
        let _ = alerts.await;
    }
    let _ = http.await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM and SIGINT (Ctrl-C), listened to for the whole life of `serve`.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Installs the handlers; from here on a signal is delivered, not fatal.
    fn listen() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                streams: signal(SignalKind::terminate())
                    .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)))
                    .ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// Waits for the next signal.
    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some((term, int)) = &mut self.streams {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
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
            let status = r.status();
            // /healthz says why in one line; a stranger's page could say anything, so
            // only the first line, and only printable characters of it.
            let why: String = r
                .text()
                .await
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect();
            match why.trim() {
                "" => eprintln!("accessboard: {base} answered {status}"),
                why => eprintln!("accessboard: {base} answered {status}: {why}"),
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("accessboard: {base} is not answering: {e}");
            ExitCode::from(1)
        }
    }
}
