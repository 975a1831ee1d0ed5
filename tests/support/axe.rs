//! axe-core, the accessibility engine, run inside the browser test's pages.
//!
//! Nothing of axe is committed: the pinned npm tarball is downloaded once into
//! `target/axe-core-VERSION/` (like the Python venvs), checked against the
//! registry's published SHA-512, unpacked with `tar`, and injected into each
//! page over WebDriver (WebDriver scripts are not subject to the page's CSP).
//! Also here: the phone and desktop viewports and the sideways-overflow check.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use super::webdriver::WebDriver;

/// The axe-core release the tests run, and its npm `dist.integrity`.
const VERSION: &str = "4.11.1";
const INTEGRITY: &str = "sha512-BASOg+YwO2C+346x3LZOeoovTIoTrRqEsqMa6fmfAV0P+U9mFr9NsyOEpiYvFjbc64NMrSswhV50WdXzdb/Z5A==";

/// The widths every page is checked at: a desktop and a phone (iPhone 12–15: 390 px).
pub const WIDTHS: [u32; 2] = [1280, 390];

fn target_dir() -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "target"].iter().collect()
}

/// axe.min.js, downloaded and verified on first use.
pub fn source() -> String {
    let dir = target_dir().join(format!("axe-core-{VERSION}"));
    let script = dir.join("package").join("axe.min.js");
    if !script.exists() {
        install(&dir);
    }
    std::fs::read_to_string(&script).unwrap_or_else(|e| panic!("read {}: {e}", script.display()))
}

fn install(dir: &Path) {
    std::fs::create_dir_all(dir).expect("create the axe-core folder");
    let url = format!("https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let tarball = rt
        .block_on(async {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()?;
            client
                .get(&url)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await
        })
        .unwrap_or_else(|e| panic!("download {url}: {e}"));
    let digest = Sha512::digest(&tarball);
    let got = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    );
    assert_eq!(
        got, INTEGRITY,
        "{url} is not the published axe-core {VERSION}"
    );
    let file = dir.join("axe-core.tgz");
    std::fs::write(&file, &tarball).expect("write the axe-core tarball");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&file)
        .arg("-C")
        .arg(dir)
        .arg("package/axe.min.js")
        .arg("package/LICENSE")
        .status()
        .expect("run tar");
    assert!(status.success(), "tar could not unpack {}", file.display());
}

/// Sets the page's viewport to `width` px (the phone width emulates a touch screen too).
pub fn set_width(b: &WebDriver, width: u32) {
    let params = json!({
        "width": width,
        "height": if width < 600 { 844 } else { 900 },
        "deviceScaleFactor": 1,
        "mobile": width < 600,
    });
    b.cmd(
        reqwest::Method::POST,
        "/goog/cdp/execute",
        Some(&json!({ "cmd": "Emulation.setDeviceMetricsOverride", "params": params })),
    )
    .unwrap_or_else(|e| panic!("set the viewport to {width} px: {e}"));
}

/// How many pixels the page scrolls sideways (0 when it fits).
pub fn overflow(b: &WebDriver) -> i64 {
    let v = b.execute(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        json!([]),
    );
    v.as_i64().unwrap_or(0)
}

/// Runs axe on the current page; returns its serious and critical violations, readable.
pub fn serious_violations(b: &WebDriver, axe: &str) -> Vec<String> {
    b.cmd(
        reqwest::Method::POST,
        "/timeouts",
        Some(&json!({ "script": 120_000 })),
    )
    .expect("set the script timeout");
    b.execute(&format!("{axe}\n;return typeof axe;"), json!([]));
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, { resultTypes: ['violations'] })
          .then(r => done(r.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at '
              + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
          .catch(e => done(['axe failed: ' + e]));
    "#;
    let v = b
        .cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(&json!({ "script": script, "args": [] })),
        )
        .unwrap_or_else(|e| panic!("run axe: {e}"));
    match v {
        Value::Array(list) => list
            .into_iter()
            .map(|x| x.as_str().unwrap_or_default().to_owned())
            .collect(),
        other => vec![format!("axe answered {other}")],
    }
}

/// Checks the current page at both widths: no sideways scroll, no serious or
/// critical axe violation; a screenshot of each under `target/e2e/`. Returns
/// what failed (empty when the page passes), so one run reports every page.
pub fn check_page(b: &WebDriver, axe: &str, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for width in WIDTHS {
        set_width(b, width);
        let path = target_dir().join("e2e").join(format!("{name}-{width}.png"));
        b.screenshot(&path);
        let over = overflow(b);
        if over > 0 {
            problems.push(format!(
                "{name} at {width} px scrolls sideways by {over} px"
            ));
        }
        for v in serious_violations(b, axe) {
            problems.push(format!("{name} at {width} px: {v}"));
        }
    }
    set_width(b, WIDTHS[0]);
    problems
}
