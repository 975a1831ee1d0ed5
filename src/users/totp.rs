//! The TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s steps) and its recovery
//! codes; pure, no I/O. The codes come from `totp-rs`; which step a code matches is
//! decided here so that a code already taken (the same step) can be refused.

use rand::Rng;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per time step.
pub const STEP: u64 = 30;
/// How many recovery codes an enrolment makes.
pub const RECOVERY_CODES: usize = 10;
const DIGITS: usize = 6;
/// Letters and digits that cannot be mistaken for each other when typed from paper.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

fn totp(secret: &[u8]) -> Option<TOTP> {
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP, secret.to_vec()).ok()
}

/// A new random secret: 160 bits, as RFC 4226 recommends.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; 20];
    rand::rng().fill(&mut bytes[..]);
    bytes
}

/// The secret as authenticator apps take it by hand: base32 without padding.
pub fn encoded(secret: &[u8]) -> String {
    match Secret::Raw(secret.to_vec()).to_encoded() {
        Secret::Encoded(s) => s.trim_end_matches('=').to_owned(),
        Secret::Raw(_) => String::new(),
    }
}

/// The stored (base32) secret as bytes; `None` when it is not base32.
pub fn decode(stored: &str) -> Option<Vec<u8>> {
    Secret::Encoded(stored.to_owned()).to_bytes().ok()
}

/// The `otpauth://` URI the QR code carries.
pub fn otpauth_uri(secret: &[u8], account: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "otpauth://totp/accessboard:{}?secret={}&issuer=accessboard&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(account),
        encoded(secret)
    )
}

/// The time step of `unix` seconds.
pub fn step_of(unix: u64) -> u64 {
    unix / STEP
}

/// The step `code` belongs to, within one step either way of `now` (clocks drift);
/// compared in constant time.
pub fn matching_step(secret: &[u8], code: &str, now: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret)?;
    let current = step_of(now);
    let mut found = None;
    // Every candidate is computed and compared, whichever matches.
    for step in [current.saturating_sub(1), current, current + 1] {
        let expected = totp.generate(step * STEP);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether typed text is shaped like a TOTP code (else it may be a recovery code).
pub fn looks_like_code(typed: &str) -> bool {
    let t: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() == DIGITS && t.chars().all(|c| c.is_ascii_digit())
}

/// Ten new recovery codes, `xxxx-xxxx-xxxx` (about 59 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: Vec<char> = (0..12)
                .map(|_| RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            format!(
                "{}-{}-{}",
                chars[..4].iter().collect::<String>(),
                chars[4..8].iter().collect::<String>(),
                chars[8..].iter().collect::<String>()
            )
        })
        .collect()
}

/// What is stored of a recovery code: the SHA-256 of it as typed without case,
/// spaces or dashes. The codes are random and long, so a fast hash suffices.
pub fn recovery_hash(typed: &str) -> String {
    let norm: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(norm.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_6238_vector_matches_its_step_and_no_other() {
        // RFC 6238 appendix B, SHA-1: the secret "12345678901234567890", T = 59 s.
        let secret = b"12345678901234567890";
        assert_eq!(matching_step(secret, "287082", 59), Some(1));
        assert_eq!(matching_step(secret, "287 082", 59 + 30), Some(1));
        assert_eq!(matching_step(secret, "287082", 59 + 90), None);
        assert_eq!(matching_step(secret, "28708", 59), None);
        assert_eq!(decode(&encoded(secret)).as_deref(), Some(&secret[..]));
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_as_typed_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let c = &codes[0];
        assert_eq!(
            recovery_hash(c),
            recovery_hash(&c.to_uppercase().replace('-', " "))
        );
        assert!(!looks_like_code(c));
    }
}
