//! Codes of an authenticator app, computed in the test (RFC 6238: SHA-1, 6 digits,
//! 30 s steps) from the key the enrolment page shows.

use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The code of `key` (base32) at `unix` seconds.
pub fn code(key: &str, unix: u64) -> String {
    let secret = Secret::Encoded(key.to_owned()).to_bytes().unwrap();
    TOTP::new(Algorithm::SHA1, 6, 1, 30, secret)
        .unwrap()
        .generate(unix)
}

/// The text of the first element with `id` on the page (`<… id="ID">TEXT<`).
pub fn text_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')?;
    Some(rest[start..start + end].to_owned())
}
