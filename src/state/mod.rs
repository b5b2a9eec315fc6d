//! Shared state: what replicas must agree on. It owns per-credential rate-limit buckets,
//! usage counters (tokens per principal, model and kind, and requests, per UTC day) with
//! the daily budgets checked against them, task records, and artifacts (large parts of
//! results that resource links name). [`StateStore`] keeps them in
//! this process's memory (the default: one replica, or each replica on its own) or in a
//! Redis server every replica shares, where each check is one atomic script. Callers never
//! see which: the HTTP layer asks [`StateStore::rate_check`], the server calls [`admit`]
//! before an operation and [`record`] after it. When Redis cannot be reached, checks fail
//! closed ([`StateError`]) and recording is logged and counted, never fatal to a call.
//!
//! It imports only the configuration, the metrics and the redaction list (a Redis URL may
//! hold a password), never the server or a transport.

mod memory;
mod redis;
mod usage;

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::config::{StateBackend, StateConfig};

pub use usage::{Budget, Refusal, UsageRow, admit, day_string, record, today, usage_of};

/// The store could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StateError {
    /// Redis is down, unreachable or too slow; the connection is retried on its own.
    #[error("the shared state store (Redis) is unreachable: {0}")]
    Unavailable(String),
    /// Redis answered something the scripts never return (another program's key?).
    #[error("the shared state store (Redis) gave an unexpected answer: {0}")]
    Protocol(String),
}

/// Whether a rate-limit check passed; `Err` holds how long until one request is free.
pub type RateDecision = Result<(), Duration>;

/// The shared state, cheap to clone.
#[derive(Clone)]
pub struct StateStore {
    backend: Arc<Backend>,
}

enum Backend {
    Memory(memory::MemoryStore),
    Redis(self::redis::RedisStore),
}

impl Default for StateStore {
    fn default() -> Self {
        Self::memory()
    }
}

impl StateStore {
    /// State in this process's memory.
    pub fn memory() -> Self {
        Self {
            backend: Arc::new(Backend::Memory(memory::MemoryStore::default())),
        }
    }

    /// The store the configuration names. Redis is connected lazily, so the server starts
    /// (and reports it) when Redis is down; only a malformed URL is an error here.
    pub fn open(cfg: &StateConfig) -> anyhow::Result<Self> {
        let backend = match (cfg.backend, &cfg.url) {
            (StateBackend::Memory, _) | (StateBackend::Redis, None) => {
                Backend::Memory(memory::MemoryStore::default())
            }
            (StateBackend::Redis, Some(url)) => {
                crate::redact::register(url);
                Backend::Redis(self::redis::RedisStore::open(
                    url.expose_secret(),
                    &cfg.key_prefix,
                )?)
            }
        };
        Ok(Self {
            backend: Arc::new(backend),
        })
    }

    /// `memory` or `redis`, for logs, `/readyz` and the `usage` command.
    pub fn kind(&self) -> &'static str {
        match &*self.backend {
            Backend::Memory(_) => "memory",
            Backend::Redis(_) => "redis",
        }
    }

    /// Where the state lives, without credentials: `memory` or `redis://host:port/db`.
    pub fn describe(&self) -> String {
        match &*self.backend {
            Backend::Memory(_) => "memory".to_string(),
            Backend::Redis(r) => r.describe(),
        }
    }

    /// One round trip to the store (always fine in memory).
    pub async fn ping(&self) -> Result<(), StateError> {
        match &*self.backend {
            Backend::Memory(_) => Ok(()),
            Backend::Redis(r) => counted("ping", r.ping().await),
        }
    }

    /// Takes one request from `principal`'s bucket of `per_minute` (a burst of that many,
    /// refilled continuously): one atomic step, across replicas with Redis.
    pub async fn rate_check(
        &self,
        principal: &str,
        per_minute: u32,
    ) -> Result<RateDecision, StateError> {
        let per_minute = per_minute.max(1);
        match &*self.backend {
            Backend::Memory(m) => Ok(m.rate_check(principal, per_minute)),
            Backend::Redis(r) => counted("rate_check", r.rate_check(principal, per_minute).await),
        }
    }

    /// Writes a task record unless the stored one is already terminal (a finished task
    /// never goes back to running, whichever replica writes last). Returns whether it wrote.
    /// The record expires `ttl` after this write (each write restarts it).
    ///
    /// For MCP tasks: the server's store is `McpServer::state()`. `id` is the task id as
    /// given to the client (ids share one namespace per store); `record_json` is opaque
    /// here. With Redis the check and the write are one Lua script; in memory, one mutex.
    /// Errors are [`StateError::Unavailable`] when Redis does not answer within 1 s.
    pub async fn task_save(
        &self,
        id: &str,
        record_json: &str,
        terminal: bool,
        ttl: Duration,
    ) -> Result<bool, StateError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.task_save(id, record_json, terminal, ttl)),
            Backend::Redis(r) => counted(
                "task_save",
                r.task_save(id, record_json, terminal, ttl).await,
            ),
        }
    }

    /// Keeps `content` under `id` for `ttl`: a result's large part (an OCR image) that a
    /// resource link names, for any replica to serve.
    pub async fn artifact_put(
        &self,
        id: &str,
        content: &str,
        ttl: Duration,
    ) -> Result<(), StateError> {
        match &*self.backend {
            Backend::Memory(m) => {
                m.artifact_put(id, content, ttl);
                Ok(())
            }
            Backend::Redis(r) => counted("artifact_put", r.artifact_put(id, content, ttl).await),
        }
    }

    /// The artifact saved under `id`, if it exists and has not expired.
    pub async fn artifact_get(&self, id: &str) -> Result<Option<String>, StateError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.artifact_get(id)),
            Backend::Redis(r) => counted("artifact_get", r.artifact_get(id).await),
        }
    }

    /// The task record saved under `id`, if it exists and has not expired.
    pub async fn task_load(&self, id: &str) -> Result<Option<String>, StateError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.task_load(id)),
            Backend::Redis(r) => counted("task_load", r.task_load(id).await),
        }
    }

    /// Counts one request against `principal` for `day` unless a budget is spent: one
    /// atomic step. `Ok(None)` admitted; `Ok(Some(..))` names the spent budget.
    async fn admit_request(
        &self,
        principal: &str,
        day: &str,
        budget: &Budget,
    ) -> Result<Option<usage::Spent>, StateError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.admit(principal, day, budget)),
            Backend::Redis(r) => counted("admit", r.admit(principal, day, budget).await),
        }
    }

    /// Adds a call's token counts to `principal`'s day.
    async fn add_usage(
        &self,
        principal: &str,
        day: &str,
        model: &str,
        counts: &usage::Counts,
    ) -> Result<(), StateError> {
        match &*self.backend {
            Backend::Memory(m) => {
                m.add_usage(principal, day, model, counts);
                Ok(())
            }
            Backend::Redis(r) => {
                counted("record", r.add_usage(principal, day, model, counts).await)
            }
        }
    }

    /// Every principal's counters for `day`, as stored (`usage_of` turns them into rows).
    async fn day_counters(&self, day: &str) -> Result<Vec<(String, usage::Fields)>, StateError> {
        match &*self.backend {
            Backend::Memory(m) => Ok(m.day_counters(day)),
            Backend::Redis(r) => counted("usage_read", r.day_counters(day).await),
        }
    }
}

/// Counts failures in `mistral_mcp_state_errors_total{op}`.
fn counted<T>(op: &str, result: Result<T, StateError>) -> Result<T, StateError> {
    if result.is_err() {
        crate::metrics::state_error(op);
    }
    result
}

/// The fields a principal's day holds: `requests`, `tokens`, and per model
/// `model:<model>:<kind>` for kind `prompt`, `completion`, `total`, `requests`.
pub(crate) mod fields {
    pub const REQUESTS: &str = "requests";
    pub const TOKENS: &str = "tokens";

    pub fn model(model: &str, kind: &str) -> String {
        format!("model:{model}:{kind}")
    }

    /// `(model, kind)` of a per-model field.
    pub fn parse(field: &str) -> Option<(&str, &str)> {
        field.strip_prefix("model:")?.rsplit_once(':')
    }
}

#[cfg(test)]
mod tests;
