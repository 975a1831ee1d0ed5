//! `[identity]`: where people live, accessboard's own database or Ory Kratos.

use std::path::PathBuf;

use serde::Deserialize;

use super::{SettingsError, read_secret_file};
use crate::secret::Secret;

/// `[identity]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitySettings {
    /// `local` (the default) or `kratos`.
    pub backend: IdentityBackend,
    /// The Kratos Admin API, e.g. `http://kratos:4434`.
    pub kratos_admin_url: Option<String>,
    /// Bearer token for the Admin API (Ory Network); most self-hosted Kratos need none.
    pub kratos_admin_token: Option<Secret>,
    /// File holding that token.
    pub kratos_admin_token_file: Option<PathBuf>,
    /// The identity schema new identities get.
    pub kratos_schema_id: String,
    /// How the schema's `name` trait is shaped: `string` or `first_last`.
    pub kratos_name: KratosName,
    /// How often identities changed directly in Kratos are picked up.
    pub sync_interval_secs: u64,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        IdentitySettings {
            backend: IdentityBackend::Local,
            kratos_admin_url: None,
            kratos_admin_token: None,
            kratos_admin_token_file: None,
            kratos_schema_id: "default".into(),
            kratos_name: KratosName::String,
            sync_interval_secs: 60,
        }
    }
}

/// Where identities live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityBackend {
    /// accessboard's own SQLite database.
    Local,
    /// Ory Kratos, through its Admin API.
    Kratos,
}

/// The shape of the `name` trait in the Kratos identity schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KratosName {
    /// `"name": "Ada Lovelace"`
    String,
    /// `"name": {"first": "Ada", "last": "Lovelace"}`
    FirstLast,
}

impl IdentitySettings {
    /// Checks the keys and reads the token file.
    pub fn validate(&mut self) -> Result<(), SettingsError> {
        let err =
            |key: &str, msg: String| Err(SettingsError(format!("setting identity.{key}: {msg}")));
        if let Some(file) = self.kratos_admin_token_file.clone() {
            if self.kratos_admin_token.is_some() {
                return err(
                    "kratos_admin_token_file",
                    "set either kratos_admin_token or kratos_admin_token_file, not both".into(),
                );
            }
            match read_secret_file(&file) {
                Ok(s) => self.kratos_admin_token = Some(s),
                Err(m) => return err("kratos_admin_token_file", m),
            }
        }
        if self.backend == IdentityBackend::Kratos {
            match self.kratos_admin_url.as_deref().map(url::Url::parse) {
                Some(Ok(u)) if matches!(u.scheme(), "http" | "https") => {}
                Some(_) => {
                    return err(
                        "kratos_admin_url",
                        super::not_a_url(self.kratos_admin_url.as_deref().unwrap_or_default()),
                    );
                }
                None => {
                    return err(
                        "kratos_admin_url",
                        "is required when backend = \"kratos\"".into(),
                    );
                }
            }
            if self.sync_interval_secs == 0 {
                return err("sync_interval_secs", "must be at least 1".into());
            }
        }
        Ok(())
    }
}
