//! What the app page's and the phone's browser tests share: `serve` with one SCIM app
//! `chat` installed and a dashboard admin made on the command line, Chromium signed in
//! as them, and waiting on what a script reads from the page.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::env::{BOSS_EMAIL, BOSS_PASSWORD, TestEnv};
use crate::support::serve::Serve;
use crate::support::settings::scim_app;
use crate::support::webdriver::WebDriver;

/// How long a page may take to show a change (see e2e_browser's `SETTLE`).
pub const SETTLE: Duration = Duration::from_secs(60);

/// The browser, the server and its settings; dropped in that order.
pub struct Dash {
    pub b: WebDriver,
    // Runs as long as the test holds the dashboard.
    _serve: Serve,
    pub env: TestEnv,
    pub base: String,
}

impl Dash {
    /// `serve` with the app `chat` at `scim_url` (more `[apps.scim]` lines in `extra`)
    /// installed, and Chromium signed in on the overview.
    pub fn start(scim_url: &str, token: &str, extra: &str) -> Dash {
        let env = TestEnv::new(&scim_app("chat", scim_url, token, extra));
        env.install("chat");
        env.create_boss();
        let serve = Serve::start(&env);
        let base = serve.base();
        let b = WebDriver::start();
        b.goto(&format!("{base}/login"));
        b.fill("#email", BOSS_EMAIL);
        b.fill("#password", BOSS_PASSWORD);
        b.click(&b.find("form[action='/login'] button[type=submit]"));
        b.wait_for_url(|u| u == format!("{base}/"), SETTLE);
        Dash {
            b,
            _serve: serve,
            env,
            base,
        }
    }

    /// Opens `path` on the dashboard.
    pub fn open(&self, path: &str) {
        self.b.goto(&format!("{}{path}", self.base));
    }

    /// Opens `path` again and again until the text of `css` satisfies `pred` (for
    /// parts of a page that are drawn once, like an app's health); returns that text.
    pub fn reload_until(&self, path: &str, css: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + SETTLE;
        loop {
            self.open(path);
            let seen = self.b.try_find(css).ok().flatten().map(|e| self.b.text(&e));
            if let Some(text) = seen.as_deref().filter(|t| pred(t)) {
                return text.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "{path}: {css} never became as expected; last seen {seen:?}; the page:\n{}",
                self.b.source()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The id of the person with `email`, from `user list --json`.
    pub fn id_of(&self, email: &str) -> uuid::Uuid {
        let found = self
            .env
            .users()
            .into_iter()
            .find(|u| u["email"] == email)
            .unwrap_or_else(|| panic!("{email} is not listed"));
        let id = found["id"].as_str().expect("an id");
        uuid::Uuid::parse_str(id).expect("a uuid")
    }
}

/// Runs `script` every 200 ms until `pred` holds for its value; returns that value.
pub fn wait_js(b: &WebDriver, script: &str, pred: impl Fn(&Value) -> bool, what: &str) -> Value {
    let deadline = Instant::now() + SETTLE;
    loop {
        let v = b.execute(script, json!([]));
        if pred(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last seen {v}; the page:\n{}",
            b.source()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The texts of the status badges matching `css`, as a script reads them.
pub fn badge_texts(b: &WebDriver, css: &str) -> Vec<String> {
    let v = b.execute(
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent.trim());",
        json!([css]),
    );
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// How wide the page is laid out, in CSS pixels.
pub fn scroll_width(b: &WebDriver) -> i64 {
    b.execute("return document.documentElement.scrollWidth;", json!([]))
        .as_i64()
        .unwrap_or(i64::MAX)
}
