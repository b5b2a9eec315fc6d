//! Per-credential rate limits: one token bucket per credential name, refilled
//! continuously, so a burst up to the per-minute figure passes and a steady stream above
//! it gets 429 with the wait in `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Bucket count at which idle buckets are dropped.
const PRUNE_AT: usize = 10_000;

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Takes one request from `principal`'s bucket. `Err` holds how long until one is free.
    pub fn check(&self, principal: &str, per_minute: u32) -> Result<(), Duration> {
        self.check_at(principal, per_minute, Instant::now())
    }

    fn check_at(&self, principal: &str, per_minute: u32, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(per_minute.max(1));
        let per_sec = capacity / 60.0;
        // A poisoned lock only means another request panicked mid-update; the counts are
        // still usable, and refusing every request would be worse.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // OAuth subjects come and go; forget buckets that have refilled (a fresh bucket
        // starts full anyway) so the map stays small.
        if buckets.len() >= PRUNE_AT {
            buckets
                .retain(|_, b| now.saturating_duration_since(b.updated) < Duration::from_secs(60));
        }
        let bucket = buckets.entry(principal.to_string()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("a", 3, t0).is_ok());
        }
        let wait = limiter.check_at("a", 3, t0).unwrap_err();
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // Other credentials have their own bucket.
        assert!(limiter.check_at("b", 3, t0).is_ok());
        assert!(
            limiter
                .check_at("a", 3, t0 + Duration::from_secs(20))
                .is_ok()
        );
        assert!(
            limiter
                .check_at("a", 3, t0 + Duration::from_secs(20))
                .is_err()
        );
    }
}
