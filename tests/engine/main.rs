//! The engine: SCIM client, reconcile, the user service, provisioning through the CLI, Kratos.

#[path = "../support/mod.rs"]
mod support;

mod deletion;
mod dialects;
mod discover;
mod discovery;
mod events;
mod kratos;
mod pace;
mod proof;
mod provisioning;
mod provisioning_faults;
mod pushed_groups;
mod rails;
mod rate_limits;
mod real_servers;
mod reconcile;
mod scim_auth;
mod scim_client;
mod untrusted;
mod user_service;
