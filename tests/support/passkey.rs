//! A software authenticator for the web tests: a P-256 key that answers WebAuthn
//! options as a browser would send them (JSON), with "none" attestation, in the
//! canonical CBOR webauthn_rp insists on. The browser tests use Chromium's virtual
//! authenticator instead.

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn base64url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// One authenticator holding one credential.
pub struct SoftKey {
    key: SigningKey,
    /// The credential id.
    pub id: Vec<u8>,
    rp_id: String,
    origin: String,
}

fn bytes(out: &mut Vec<u8>, major: u8, b: &[u8]) {
    let len = b.len();
    if len < 24 {
        out.push(major | len as u8);
    } else if len < 256 {
        out.extend([major | 24, len as u8]);
    } else {
        out.push(major | 25);
        out.extend((len as u16).to_be_bytes());
    }
    out.extend(b);
}

/// The challenge of options as the server sends them.
pub fn challenge_of(options: &str) -> String {
    let v: Value = serde_json::from_str(options).expect("options are JSON");
    let pk = if v.get("publicKey").is_some() {
        &v["publicKey"]
    } else {
        &v
    };
    pk["challenge"].as_str().expect("a challenge").to_owned()
}

impl SoftKey {
    /// A key from `seed` (1..=255), for the dashboard at `origin` (RP ID `rp_id`).
    pub fn new(seed: u8, rp_id: &str, origin: &str) -> SoftKey {
        let mut secret = [7u8; 32];
        secret[0] = seed;
        SoftKey {
            key: SigningKey::from_bytes(&secret.into()).expect("a valid P-256 key"),
            id: vec![seed; 16],
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
        }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        format!(
            r#"{{"type":"{kind}","challenge":"{challenge}","origin":"{}","crossOrigin":false}}"#,
            self.origin
        )
        .into_bytes()
    }

    fn auth_data(&self, flags: u8, counter: u32) -> Vec<u8> {
        let mut a = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        a.push(flags);
        a.extend(counter.to_be_bytes());
        a
    }

    /// The registration the browser would post for creation `options`.
    pub fn registration(&self, options: &str) -> String {
        let client_data = self.client_data("webauthn.create", &challenge_of(options));
        let mut auth = self.auth_data(0x41, 0);
        auth.extend([0u8; 16]);
        auth.extend((self.id.len() as u16).to_be_bytes());
        auth.extend(&self.id);
        let point = self.key.verifying_key().to_encoded_point(false);
        auth.extend([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]);
        bytes(&mut auth, 0x40, &point.x().expect("x")[..]);
        auth.push(0x22);
        bytes(&mut auth, 0x40, &point.y().expect("y")[..]);
        let mut att = vec![0xa3];
        bytes(&mut att, 0x60, b"fmt");
        bytes(&mut att, 0x60, b"none");
        bytes(&mut att, 0x60, b"attStmt");
        att.push(0xa0);
        bytes(&mut att, 0x60, b"authData");
        bytes(&mut att, 0x40, &auth);
        json!({
            "id": base64url(&self.id), "rawId": base64url(&self.id), "type": "public-key",
            "response": {
                "clientDataJSON": base64url(&client_data),
                "attestationObject": base64url(&att),
                "transports": ["usb"],
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// The assertion for `challenge` with signature counter `counter`.
    pub fn assertion(&self, challenge: &str, counter: u32) -> String {
        let client_data = self.client_data("webauthn.get", challenge);
        let auth = self.auth_data(0x01, counter);
        let mut signed = auth.clone();
        signed.extend(Sha256::digest(&client_data));
        let sig: Signature = self.key.sign(&signed);
        json!({
            "id": base64url(&self.id), "rawId": base64url(&self.id), "type": "public-key",
            "response": {
                "clientDataJSON": base64url(&client_data),
                "authenticatorData": base64url(&auth),
                "signature": base64url(sig.to_der().as_bytes()),
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }
}
