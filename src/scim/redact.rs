//! What of an app's text must never be shown or stored: the credentials in use for the
//! app, by value (an app may echo the `Authorization` header it got into any field),
//! anything that reads as an `Authorization` value (`Bearer …`, `Basic …`), and the
//! values of attributes whose names say they hold a secret.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::config::ScimAuth;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";
/// The shortest credential replaced wherever it appears in an app's text.
const MIN_BY_VALUE: usize = 8;

/// Parts of attribute names whose values are never shown (compared lowercased).
const SECRET_NAMES: [&str; 14] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "authorization",
    "credential",
    "bearer",
    "cookie",
    "private",
    "x-api-key",
];

/// How many issued tokens (JWTs, OAuth2 tokens) are remembered: the current one and a few
/// before it, which answers still in flight may echo.
const RECENT_TOKENS: usize = 4;

/// The credentials of one app, to replace wherever its text is kept; cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor {
    // Configured secrets: never change while the client lives.
    fixed: Arc<Vec<String>>,
    // Tokens issued for the app, newest last.
    recent: Arc<Mutex<VecDeque<String>>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor(***)")
    }
}

impl Redactor {
    /// The configured secrets of `auth`, and every form in which they travel.
    pub fn for_auth(auth: &ScimAuth) -> Redactor {
        let fixed = match auth {
            ScimAuth::Bearer(token) => vec![token.expose().to_owned()],
            ScimAuth::Basic { username, password } => {
                let pair = format!("{username}:{}", password.expose());
                vec![STANDARD.encode(&pair), pair, password.expose().to_owned()]
            }
            ScimAuth::Jwt { secret, .. } => vec![secret.expose().to_owned()],
            ScimAuth::OAuth2 { client_secret, .. } => {
                let s = client_secret.expose();
                vec![s.to_owned(), super::client::encode(s)]
            }
            ScimAuth::None => Vec::new(),
        };
        Redactor {
            fixed: Arc::new(fixed.into_iter().filter(|s| !s.is_empty()).collect()),
            recent: Arc::default(),
        }
    }

    /// Remembers a token issued for the app (a JWT signed, an OAuth2 token fetched).
    pub fn remember(&self, token: &str) {
        if token.is_empty() {
            return;
        }
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.back().is_some_and(|t| t == token) {
            return;
        }
        recent.retain(|t| t != token);
        if recent.len() == RECENT_TOKENS {
            recent.pop_front();
        }
        recent.push_back(token.to_owned());
    }

    /// `text` with every credential of the app, and whatever follows `Bearer `/`Basic `,
    /// replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        // Longest first: a password inside the `user:password` pair must not leave the rest.
        // A very short secret (a test's token "t") would be replaced inside every word and
        // inside the marker itself, garbling each message while hiding nothing worth hiding:
        // those are left to the name and `Bearer `/`Basic ` rules.
        let mut secrets: Vec<&String> = self
            .fixed
            .iter()
            .chain(recent.iter())
            .filter(|s| s.chars().count() >= MIN_BY_VALUE && !REDACTED.contains(s.as_str()))
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        drop(recent);
        authorization_values(&out)
    }

    /// A JSON document with secret attributes, `Bearer `/`Basic ` strings and the app's
    /// credentials replaced, at any depth.
    pub fn json(&self, v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, val) in map.iter_mut() {
                    if secret_name(k) {
                        *val = Value::String(REDACTED.into());
                    } else {
                        self.json(val);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.json(i)),
            Value::String(s) => {
                if starts_with_scheme(s) {
                    *s = REDACTED.into();
                } else {
                    let clean = self.text(s);
                    if clean != *s {
                        *s = clean;
                    }
                }
            }
            _ => {}
        }
    }
}

/// True for an attribute name that says its value is a secret.
fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|s| name.contains(s))
}

/// True when `s` reads as an `Authorization` value: `Bearer …` or `Basic …`.
fn starts_with_scheme(s: &str) -> bool {
    let s = s.trim_start().as_bytes();
    [b"bearer ".as_slice(), b"basic ".as_slice()]
        .iter()
        .any(|p| s.len() > p.len() && s[..p.len()].eq_ignore_ascii_case(p))
}

/// `text` with the credential after each `Bearer `/`Basic ` replaced. A plain lowercase
/// word after it is prose ("basic authentication failed") and stays.
fn authorization_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_scheme(rest) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let space = from.find(' ').unwrap_or(from.len());
        let (scheme, after) = from.split_at(space);
        out.push_str(scheme);
        let spaces = after.len() - after.trim_start_matches(' ').len();
        out.push_str(&after[..spaces]);
        let after = &after[spaces..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-._~+/=".contains(c)))
            .unwrap_or(after.len());
        let value = &after[..end];
        let prose = value.len() < 20 && value.bytes().all(|b| b.is_ascii_lowercase());
        out.push_str(if value.is_empty() || prose {
            value
        } else {
            REDACTED
        });
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Where the next `bearer `/`basic ` (any case) starts as a word of its own.
fn find_scheme(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    ["bearer ", "basic "]
        .iter()
        .flat_map(|p| lower.match_indices(p).map(|(i, _)| i))
        .filter(|&i| i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
        .min()
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
