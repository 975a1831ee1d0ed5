//! A tiny W3C WebDriver client for tests: starts `chromedriver` on a loopback
//! port, opens one headless Chromium session, and offers the few commands a
//! test needs. Blocking on the outside (it owns a small tokio runtime), reqwest
//! and serde_json on the inside; no WebDriver crate.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::base64::base64_decode;
use super::net::free_port;

/// The key W3C WebDriver uses for element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Where Debian puts the browser and its driver.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A WebDriver error answer (`error` is the W3C code, e.g. `no such element`).
#[derive(Debug, Clone)]
pub struct WdError {
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

/// A found element (its WebDriver reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(pub String);

/// chromedriver plus one browser session; both end on drop.
pub struct WebDriver {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
    // The browser profile lives as long as the session.
    _profile: tempfile::TempDir,
}

/// Whether both Debian packages are installed.
pub fn available() -> bool {
    Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()
}

impl WebDriver {
    /// Starts chromedriver and a headless Chromium session.
    pub fn start() -> WebDriver {
        assert!(
            available(),
            "the browser test needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install chromium chromium-driver"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime for the WebDriver client");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .expect("reqwest client");
        let profile = tempfile::tempdir().expect("browser profile dir");
        let mut last = String::new();
        // Another process may take the port between the probe and chromedriver's bind.
        for _ in 0..3 {
            let port = free_port();
            let mut driver = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn chromedriver");
            let base = format!("http://127.0.0.1:{port}");
            if !wait_driver_ready(&rt, &http, &base, &mut driver, Duration::from_secs(20)) {
                let _ = driver.kill();
                let _ = driver.wait();
                last = format!("chromedriver did not answer on port {port}");
                continue;
            }
            let caps = json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-dev-shm-usage",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        format!("--user-data-dir={}", profile.path().display()),
                        "--window-size=1280,900",
                    ]
                }
            }}});
            let answer = rt.block_on(send(
                &http,
                reqwest::Method::POST,
                &format!("{base}/session"),
                Some(&caps),
            ));
            match answer {
                Ok(v) => {
                    let session = v["sessionId"]
                        .as_str()
                        .expect("new session answer without sessionId")
                        .to_owned();
                    return WebDriver {
                        rt,
                        http,
                        base,
                        session,
                        driver,
                        _profile: profile,
                    };
                }
                Err(e) => {
                    let _ = driver.kill();
                    let _ = driver.wait();
                    last = format!("new session failed: {e}");
                }
            }
        }
        panic!("could not start a browser session: {last}");
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    /// One command; the answer's `value`, or the WebDriver error.
    pub fn cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, WdError> {
        let url = self.url(path);
        self.rt.block_on(send(&self.http, method, &url, body))
    }

    fn get(&self, path: &str) -> Value {
        self.cmd(reqwest::Method::GET, path, None)
            .unwrap_or_else(|e| panic!("WebDriver GET {path}: {e}"))
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.cmd(reqwest::Method::POST, path, Some(&body))
            .unwrap_or_else(|e| panic!("WebDriver POST {path}: {e}"))
    }

    /// Adds Chromium's virtual authenticator (WebDriver's WebAuthn extension): a CTAP2
    /// device with resident keys and user verification that always says yes; its id.
    pub fn add_virtual_authenticator(&self) -> String {
        let v = self.post(
            "/webauthn/authenticator",
            serde_json::json!({
                "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
                "hasUserVerification": true, "isUserVerified": true,
            }),
        );
        v.as_str().unwrap_or_default().to_owned()
    }

    /// The credentials the virtual authenticator `id` holds.
    pub fn authenticator_credentials(&self, id: &str) -> Vec<Value> {
        let v = self.get(&format!("/webauthn/authenticator/{id}/credentials"));
        v.as_array().cloned().unwrap_or_default()
    }

    /// Opens a URL and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url }));
    }

    /// The URL the browser shows.
    pub fn current_url(&self) -> String {
        self.get("/url").as_str().unwrap_or_default().to_owned()
    }

    /// The page's title.
    pub fn title(&self) -> String {
        self.get("/title").as_str().unwrap_or_default().to_owned()
    }

    /// The page's current markup.
    pub fn source(&self) -> String {
        self.get("/source").as_str().unwrap_or_default().to_owned()
    }

    /// The first element matching a CSS selector, or None.
    pub fn try_find(&self, css: &str) -> Result<Option<Element>, WdError> {
        let body = json!({"using": "css selector", "value": css});
        match self.cmd(reqwest::Method::POST, "/element", Some(&body)) {
            Ok(v) => Ok(Some(element_of(&v))),
            Err(e) if e.error == "no such element" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The first element matching a CSS selector; panics (with the page) if there is none.
    pub fn find(&self, css: &str) -> Element {
        match self.try_find(css) {
            Ok(Some(el)) => el,
            Ok(None) => panic!(
                "no element matches {css:?} on {}; the page:\n{}",
                self.current_url(),
                self.source()
            ),
            Err(e) => panic!("finding {css:?}: {e}"),
        }
    }

    /// Every element matching a CSS selector.
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self.post("/elements", json!({"using": "css selector", "value": css}));
        v.as_array()
            .map(|a| a.iter().map(element_of).collect())
            .unwrap_or_default()
    }

    /// Clicks an element (and waits for a navigation it starts).
    pub fn click(&self, el: &Element) {
        self.post(&format!("/element/{}/click", el.0), json!({}));
    }

    /// Empties a text field.
    pub fn clear(&self, el: &Element) {
        self.post(&format!("/element/{}/clear", el.0), json!({}));
    }

    /// Types into an element.
    pub fn send_keys(&self, el: &Element, text: &str) {
        self.post(&format!("/element/{}/value", el.0), json!({ "text": text }));
    }

    /// Empties a field, then types into it.
    pub fn fill(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.clear(&el);
        self.send_keys(&el, text);
    }

    /// The rendered text of an element.
    pub fn text(&self, el: &Element) -> String {
        self.get(&format!("/element/{}/text", el.0))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// An attribute of an element (None when absent).
    pub fn attribute(&self, el: &Element, name: &str) -> Option<String> {
        self.get(&format!("/element/{}/attribute/{name}", el.0))
            .as_str()
            .map(str::to_owned)
    }

    /// Runs a script in the page (WebDriver scripts are not subject to the page's CSP).
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
    }

    /// Polls every 200 ms until the element matching `css` exists and its text
    /// satisfies `pred`; returns that text. Panics after `timeout` with the last text seen.
    pub fn wait_for(&self, css: &str, pred: impl Fn(&str) -> bool, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut last: Option<String> = None;
        loop {
            // The element may be swapped out between finding and reading it (htmx): just retry.
            let seen = match self.try_find(css) {
                Ok(Some(el)) => self
                    .cmd(
                        reqwest::Method::GET,
                        &format!("/element/{}/text", el.0),
                        None,
                    )
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned)),
                Ok(None) => None,
                Err(e) => panic!("waiting for {css:?}: {e}"),
            };
            if let Some(text) = &seen
                && pred(text)
            {
                return text.clone();
            }
            if seen.is_some() {
                last = seen;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {css:?} on {}; last text: {last:?}; the page:\n{}",
                    self.current_url(),
                    self.source()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Polls every 200 ms until the browser's URL satisfies `pred`; returns it.
    pub fn wait_for_url(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let url = self.current_url();
            if pred(&url) {
                return url;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for the URL; it is {url}; the page:\n{}",
                    self.source()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A PNG of the viewport, written to `path`; returns the bytes.
    pub fn screenshot(&self, path: &Path) -> Vec<u8> {
        let v = self.get("/screenshot");
        let png = base64_decode(v.as_str().expect("screenshot answer is not a string"))
            .expect("screenshot answer is not base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create the screenshot folder");
        }
        std::fs::write(path, &png).expect("write the screenshot");
        png
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let http = self.http.clone();
        let _ = self.rt.block_on(async move {
            tokio::time::timeout(
                Duration::from_secs(10),
                send(&http, reqwest::Method::DELETE, &url, None),
            )
            .await
        });
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn element_of(v: &Value) -> Element {
    Element(
        v[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("not an element reference: {v}"))
            .to_owned(),
    )
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
) -> Result<Value, WdError> {
    let mut req = http.request(method, url);
    if let Some(b) = body {
        req = req.json(b);
    }
    let transport = |e: reqwest::Error| WdError {
        error: "transport".into(),
        message: e.to_string(),
    };
    let resp = req.send().await.map_err(transport)?;
    let status = resp.status();
    let v: Value = resp.json().await.map_err(transport)?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        Ok(value)
    } else {
        Err(WdError {
            error: value["error"]
                .as_str()
                .unwrap_or("unknown error")
                .to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

fn wait_driver_ready(
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    base: &str,
    driver: &mut Child,
    limit: Duration,
) -> bool {
    let deadline = Instant::now() + limit;
    let status = format!("{base}/status");
    while Instant::now() < deadline {
        if let Ok(Some(_)) = driver.try_wait() {
            return false;
        }
        if let Ok(v) = rt.block_on(send(http, reqwest::Method::GET, &status, None))
            && v["ready"].as_bool().unwrap_or(false)
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
