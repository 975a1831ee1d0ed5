//! What an alert is about: the kinds of condition worth telling an admin, each of one app
//! or of the whole installation.

use std::fmt;

use super::Slug;

/// A kind of condition; stored in `alert_conditions.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Pairs of one app became `failed`.
    PairsFailed,
    /// The periodic drift check found accounts out of step in one app.
    Drift,
    /// The identity sync held back a mass removal.
    IdentitySyncHeldBack,
    /// One app is quarantined: its requests all fail, or it refuses the credentials.
    AppQuarantined,
    /// The revocation guard paused one app's revocations.
    RevocationGuard,
}

impl AlertKind {
    /// Every kind.
    pub const ALL: [AlertKind; 5] = [
        AlertKind::PairsFailed,
        AlertKind::Drift,
        AlertKind::IdentitySyncHeldBack,
        AlertKind::AppQuarantined,
        AlertKind::RevocationGuard,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::PairsFailed => "pairs_failed",
            AlertKind::Drift => "drift",
            AlertKind::IdentitySyncHeldBack => "identity_sync_held_back",
            AlertKind::AppQuarantined => "app_quarantined",
            AlertKind::RevocationGuard => "revocation_guard",
        }
    }

    /// Parses the stored form.
    pub fn parse(raw: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One condition: a kind, and the app it is about when it is about one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    /// What it is.
    pub kind: AlertKind,
    /// The app, for per-app kinds.
    pub app: Option<Slug>,
}

impl Condition {
    /// A condition of one app.
    pub fn of_app(kind: AlertKind, app: Slug) -> Condition {
        Condition {
            kind,
            app: Some(app),
        }
    }

    /// A condition of the whole installation.
    pub fn global(kind: AlertKind) -> Condition {
        Condition { kind, app: None }
    }
}
