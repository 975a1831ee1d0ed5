//! One listing for a batch of people: the accounts any of them may hold, found by every
//! key a lookup uses, so the batch needs no lookup request per person.
//!
//! Only accounts matching one of the batch's keys are kept: memory follows the batch,
//! not the size of the app. It lives for one batch, so a change made by hand in the app
//! is seen by the next one.

use std::collections::{HashMap, HashSet};

use super::error::ScimError;
use super::lookup::UserKey;
use super::models::ScimUser;
use super::session::ScimSession;

/// What one person of the batch may be found by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The account id stored by an earlier reconcile.
    pub known_id: Option<String>,
    /// Our user id, sent as `externalId`.
    pub external_id: String,
    /// The rendered userName.
    pub user_name: String,
    /// The person's email.
    pub email: String,
}

/// The accounts of one listing that the batch's people may hold.
#[derive(Debug, Default)]
pub struct AccountIndex {
    accounts: Vec<ScimUser>,
    by_id: HashMap<String, usize>,
    by_external_id: HashMap<String, usize>,
    by_user_name: HashMap<String, usize>,
    by_email: HashMap<String, usize>,
}

impl AccountIndex {
    /// The account this person holds, by the same trust order as a lookup: stored id,
    /// then externalId, userName and email (the last two ignoring case).
    pub fn find(&self, wanted: &Wanted) -> Option<&ScimUser> {
        let at = wanted
            .known_id
            .as_ref()
            .and_then(|id| self.by_id.get(id))
            .or_else(|| self.by_external_id.get(&wanted.external_id))
            .or_else(|| self.by_user_name.get(&wanted.user_name.to_lowercase()))
            .or_else(|| self.by_email.get(&wanted.email.to_lowercase()))?;
        self.accounts.get(*at)
    }

    /// How many accounts of the listing concern the batch.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether no account of the listing concerns the batch.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    fn insert(&mut self, user: ScimUser) {
        let at = self.accounts.len();
        if let Some(id) = &user.id {
            self.by_id.entry(id.clone()).or_insert(at);
        }
        if let Some(e) = user.external_id() {
            self.by_external_id.entry(e.to_owned()).or_insert(at);
        }
        self.by_user_name
            .entry(user.user_name.to_lowercase())
            .or_insert(at);
        for email in &user.emails {
            self.by_email
                .entry(email.value.to_lowercase())
                .or_insert(at);
        }
        self.accounts.push(user);
    }
}

impl ScimSession {
    /// Lists the app's accounts once and keeps those `people` may hold; `None` when the
    /// listing would take more than `max_pages` pages (known after the first).
    pub async fn index_accounts(
        &self,
        people: &[Wanted],
        max_pages: u64,
    ) -> Result<Option<AccountIndex>, ScimError> {
        let mut keys: HashSet<String> = HashSet::new();
        for p in people {
            keys.extend(p.known_id.iter().map(|id| format!("i:{id}")));
            keys.insert(format!("x:{}", p.external_id));
            keys.insert(format!("u:{}", p.user_name.to_lowercase()));
            keys.insert(format!("e:{}", p.email.to_lowercase()));
        }
        let concerns = |u: &ScimUser| {
            u.id.as_ref()
                .is_some_and(|id| keys.contains(&format!("i:{id}")))
                || u.external_id()
                    .is_some_and(|e| keys.contains(&format!("x:{e}")))
                || keys.contains(&format!("u:{}", u.user_name.to_lowercase()))
                || u.emails
                    .iter()
                    .any(|e| keys.contains(&format!("e:{}", e.value.to_lowercase())))
        };
        let mut index = AccountIndex::default();
        let complete = self
            .scan_within("list_users", "Users", max_pages, |page: Vec<ScimUser>| {
                for user in page.into_iter().filter(|u| concerns(u)) {
                    index.insert(user);
                }
                false
            })
            .await?;
        Ok(complete.then_some(index))
    }
}

impl Wanted {
    /// The lookup keys of this person, in order of trust.
    pub fn keys(&self) -> [UserKey<'_>; 3] {
        [
            UserKey::ExternalId(&self.external_id),
            UserKey::UserName(&self.user_name),
            UserKey::Email(&self.email),
        ]
    }
}
