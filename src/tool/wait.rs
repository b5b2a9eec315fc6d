//! Waiting for long-running Mistral work: batch jobs, fine-tuning jobs and library document
//! processing.
//!
//! [`poll`] repeats one read request with growing pauses, reports each state it sees as an
//! MCP progress notification, and ends on a terminal state, at the deadline, or as soon as
//! the client cancels the call. A deadline is not a failure: the caller gets the last state
//! and tells the agent the work is still running. Each area decides what its job's JSON
//! means through an [`Observation`].

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::{CallContext, ToolError};
use crate::mistral::{UpstreamError, UpstreamRequest};

/// Default wait when the agent gives no `timeout_secs`: long enough for small jobs, short
/// enough for MCP clients with fixed request timeouts.
pub const DEFAULT_TIMEOUT_SECS: u64 = 120;
/// Upper bound for `timeout_secs`.
pub const MAX_TIMEOUT_SECS: u64 = 3600;

/// MCP requires every progress notification to exceed the previous one. A job whose counters
/// stall still gets a notification per poll (clients that reset their timeout on progress
/// depend on it), so its progress advances by this token amount.
const STALL_STEP: f64 = 0.001;

/// Time kept for the final poll before the server's per-call budget ends.
const LAST_POLL_ROOM: Duration = Duration::from_secs(5);

/// What one poll's answer says about the work.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// No further change will come (finished, failed, cancelled, or waiting on the user).
    pub terminal: bool,
    /// Progress in the job's own unit (requests done, stage reached).
    pub progress: f64,
    /// The value `progress` reaches when done, if known.
    pub total: Option<f64>,
    /// State and counters in words, for the progress notification.
    pub message: String,
}

/// How a wait ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A terminal state was reached; the last answer.
    Finished(Value),
    /// The deadline passed first; the last answer.
    StillRunning(Value),
}

impl Outcome {
    pub fn value(&self) -> &Value {
        match self {
            Outcome::Finished(v) | Outcome::StillRunning(v) => v,
        }
    }

    pub fn into_value(self) -> Value {
        match self {
            Outcome::Finished(v) | Outcome::StillRunning(v) => v,
        }
    }

    pub fn finished(&self) -> bool {
        matches!(self, Outcome::Finished(_))
    }
}

/// Pause between polls: starts at `initial`, grows by `factor`, never above `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub factor: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(15),
            factor: 1.5,
        }
    }
}

impl Backoff {
    fn next(&self, current: Duration) -> Duration {
        // `mul_f64` panics on overflow; a Duration from seconds cannot.
        Duration::try_from_secs_f64(current.as_secs_f64() * self.factor)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

/// How long to wait: the agent's `timeout_secs` (checked), or the default; never longer
/// than the call's `max_wait` (a plain tool call is not held past what clients tolerate).
/// In an MCP task nothing holds a request open, so the default is the longest wait.
pub fn timeout_from(ctx: &CallContext, timeout_secs: Option<u64>) -> Result<Duration, ToolError> {
    timeout_within(ctx.max_wait, timeout_secs)
}

fn timeout_within(
    max_wait: Option<Duration>,
    timeout_secs: Option<u64>,
) -> Result<Duration, ToolError> {
    let asked = match timeout_secs {
        None if max_wait.is_none() => Duration::from_secs(MAX_TIMEOUT_SECS),
        None => Duration::from_secs(DEFAULT_TIMEOUT_SECS),
        Some(s) if (1..=MAX_TIMEOUT_SECS).contains(&s) => Duration::from_secs(s),
        Some(s) => {
            return Err(ToolError::InvalidArguments(format!(
                "`timeout_secs` must be between 1 and {MAX_TIMEOUT_SECS}, got {s}"
            )));
        }
    };
    Ok(max_wait.map_or(asked, |most| asked.min(most)))
}

/// Sends `request` until `observe` calls the answer terminal or `timeout` has passed. The
/// last poll happens at the deadline, so a timed-out wait still returns a fresh state.
pub async fn poll(
    ctx: &CallContext,
    request: &UpstreamRequest,
    timeout: Duration,
    backoff: Backoff,
    observe: impl Fn(&Value) -> Observation,
) -> Result<Outcome, ToolError> {
    // `timeout_from` bounds the agent's value; `checked_add` keeps any other caller from
    // panicking on `Instant + huge Duration`.
    let now = Instant::now();
    let mut deadline = now
        .checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(MAX_TIMEOUT_SECS));
    if let Some(budget_end) = ctx.deadline {
        // Leave room for the last poll, so the agent gets a fresh state, not an error.
        deadline = deadline.min(budget_end.checked_sub(LAST_POLL_ROOM).unwrap_or(budget_end));
    }
    let mut pause = backoff.initial;
    let mut last_progress: Option<f64> = None;
    loop {
        let value = ctx.send(request).await?.json()?;
        let seen = observe(&value);
        let progress = match last_progress {
            Some(last) if seen.progress <= last => last + STALL_STEP,
            _ => seen.progress,
        };
        // A nudged value may pass the job's total; a total below progress would mislead.
        let total = seen.total.filter(|t| *t >= progress);
        ctx.progress(progress, total, seen.message).await;
        last_progress = Some(progress);
        if seen.terminal {
            return Ok(Outcome::Finished(value));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Outcome::StillRunning(value));
        }
        let sleep = pause.min(deadline - now);
        tokio::select! {
            _ = ctx.cancel.cancelled() => return Err(UpstreamError::Cancelled.into()),
            _ = tokio::time::sleep(sleep) => {}
        }
        pause = backoff.next(pause);
    }
}

/// A field of a job as a string, or `"?"`.
pub fn str_field<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap_or("?")
}

/// A counter of a job, or 0.
pub fn count_field(v: &Value, name: &str) -> u64 {
    v.get(name).and_then(Value::as_u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap() {
        let b = Backoff::default();
        let mut d = b.initial;
        let mut seen = vec![d];
        for _ in 0..10 {
            d = b.next(d);
            seen.push(d);
        }
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(seen.last().copied(), Some(Duration::from_secs(15)));
        assert_eq!(seen[1], Duration::from_millis(1500));
    }

    #[test]
    fn timeouts_are_bounded() {
        let held = Some(Duration::from_secs(50));
        assert_eq!(
            timeout_within(held, None).ok(),
            Some(Duration::from_secs(50)),
            "a held call answers within max_wait"
        );
        assert_eq!(
            timeout_within(None, None).ok(),
            Some(Duration::from_secs(MAX_TIMEOUT_SECS)),
            "a task waits as long as a wait may"
        );
        assert_eq!(
            timeout_within(held, Some(5)).ok(),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            timeout_within(held, Some(600)).ok(),
            Some(Duration::from_secs(50))
        );
        assert_eq!(
            timeout_within(None, Some(600)).ok(),
            Some(Duration::from_secs(600))
        );
        for bad in [0, MAX_TIMEOUT_SECS + 1] {
            let err = timeout_within(held, Some(bad)).err().map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains("timeout_secs")));
        }
    }
}
