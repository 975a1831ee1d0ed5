//! Changes to apps: install, uninstall, and "Sync now".

use serde_json::json;
use uuid::Uuid;

use super::{ServiceError, UserService, store};
use crate::domain::Slug;
use crate::pairs::{Pairs, mark_for_sync};

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
    /// wanted; the `unchanged` ones were confirmed by the listing and need nothing.
    pub async fn resync_pairs(
        &self,
        app: &Slug,
        changed: Vec<Uuid>,
        unchanged: usize,
    ) -> Result<usize, ServiceError> {
        let app = app.clone();
        self.write(move |tx, now, audit| {
            store::app_exists(tx, &app)?;
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
