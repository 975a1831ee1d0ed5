//! Each provisionable app's client, built from its settings and the dialect record
//! stored for it; and that record written back when the engine learns more.

use std::collections::HashMap;
use std::time::Duration;

use super::engine::Engine;
use crate::db::DbError;
use crate::scim::{Learned, ScimAuth, ScimClient, ScimConfig, ScimError, TokenAuth};
use crate::secret::Secret;
use crate::settings::{AuthKind, ScimSettings, TokenAuthKind};

/// An app that can be provisioned: its client and settings.
pub struct Target {
    /// The SCIM client (one connection pool per app).
    pub client: ScimClient,
    /// The app's `[apps.scim]` settings.
    pub scim: ScimSettings,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("app {app}: {source}")]
    Client { app: String, source: ScimError },
    #[error("app {app}: scim.base_url {url:?} is not a valid URL")]
    Url { app: String, url: String },
    #[error("app {app}: scim.token_url is not a valid URL")]
    TokenUrl { app: String },
}

/// The `meta` key prefix under which each app's dialect record is stored.
pub const DIALECT_META: &str = "dialect:";

/// The `meta` key prefix under which each app's group ids are stored (JSON, name to id).
pub const GROUPS_META: &str = "groups:";

/// Reads every app's stored group ids (blocking); a record that does not parse is an error.
pub fn load_group_ids(
    conn: &rusqlite::Connection,
) -> Result<HashMap<String, HashMap<String, String>>, DbError> {
    crate::db::meta::with_prefix(conn, GROUPS_META)?
        .into_iter()
        .map(|(app, json)| {
            serde_json::from_str(&json)
                .map(|ids| (app.clone(), ids))
                .map_err(|e| DbError::Corrupt(format!("meta.{GROUPS_META}{app}: {e}")))
        })
        .collect()
}

/// Reads every app's stored dialect record (blocking); a record that does not parse is an error.
pub fn load_dialects(conn: &rusqlite::Connection) -> Result<HashMap<String, Learned>, DbError> {
    crate::db::meta::with_prefix(conn, DIALECT_META)?
        .into_iter()
        .map(|(app, json)| {
            serde_json::from_str(&json)
                .map(|l| (app.clone(), l))
                .map_err(|e| DbError::Corrupt(format!("meta.{DIALECT_META}{app}: {e}")))
        })
        .collect()
}

/// Builds the SCIM client configuration of one app from its settings.
pub fn client_config(
    scim: &ScimSettings,
    timeout: Duration,
    app: &str,
) -> Result<ScimConfig, EngineError> {
    let base_url = url::Url::parse(&scim.base_url).map_err(|_| EngineError::Url {
        app: app.to_owned(),
        url: scim.base_url.clone(),
    })?;
    // Settings validation made sure the secrets a kind needs are there; empty ones fail at the app.
    let secret = |s: &Option<Secret>| s.clone().unwrap_or_else(|| Secret::new(String::new()));
    let auth = match scim.auth {
        AuthKind::Bearer => ScimAuth::Bearer(secret(&scim.token)),
        AuthKind::Basic => ScimAuth::Basic {
            username: scim.username.clone().unwrap_or_default(),
            password: secret(&scim.password),
        },
        AuthKind::Jwt => ScimAuth::Jwt {
            secret: secret(&scim.jwt_secret),
            claims: scim.jwt_claims.clone(),
            ttl: Duration::from_secs(scim.jwt_ttl_secs),
        },
        AuthKind::Oauth2 => ScimAuth::OAuth2 {
            token_url: scim
                .token_url
                .as_deref()
                .and_then(|u| url::Url::parse(u).ok())
                .ok_or_else(|| EngineError::TokenUrl {
                    app: app.to_owned(),
                })?,
            client_id: scim.client_id.clone().unwrap_or_default(),
            client_secret: secret(&scim.client_secret),
            scope: scim.scope.clone(),
            token_auth: match scim.token_auth {
                TokenAuthKind::Basic => TokenAuth::Basic,
                TokenAuthKind::Post => TokenAuth::Post,
            },
        },
        AuthKind::None => ScimAuth::None,
    };
    Ok(ScimConfig {
        base_url,
        auth,
        content_type: scim.content_type().to_owned(),
        timeout,
        filter: scim.filter,
        patch: scim.patch,
        learned: crate::scim::Learned::default(),
        group_ids: HashMap::new(),
        max_concurrency: scim.max_concurrency,
        max_requests_per_second: scim.max_requests_per_second,
    })
}

impl Engine {
    /// Stores what was learned about the app's dialect, and the ids of the groups found
    /// or made in it, when they changed.
    pub async fn store_dialect(&self, app: &str, target: &Target) {
        self.store_group_ids(app, target).await;
        let learned = target.client.learned();
        {
            let mut stored = self
                .stored_dialects
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if stored.get(app).copied().unwrap_or_default() == learned {
                return;
            }
            stored.insert(app.to_owned(), learned);
        }
        tracing::info!(app, ?learned, "learned about the app's SCIM dialect");
        if let Err(e) = self
            .store_meta(format!("{DIALECT_META}{app}"), &learned)
            .await
        {
            tracing::warn!(app, error = %e, "could not store what was learned about the app");
        }
    }

    // One record of what is known about an app, as JSON under `key` in `meta`.
    async fn store_meta(&self, key: String, record: &impl serde::Serialize) -> Result<(), DbError> {
        let json = serde_json::to_string(record).map_err(|e| DbError::Corrupt(e.to_string()))?;
        self.db
            .run(move |c| crate::db::meta::set(c, &key, &json))
            .await
    }

    // A group once found or made is looked up by its id from then on, across restarts:
    // never made again because a filter missed it.
    async fn store_group_ids(&self, app: &str, target: &Target) {
        let ids = target.client.group_ids().await.clone();
        {
            let mut stored = self
                .stored_group_ids
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if stored.get(app) == Some(&ids) || (ids.is_empty() && !stored.contains_key(app)) {
                return;
            }
            stored.insert(app.to_owned(), ids.clone());
        }
        if let Err(e) = self.store_meta(format!("{GROUPS_META}{app}"), &ids).await {
            tracing::warn!(app, error = %e, "could not store the app's group ids");
        }
    }
}
