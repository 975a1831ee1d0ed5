//! Helpers shared by the `provisioning` and `pages` benches (harness = false).
//!
//! Each bench uses a subset, hence the blanket `dead_code` allowance.

#![allow(dead_code)]

pub mod env;
pub mod load;
pub mod peer;
pub mod procfs;
pub mod report;
