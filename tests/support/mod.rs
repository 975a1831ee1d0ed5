//! What the integration tests share: throwaway settings and databases, the real
//! binary and `serve`, the dashboard in process and one client for it, the
//! peers accessboard talks to (a real SCIM server, a fake Kratos), and a
//! WebDriver client for the browser test.
//!
//! Every test binary (`tests/<area>/main.rs`) includes this one tree with
//! `#[path = "../support/mod.rs"] mod support;`, and no binary uses all of it;
//! hence this one allowance instead of one per item.
#![allow(dead_code)]

pub mod api;
pub mod app;
pub mod axe;
pub mod base64;
pub mod browser;
pub mod db;
pub mod env;
pub mod hostile;
pub mod kratos;
pub mod net;
pub mod passkey;
pub mod real_apps;
pub mod relay;
pub mod scim_server;
pub mod serve;
pub mod settings;
pub mod smtp;
pub mod standins;
pub mod totp;
pub mod webdriver;
pub mod webhook;
