//! The provisioning engine: one client and lane per app, and how an attempt's result
//! becomes the pair's new state (done, retry with backoff, or failed).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::backoff;
use super::lanes::Lanes;
use super::reconcile::{Desired, Reconciled};
pub use super::targets::{
    DIALECT_META, EngineError, GROUPS_META, Target, client_config, load_dialects, load_group_ids,
};
use crate::db::{Db, DbError, time};
use crate::domain::{Deprovision, DesiredAccess, ProvisionStatus};
use crate::identity::IdentityStore;
use crate::pairs::{self, Claim, JobQueue, Pairs, Settle};
use crate::scim::{Learned, ScimClient, ScimError};
use crate::settings::{ScimSettings, Settings};

/// The provisioning engine shared by workers, sweeper and drift checks.
pub struct Engine {
    /// The database.
    pub db: Db,
    /// The job queue (for follow-up jobs).
    pub queue: JobQueue,
    /// Settings in force.
    pub settings: Arc<Settings>,
    /// Provisionable apps by slug.
    pub targets: HashMap<String, Target>,
    /// This process' identity in `instances` and `claimed_by`.
    pub instance: String,
    /// Where the current name and email are read at reconcile time.
    pub identities: Arc<dyn IdentityStore>,
    /// Per-app lanes and the fair share of workers.
    pub lanes: Lanes,
    /// What the workers, sweeper and writes say about the process (`/healthz`).
    pub health: crate::health::Health,
    // What each app's dialect record was when last stored, so it is written only when it changes.
    pub(super) stored_dialects: std::sync::Mutex<HashMap<String, Learned>>,
    // Each app's group ids as last stored, likewise.
    pub(super) stored_group_ids: std::sync::Mutex<HashMap<String, HashMap<String, String>>>,
}

impl Engine {
    /// Builds one client per provisionable app.
    pub fn new(
        db: Db,
        queue: JobQueue,
        settings: Arc<Settings>,
        identities: Arc<dyn IdentityStore>,
        dialects: HashMap<String, Learned>,
        group_ids: HashMap<String, HashMap<String, String>>,
    ) -> Result<Arc<Engine>, EngineError> {
        let timeout = Duration::from_secs(settings.provisioning.request_timeout_secs);
        let mut targets = HashMap::new();
        for app in &settings.apps {
            let Some(scim) = &app.scim else { continue };
            let slug = app.slug.to_string();
            let mut config = client_config(scim, timeout, &slug)?;
            config.learned = dialects.get(&slug).copied().unwrap_or_default();
            config.group_ids = group_ids.get(&slug).cloned().unwrap_or_default();
            let client = ScimClient::new(config).map_err(|source| EngineError::Client {
                app: slug.clone(),
                source,
            })?;
            targets.insert(
                slug,
                Target {
                    client,
                    scim: scim.clone(),
                },
            );
        }
        let instance = format!(
            "{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let lanes = Lanes::new(
            targets
                .iter()
                .map(|(slug, t)| (slug.clone(), t.scim.max_concurrency)),
            settings.provisioning.workers,
        );
        let health = crate::health::Health::new(Duration::from_secs(
            settings.provisioning.unhealthy_after_secs,
        ));
        Ok(Arc::new(Engine {
            lanes,
            health,
            db,
            queue,
            settings,
            targets,
            instance,
            identities,
            stored_dialects: std::sync::Mutex::new(dialects),
            stored_group_ids: std::sync::Mutex::new(group_ids),
        }))
    }

    /// With Kratos, the name and email as they are now, not as the mirror last saw them.
    /// An identity deleted in Kratos is deprovisioned.
    pub(super) async fn current_identity(
        &self,
        claim: &mut Claim,
    ) -> Result<(), crate::identity::IdentityError> {
        if !self.identities.is_remote() || claim.user_deleted {
            return Ok(());
        }
        match self.identities.get(claim.user_id).await? {
            Some(now) => {
                claim.email = now.email;
                claim.name = now.name;
            }
            None => claim.user_deleted = true,
        }
        Ok(())
    }

    /// A transient failure: try again after a backoff, or give up after `max_attempts`.
    pub(super) fn retry_or_fail(
        &self,
        claim: &Claim,
        error: String,
        retry_after: Option<Duration>,
    ) -> Settle {
        let p = &self.settings.provisioning;
        let attempts = claim.attempts as u32 + 1;
        if attempts >= p.max_attempts {
            return Settle::Fail {
                message: format!("gave up after {attempts} attempts: {error}"),
                scim_id: None,
            };
        }
        let wait = backoff::delay(
            attempts,
            Duration::from_secs(p.backoff_base_secs),
            Duration::from_secs(p.backoff_max_secs),
            retry_after,
        );
        Settle::Retry {
            next_attempt_at: time::now() + wait.as_secs().max(1) as i64,
            message: format!(
                "{error} (attempt {attempts} of {}, next in {}s)",
                p.max_attempts,
                wait.as_secs().max(1)
            ),
            scim_id: None,
            spends_attempt: true,
        }
    }

    /// A 429 the request could not wait out: back when the app said, without using up
    /// an attempt (an app that limits its rate is working, not failing).
    fn wait_for_rate_limit(&self, error: &ScimError) -> Settle {
        let p = &self.settings.provisioning;
        let wait = error
            .retry_after()
            .unwrap_or(Duration::from_secs(p.backoff_base_secs))
            .min(crate::scim::MAX_ANNOUNCED_WAIT)
            .as_secs()
            .max(1);
        Settle::Retry {
            next_attempt_at: time::now() + wait as i64,
            message: format!(
                "rate limited by the app: {error} (next in {wait}s, not counted as an attempt)"
            ),
            scim_id: None,
            spends_attempt: false,
        }
    }

    pub(super) fn settle(
        &self,
        claim: &Claim,
        result: Result<Reconciled, ScimError>,
        now: i64,
    ) -> Settle {
        match result {
            Ok(Reconciled::Provisioned { scim_id, user_name }) => Settle::Done {
                status: ProvisionStatus::Provisioned,
                message: format!("account {scim_id} is active"),
                scim_id: Some(scim_id),
                delete_at: None,
                user_name: Some(user_name),
            },
            Ok(Reconciled::Deprovisioned { scim_id: None, .. }) => Settle::Done {
                status: ProvisionStatus::Deprovisioned,
                message: "account deleted".into(),
                scim_id: None,
                delete_at: None,
                user_name: None,
            },
            Ok(Reconciled::Deprovisioned {
                scim_id: Some(scim_id),
                user_name,
                only_deactivated: true,
            }) => Settle::Done {
                status: ProvisionStatus::Deprovisioned,
                // No date: asking again would meet the same app.
                message: "account disabled: the app answered the DELETE but only deactivated it"
                    .into(),
                scim_id: Some(scim_id),
                delete_at: None,
                user_name,
            },
            Ok(Reconciled::Deprovisioned {
                scim_id: Some(scim_id),
                user_name,
                only_deactivated: false,
            }) => {
                let after = self
                    .targets
                    .get(&claim.app)
                    .and_then(|t| t.scim.delete_after_secs());
                // A date already set stands: syncing a disabled account again (drift
                // fix, retry) must not push its deletion back.
                let delete_at = after.map(|secs| claim.delete_at.unwrap_or(now + secs));
                Settle::Done {
                    status: ProvisionStatus::Deprovisioned,
                    message: match delete_at {
                        Some(at) => format!(
                            "account disabled; deleted on {} unless access comes back",
                            time::rfc3339(at)
                        ),
                        None => "account disabled".into(),
                    },
                    scim_id: Some(scim_id),
                    delete_at,
                    user_name,
                }
            }
            Ok(Reconciled::NothingToDo) => Settle::Done {
                status: ProvisionStatus::NotProvisioned,
                message: "no account in the app; nothing to disable".into(),
                scim_id: None,
                delete_at: None,
                user_name: None,
            },
            Err(e) if e.is_rate_limited() => self.wait_for_rate_limit(&e),
            Err(e) if e.is_transient() => self.retry_or_fail(claim, e.to_string(), e.retry_after()),
            Err(e) => Settle::Fail {
                message: e.to_string(),
                scim_id: None,
            },
        }
    }
}

/// The error of a message of [`Engine::retry_or_fail`], without its "(attempt 2 of 4, next
/// in 2s)": quoted later as an app's last error, the wait is stale and the attempt count
/// is one person's, not the app's.
pub fn app_error(message: &str) -> &str {
    let retry = message.rfind(" (attempt ").filter(|&at| {
        let tail = &message[at + " (attempt ".len()..];
        let Some((counts, secs)) = tail.split_once(", next in ") else {
            return false;
        };
        let numbers = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let counted = counts
            .split_once(" of ")
            .is_some_and(|(a, b)| numbers(a) && numbers(b));
        counted && secs.strip_suffix("s)").is_some_and(numbers)
    });
    match retry {
        Some(at) => &message[..at],
        None => message,
    }
}

/// What the app should hold for this pair, from the claim and the app's settings, at `now`.
pub fn desired(claim: &Claim, scim: &ScimSettings, now: i64) -> Desired {
    Desired {
        external_id: claim.user_id.to_string(),
        user_name: render_user_name(&scim.user_name, claim),
        email: claim.email.clone(),
        display_name: claim.name.clone(),
        known_scim_id: claim.scim_id.clone(),
        previous_user_name: claim.scim_user_name.clone(),
        access: DesiredAccess::of(claim.role, claim.user_deleted),
        roles: scim.roles(),
        previous_role: claim.synced_role,
        read_roles: false,
        on_deprovision: deprovision(claim, scim, now),
        manage_names: scim.manage_names(),
        pushed: Vec::new(),
    }
}

// The second stage of `delete_after_days`: a disabled account whose date passed is
// deleted. Without the setting (turned off since), the date is ignored and the next
// settle clears it.
fn deprovision(claim: &Claim, scim: &ScimSettings, now: i64) -> Deprovision {
    let due = claim.delete_at.is_some_and(|at| at <= now);
    if due && scim.delete_after_secs().is_some() {
        Deprovision::Delete
    } else {
        scim.on_deprovision()
    }
}

/// Fills the userName template: `{email}`, `{id}`, `{name}`, `{email_local}`.
pub fn render_user_name(template: &str, claim: &Claim) -> String {
    render_for(template, claim.user_id, &claim.email, &claim.name)
}

/// The userName `template` gives the person with this id, email and name.
pub fn render_for(template: &str, id: uuid::Uuid, email: &str, name: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    template
        .replace("{email_local}", local)
        .replace("{email}", email)
        .replace("{id}", &id.to_string())
        .replace("{name}", name)
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("instance", &self.instance)
            .field("apps", &self.targets.len())
            .finish()
    }
}

impl Engine {
    /// The app's name when an admin paused it entirely: then nothing is sent to it, not
    /// even a listing (drift checks and discovery refuse); `None` otherwise.
    pub async fn paused_entirely(
        &self,
        app: &crate::domain::Slug,
    ) -> Result<Option<String>, DbError> {
        let slug = app.to_string();
        let rails = self.db.run(move |c| crate::db::rails::of(c, &slug)).await?;
        Ok(rails
            .is_some_and(|r| r.paused == Some(crate::db::rails::Pause::All))
            .then(|| {
                self.settings
                    .app(app.as_str())
                    .map_or_else(|| app.to_string(), |a| a.name.clone())
            }))
    }

    /// Marks pairs of one app for sync and enqueues them (drift `--fix`).
    /// Marks these users' pairs in `app` for sync, forgetting the role the app last
    /// confirmed for them: they were marked because the app holds something else.
    pub async fn mark(
        &self,
        app: &crate::domain::Slug,
        users: Vec<uuid::Uuid>,
    ) -> Result<usize, DbError> {
        let app = app.to_string();
        let jobs = self
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let now = time::now();
                let mut jobs = Vec::new();
                for id in &users {
                    pairs::forget_confirmed_role(&tx, id, &app)?;
                    jobs.extend(pairs::mark_for_sync(&tx, Pairs::One(id, &app), now)?);
                }
                tx.commit()?;
                Ok::<_, DbError>(jobs)
            })
            .await?;
        if let Err(e) = self.queue.enqueue(&jobs).await {
            tracing::warn!(error = %e, "enqueue failed; the sweeper will pick these pairs up");
        }
        Ok(jobs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::app_error;

    #[test]
    fn an_app_error_read_later_has_neither_wait_nor_attempt_count() {
        assert_eq!(
            app_error("Connection refused (os error 111) (attempt 2 of 4, next in 5s)"),
            "Connection refused (os error 111)"
        );
        // Anything else is the app's words, quoted as they are.
        for other in [
            "POST /Users answered 400",
            "rate limited by the app: 429 (next in 3s, not counted as an attempt)",
            "the app said: retry, next in five (s)",
            "the app said (attempt one of four, next in 2s)",
        ] {
            assert_eq!(app_error(other), other);
        }
    }
}
