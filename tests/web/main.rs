//! The dashboard in process: sign-in, people, apps, import.

#[path = "../support/mod.rs"]
mod support;

mod web_apps;
mod web_auth;
mod web_bulk;
mod web_dashboard;
mod web_discover;
mod web_groups;
mod web_import;
mod web_mail_links;
mod web_messages;
mod web_overview;
mod web_passkeys;
mod web_people;
mod web_rails;
mod web_reauth;
mod web_reset_links;
mod web_sessions;
mod web_sign_in;
mod web_sign_in_links;
mod web_sso;
mod web_sso_confirm;
mod web_sso_forged;
mod web_sso_rules;
mod web_two_factor;
mod web_users;
