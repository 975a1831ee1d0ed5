//! End to end in a real browser (the browser test is ignored unless asked for: it needs chromium and chromedriver).

#[path = "../support/mod.rs"]
mod support;

mod base64;
mod e2e_browser;
