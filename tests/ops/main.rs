//! Operations: the real binary's command line, serve's metrics, logs, signals, backups, secrets and durability.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod cli_adopt;
mod cli_groups;
mod cli_held;
mod cli_invite;
mod cli_scripts;
mod durability;
mod ops_alerts;
mod ops_alerts_outage;
mod ops_alerts_relay;
mod ops_backup;
mod ops_backup_kill;
mod ops_first_run;
mod ops_health;
mod ops_link_logs;
mod ops_metrics_logs;
mod ops_read_only;
mod ops_restore;
mod ops_secrets;
mod ops_shutdown;
mod ops_sso;
