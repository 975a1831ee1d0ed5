//! What the integration tests share: throwaway settings and databases, the real
//! binary, fake and real peers (SCIM, Kratos), and a dashboard client.
//!
//! Every test binary (`tests/<area>/main.rs`) includes this one tree with
//! `#[path = "../support/mod.rs"] mod support;`, and no binary uses all of it;
//! hence this one allowance instead of one per item.
#![allow(dead_code)]

pub mod dash;
pub mod env;
pub mod hostile;
pub mod http;
pub mod kratos;
pub mod ops;
pub mod reliability;
pub mod scim_server;
pub mod serve;
