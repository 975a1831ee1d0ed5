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
    /// No credentials (test servers, or auth done by a proxy).
    None,
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
    /// Whole-request timeout (connect, send, and read the body).
    pub timeout: Duration,
    /// Use filters regardless of what the app announces (`None`: as announced).
    pub filter: Option<bool>,
    /// Use PATCH regardless of what the app announces (`None`: as announced).
    pub patch: Option<bool>,
    /// What an earlier run learned about the app.
    pub learned: super::Learned,
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
        }
    }
}
