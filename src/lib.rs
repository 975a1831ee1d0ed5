//! accessboard: a self-hosted admin dashboard that provisions people into apps over SCIM 2.0.

pub mod alerts;
pub mod app;
pub mod cli;
pub mod db;
pub mod domain;
pub mod health;
pub mod identity;
pub mod mail;
pub mod metrics;
pub mod pairs;
pub mod provisioning;
pub mod scim;
pub mod secret;
pub mod settings;
pub mod supervise;
pub mod telemetry;
pub mod users;
pub mod web;
