//! The batch's group membership writer: the memberships of many pairs gathered and
//! written per group in as few requests as the app allows, each pair told its own result.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::sync::oneshot;

use super::push::PushStore;
use super::reconcile::{Membership, Pushed};
use crate::scim::{ErrorKind, MemberChange, PushedGroup, ScimCall, ScimClient, ScimError};

/// Pairs whose memberships wait at most before they are written without the rest.
const FLUSH_AT: usize = 500;

/// A group of the app: its name, and ours when it is a pushed group.
type GroupKey<'a> = (&'a str, Option<&'a Pushed>);

/// What one pair gets back: whether its memberships hold, and the requests made for it.
pub type Written = (Result<(), ScimError>, Vec<ScimCall>);

/// Gathers the memberships of one batch until every pair has spoken (or enough wait).
pub struct Memberships {
    client: ScimClient,
    push: Option<PushStore>,
    state: Mutex<State>,
}

struct State {
    // Pairs of the batch that have not called `write` yet.
    outstanding: usize,
    queued: Vec<Queued>,
}

struct Queued {
    wanted: Vec<Membership>,
    reply: oneshot::Sender<Written>,
}

impl Memberships {
    /// A writer for a batch of `pairs` pairs of the app `client` talks to; `push`
    /// records the groups it makes for `push_groups`.
    pub fn new(client: ScimClient, pairs: usize, push: Option<PushStore>) -> Memberships {
        Memberships {
            client,
            push,
            state: Mutex::new(State {
                outstanding: pairs,
                queued: Vec::new(),
            }),
        }
    }

    /// Called exactly once by every pair of the batch, with the memberships it needs
    /// (none is fine); answers once they are written and confirmed. The last pair to
    /// call (or the one that fills a chunk) writes for all waiting.
    pub async fn write(&self, wanted: Vec<Membership>) -> Written {
        let (reply, due) = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.outstanding = state.outstanding.saturating_sub(1);
            let reply = (!wanted.is_empty()).then(|| {
                let (tx, rx) = oneshot::channel();
                state.queued.push(Queued { wanted, reply: tx });
                rx
            });
            let due = if state.outstanding == 0 || state.queued.len() >= FLUSH_AT {
                std::mem::take(&mut state.queued)
            } else {
                Vec::new()
            };
            (reply, due)
        };
        if !due.is_empty() {
            self.flush(due).await;
        }
        match reply {
            None => (Ok(()), Vec::new()),
            Some(rx) => rx.await.unwrap_or_else(|_| {
                let e = ScimError::other(
                    ErrorKind::Transient,
                    "PATCH",
                    "/Groups",
                    None,
                    "the membership writer stopped before it answered",
                );
                (Err(e), Vec::new())
            }),
        }
    }

    async fn flush(&self, due: Vec<Queued>) {
        let session = self.client.session();
        let mut by_group: BTreeMap<GroupKey<'_>, Vec<(usize, &Membership)>> = BTreeMap::new();
        for (i, q) in due.iter().enumerate() {
            for m in &q.wanted {
                by_group
                    .entry((m.group.as_str(), m.pushed.as_ref()))
                    .or_default()
                    .push((i, m));
            }
        }
        let mut results: Vec<Result<(), ScimError>> = due.iter().map(|_| Ok(())).collect();
        for ((group, pushed), entries) in &by_group {
            let changes: Vec<MemberChange<'_>> = entries
                .iter()
                .map(|(_, m)| MemberChange {
                    account: &m.account,
                    who: &m.who,
                    member: m.member,
                    known: m.known,
                })
                .collect();
            let written = match pushed {
                None => session.set_memberships(group, &changes).await,
                Some(p) => {
                    let external_id = p.group.to_string();
                    let target = PushedGroup {
                        name: group,
                        external_id: &external_id,
                        scim_id: p.scim_id.as_deref(),
                    };
                    let (written, made) = session.set_pushed_memberships(&target, &changes).await;
                    if let (Some(scim_id), Some(store)) = (made, &self.push) {
                        store.record(p.group, scim_id, (*group).to_owned()).await;
                    }
                    written
                }
            };
            for ((i, _), result) in entries.iter().zip(written) {
                if let (Err(e), Some(slot @ Ok(()))) = (result, results.get_mut(*i)) {
                    *slot = Err(e);
                }
            }
        }
        drop(by_group);
        // Requests made for many pairs are journaled once, with the first of them.
        let mut calls = Some(session.into_calls());
        for (q, result) in due.into_iter().zip(results) {
            let _ = q.reply.send((result, calls.take().unwrap_or_default()));
        }
    }
}
