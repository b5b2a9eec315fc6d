//! Consuming Mistral's SSE streams (completions, conversations, transcriptions): one loop
//! that reads events until the end or `[DONE]`, stops at once when the call is cancelled,
//! and turns what each event contributes into MCP progress notifications, batching text so
//! a fast stream does not flood the client.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;

use super::{CallContext, ToolError};
use crate::mistral::error::ApiErrorBody;
use crate::mistral::sse::SseParser;
use crate::mistral::{UpstreamError, UpstreamRequest};
use crate::redact::PieceScrubber;

/// What a stream event contributes to the progress notifications.
pub enum Emit {
    /// Partial answer text, batched.
    Text(String),
    /// A status line (tool started, handoff), sent at once.
    Status(String),
}

/// Minimum gap between two text progress notifications.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Time kept before the server's per-call budget ends to hand back a partial answer.
const PARTIAL_ROOM: Duration = Duration::from_secs(2);

/// How a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The upstream finished the stream.
    Complete,
    /// The server's per-call time budget was about to run out: what arrived so far is
    /// returned rather than lost.
    CutAtBudget,
}

impl StreamEnd {
    /// Marks an assembled result that stopped early, so the agent cannot mistake it for
    /// a whole answer.
    pub fn mark(self, value: &mut Value) {
        if self == StreamEnd::CutAtBudget
            && let Some(obj) = value.as_object_mut()
        {
            obj.insert("incomplete".into(), Value::String(CUT_NOTE.to_string()));
        }
    }
}

pub const CUT_NOTE: &str = "stopped early: the call reached this server's per-call time budget \
(tools.call_budget_secs); the content is partial";

/// Reads a named-event SSE stream to its end, handing each event's name (the `event:`
/// field, else the data's `type`) and JSON data to `on_event`, and forwarding what it
/// emits as progress notifications.
pub async fn drive_stream<F>(
    ctx: &CallContext,
    upstream: &UpstreamRequest,
    mut on_event: F,
) -> Result<StreamEnd, ToolError>
where
    F: FnMut(&str, &Value) -> Result<Option<Emit>, ToolError>,
{
    let mut body = Box::pin(ctx.client.stream(upstream, &ctx.cancel).await?);
    let mut parser = SseParser::new();
    let mut pending = String::new();
    // Deltas are released through this, so a key split across deltas is still masked.
    let mut scrubber = PieceScrubber::default();
    let mut progress = 0.0;
    let mut last_sent: Option<Instant> = None;
    let mut done = false;
    let cut_at = ctx
        .deadline
        .map(|d| d.checked_sub(PARTIAL_ROOM).unwrap_or(d));
    let mut end = StreamEnd::Complete;
    while !done {
        let budget_end = async {
            match cut_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let next = tokio::select! {
            _ = ctx.cancel.cancelled() => return Err(UpstreamError::Cancelled.into()),
            _ = budget_end => {
                end = StreamEnd::CutAtBudget;
                done = true;
                None
            }
            n = body.next() => n,
        };
        let events = match next {
            Some(chunk) => parser.push(&chunk?),
            None if end == StreamEnd::CutAtBudget => Vec::new(),
            None => {
                done = true;
                parser.finish().into_iter().collect()
            }
        };
        for event in events {
            if event.is_done_sentinel() {
                done = true;
                break;
            }
            let Ok(data) = serde_json::from_str::<Value>(&event.data) else {
                continue;
            };
            let name = event
                .event
                .clone()
                .or_else(|| data.get("type").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            match on_event(&name, &data)? {
                Some(Emit::Text(t)) => pending.push_str(&scrubber.push(&t)),
                Some(Emit::Status(s)) => {
                    pending.push_str(&scrubber.finish());
                    if !pending.is_empty() {
                        progress += pending.chars().count() as f64;
                        ctx.progress(progress, None, std::mem::take(&mut pending))
                            .await;
                    }
                    progress += 1.0;
                    ctx.progress(progress, None, s).await;
                    last_sent = Some(Instant::now());
                }
                None => {}
            }
        }
        if done {
            pending.push_str(&scrubber.finish());
        }
        let due = last_sent.is_none_or(|t| t.elapsed() >= PROGRESS_INTERVAL);
        if !pending.is_empty() && (due || done) {
            progress += pending.chars().count() as f64;
            ctx.progress(progress, None, std::mem::take(&mut pending))
                .await;
            last_sent = Some(Instant::now());
        }
    }
    Ok(end)
}

/// An error event inside a stream, as an upstream error the agent can read.
pub fn stream_error(data: &Value) -> ToolError {
    let status = data
        .get("code")
        .and_then(Value::as_u64)
        .filter(|c| (400..600).contains(c))
        .map_or(500, |c| c as u16);
    ToolError::Upstream(UpstreamError::Status {
        status,
        body: Box::new(ApiErrorBody::parse(data.to_string().as_bytes())),
        retry_after: None,
        attempts: 1,
    })
}
