//! Process-wide Prometheus metrics: tool calls by tool and outcome, upstream latency and
//! retries, requests the HTTP layer turned away and why, tokens used by credential and
//! model, failures of the shared state store. `/metrics` renders them.
//!
//! Labels carry tool names, outcomes, credential names and status classes only: never a
//! key, a token or anything from a request body. One registry per process is what a
//! scraper expects, so it is a lazily built global rather than something threaded through
//! every constructor.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolCallLabels {
    tool: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    /// `2xx`, `4xx`, `5xx`, or `error` when no HTTP answer came back.
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectedLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PrincipalLabels {
    principal: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UsageLabels {
    principal: String,
    model: String,
    /// `prompt`, `completion` or `total`.
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateOpLabels {
    op: String,
}

struct Metrics {
    registry: Registry,
    tool_calls: Family<ToolCallLabels, Counter>,
    tool_call_seconds: Histogram,
    calls_in_flight: Gauge,
    upstream_seconds: Family<UpstreamLabels, Histogram>,
    upstream_retries: Counter,
    upstream_in_flight: Gauge,
    upstream_queued: Counter,
    http_rejected: Family<RejectedLabels, Counter>,
    rate_limited: Family<PrincipalLabels, Counter>,
    usage_tokens: Family<UsageLabels, Counter>,
    state_errors: Family<StateOpLabels, Counter>,
}

fn latency_buckets() -> Histogram {
    // 5 ms .. ~82 s: inference calls span four orders of magnitude.
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("mistral_mcp");
    let tool_calls = Family::<ToolCallLabels, Counter>::default();
    registry.register(
        "tool_calls",
        "Tool calls by tool and outcome (ok or an error kind)",
        tool_calls.clone(),
    );
    let tool_call_seconds = latency_buckets();
    registry.register(
        "tool_call_duration_seconds",
        "Time from tools/call to its result, upstream retries and waits included",
        tool_call_seconds.clone(),
    );
    let calls_in_flight = Gauge::default();
    registry.register(
        "tool_calls_in_flight",
        "Tool calls running now",
        calls_in_flight.clone(),
    );
    let upstream_seconds =
        Family::<UpstreamLabels, Histogram>::new_with_constructor(latency_buckets as fn() -> _);
    registry.register(
        "upstream_request_duration_seconds",
        "Latency of each attempt at a Mistral API request, to response headers, by status class",
        upstream_seconds.clone(),
    );
    let upstream_retries = Counter::default();
    registry.register(
        "upstream_retries",
        "Mistral requests retried after a 429, a 5xx or a connection failure",
        upstream_retries.clone(),
    );
    let upstream_in_flight = Gauge::default();
    registry.register(
        "upstream_in_flight",
        "Mistral requests holding one of the concurrency cap's slots",
        upstream_in_flight.clone(),
    );
    let upstream_queued = Counter::default();
    registry.register(
        "upstream_queued",
        "Mistral requests that waited because the concurrency cap was reached",
        upstream_queued.clone(),
    );
    let http_rejected = Family::<RejectedLabels, Counter>::default();
    registry.register(
        "http_rejected",
        "HTTP requests refused before reaching a tool: unauthorized, forbidden, payload_too_large, rate_limited",
        http_rejected.clone(),
    );
    let rate_limited = Family::<PrincipalLabels, Counter>::default();
    registry.register(
        "rate_limited",
        "Requests refused with 429 by credential name",
        rate_limited.clone(),
    );
    let usage_tokens = Family::<UsageLabels, Counter>::default();
    registry.register(
        "usage_tokens",
        "Tokens Mistral reported in successful results, by credential, model and kind (prompt, completion, total), counted by this replica",
        usage_tokens.clone(),
    );
    let state_errors = Family::<StateOpLabels, Counter>::default();
    registry.register(
        "state_errors",
        "Operations on the shared state store (Redis) that failed, by operation",
        state_errors.clone(),
    );
    Metrics {
        registry,
        tool_calls,
        tool_call_seconds,
        calls_in_flight,
        upstream_seconds,
        upstream_retries,
        upstream_in_flight,
        upstream_queued,
        http_rejected,
        rate_limited,
        usage_tokens,
        state_errors,
    }
});

pub fn tool_call(tool: &str, outcome: &str, elapsed: Duration) {
    METRICS
        .tool_calls
        .get_or_create(&ToolCallLabels {
            tool: tool.to_string(),
            outcome: outcome.to_string(),
        })
        .inc();
    METRICS.tool_call_seconds.observe(elapsed.as_secs_f64());
}

/// Counts a call as running until the guard drops, whichever way the call ends.
pub fn call_in_flight() -> InFlight {
    METRICS.calls_in_flight.inc();
    InFlight(&METRICS.calls_in_flight)
}

/// Counts an upstream request as holding a concurrency slot until the guard drops.
pub fn upstream_in_flight() -> InFlight {
    METRICS.upstream_in_flight.inc();
    InFlight(&METRICS.upstream_in_flight)
}

pub struct InFlight(&'static Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// One attempt's latency; `status` is the HTTP status, `None` when none came back.
pub fn upstream_attempt(status: Option<u16>, elapsed: Duration) {
    let class = match status {
        Some(s) => format!("{}xx", s / 100),
        None => "error".to_string(),
    };
    METRICS
        .upstream_seconds
        .get_or_create(&UpstreamLabels { status: class })
        .observe(elapsed.as_secs_f64());
}

pub fn upstream_retry() {
    METRICS.upstream_retries.inc();
}

pub fn upstream_queued() {
    METRICS.upstream_queued.inc();
}

pub fn http_rejected(reason: &str) {
    METRICS
        .http_rejected
        .get_or_create(&RejectedLabels {
            reason: reason.to_string(),
        })
        .inc();
}

pub fn rate_limited(principal: &str) {
    METRICS
        .rate_limited
        .get_or_create(&PrincipalLabels {
            principal: principal.to_string(),
        })
        .inc();
}

pub fn usage_tokens(principal: &str, model: &str, kind: &str, n: u64) {
    METRICS
        .usage_tokens
        .get_or_create(&UsageLabels {
            principal: principal.to_string(),
            model: model.to_string(),
            kind: kind.to_string(),
        })
        .inc_by(n);
}

/// `op`: `rate_check`, `admit`, `record`, `task_save`, `task_load`, `usage_read`, `ping`.
pub fn state_error(op: &str) {
    METRICS
        .state_errors
        .get_or_create(&StateOpLabels { op: op.to_string() })
        .inc();
}

/// The Prometheus text exposition of every metric.
pub fn render() -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &METRICS.registry).is_err() {
        // Writing to a String cannot fail; an empty page is the honest fallback anyway.
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        tool_call("chat_complete", "ok", Duration::from_millis(12));
        upstream_attempt(Some(200), Duration::from_millis(10));
        http_rejected("unauthorized");
        usage_tokens("ci", "mistral-small-latest", "total", 19);
        state_error("rate_check");
        let text = render();
        assert!(
            text.contains(r#"mistral_mcp_usage_tokens_total{principal="ci",model="mistral-small-latest",kind="total"} 19"#),
            "{text}"
        );
        assert!(text.contains(r#"mistral_mcp_state_errors_total{op="rate_check"} 1"#));
        assert!(
            text.contains(r#"mistral_mcp_tool_calls_total{tool="chat_complete",outcome="ok"}"#),
            "{text}"
        );
        assert!(text.contains("mistral_mcp_upstream_request_duration_seconds_bucket"));
        assert!(text.contains(r#"mistral_mcp_http_rejected_total{reason="unauthorized"}"#));
        assert!(text.ends_with("# EOF\n"));
    }
}
