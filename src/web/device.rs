//! Device cookies, after OWASP's "Slow down online guessing attacks with device cookies":
//! a browser that signed in to an account carries a signed cookie naming that account.
//! Its attempts at that account have an allowance of their own and their password checks
//! go ahead of strangers', so a flood of guesses (which locks the account for everybody
//! else) neither locks out nor queues out the rightful admin.
//!
//! The cookie grants no access: it only decides which throttle an attempt counts against.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time::Duration};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::session::random_hex;

/// Name of the device cookie.
pub const COOKIE: &str = "accessboard_device";
/// Its name over HTTPS (see [`super::session::SECURE_COOKIE`]).
pub const SECURE_COOKIE: &str = "__Host-accessboard_device";
/// How long a browser stays known without signing in again.
pub const MAX_AGE_DAYS: i64 = 365;
/// Meta key of the signing key.
pub const KEY_META: &str = "device_cookie_key";

/// The key device cookies are signed with (its own, not the session key).
#[derive(Clone)]
pub struct DeviceKey(Hmac<Sha256>);

/// A valid device cookie of the account being signed in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    nonce: String,
}

impl Device {
    /// The throttle key of this browser's attempts.
    pub fn throttle_key(&self) -> String {
        format!("device:{}", self.nonce)
    }
}

impl DeviceKey {
    /// A key from stored random bytes; `None` for an empty key.
    pub fn new(bytes: &[u8]) -> Option<DeviceKey> {
        if bytes.is_empty() {
            return None;
        }
        <Hmac<Sha256> as Mac>::new_from_slice(bytes)
            .ok()
            .map(DeviceKey)
    }

    fn mac(&self, user: Uuid, nonce: &str) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(format!("device-v1:{user}.{nonce}").as_bytes());
        mac
    }

    /// A new cookie value for `user`: `USER.NONCE.MAC`.
    pub fn issue(&self, user: Uuid) -> String {
        let nonce = random_hex(16);
        let tag: String = self
            .mac(user, &nonce)
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{user}.{nonce}.{tag}")
    }

    /// The device behind `value` when it was issued here for `user`.
    pub fn verify(&self, value: &str, user: Uuid) -> Option<Device> {
        let mut it = value.split('.');
        let (id, nonce, tag) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || Uuid::parse_str(id).ok()? != user || nonce.len() != 32 {
            return None;
        }
        let tag = super::session::from_hex(tag)?;
        self.mac(user, nonce).verify_slice(&tag).ok()?;
        Some(Device {
            nonce: nonce.to_owned(),
        })
    }
}

fn name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}

/// The device cookie's value as sent by the browser.
pub fn read(req: &HttpRequest, secure: bool) -> Option<String> {
    req.cookie(name(secure)).map(|c| c.value().to_owned())
}

/// The cookie carrying `value`: HttpOnly, SameSite=Strict (only sign-in reads it), and
/// `Secure` with the `__Host-` prefix over HTTPS.
pub fn cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name(secure), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(Duration::days(MAX_AGE_DAYS))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_good_for_its_own_account_only_and_cannot_be_forged() {
        let key = DeviceKey::new(&[7; 32]).unwrap();
        let (ada, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let value = key.issue(ada);
        let device = key.verify(&value, ada).unwrap();
        assert!(device.throttle_key().starts_with("device:"));
        assert_eq!(key.verify(&value, bob), None);
        assert_eq!(DeviceKey::new(&[8; 32]).unwrap().verify(&value, ada), None);
        let mut forged = value.clone();
        forged.replace_range(40..41, if &value[40..41] == "0" { "1" } else { "0" });
        assert_eq!(key.verify(&forged, ada), None);
        for junk in ["", "a.b.c", &format!("{ada}..")] {
            assert_eq!(key.verify(junk, ada), None, "{junk:?}");
        }
        assert_ne!(key.issue(ada), value, "each sign-in gets a new nonce");
    }
}
