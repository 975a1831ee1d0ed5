//! The OpenID Connect provider of `[sso]`, through the `openidconnect` crate: discovery
//! fetched on first use and kept for an hour (a provider down at start stops nothing),
//! the sign-ins in progress (state, nonce, PKCE verifier) kept here, each taken once,
//! and the code exchanged for an ID token whose signature, issuer, audience, expiry and
//! nonce the crate verifies.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreIdToken,
};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, RequestTokenError, Scope, TokenResponse as _,
};

pub use super::sso_error::SsoError;
use super::sso_http::Http;
use crate::settings::{Settings, SsoSettings};

/// How long a discovery (endpoints and signing keys) is trusted before it is fetched again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How long a person has at the provider before their sign-in here expires.
const FLOW_TTL: Duration = Duration::from_secs(600);
/// How long signing out waits for a discovery it does not have.
const LOGOUT_WAIT: Duration = Duration::from_secs(3);
/// Sign-ins in progress kept at most: a flood of starts cannot fill memory.
const MAX_FLOWS: usize = 10_000;
/// How long ago a confirmation's sign-in at the provider may have been (`auth_time`).
const CONFIRM_FRESH_SECS: i64 = 120;
/// Clock difference tolerated between the provider and this server.
const CLOCK_SKEW_SECS: i64 = 60;

type Oidc = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider's word on who signed in, verified.
#[derive(Debug)]
pub struct Verified {
    /// The email, verified by the provider.
    pub email: String,
    /// The provider's identifier of the person (`sub`).
    pub subject: String,
    /// Whether this was a confirmation (re-authentication), not a sign-in.
    pub confirm: bool,
    /// The raw ID token, kept for the logout hint.
    pub id_token: String,
    /// Where to go once signed in.
    pub next: String,
}

/// A sign-in or confirmation that did not happen: why, and where the person meant to go.
#[derive(Debug)]
pub struct Failed {
    /// Why.
    pub error: SsoError,
    /// Where the person meant to go.
    pub next: String,
    /// Whether it was a confirmation (the person is signed in here already).
    pub confirm: bool,
}

struct Flow {
    verifier: String,
    nonce: String,
    next: String,
    started: Instant,
    /// A confirmation (`prompt=login`, `max_age=0`) started at this Unix time.
    confirm: Option<i64>,
}

struct Discovered {
    client: Oidc,
    end_session: Option<EndSessionUrl>,
    fetched: Instant,
}

/// The configured provider: settings, HTTP client, discovery cache, flows in progress.
pub struct Provider {
    settings: SsoSettings,
    redirect: RedirectUrl,
    post_logout: Option<PostLogoutRedirectUrl>,
    http: Http,
    discovered: Mutex<Option<std::sync::Arc<Discovered>>>,
    flows: Mutex<HashMap<String, Flow>>,
}

impl Provider {
    /// The provider of `[sso]`, or `None` when it is off; no request is made here.
    pub fn new(settings: &Settings) -> Result<Option<Provider>, String> {
        let sso = &settings.sso;
        if !sso.enabled() {
            return Ok(None);
        }
        let public = &settings.server.public_url;
        let redirect = RedirectUrl::new(SsoSettings::redirect_uri(public))
            .map_err(|e| format!("the SSO redirect URI: {e}"))?;
        let post_logout =
            PostLogoutRedirectUrl::new(format!("{}/login", public.trim_end_matches('/'))).ok();
        let http = reqwest::Client::builder()
            // A redirect could carry the client secret elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("accessboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the SSO HTTP client: {e}"))?;
        Ok(Some(Provider {
            settings: sso.clone(),
            redirect,
            post_logout,
            http: Http::new(http),
            discovered: Mutex::new(None),
            flows: Mutex::new(HashMap::new()),
        }))
    }

    /// The provider's name on the button.
    pub fn label(&self) -> &str {
        &self.settings.label
    }

    /// Whether the password form is hidden.
    pub fn sso_only(&self) -> bool {
        self.settings.sso_only
    }

    async fn discovered(&self) -> Result<std::sync::Arc<Discovered>, SsoError> {
        if let Ok(guard) = self.discovered.lock()
            && let Some(d) = guard.as_ref()
            && d.fetched.elapsed() < DISCOVERY_TTL
        {
            return Ok(d.clone());
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone().unwrap_or_default())
            .map_err(|_| SsoError::ProviderDown)?;
        let meta = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "SSO discovery failed");
                SsoError::ProviderDown
            })?;
        let end_session = meta.additional_metadata().end_session_endpoint.clone();
        let secret = self
            .settings
            .client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose().to_owned()));
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(self.settings.client_id.clone().unwrap_or_default()),
            secret,
        )
        .set_redirect_uri(self.redirect.clone());
        let d = std::sync::Arc::new(Discovered {
            client,
            end_session,
            fetched: Instant::now(),
        });
        if let Ok(mut guard) = self.discovered.lock() {
            *guard = Some(d.clone());
        }
        Ok(d)
    }

    /// Forgets the discovery, so the next sign-in fetches endpoints and keys again.
    fn forget_discovery(&self) {
        if let Ok(mut guard) = self.discovered.lock() {
            *guard = None;
        }
    }

    /// Whether a sign-in here needs the provider to confirm a second factor.
    pub fn second_factor_required(&self) -> bool {
        self.settings.second_factor_required()
    }

    /// Starts a sign-in, or with `confirm` a re-authentication (the provider is asked to
    /// sign the person in again: `prompt=login`, `max_age=0`): the provider's
    /// authorization URL, and the state this browser must bring back.
    pub async fn begin(&self, next: &str, confirm: bool) -> Result<(String, String), SsoError> {
        let d = self.discovered().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = d.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self.settings.extra_scopes() {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
        for acr in self.settings.acr_list() {
            request =
                request.add_auth_context_value(AuthenticationContextClass::new(acr.to_owned()));
        }
        if confirm {
            // `prompt=login` makes the provider ask again; `max_age` makes `auth_time`
            // required in the ID token (OIDC Core 3.1.2.1). Not `max_age=0`: Canaille
            // 0.3.6 compares it with the time of the next request and asks forever.
            request = request
                .add_prompt(CoreAuthPrompt::Login)
                .set_max_age(Duration::from_secs(CONFIRM_FRESH_SECS as u64));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let mut flows = self.flows.lock().map_err(|_| SsoError::Busy)?;
        flows.retain(|_, f| f.started.elapsed() < FLOW_TTL);
        if flows.len() >= MAX_FLOWS {
            return Err(SsoError::Busy);
        }
        flows.insert(
            state.secret().clone(),
            Flow {
                verifier: verifier.secret().clone(),
                nonce: nonce.secret().clone(),
                next: next.to_owned(),
                started: Instant::now(),
                confirm: confirm.then(crate::db::time::now),
            },
        );
        Ok((url.to_string(), state.secret().clone()))
    }

    /// Forgets a flow this browser started before starting another.
    pub fn drop_flow(&self, state: &str) {
        if let Ok(mut flows) = self.flows.lock() {
            flows.remove(state);
        }
    }

    /// Takes the flow of `state` once, if this browser (`expected`) started it and it is fresh.
    fn take(&self, expected: Option<&str>, state: &str) -> Result<Flow, SsoError> {
        let mut flows = self.flows.lock().map_err(|_| SsoError::Busy)?;
        let flow = match expected {
            Some(e) if !state.is_empty() && constant_eq(e.as_bytes(), state.as_bytes()) => {
                flows.remove(state)
            }
            _ => None,
        };
        flow.filter(|f| f.started.elapsed() < FLOW_TTL)
            .ok_or(SsoError::WrongState)
    }

    /// Ends a sign-in at the callback: checks the state, exchanges the code with the
    /// PKCE verifier, verifies the ID token and reads the verified email.
    /// `Err` carries where the person meant to go and whether it was a confirmation,
    /// for the page that says why.
    pub async fn finish(
        &self,
        expected: Option<&str>,
        state: &str,
        code: Option<&str>,
        provider_error: bool,
    ) -> Result<Verified, Failed> {
        let flow = self.take(expected, state).map_err(|error| Failed {
            error,
            next: "/".to_owned(),
            confirm: false,
        })?;
        let next = flow.next.clone();
        let confirm = flow.confirm.is_some();
        self.exchange(flow, code, provider_error)
            .await
            .map_err(|error| Failed {
                error,
                next,
                confirm,
            })
    }

    async fn exchange(
        &self,
        flow: Flow,
        code: Option<&str>,
        provider_error: bool,
    ) -> Result<Verified, SsoError> {
        let code = match code {
            Some(c) if !provider_error && !c.is_empty() => c,
            _ => return Err(SsoError::Declined),
        };
        let d = self.discovered().await?;
        let request = d
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| SsoError::ProviderDown)?;
        let token = request
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => match r.error() {
                    CoreErrorResponseType::InvalidClient
                    | CoreErrorResponseType::UnauthorizedClient => SsoError::ClientRefused,
                    _ => SsoError::CodeRefused,
                },
                other => {
                    tracing::warn!(error = %other, "SSO token request failed");
                    SsoError::ProviderDown
                }
            })?;
        let id_token = token.id_token().ok_or(SsoError::TokenRefused)?;
        let verifier = d.client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &Nonce::new(flow.nonce))
            .map_err(|e| {
                tracing::warn!(error = %e, "SSO ID token refused");
                // New signing keys at the provider look like a bad signature: fetch
                // them again next time.
                self.forget_discovery();
                SsoError::TokenRefused
            })?;
        let email = claims.email().ok_or(SsoError::NoEmail)?;
        match claims.email_verified() {
            Some(true) => {}
            None if self.settings.trust_unverified_email => {}
            _ => return Err(SsoError::Unverified),
        }
        let amr: Vec<&str> = claims
            .auth_method_refs()
            .map(|v| v.iter().map(|m| m.as_str()).collect())
            .unwrap_or_default();
        let acr = claims.auth_context_ref().map(|a| a.as_str());
        if !self.settings.confirms_second_factor(acr, &amr) {
            return Err(SsoError::NoSecondFactor);
        }
        if let Some(started) = flow.confirm {
            let now = crate::db::time::now();
            let fresh = claims.auth_time().map(|t| t.timestamp()).is_some_and(|t| {
                t >= started - CLOCK_SKEW_SECS
                    && t <= now + CLOCK_SKEW_SECS
                    && now - t <= CONFIRM_FRESH_SECS
            });
            if !fresh {
                return Err(SsoError::NotFresh);
            }
        }
        Ok(Verified {
            email: email.as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            confirm: flow.confirm.is_some(),
            id_token: id_token.to_string(),
            next: flow.next,
        })
    }

    /// Where to send the browser to end the provider's session too, when it offers
    /// RP-initiated logout. Discovery is fetched if this server has none (a restart
    /// since the sign-in), for a few seconds at most: signing out here never waits on
    /// a provider that hangs.
    pub async fn logout_url(&self, id_token: Option<&str>) -> Option<String> {
        let d = tokio::time::timeout(LOGOUT_WAIT, self.discovered())
            .await
            .ok()?
            .ok()?;
        let end = d.end_session.clone()?;
        let mut request =
            LogoutRequest::from(end).set_client_id(ClientId::new(self.settings.client_id.clone()?));
        if let Some(t) = id_token.and_then(|t| CoreIdToken::from_str(t).ok()) {
            request = request.set_id_token_hint(&t);
        }
        if let Some(p) = &self.post_logout {
            request = request.set_post_logout_redirect_uri(p.clone());
        }
        Some(request.http_get_url().to_string())
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
