//! The dashboard's pages, one file per job.

pub mod account;
pub mod activity;
pub mod app_confirm;
pub mod app_detail;
pub mod app_health;
pub mod app_page;
pub mod app_pause;
pub mod app_test;
pub mod apps;
pub mod audit;
pub mod bulk;
mod bulk_groups;
pub mod discover;
mod discover_list;
pub mod events;
pub mod group_confirm;
pub mod group_edit;
pub mod group_page;
pub mod groups;
pub mod import;
pub mod overview;
mod overview_attention;
pub mod passkeys;
pub mod person;
pub mod rails;
pub mod recovery;
pub mod user_delete;
pub mod user_form;
mod user_form_fields;
pub mod user_invite;
pub mod user_page;
pub mod user_sessions;
mod user_values;
pub mod users;

/// Rows per page on every list.
pub const PER_PAGE: usize = 50;
