//! The state in this process's memory: what a single replica needs, and the default. Each
//! operation holds one mutex for its whole read-modify-write, which is what makes it atomic.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::usage::{Budget, Counts, Fields, Spent};
use super::{RateDecision, fields};

struct Bucket {
    tokens: f64,
    updated: Instant,
}

struct Task {
    record: String,
    terminal: bool,
    expires: Instant,
}

/// Bucket (and task) count at which stale entries are dropped.
const PRUNE_AT: usize = 10_000;

#[derive(Default)]
pub(super) struct MemoryStore {
    buckets: Mutex<HashMap<String, Bucket>>,
    /// (day, principal) -> counters; only today and yesterday are kept.
    usage: Mutex<BTreeMap<(String, String), Fields>>,
    tasks: Mutex<HashMap<String, Task>>,
    /// Artifact id -> (content, expiry).
    artifacts: Mutex<HashMap<String, (String, Instant)>>,
}

/// A poisoned lock only means another request panicked mid-update; the data is still
/// usable, and refusing every request would be worse.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryStore {
    /// A token bucket: a burst up to `per_minute` passes, then one every 60/`per_minute` s.
    pub fn rate_check(&self, principal: &str, per_minute: u32) -> RateDecision {
        self.rate_check_at(principal, per_minute, Instant::now())
    }

    pub(super) fn rate_check_at(
        &self,
        principal: &str,
        per_minute: u32,
        now: Instant,
    ) -> RateDecision {
        let capacity = f64::from(per_minute.max(1));
        let per_sec = capacity / 60.0;
        let mut buckets = lock(&self.buckets);
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

    pub fn task_save(&self, id: &str, record: &str, terminal: bool, ttl: Duration) -> bool {
        self.task_save_at(id, record, terminal, ttl, Instant::now())
    }

    pub(super) fn task_save_at(
        &self,
        id: &str,
        record: &str,
        terminal: bool,
        ttl: Duration,
        now: Instant,
    ) -> bool {
        let mut tasks = lock(&self.tasks);
        if tasks.len() >= PRUNE_AT {
            tasks.retain(|_, t| t.expires > now);
        }
        if tasks.get(id).is_some_and(|t| t.terminal && t.expires > now) {
            return false;
        }
        tasks.insert(
            id.to_string(),
            Task {
                record: record.to_string(),
                terminal,
                // A TTL past what an Instant holds means "as good as forever".
                expires: now
                    .checked_add(ttl)
                    .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400)),
            },
        );
        true
    }

    pub fn task_load(&self, id: &str) -> Option<String> {
        self.task_load_at(id, Instant::now())
    }

    pub(super) fn task_load_at(&self, id: &str, now: Instant) -> Option<String> {
        lock(&self.tasks)
            .get(id)
            .filter(|t| t.expires > now)
            .map(|t| t.record.clone())
    }

    pub fn artifact_put(&self, id: &str, content: &str, ttl: Duration) {
        let now = Instant::now();
        let mut artifacts = lock(&self.artifacts);
        if artifacts.len() >= PRUNE_AT {
            artifacts.retain(|_, (_, expires)| *expires > now);
        }
        let expires = now
            .checked_add(ttl)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400));
        artifacts.insert(id.to_string(), (content.to_string(), expires));
    }

    pub fn artifact_get(&self, id: &str) -> Option<String> {
        let now = Instant::now();
        lock(&self.artifacts)
            .get(id)
            .filter(|(_, expires)| *expires > now)
            .map(|(content, _)| content.clone())
    }

    pub fn admit(&self, principal: &str, day: &str, budget: &Budget) -> Option<Spent> {
        let mut usage = lock(&self.usage);
        // Days sort as text; keep today and the day before.
        if let Some(oldest) = usage.keys().next().map(|(d, _)| d.clone())
            && oldest.as_str() < day
        {
            let keep_from = yesterday_of(day);
            if oldest < keep_from {
                usage.retain(|(d, _), _| *d >= keep_from);
            }
        }
        let f = usage
            .entry((day.to_string(), principal.to_string()))
            .or_default();
        let requests = f.get(fields::REQUESTS).copied().unwrap_or(0);
        let tokens = f.get(fields::TOKENS).copied().unwrap_or(0);
        if let Some(limit) = budget.max_requests_per_day
            && requests >= limit
        {
            return Some(Spent::Requests {
                used: requests,
                limit,
            });
        }
        if let Some(limit) = budget.max_tokens_per_day
            && tokens >= limit
        {
            return Some(Spent::Tokens {
                used: tokens,
                limit,
            });
        }
        *f.entry(fields::REQUESTS.to_string()).or_default() += 1;
        None
    }

    pub fn add_usage(&self, principal: &str, day: &str, model: &str, c: &Counts) {
        let mut usage = lock(&self.usage);
        let f = usage
            .entry((day.to_string(), principal.to_string()))
            .or_default();
        for (field, n) in [
            (fields::TOKENS.to_string(), c.total),
            (fields::model(model, "prompt"), c.prompt),
            (fields::model(model, "completion"), c.completion),
            (fields::model(model, "total"), c.total),
            (fields::model(model, "requests"), 1),
        ] {
            let v = f.entry(field).or_default();
            *v = v.saturating_add(n);
        }
    }

    pub fn day_counters(&self, day: &str) -> Vec<(String, Fields)> {
        lock(&self.usage)
            .iter()
            .filter(|((d, _), _)| d == day)
            .map(|((_, p), f)| (p.clone(), f.clone()))
            .collect()
    }
}

/// The `YYYY-MM-DD` before `day` (lexically smaller is enough for pruning: `day` minus one
/// in its last digit would not be, so compute it).
fn yesterday_of(day: &str) -> String {
    let parse = |r: std::ops::Range<usize>| day.get(r).and_then(|s| s.parse::<i64>().ok());
    match (parse(0..4), parse(5..7), parse(8..10)) {
        (Some(y), Some(m), Some(d)) => {
            // days_from_civil (Howard Hinnant), then one back.
            let y = if m <= 2 { y - 1 } else { y };
            let era = y.div_euclid(400);
            let yoe = y - era * 400;
            let mp = (m + 9) % 12;
            let doy = (153 * mp + 2) / 5 + d - 1;
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            let days = era * 146_097 + doe - 719_468;
            super::usage::day_string(u64::try_from(days - 1).unwrap_or(0))
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yesterday() {
        assert_eq!(yesterday_of("2024-03-01"), "2024-02-29");
        assert_eq!(yesterday_of("2026-01-01"), "2025-12-31");
        assert_eq!(yesterday_of("2026-11-05"), "2026-11-04");
    }

    #[test]
    fn burst_then_refill() {
        let m = MemoryStore::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(m.rate_check_at("a", 3, t0).is_ok());
        }
        let wait = m.rate_check_at("a", 3, t0).unwrap_err();
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // Other credentials have their own bucket.
        assert!(m.rate_check_at("b", 3, t0).is_ok());
        assert!(
            m.rate_check_at("a", 3, t0 + Duration::from_secs(20))
                .is_ok()
        );
        assert!(
            m.rate_check_at("a", 3, t0 + Duration::from_secs(20))
                .is_err()
        );
    }

    #[test]
    fn tasks_expire() {
        let m = MemoryStore::default();
        let t0 = Instant::now();
        assert!(m.task_save_at("t", "{}", true, Duration::from_secs(5), t0));
        assert_eq!(m.task_load_at("t", t0).as_deref(), Some("{}"));
        assert_eq!(m.task_load_at("t", t0 + Duration::from_secs(6)), None);
        // An expired terminal record no longer blocks a new one.
        assert!(m.task_save_at(
            "t",
            "{\"n\":2}",
            false,
            Duration::from_secs(5),
            t0 + Duration::from_secs(6)
        ));
    }
}
