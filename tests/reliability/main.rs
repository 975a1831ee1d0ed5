//! The promises of a provisioner under concurrent edits, crashes and outages.

#[path = "../support/mod.rs"]
mod support;

mod reliability_concurrency;
mod reliability_crashes;
mod reliability_disk_full;
mod reliability_outages;
mod reliability_quarantine;
