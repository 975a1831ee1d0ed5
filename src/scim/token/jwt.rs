//! HS256 JWTs signed here from a shared secret, as Nextcloud's SCIM app checks them.
//! The signature is the `openidconnect` crate's JOSE HS256 (`CoreHmacKey`), the same
//! crate that verifies the ID tokens of `[sso]`. Header and payload are written here:
//! its whole-token signing (`JsonWebToken::new`) is private, and its one public path,
//! `IdToken::new`, would add `iss`/`aud`/`sub` the app did not ask for and drop `typ`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::PrivateSigningKey as _;
use openidconnect::core::{CoreHmacKey, CoreJwsSigningAlgorithm};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::{Cache, Made, TokenError, sensitive};
use crate::scim::error::ErrorKind;
use crate::secret::Secret;

/// Signs HS256 JWTs with the shared secret.
pub(crate) struct JwtSigner {
    pub(super) secret: Secret,
    pub(super) claims: Map<String, Value>,
    pub(super) ttl: Duration,
    pub(super) cache: Mutex<Cache>,
    pub(super) minted: AtomicU64,
}

impl JwtSigner {
    pub(super) fn sign_now(&self) -> Result<Made, TokenError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        // Neither can fail (HMAC takes any key, base64url is a valid header value);
        // still an error, not a panic, on a job's path.
        let cannot = || TokenError::new(ErrorKind::Permanent, "cannot sign a JWT".into());
        let jwt = mint_hs256(self.secret.expose().as_bytes(), &self.claims, now, self.ttl)
            .ok_or_else(cannot)?;
        let header = sensitive(&format!("Bearer {jwt}")).ok_or_else(cannot)?;
        self.minted.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(ttl_secs = self.ttl.as_secs(), "signed a JWT");
        Ok((header, Secret::new(jwt), Some(self.ttl)))
    }
}

/// An HS256 JWT: `claims` plus `iat = now` and `exp = now + ttl` (seconds since the epoch).
pub fn mint_hs256(
    secret: &[u8],
    claims: &Map<String, Value>,
    now: u64,
    ttl: Duration,
) -> Option<String> {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let mut payload = claims.clone();
    payload.insert("iat".into(), Value::from(now));
    payload.insert("exp".into(), Value::from(now + ttl.as_secs()));
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(payload).to_string());
    let signing_input = format!("{header}.{payload}");
    let signature = CoreHmacKey::new(secret)
        .sign(
            &CoreJwsSigningAlgorithm::HmacSha256,
            signing_input.as_bytes(),
        )
        .ok()?;
    let signature = URL_SAFE_NO_PAD.encode(signature);
    Some(format!("{signing_input}.{signature}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    /// Checks an HS256 JWT as an app would; returns its header and claims.
    fn verify(jwt: &str, secret: &[u8]) -> Result<(Value, Map<String, Value>), &'static str> {
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not three parts");
        };
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| "signature not base64url")?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{h}.{p}").as_bytes());
        mac.verify_slice(&signature).map_err(|_| "bad signature")?;
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|_| "header")?).unwrap();
        let claims: Map<String, Value> =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).map_err(|_| "payload")?).unwrap();
        Ok((header, claims))
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn jwt_verifies_with_the_same_secret_and_carries_the_claims() {
        let jwt = mint_hs256(
            b"shared-s3cr3t",
            &claims(serde_json::json!({"user": "admin", "aud": ["nextcloud"]})),
            1_700_000_000,
            Duration::from_secs(300),
        )
        .unwrap();
        assert!(!jwt.contains('='), "base64url without padding: {jwt}");
        let (header, payload) = verify(&jwt, b"shared-s3cr3t").unwrap();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        assert_eq!(payload["user"], "admin");
        assert_eq!(payload["aud"], serde_json::json!(["nextcloud"]));
        assert_eq!(payload["iat"], 1_700_000_000u64);
        assert_eq!(payload["exp"], 1_700_000_300u64);
        assert_eq!(
            payload["exp"].as_u64().unwrap(),
            payload["iat"].as_u64().unwrap() + 300
        );
    }

    #[test]
    fn jwt_fails_verification_with_another_secret_or_a_changed_payload() {
        let jwt = mint_hs256(
            b"shared-s3cr3t",
            &claims(serde_json::json!({"user": "admin"})),
            1_700_000_000,
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(verify(&jwt, b"another-secret"), Err("bad signature"));
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"user":"root","iat":1700000000,"exp":9999999999}"#);
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), b"shared-s3cr3t"),
            Err("bad signature")
        );
    }

    #[test]
    fn jwt_header_is_the_canonical_hs256_one() {
        let jwt = mint_hs256(b"k", &Map::new(), 0, Duration::from_secs(1)).unwrap();
        // base64url of {"alg":"HS256","typ":"JWT"}, as jwt.io and PyJWT write it.
        assert!(
            jwt.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."),
            "{jwt}"
        );
        let (_, payload) = verify(&jwt, b"k").unwrap();
        assert_eq!(
            Value::Object(payload),
            serde_json::json!({"iat": 0, "exp": 1})
        );
    }
}
