//! How to reach one SCIM service provider: base URL, credentials, media type, timeout.

use std::time::Duration;

/// A token or password that never prints (shared with the settings).
pub use crate::secret::Secret;

/// The media type RFC 7644 asks for; older Nextcloud needs `application/json` instead.
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// How requests authenticate.
#[derive(Clone, Debug)]
pub enum ScimAuth {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// HTTP basic auth, e.g. a Nextcloud admin app password.
    Basic {
        /// The account name (not secret).
        username: String,
        /// The password or app password.
        password: Secret,
    },
    /// `Authorization: Bearer <jwt>`: short-lived HS256 tokens accessboard signs itself
    /// (Nextcloud's SCIM app, as Stackspin does it).
    Jwt {
        /// The shared HMAC secret.
        secret: Secret,
        /// Claims the app wants besides `iat` and `exp`, e.g. `{"user": "admin"}`.
        claims: serde_json::Map<String, serde_json::Value>,
        /// How long each token is valid (`exp = iat + ttl`).
        ttl: Duration,
    },
    /// `Authorization: Bearer <token>` with a token fetched by the OAuth2 client-credentials grant.
    OAuth2 {
        /// The authorization server's token endpoint.
        token_url: url::Url,
        /// The client id (not secret).
        client_id: String,
        /// The client secret.
        client_secret: Secret,
        /// The `scope` to ask for, if any.
        scope: Option<String>,
        /// How the client authenticates at the token endpoint.
        token_auth: TokenAuth,
    },
    /// No credentials (test servers, or auth done by a proxy).
    None,
}

/// How an OAuth2 client sends its credentials to the token endpoint (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenAuth {
    /// HTTP basic auth (`client_secret_basic`), the default.
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Post,
}

/// Settings of one SCIM client.
#[derive(Clone, Debug)]
pub struct ScimConfig {
    /// Base URL under which `/Users`, `/Groups` and `/ServiceProviderConfig` live.
    pub base_url: url::Url,
    /// Credentials sent with every request.
    pub auth: ScimAuth,
    /// Content-Type of request bodies.
    pub content_type: String,
    /// Whole-request timeout (connect, send, and read the body); the token request too.
    pub timeout: Duration,
    /// Use filters regardless of what the app announces (`None`: as announced).
    pub filter: Option<bool>,
    /// Use PATCH regardless of what the app announces (`None`: as announced).
    pub patch: Option<bool>,
    /// What an earlier run learned about the app.
    pub learned: super::Learned,
    /// The ids of the groups accessboard made or found in the app, by name, as stored.
    pub group_ids: std::collections::HashMap<String, String>,
    /// Requests in flight at most.
    pub max_concurrency: usize,
    /// Requests per second at most; `None`: no limit.
    pub max_requests_per_second: Option<f64>,
}

impl ScimConfig {
    /// A config with the standard media type and a 15 s timeout.
    pub fn new(base_url: url::Url, auth: ScimAuth) -> Self {
        ScimConfig {
            base_url,
            auth,
            content_type: SCIM_MEDIA_TYPE.to_owned(),
            timeout: Duration::from_secs(15),
            filter: None,
            patch: None,
            learned: super::Learned::default(),
            group_ids: std::collections::HashMap::new(),
            max_concurrency: 4,
            max_requests_per_second: None,
        }
    }
}
