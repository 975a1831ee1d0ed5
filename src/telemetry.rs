//! Log setup: text or JSON lines on stderr, `RUST_LOG` overriding `[log] level`.

use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber; `quiet` lowers the default to warnings (CLI commands).
pub fn init(log: &LogSettings, quiet: bool) {
    let default = if quiet { "warn" } else { log.level.as_str() };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // Our own spans at the configured level; chatty dependencies at warn.
        EnvFilter::try_new(format!("warn,accessboard={default},actix_web=info"))
            .unwrap_or_else(|_| EnvFilter::new("info"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match log.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.with_target(false).try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
