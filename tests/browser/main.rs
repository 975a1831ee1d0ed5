//! End to end in a real browser (the browser tests are ignored unless asked for: they need chromium and chromedriver).

#[path = "../support/mod.rs"]
mod support;

mod base64;
mod browser_app_page;
mod browser_discover;
mod browser_passkeys;
mod browser_phone;
mod browser_reset_link;
mod browser_sso;
mod browser_two_factor;
mod dash;
mod e2e_browser;
