//! Hostile input: parsing, CSV imports, names and bodies at the dashboard.

#[path = "../support/mod.rs"]
mod support;

mod hostile_echoed_credentials;
mod hostile_import_files;
mod hostile_import_random;
mod hostile_parsing;
mod hostile_web_inputs;
mod hostile_web_limits;
mod hostile_web_names;
mod hostile_web_slow;
