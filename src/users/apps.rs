//! Changes to apps: install, uninstall, and "Sync now".

use serde_json::json;
use uuid::Uuid;

use super::{ServiceError, UserService, store};
use crate::db::alerts;
use crate::db::rails::{self, Pause};
use crate::domain::{AlertKind, Condition, Slug};
use crate::pairs::{self, Pairs, mark_for_sync};

impl UserService {
    /// Installs an app: every pair with access is marked; returns how many.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn install_app(&self, app: &Slug) -> Result<usize, ServiceError> {
        let app = app.clone();
        self.write(move |tx, now, audit| {
            let was = store::load_apps(tx)?.get(app.as_str()).map(|a| a.installed);
            let jobs = store::install_app(tx, &app, now)?;
            audit.record(
                tx,
                now,
                "app.install",
                Some(app.as_str()),
                was.map(|w| json!({ "installed": w })),
                Some(json!({ "installed": true, "pairs_marked": jobs.len() })),
            )?;
            Ok((jobs.len(), jobs))
        })
        .await
    }

    /// Uninstalls an app: provisioning stops and its pairs become `not_provisioned`.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn uninstall_app(&self, app: &Slug) -> Result<(), ServiceError> {
        let app = app.clone();
        self.write(move |tx, now, audit| {
            let was = store::load_apps(tx)?.get(app.as_str()).map(|a| a.installed);
            let jobs = store::uninstall_app(tx, &app, now)?;
            audit.record(
                tx,
                now,
                "app.uninstall",
                Some(app.as_str()),
                was.map(|w| json!({ "installed": w })),
                Some(json!({ "installed": false })),
            )?;
            Ok(((), jobs))
        })
        .await
    }

    /// "Sync now": marks every pair of an installed app that the app should know about.
    pub async fn resync_app(&self, app: &Slug) -> Result<usize, ServiceError> {
        let app = app.clone();
        self.write(move |tx, now, audit| {
            store::app_exists(tx, &app)?;
            let jobs = mark_for_sync(tx, Pairs::AppRelevant(app.as_str()), now)?;
            let after = json!({ "pairs_marked": jobs.len() });
            audit.record(tx, now, "app.sync", Some(app.as_str()), None, Some(after))?;
            Ok((jobs.len(), jobs))
        })
        .await
    }

    /// The end of "Sync now" after its listing: marks the pairs the app does not hold as
    /// wanted; the `unchanged` ones were confirmed by the listing and need nothing;
    /// `roles_moved` were seen in other groups than their role says: the role the app
    /// last confirmed is forgotten, so their reconcile reads the groups.
    pub async fn resync_pairs(
        &self,
        app: &Slug,
        changed: Vec<Uuid>,
        unchanged: usize,
        roles_moved: Vec<Uuid>,
    ) -> Result<usize, ServiceError> {
        let app = app.clone();
        self.write(move |tx, now, audit| {
            store::app_exists(tx, &app)?;
            for id in &roles_moved {
                crate::pairs::forget_confirmed_role(tx, id, app.as_str())?;
            }
            let mut jobs = Vec::new();
            for id in &changed {
                jobs.extend(mark_for_sync(tx, Pairs::One(id, app.as_str()), now)?);
            }
            let after = json!({ "pairs_marked": jobs.len(), "unchanged": unchanged });
            audit.record(tx, now, "app.sync", Some(app.as_str()), None, Some(after))?;
            Ok((jobs.len(), jobs))
        })
        .await
    }
}

/// What `app resume` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumed {
    /// How far the app was paused, if it was.
    pub was: Option<Pause>,
    /// Held revocations let go.
    pub released: usize,
    /// The app is quarantined: its probe is due now.
    pub quarantined: bool,
}

impl UserService {
    /// Pauses an app entirely (maintenance): nothing is sent to it until it is resumed.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn pause_app(&self, app: &Slug, reason: Option<String>) -> Result<(), ServiceError> {
        let app = app.clone();
        self.write(move |tx, now, audit| {
            store::app_exists(tx, &app)?;
            let reason = reason.unwrap_or_else(|| "paused by an admin".into());
            rails::pause(tx, app.as_str(), Pause::All, &reason, &audit.actor, now)?;
            let after = json!({ "paused": "all", "reason": reason });
            audit.record(tx, now, "app.pause", Some(app.as_str()), None, Some(after))?;
            Ok(((), Vec::new()))
        })
        .await
    }

    /// Ends a pause, lets the held revocations go and makes a quarantined app's probe due now.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn resume_app(&self, app: &Slug) -> Result<Resumed, ServiceError> {
        let app = app.clone();
        // Resuming is the admin's decision on the held revocations: not guarded again.
        self.lifting_guard(true)
            .write(move |tx, now, audit| {
                store::app_exists(tx, &app)?;
                let before = rails::of(tx, app.as_str())?;
                let (was, jobs) = pairs::rails::resume(tx, app.as_str(), now)?;
                let released: usize = jobs.len();
                let quarantined = rails::probe_now(tx, app.as_str(), now)?;
                if was == Some(Pause::Revocations) {
                    let condition = Condition::of_app(AlertKind::RevocationGuard, app.clone());
                    let said = format!("{released} held revocations let go by {}", audit.actor);
                    alerts::resolve(tx, &condition, &said, now)?;
                }
                let before = before.map(|b| {
                    json!({ "paused": b.paused.map(Pause::as_str), "reason": b.pause_reason,
                        "quarantined": b.quarantined_at.is_some() })
                });
                let after = json!({ "paused": null, "pairs_released": released });
                audit.record(
                    tx,
                    now,
                    "app.resume",
                    Some(app.as_str()),
                    before,
                    Some(after),
                )?;
                Ok((
                    Resumed {
                        was,
                        released,
                        quarantined,
                    },
                    jobs,
                ))
            })
            .await
    }
}
