pub mod app;
pub mod scim_server;
