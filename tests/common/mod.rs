pub mod app;
pub mod http;
pub mod kratos;
pub mod scim_server;
pub mod serve;
