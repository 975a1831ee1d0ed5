//! What a client remembers about its app between requests: the announced features
//! (for an hour), whether it has a Group resource, group ids, and the dialect record.

use std::time::Instant;

use super::{CAPABILITIES_TTL, ScimClient};
use crate::scim::dialect::Learned;
use crate::scim::discovery::Capabilities;

impl ScimClient {
    /// Capabilities still fresh in the cache, if any.
    pub(crate) fn cached_capabilities(&self) -> Option<Capabilities> {
        let guard = self
            .inner
            .capabilities
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        guard.and_then(|(at, caps)| (at.elapsed() < CAPABILITIES_TTL).then_some(caps))
    }

    pub(crate) fn store_capabilities(&self, caps: Capabilities) {
        let mut guard = self
            .inner
            .capabilities
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *guard = Some((Instant::now(), caps));
    }

    /// The settings' overrides of announced filter and PATCH support.
    pub(crate) fn overrides(&self) -> (Option<bool>, Option<bool>) {
        (self.inner.filter, self.inner.patch)
    }

    /// What has been learned about the app so far.
    pub fn learned(&self) -> Learned {
        *self.inner.learned.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn group_resource(&self) -> Option<Option<bool>> {
        *self
            .inner
            .group_resource
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn store_group_resource(&self, found: Option<bool>) {
        *self
            .inner
            .group_resource
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(found);
    }

    /// The known group ids by name, held while a group is found or made.
    pub(crate) async fn group_ids(
        &self,
    ) -> tokio::sync::MutexGuard<'_, std::collections::HashMap<String, String>> {
        self.inner.group_ids.lock().await
    }

    /// Records something learned about the app.
    pub(crate) fn learn(&self, change: impl FnOnce(&mut Learned)) {
        change(&mut self.inner.learned.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Forgets the announced capabilities, so the next call asks again.
    pub fn forget_capabilities(&self) {
        let mut guard = self
            .inner
            .capabilities
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *guard = None;
    }
}
