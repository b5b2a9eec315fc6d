//! Per-credential rate limits: a client of the shared state store ([`crate::state`]). One
//! bucket per credential name, refilled continuously, so a burst up to the per-minute
//! figure passes and a steady stream above it gets 429 with the wait in `Retry-After`.
//! With Redis the bucket is shared, so replicas enforce one limit between them; when the
//! store cannot answer, the check fails (503), never lets the request through unchecked.

use crate::state::{RateDecision, StateError, StateStore};

pub struct RateLimiter {
    store: StateStore,
}

impl RateLimiter {
    pub fn new(store: StateStore) -> Self {
        Self { store }
    }

    /// Takes one request from `principal`'s bucket. `Ok(Err(wait))`: over the limit.
    pub async fn check(
        &self,
        principal: &str,
        per_minute: u32,
    ) -> Result<RateDecision, StateError> {
        self.store.rate_check(principal, per_minute).await
    }
}
