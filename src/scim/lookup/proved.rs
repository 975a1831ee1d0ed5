//! Finding a person's account by their keys, in one request where the app filters, and
//! believing an empty answer only from a filter that was seen to find a known account.

use super::super::client::Request;
use super::super::dialect::FilterTrust;
use super::super::error::ScimError;
use super::super::models::{ListResponse, ScimUser};
use super::super::session::ScimSession;
use super::{PAGE_SIZE, UserKey, eq_filter};

impl ScimSession {
    /// The account matching the earliest of `keys` (in order of trust): one request with
    /// every key where the app filters, else one listing. An empty filter answer is
    /// believed only for attributes whose filter found a known account before.
    pub async fn find_user_by_any(
        &self,
        keys: &[UserKey<'_>],
    ) -> Result<Option<ScimUser>, ScimError> {
        let caps = self.capabilities().await?;
        let learned = self.client().learned();
        if !caps.filter || learned.filter_broken {
            return self.scan_for_best(keys).await;
        }
        // Attributes the app never keeps find nothing either way; lying filters are not asked.
        let relevant: Vec<UserKey<'_>> = keys
            .iter()
            .copied()
            .filter(|k| !k.never_kept(&learned))
            .collect();
        let asked: Vec<UserKey<'_>> = relevant
            .iter()
            .copied()
            .filter(|k| k.trust(&learned) != FilterTrust::Lies)
            .collect();
        let answered = self
            .filter_for_best(&asked, caps.page_size(PAGE_SIZE))
            .await?;
        match answered {
            Some(Some(user)) => {
                self.learn_trust(&asked, &user, FilterTrust::Proved);
                return Ok(Some(user));
            }
            Some(None)
                if relevant
                    .iter()
                    .all(|k| k.trust(&self.client().learned()) == FilterTrust::Proved) =>
            {
                return Ok(None);
            }
            _ => {}
        }
        // An empty answer not yet proved, or a filter that failed: a listing decides.
        let listed = self.scan_for_best(keys).await?;
        if let (Some(None), Some(user)) = (&answered, &listed) {
            tracing::info!(
                "a filter answered nothing for an account that exists; listing from now on for it"
            );
            self.learn_trust(&asked, user, FilterTrust::Lies);
        }
        Ok(listed)
    }

    /// After an account is made (`id`, found by `keys`): asks each filter not yet proved for
    /// it once, so later empty answers can be believed, or are known to lie.
    pub async fn prove_filters(&self, keys: &[UserKey<'_>], id: &str) -> Result<(), ScimError> {
        let caps = self.capabilities().await?;
        let learned = self.client().learned();
        if !caps.filter || learned.filter_broken {
            return Ok(());
        }
        for key in keys {
            if key.never_kept(&learned) || key.trust(&learned) != FilterTrust::Unproved {
                continue;
            }
            let Some(found) = self.filter_once(*key, caps.page_size(PAGE_SIZE)).await? else {
                return Ok(());
            };
            let trust = match found {
                Some(u) if u.id.as_deref() == Some(id) => FilterTrust::Proved,
                _ => FilterTrust::Lies,
            };
            self.client().learn(|l| key.set_trust(l, trust));
        }
        Ok(())
    }

    // `Ok(None)`: the filter cannot be used (an error, or it ignored the filter); else
    // what it found, best key first: one request with every key joined by `or` where the
    // app takes that, else one per key until one finds the account.
    async fn filter_for_best(
        &self,
        keys: &[UserKey<'_>],
        count: u32,
    ) -> Result<Option<Option<ScimUser>>, ScimError> {
        if keys.len() > 1 && !self.client().learned().combined_filter_broken {
            if let Some(found) = self.find_by_combined_filter(keys, count).await? {
                return Ok(Some(found));
            }
            tracing::info!(
                "the app does not take a filter joined with `or`; one key per request from now on"
            );
            self.client().learn(|l| l.combined_filter_broken = true);
        }
        for key in keys {
            match self.filter_once(*key, count).await? {
                None => return Ok(None),
                Some(Some(user)) => return Ok(Some(Some(user))),
                Some(None) => {}
            }
        }
        Ok(Some(None))
    }

    // One filter request per candidate value of `key`; `Ok(None)` when the filter cannot be used.
    async fn filter_once(
        &self,
        key: UserKey<'_>,
        count: u32,
    ) -> Result<Option<Option<ScimUser>>, ScimError> {
        for value in key.candidates() {
            let query = [
                ("filter", eq_filter(key.attribute(), &value)),
                ("count", count.to_string()),
            ];
            let mut req = Request::new("find_user", "GET", vec!["Users"]);
            req.query = &query;
            req.expect = &[400, 500, 501];
            let answer = self.send(req).await?;
            if !answer.is_success() {
                if answer.status == 500 {
                    tracing::info!("the server fails on filters; listing from now on");
                    self.client().learn(|l| l.filter_broken = true);
                }
                return Ok(None);
            }
            let page: ListResponse<ScimUser> = answer.json()?;
            if page.resources.iter().any(|u| !key.loosely_matches(u)) {
                // Canaille does this: it ignores the filter and lists everyone.
                tracing::info!("the server ignores filters; matching locally from now on");
                self.client().learn(|l| l.filter_broken = true);
                return Ok(None);
            }
            if let Some(found) = page.resources.into_iter().find(|u| key.matches(u)) {
                return Ok(Some(Some(found)));
            }
        }
        Ok(Some(None))
    }

    // Records `trust` for the filters of `keys` that `user` matches.
    fn learn_trust(&self, keys: &[UserKey<'_>], user: &ScimUser, trust: FilterTrust) {
        self.client().learn(|l| {
            for key in keys.iter().filter(|k| k.matches(user)) {
                key.set_trust(l, trust);
            }
        });
    }

    // `Ok(None)`: the app cannot be trusted with this filter (400/501, or it answered
    // accounts that match none of the keys); `Ok(Some(found))` otherwise.
    async fn find_by_combined_filter(
        &self,
        keys: &[UserKey<'_>],
        count: u32,
    ) -> Result<Option<Option<ScimUser>>, ScimError> {
        let filter = keys
            .iter()
            .flat_map(|k| {
                k.candidates()
                    .into_iter()
                    .map(|v| eq_filter(k.attribute(), &v))
            })
            .collect::<Vec<_>>()
            .join(" or ");
        let query = [("filter", filter), ("count", count.to_string())];
        let mut req = Request::new("find_user", "GET", vec!["Users"]);
        req.query = &query;
        req.expect = &[400, 500, 501];
        let answer = self.send(req).await?;
        if !answer.is_success() {
            return Ok(None);
        }
        let page: ListResponse<ScimUser> = answer.json()?;
        if page
            .resources
            .iter()
            .any(|u| !keys.iter().any(|k| k.loosely_matches(u)))
        {
            return Ok(None);
        }
        let best = page
            .resources
            .into_iter()
            .filter_map(|u| {
                keys.iter()
                    .position(|k| k.matches(&u))
                    .map(|rank| (rank, u))
            })
            .min_by_key(|(rank, _)| *rank)
            .map(|(_, u)| u);
        Ok(Some(best))
    }

    /// The account matching the earliest of `keys`, by listing every account (no filter):
    /// for when a filter's "no match" cannot be trusted.
    pub async fn list_user_matching(
        &self,
        keys: &[UserKey<'_>],
    ) -> Result<Option<ScimUser>, ScimError> {
        self.scan_for_best(keys).await
    }

    // Without filters every lookup is a full listing; one listing serves all keys at once.
    async fn scan_for_best(&self, keys: &[UserKey<'_>]) -> Result<Option<ScimUser>, ScimError> {
        let mut best: Option<(usize, ScimUser)> = None;
        self.scan("find_user", "Users", |page: Vec<ScimUser>| {
            for user in page {
                if let Some(rank) = keys.iter().position(|k| k.matches(&user))
                    && best.as_ref().is_none_or(|(r, _)| rank < *r)
                {
                    best = Some((rank, user));
                }
            }
            best.as_ref().is_some_and(|(r, _)| *r == 0)
        })
        .await?;
        Ok(best.map(|(_, u)| u))
    }
}
