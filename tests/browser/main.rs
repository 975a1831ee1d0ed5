//! End to end in a real browser (ignored unless chromium and chromedriver are installed).

#[path = "../support/mod.rs"]
mod support;

mod e2e_browser;
mod webdriver;
