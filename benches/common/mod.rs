//! Helpers shared by the `provisioning` and `pages` benches (harness = false).
//!
//! Each bench uses a subset (also of the re-exports in the tests' api.rs), hence
//! the blanket `dead_code` and `unused_imports` allowance.

#![allow(dead_code, unused_imports)]

pub mod discover;
pub mod env;
pub mod groups;
pub mod listing;
pub mod load;
pub mod pace;
pub mod peer;
pub mod procfs;
pub mod report;

// Shared with the tests, file for file: the accessboard API that is moving,
// loopback ports, the real SCIM server, and the one settings.toml builder.
#[path = "../../tests/support/api.rs"]
pub mod api;
#[path = "../../tests/support/net.rs"]
pub mod net;
#[path = "../../tests/support/real_apps.rs"]
pub mod real_apps;
#[path = "../../tests/support/scim_server.rs"]
pub mod scim_server;
#[path = "../../tests/support/settings.rs"]
pub mod settings;
#[path = "../../tests/support/standins.rs"]
pub mod standins;
