pub mod app;
pub mod hostile;
pub mod http;
pub mod kratos;
pub mod ops;
pub mod reliability;
pub mod scim_server;
pub mod serve;
