//! Passkeys (WebAuthn) as a second factor, over `webauthn_rp` (pure Rust on RustCrypto,
//! so no second crypto stack): the options sent to the browser, the checks of what it
//! sends back, and the bytes stored. No I/O here; `passkeys.rs` stores and audits.

use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::{
    AllowedCredential, AllowedCredentials, AuthenticationVerificationOptions,
};
use webauthn_rp::request::register::{
    Nickname, PublicKeyCredentialUserEntity, RegistrationVerificationOptions, UserHandle64,
    Username,
};
use webauthn_rp::request::{AsciiDomain, Credentials, PublicKeyCredentialDescriptor, RpId};
use webauthn_rp::response::auth::error::AuthCeremonyErr;
use webauthn_rp::response::auth::ser_relaxed::AuthenticationRelaxed;
use webauthn_rp::response::register::ser_relaxed::RegistrationRelaxed;
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, NonDiscoverableAuthenticationServerState,
    NonDiscoverableCredentialRequestOptions, PublicKeyCredentialCreationOptions,
    RegistrationServerState,
};

use crate::db::passkeys::{NewPasskey, StoredPasskey};

/// The length of the user handles made here.
const HANDLE_LEN: usize = 64;
type Handle = UserHandle64;
type PubKey = StaticState<CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>>;

/// Where the browser must be for a passkey to count: the RP ID (the host of
/// `[server] public_url`, a domain name) and the origin.
pub struct RelyingParty {
    rp_id: RpId,
    origin: String,
}

/// Why a passkey was refused; the web says it in one sentence and audits the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No ceremony of this browser waits (none begun, already used, or expired).
    NoChallenge,
    /// What the browser sent is not a WebAuthn answer.
    Malformed,
    /// Not one of this person's passkeys.
    UnknownCredential,
    /// The signature counter did not go up: the authenticator may have been cloned.
    CounterWentBack,
    /// The answer does not verify (challenge, origin, signature, flags).
    Invalid,
    /// A passkey already registered here.
    AlreadyRegistered,
}

impl Refusal {
    /// Its words in the audit trail.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::NoChallenge => "no passkey challenge waiting",
            Refusal::Malformed => "malformed passkey answer",
            Refusal::UnknownCredential => "not one of their passkeys",
            Refusal::CounterWentBack => "passkey signature counter went backwards",
            Refusal::Invalid => "passkey answer did not verify",
            Refusal::AlreadyRegistered => "passkey already registered",
        }
    }
}

impl RelyingParty {
    /// From `[server] public_url`; `None` when its host is not a domain name (an IP
    /// address): browsers refuse passkeys there.
    pub fn from_public_url(public_url: &str) -> Option<RelyingParty> {
        let url = url::Url::parse(public_url).ok()?;
        let Some(url::Host::Domain(host)) = url.host() else {
            return None;
        };
        let domain = AsciiDomain::try_from(host.to_owned()).ok()?;
        Some(RelyingParty {
            rp_id: RpId::Domain(domain),
            origin: url.origin().ascii_serialization(),
        })
    }

    /// Starts registering a passkey: the state to keep and the options (JSON) for
    /// `navigator.credentials.create`. `handle` is the person's user handle, if they
    /// have passkeys already (else a new one is made); `existing` are excluded.
    pub fn start_registration(
        &self,
        email: &str,
        name: &str,
        handle: Option<&[u8]>,
        existing: &[StoredPasskey],
    ) -> Option<(Vec<u8>, String)> {
        let handle = match handle {
            Some(bytes) => Handle::decode(<[u8; HANDLE_LEN]>::try_from(bytes).ok()?).ok()?,
            None => Handle::new(),
        };
        let user = PublicKeyCredentialUserEntity {
            name: Username::try_from(email).ok()?,
            id: &handle,
            display_name: Nickname::try_from(name).ok(),
        };
        let exclude = existing.iter().filter_map(descriptor).collect();
        let (server, client) =
            PublicKeyCredentialCreationOptions::second_factor(&self.rp_id, user, exclude)
                .start_ceremony()
                .ok()?;
        let json = serde_json::to_string(&client).ok()?;
        Some((server.encode().ok()?, json))
    }

    /// Checks a registration against its kept state; the passkey to store.
    pub fn finish_registration(&self, state: &[u8], response: &str) -> Result<NewPasskey, Refusal> {
        let server = RegistrationServerState::<HANDLE_LEN>::decode(state)
            .map_err(|_| Refusal::NoChallenge)?;
        let reg = serde_json::from_str::<RegistrationRelaxed>(response)
            .map_err(|_| Refusal::Malformed)?
            .0;
        let origins = [self.origin.as_str()];
        let options = RegistrationVerificationOptions::<&str, &str> {
            allowed_origins: &origins,
            ..Default::default()
        };
        let cred = server
            .verify(&self.rp_id, &reg, &options)
            .map_err(|_| Refusal::Invalid)?;
        let (id, transports, handle, public_key, dynamic, _) = cred.into_parts();
        let Ok(handle) = handle.encode();
        let Ok(public_key) = public_key.encode();
        let Ok(state) = dynamic.encode();
        let Ok(transports) = transports.encode();
        Ok(NewPasskey {
            credential_id: id.as_ref().to_vec(),
            user_handle: handle.to_vec(),
            public_key,
            state: state.to_vec(),
            sign_count: i64::from(dynamic.sign_count),
            transports,
        })
    }

    /// Starts a check of one of `passkeys`: the state to keep and the options (JSON)
    /// for `navigator.credentials.get`; `None` without passkeys.
    pub fn start_check(&self, passkeys: &[StoredPasskey]) -> Option<(Vec<u8>, String)> {
        let mut allowed = AllowedCredentials::with_capacity(passkeys.len());
        for d in passkeys.iter().filter_map(descriptor) {
            allowed.push(AllowedCredential::from(d));
        }
        let (server, client) =
            NonDiscoverableCredentialRequestOptions::second_factor(&self.rp_id, allowed)
                .ok()?
                .start_ceremony()
                .ok()?;
        let json = serde_json::to_string(&client).ok()?;
        Some((server.encode().ok()?, json))
    }

    /// Checks an assertion against its kept state and the person's passkeys: which
    /// passkey, and its new state and counter.
    pub fn finish_check(
        &self,
        state: &[u8],
        response: &str,
        passkeys: &[StoredPasskey],
    ) -> Result<Used, Refusal> {
        let server = NonDiscoverableAuthenticationServerState::decode(state)
            .map_err(|_| Refusal::NoChallenge)?;
        let auth = serde_json::from_str::<AuthenticationRelaxed<HANDLE_LEN, false>>(response)
            .map_err(|_| Refusal::Malformed)?
            .0;
        let raw = auth.raw_id();
        let stored = passkeys
            .iter()
            .find(|p| p.credential_id.as_slice() == raw.as_ref())
            .ok_or(Refusal::UnknownCredential)?;
        let handle = <[u8; HANDLE_LEN]>::try_from(stored.user_handle.as_slice())
            .ok()
            .and_then(|b| Handle::decode(b).ok())
            .ok_or(Refusal::Invalid)?;
        let public_key =
            PubKey::decode(stored.public_key.as_slice()).map_err(|_| Refusal::Invalid)?;
        let dynamic = <[u8; 7]>::try_from(stored.state.as_slice())
            .ok()
            .and_then(|b| DynamicState::decode(b).ok())
            .ok_or(Refusal::Invalid)?;
        let id = CredentialId::<&[u8]>::decode(stored.credential_id.as_slice())
            .map_err(|_| Refusal::Invalid)?;
        let mut cred = AuthenticatedCredential::new(id, &handle, public_key, dynamic)
            .map_err(|_| Refusal::Invalid)?;
        let origins = [self.origin.as_str()];
        let options = AuthenticationVerificationOptions::<&str, &str> {
            allowed_origins: &origins,
            ..Default::default()
        };
        match server.verify(&self.rp_id, &auth, &mut cred, &options) {
            Ok(_) => {}
            Err(AuthCeremonyErr::SignatureCounter) => return Err(Refusal::CounterWentBack),
            Err(_) => return Err(Refusal::Invalid),
        }
        let dynamic = cred.dynamic_state();
        let Ok(state) = dynamic.encode();
        Ok(Used {
            credential_id: stored.credential_id.clone(),
            name: stored.name.clone(),
            state: state.to_vec(),
            sign_count: i64::from(dynamic.sign_count),
        })
    }
}

/// A passkey that just proved itself.
pub struct Used {
    /// Its credential id.
    pub credential_id: Vec<u8>,
    /// Its name.
    pub name: String,
    /// The authenticator's new state.
    pub state: Vec<u8>,
    /// Its new counter.
    pub sign_count: i64,
}

fn descriptor(p: &StoredPasskey) -> Option<PublicKeyCredentialDescriptor<Vec<u8>>> {
    Some(PublicKeyCredentialDescriptor {
        id: CredentialId::<Vec<u8>>::decode(p.credential_id.clone()).ok()?,
        transports: AuthTransports::decode(p.transports).ok()?,
    })
}
