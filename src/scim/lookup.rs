//! Finding accounts and groups: by filter where announced and honoured, else by paging and matching locally.

use serde::de::DeserializeOwned;
use serde_json::Value;

mod proved;

use super::client::Request;
use super::dialect::{FilterTrust, Learned, TrustSlot};
use super::error::ScimError;
use super::models::{ListResponse, ScimUser};
use super::session::ScimSession;

/// Resources asked for per page when the server does not cap it lower.
const PAGE_SIZE: u32 = 100;
/// Resources asked for per listing page at most, where the app announces a larger
/// `maxResults`: listings are parsed as they stream, so a page's size costs no memory.
const LISTING_PAGE_MAX: u32 = 1_000;
/// A guard against servers that never stop paging.
const MAX_PAGES: u32 = 10_000;

/// How to recognise an account that may predate provisioning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserKey<'a> {
    /// Our id, stamped on accounts we manage; compared exactly.
    ExternalId(&'a str),
    /// The login name; compared ignoring case.
    UserName(&'a str),
    /// Any of the account's emails; compared ignoring case (Nextcloud lowercases them).
    Email(&'a str),
}

impl UserKey<'_> {
    fn attribute(&self) -> &'static str {
        match self {
            UserKey::ExternalId(_) => "externalId",
            UserKey::UserName(_) => "userName",
            UserKey::Email(_) => "emails.value",
        }
    }

    /// What the filter on this key's attribute has shown.
    pub fn trust(&self, learned: &Learned) -> FilterTrust {
        match self {
            UserKey::ExternalId(_) => learned.filters.external_id,
            UserKey::UserName(_) => learned.filters.user_name,
            UserKey::Email(_) => learned.filters.email,
        }
    }

    fn set_trust(&self, learned: &mut Learned, trust: FilterTrust) {
        let slot = match self {
            UserKey::ExternalId(_) => &mut learned.filters.external_id,
            UserKey::UserName(_) => &mut learned.filters.user_name,
            UserKey::Email(_) => &mut learned.filters.email,
        };
        // A filter caught lying stays distrusted.
        if *slot != FilterTrust::Lies {
            *slot = trust;
        }
    }

    // Whether the app keeps nothing this key could match.
    fn never_kept(&self, learned: &Learned) -> bool {
        match self {
            UserKey::ExternalId(_) => learned.drops_external_id,
            UserKey::UserName(_) => false,
            UserKey::Email(_) => learned.drops_emails,
        }
    }

    fn value(&self) -> &str {
        match self {
            UserKey::ExternalId(v) | UserKey::UserName(v) | UserKey::Email(v) => v,
        }
    }

    /// Whether `user` is the account this key names.
    pub fn matches(&self, user: &ScimUser) -> bool {
        match self {
            UserKey::ExternalId(v) => user.external_id.as_deref() == Some(*v),
            UserKey::UserName(v) => user.user_name.to_lowercase() == v.to_lowercase(),
            UserKey::Email(v) => user.has_email(v),
        }
    }

    // What a server applying the filter could plausibly return; anything else means it ignored it.
    fn loosely_matches(&self, user: &ScimUser) -> bool {
        match self {
            UserKey::ExternalId(v) => user
                .external_id
                .as_deref()
                .is_some_and(|e| e.to_lowercase() == v.to_lowercase()),
            _ => self.matches(user),
        }
    }

    fn candidates(&self) -> Vec<String> {
        let v = self.value().to_owned();
        let lower = v.to_lowercase();
        // Servers that compare case-sensitively despite RFC 7643 still find a lowercased copy.
        if matches!(self, UserKey::ExternalId(_)) || lower == v {
            vec![v]
        } else {
            vec![v, lower]
        }
    }
}

/// A SCIM filter comparing `attribute` with `value`, quoted and escaped as a JSON string.
pub fn eq_filter(attribute: &str, value: &str) -> String {
    format!("{attribute} eq {}", Value::String(value.to_owned()))
}

impl ScimSession {
    /// The first account matching `key`: by filter where announced and honoured, else by paging.
    pub async fn find_user(&self, key: UserKey<'_>) -> Result<Option<ScimUser>, ScimError> {
        self.find_resource(
            "find_user",
            "Users",
            key.attribute(),
            &key.candidates(),
            |u| key.matches(u),
            |u| key.loosely_matches(u),
            None,
        )
        .await
    }

    /// Hands every account to `each`, page by page, never holding more than a page.
    pub async fn for_each_account(&self, mut each: impl FnMut(ScimUser)) -> Result<(), ScimError> {
        self.scan("list_users", "Users", |page: Vec<ScimUser>| {
            page.into_iter().for_each(&mut each);
            false
        })
        .await
    }

    /// Every account, page by page (for drift checks).
    pub async fn list_users(&self) -> Result<Vec<ScimUser>, ScimError> {
        let mut all = Vec::new();
        self.scan("list_users", "Users", |page: Vec<ScimUser>| {
            all.extend(page);
            false
        })
        .await?;
        Ok(all)
    }

    /// Finds one resource by `attribute eq value`, trusting the filter only when announced and
    /// honoured; with `trust`, an empty answer is believed only once that filter was proved
    /// (else a listing decides, and a filter caught missing a resource is not asked again).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn find_resource<T: DeserializeOwned + Send + 'static>(
        &self,
        op: &'static str,
        collection: &'static str,
        attribute: &str,
        candidates: &[String],
        matches: impl Fn(&T) -> bool,
        loosely_matches: impl Fn(&T) -> bool,
        trust: Option<TrustSlot>,
    ) -> Result<Option<T>, ScimError> {
        let caps = self.capabilities().await?;
        let trusted = |learned: &mut Learned| trust.map(|slot| *slot(learned));
        let mut learned = self.client().learned();
        let asked = caps.filter
            && !learned.filter_broken
            && trusted(&mut learned) != Some(FilterTrust::Lies);
        let mut answered_empty = false;
        if asked {
            let mut usable = true;
            for value in candidates {
                let query = [
                    ("filter", eq_filter(attribute, value)),
                    ("count", caps.page_size(PAGE_SIZE).to_string()),
                ];
                let mut req = Request::new(op, "GET", vec![collection]);
                req.query = &query;
                // 501: filtering switched off after all; 400: this attribute cannot be filtered
                // on; 500: Nextcloud on `emails.value`. None of it is worth retrying.
                req.expect = &[400, 500, 501];
                let answer = self.send(req).await?;
                if !answer.is_success() {
                    if answer.status == 500 {
                        tracing::info!(
                            collection,
                            "the server fails on filters; listing from now on"
                        );
                        self.client().learn(|l| l.filter_broken = true);
                    }
                    usable = false;
                    break;
                }
                let page: ListResponse<T> = answer.json()?;
                if page.resources.iter().any(|r| !loosely_matches(r)) {
                    // Canaille does this: it ignores the filter and lists everyone.
                    tracing::info!(
                        collection,
                        "the server ignores filters; matching locally from now on"
                    );
                    self.client().learn(|l| l.filter_broken = true);
                    usable = false;
                    break;
                }
                if let Some(found) = page.resources.into_iter().find(|r| matches(r)) {
                    if let Some(slot) = trust {
                        self.client().learn(|l| {
                            if *slot(l) == FilterTrust::Unproved {
                                *slot(l) = FilterTrust::Proved;
                            }
                        });
                    }
                    return Ok(Some(found));
                }
            }
            let mut now = self.client().learned();
            if usable && matches!(trusted(&mut now), None | Some(FilterTrust::Proved)) {
                return Ok(None);
            }
            answered_empty = usable;
        }
        let mut found = None;
        self.scan(op, collection, |page: Vec<T>| {
            found = page.into_iter().find(|r| matches(r));
            found.is_some()
        })
        .await?;
        if let (true, Some(_), Some(slot)) = (answered_empty, &found, trust) {
            tracing::info!(
                collection,
                "a filter answered nothing for a resource that exists; listing from now on"
            );
            self.client().learn(|l| *slot(l) = FilterTrust::Lies);
        }
        Ok(found)
    }

    /// Pages through a collection with `startIndex`/`count` until `on_page` returns true or it ends.
    pub(crate) async fn scan<T: DeserializeOwned + Send + 'static>(
        &self,
        op: &'static str,
        collection: &'static str,
        on_page: impl FnMut(Vec<T>) -> bool,
    ) -> Result<(), ScimError> {
        self.scan_within(op, collection, u64::MAX, on_page)
            .await
            .map(|_| ())
    }

    /// [`Self::scan`], giving up after the first page when the whole listing would take
    /// more than `max_pages` pages; answers whether it went through.
    pub(crate) async fn scan_within<T: DeserializeOwned + Send + 'static>(
        &self,
        op: &'static str,
        collection: &'static str,
        max_pages: u64,
        mut on_page: impl FnMut(Vec<T>) -> bool,
    ) -> Result<bool, ScimError> {
        // Pages at the app's announced `maxResults`: the fewest requests it allows.
        let count = self
            .capabilities()
            .await?
            .filter_max_results
            .map_or(PAGE_SIZE, |m| m.clamp(1, LISTING_PAGE_MAX));
        let mut start: u64 = 1;
        for n in 0..MAX_PAGES {
            let query = [
                ("startIndex", start.to_string()),
                ("count", count.to_string()),
            ];
            let mut req = Request::new(op, "GET", vec![collection]);
            req.query = &query;
            req.stream = true;
            let mut found = false;
            let page = self
                .send(req)
                .await?
                .stream_list(|batch: Vec<T>| {
                    found = on_page(batch);
                    found
                })
                .await?;
            if found {
                return Ok(true);
            }
            let (received, total) = (page.received, page.total_results);
            if n == 0 && received > 0 && total.div_ceil(received) > max_pages {
                return Ok(false);
            }
            start += received;
            // A server that ignores startIndex sends everything at once; this still ends.
            if received == 0 || start > total {
                return Ok(true);
            }
        }
        tracing::warn!(collection, "stopped paging after {MAX_PAGES} pages");
        Ok(true)
    }
}
