//! `[sso]`: signing in to the dashboard through the deployment's OpenID Connect provider.

use std::path::PathBuf;

use serde::Deserialize;

use super::{SettingsError, read_secret_file};
use crate::secret::Secret;

/// Where the provider sends people back, below `server.public_url`.
pub const CALLBACK_PATH: &str = "/login/sso/callback";

/// `[sso]`; off unless `issuer` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SsoSettings {
    /// The provider's issuer URL; its discovery is `/.well-known/openid-configuration` below it.
    pub issuer: Option<String>,
    /// This dashboard's client id at the provider.
    pub client_id: Option<String>,
    /// Its client secret.
    pub client_secret: Option<Secret>,
    /// File holding that secret.
    pub client_secret_file: Option<PathBuf>,
    /// Scopes asked for, space-separated; `openid` and `email` are needed.
    pub scopes: String,
    /// Hide the password form: people sign in through the provider only.
    pub sso_only: bool,
    /// The provider's name on the button: "Sign in with {label}".
    pub label: String,
    /// `acr` values asked for (space-separated); when set (or `amr`), a sign-in needs the
    /// ID token's `acr` to be one of them or its `amr` to name one of `amr`.
    pub acr_values: String,
    /// `amr` values that prove a second factor (space-separated), e.g. `mfa otp hwk`.
    pub amr: String,
    /// Accept an email the provider does not mark verified (no `email_verified` claim,
    /// as Canaille 0.3 sends); one it marks `false` is still refused.
    pub trust_unverified_email: bool,
}

impl Default for SsoSettings {
    fn default() -> Self {
        SsoSettings {
            issuer: None,
            client_id: None,
            client_secret: None,
            client_secret_file: None,
            scopes: "openid email profile".into(),
            sso_only: false,
            label: "single sign-on".into(),
            acr_values: String::new(),
            amr: String::new(),
            trust_unverified_email: false,
        }
    }
}

/// Hosts where a plain-http issuer is accepted: nothing crosses a network.
fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(a) => a.is_loopback(),
        url::Host::Ipv6(a) => a.is_loopback(),
    }
}

impl SsoSettings {
    /// Whether single sign-on is configured.
    pub fn enabled(&self) -> bool {
        self.issuer.is_some()
    }

    /// The scopes asked for besides `openid` (which the client always sends).
    pub fn extra_scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.split_whitespace().filter(|s| *s != "openid")
    }

    /// The `acr` values asked for and accepted.
    pub fn acr_list(&self) -> impl Iterator<Item = &str> {
        self.acr_values.split_whitespace()
    }

    /// Whether the provider must confirm a second factor (`acr_values` or `amr` set).
    pub fn second_factor_required(&self) -> bool {
        self.acr_list().next().is_some() || self.amr.split_whitespace().next().is_some()
    }

    /// Whether the ID token's `acr` and `amr` confirm a second factor: always when
    /// none is required, else an accepted `acr` or an `amr` naming one of [`Self::amr`].
    pub fn confirms_second_factor(&self, acr: Option<&str>, amr: &[&str]) -> bool {
        if !self.second_factor_required() {
            return true;
        }
        acr.is_some_and(|a| self.acr_list().any(|v| v == a))
            || amr
                .iter()
                .any(|m| self.amr.split_whitespace().any(|v| v == *m))
    }

    /// The redirect URI registered at the provider: `public_url` + [`CALLBACK_PATH`].
    pub fn redirect_uri(public_url: &str) -> String {
        format!("{}{CALLBACK_PATH}", public_url.trim_end_matches('/'))
    }

    /// Checks the keys (one line per problem, naming the key, never a value) and reads
    /// the secret file.
    pub fn validate(&mut self) -> Result<(), SettingsError> {
        let err = |key: &str, msg: &str| Err(SettingsError(format!("setting sso.{key}: {msg}")));
        if let Some(file) = self.client_secret_file.clone() {
            if self.client_secret.is_some() {
                return err(
                    "client_secret_file",
                    "set either client_secret or client_secret_file, not both",
                );
            }
            match read_secret_file(&file) {
                Ok(s) => self.client_secret = Some(s),
                Err(m) => return err("client_secret_file", &m),
            }
        }
        let Some(issuer) = self.issuer.as_deref() else {
            if self.client_id.is_some()
                || self.client_secret.is_some()
                || self.sso_only
                || self.second_factor_required()
                || self.trust_unverified_email
            {
                return err(
                    "issuer",
                    "is required when any other sso setting is given (the provider's issuer URL)",
                );
            }
            return Ok(());
        };
        match url::Url::parse(issuer) {
            Ok(u) if !u.username().is_empty() || u.password().is_some() => {
                return err("issuer", "must not contain a user name or password");
            }
            Ok(u) if u.query().is_some() || u.fragment().is_some() => {
                return err("issuer", "must not have a query or a fragment");
            }
            Ok(u) if u.scheme() == "https" => {}
            Ok(u) if u.scheme() == "http" && u.host().as_ref().is_some_and(is_loopback) => {}
            Ok(u) if u.scheme() == "http" => {
                return err(
                    "issuer",
                    "must be https (plain http only on localhost or a loopback address)",
                );
            }
            _ => return err("issuer", &super::not_a_url(issuer)),
        }
        if self
            .client_id
            .as_deref()
            .is_none_or(|c| c.trim().is_empty())
        {
            return err("client_id", "is required when sso.issuer is set");
        }
        if self
            .client_secret
            .as_ref()
            .is_none_or(|s| s.expose().is_empty())
        {
            return err(
                "client_secret",
                "is required when sso.issuer is set (or set client_secret_file)",
            );
        }
        let scopes: Vec<&str> = self.scopes.split_whitespace().collect();
        for needed in ["openid", "email"] {
            if !scopes.contains(&needed) {
                return err(
                    "scopes",
                    &format!("must include {needed} (people are matched by their verified email)"),
                );
            }
        }
        if self.label.trim().is_empty() {
            return err("label", "must not be empty");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::Settings;

    const GOOD: &str = "issuer = \"https://id.example.org/\"\nclient_id = \"accessboard\"\nclient_secret = \"sso-s3cr3t\"";

    fn sso(lines: &str) -> Result<Settings, String> {
        Settings::from_toml(&format!("[sso]\n{lines}\n")).map_err(|e| e.0)
    }

    #[test]
    fn off_by_default_and_read_with_its_defaults() {
        let s = Settings::from_toml("").unwrap();
        assert!(!s.sso.enabled());
        let s = sso(GOOD).unwrap();
        assert!(s.sso.enabled());
        assert_eq!(
            s.sso.extra_scopes().collect::<Vec<_>>(),
            ["email", "profile"]
        );
        assert!(!s.sso.sso_only);
        assert!(!s.sso.trust_unverified_email);
        assert!(!s.sso.second_factor_required());
        assert!(s.sso.confirms_second_factor(None, &[]));
        assert_eq!(
            super::SsoSettings::redirect_uri("https://dash.example.org/"),
            "https://dash.example.org/login/sso/callback"
        );
    }

    #[test]
    fn acr_or_amr_confirms_the_second_factor_when_either_is_set() {
        let s = sso(&format!(
            "{GOOD}\nacr_values = \"gold  silver\"\namr = \"mfa otp\""
        ))
        .unwrap();
        let sso = &s.sso;
        assert!(sso.second_factor_required());
        assert!(sso.confirms_second_factor(Some("silver"), &[]));
        assert!(sso.confirms_second_factor(Some("bronze"), &["pwd", "otp"]));
        assert!(!sso.confirms_second_factor(Some("bronze"), &["pwd"]));
        assert!(!sso.confirms_second_factor(None, &[]));
        let only_amr = sso_amr_only();
        assert!(!only_amr.confirms_second_factor(Some("gold"), &["pwd"]));
        assert!(only_amr.confirms_second_factor(None, &["hwk"]));
    }

    fn sso_amr_only() -> super::SsoSettings {
        sso(&format!("{GOOD}\namr = \"hwk\"")).unwrap().sso
    }

    #[test]
    fn the_secret_file_is_read_and_mistakes_name_the_key_without_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "from-file-s3cr3t\n").unwrap();
        let s = sso(&format!(
            "issuer = \"http://localhost:9/\"\nclient_id = \"a\"\nclient_secret_file = \"{}\"",
            file.display()
        ))
        .unwrap();
        assert_eq!(
            s.sso.client_secret.as_ref().map(|s| s.expose()),
            Some("from-file-s3cr3t")
        );
        let cases = [
            ("client_id = \"a\"", "sso.issuer: is required"),
            ("sso_only = true", "sso.issuer: is required"),
            ("amr = \"mfa\"", "sso.issuer: is required"),
            (
                "issuer = \"http://id.example.org/\"\nclient_id = \"a\"\nclient_secret = \"sso-s3cr3t\"",
                "sso.issuer: must be https",
            ),
            (
                "issuer = \"https://u:sso-s3cr3t@id/\"\nclient_id = \"a\"\nclient_secret = \"b\"",
                "sso.issuer: must not contain a user name or password",
            ),
            (
                "issuer = \"https://id/\"\nclient_secret = \"sso-s3cr3t\"",
                "sso.client_id: is required",
            ),
            (
                "issuer = \"https://id/\"\nclient_id = \"a\"",
                "sso.client_secret: is required",
            ),
            (
                &format!("{GOOD}\nclient_secret_file = \"{}\"", file.display()),
                "sso.client_secret_file: set either client_secret or client_secret_file, not both",
            ),
            (
                &format!("{GOOD}\nscopes = \"openid profile\""),
                "sso.scopes: must include email",
            ),
            (
                &format!("{GOOD}\nlabel = \" \""),
                "sso.label: must not be empty",
            ),
            (&format!("{GOOD}\ncolour = \"red\""), "colour"),
        ];
        for (lines, want) in cases {
            let e = sso(lines).expect_err(lines);
            assert!(e.contains(want), "{lines}: {e}");
            assert!(!e.contains("s3cr3t") && !e.contains('\n'), "{e}");
        }
    }
}
