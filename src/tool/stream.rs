//! Consuming Mistral's SSE streams (completions, conversations, transcriptions): one loop
//! that reads events until the stream's terminal marker, says when a stream stopped short
//! of it, stops at once when the call is cancelled,
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

/// What marks the normal end of a stream of one kind. A stream is complete only when its
/// terminal marker arrived: Mistral ends completion streams with `data: [DONE]`,
/// conversation streams with `conversation.response.done`, transcription streams with
/// `transcription.done`. A stream that stops before it (the connection closed cleanly or
/// broke, or went silent) is incomplete: the partial result is returned marked so, or,
/// when not one event arrived, the call fails. Events whose data is not JSON are skipped
/// and also make the result incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// The `data: [DONE]` sentinel.
    DoneSentinel,
    /// An event of this name; it is handed to the callback, then reading stops.
    Event(&'static str),
    /// No marker: the stream is whole when the connection closes cleanly (workflow event
    /// and log streams). A stream that never closes is cut at the call's time budget.
    EndOfBody,
}

impl Terminal {
    fn describe(self) -> &'static str {
        match self {
            Terminal::DoneSentinel => "[DONE]",
            Terminal::Event(name) => name,
            Terminal::EndOfBody => "the end of the body",
        }
    }
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The upstream finished the stream with its terminal marker.
    Complete,
    /// The server's per-call time budget was about to run out: what arrived so far is
    /// returned rather than lost.
    CutAtBudget,
    /// The stream stopped short (why, in words): what arrived so far is returned, marked.
    Incomplete(String),
}

impl StreamEnd {
    /// Marks an assembled result that stopped early, so the agent cannot mistake it for
    /// a whole answer.
    pub fn mark(self, value: &mut Value) {
        let note = match self {
            StreamEnd::Complete => return,
            StreamEnd::CutAtBudget => CUT_NOTE.to_string(),
            StreamEnd::Incomplete(why) => why,
        };
        if let Some(obj) = value.as_object_mut() {
            obj.insert("incomplete".into(), Value::String(note));
        }
    }
}

pub const CUT_NOTE: &str = "stopped early: the call reached this server's per-call time budget \
(tools.call_budget_secs); the content is partial";

/// How many bytes of a stream are kept to show the agent when it held no events.
const SNIPPET_BYTES: usize = 200;

/// Reads a named-event SSE stream until its `terminal` marker, handing each event's name
/// (the `event:` field, else the data's `type`) and JSON data to `on_event`, and
/// forwarding what it emits as progress notifications.
pub async fn drive_stream<F>(
    ctx: &CallContext,
    upstream: &UpstreamRequest,
    terminal: Terminal,
    mut on_event: F,
) -> Result<StreamEnd, ToolError>
where
    F: FnMut(&str, &Value) -> Result<Option<Emit>, ToolError>,
{
    let mut body = Box::pin(ctx.client.stream(upstream, &ctx.cancel).await?);
    let mut parser = SseParser::with_max_event_bytes(ctx.client.max_stream_event_bytes());
    let mut pending = String::new();
    // Deltas are released through this, so a key split across deltas is still masked.
    let mut scrubber = PieceScrubber::default();
    let mut progress = 0.0;
    let mut last_sent: Option<Instant> = None;
    let mut done = false;
    let cut_at = ctx
        .deadline
        .map(|d| d.checked_sub(PARTIAL_ROOM).unwrap_or(d));
    let mut end: Option<StreamEnd> = None;
    // For telling the agent what arrived when no event did.
    let mut received: u64 = 0;
    let mut snippet: Vec<u8> = Vec::new();
    let mut delivered: u64 = 0;
    let mut unreadable: u64 = 0;
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
                end = Some(StreamEnd::CutAtBudget);
                done = true;
                None
            }
            n = body.next() => n,
        };
        let events = match next {
            Some(Ok(chunk)) => {
                received += chunk.len() as u64;
                let room = SNIPPET_BYTES.saturating_sub(snippet.len());
                snippet.extend_from_slice(&chunk[..room.min(chunk.len())]);
                parser
                    .push(&chunk)
                    .map_err(|e| UpstreamError::StreamEventTooLarge { limit: e.limit })?
            }
            Some(Err(broke)) => {
                // A transport failure mid-stream: keep what arrived, if anything did.
                if delivered == 0 {
                    return Err(broke.into());
                }
                end = Some(StreamEnd::Incomplete(format!(
                    "the stream from Mistral broke before its end ({}); the content is partial",
                    ctx.client.redact(&broke.to_string())
                )));
                done = true;
                Vec::new()
            }
            None if end.is_some() => Vec::new(),
            None => {
                done = true;
                if terminal == Terminal::EndOfBody {
                    end = Some(StreamEnd::Complete);
                }
                parser.finish().into_iter().collect()
            }
        };
        for event in events {
            if event.is_done_sentinel() {
                if matches!(terminal, Terminal::DoneSentinel | Terminal::EndOfBody) {
                    end = Some(StreamEnd::Complete);
                }
                done = true;
                break;
            }
            let Ok(data) = serde_json::from_str::<Value>(&event.data) else {
                unreadable += 1;
                continue;
            };
            let name = event
                .event
                .clone()
                .or_else(|| data.get("type").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            delivered += 1;
            let emitted = on_event(&name, &data)?;
            if matches!(terminal, Terminal::Event(last) if last == name) {
                end = Some(StreamEnd::Complete);
                done = true;
            }
            match emitted {
                Some(Emit::Text(t)) => pending.push_str(&scrubber.push(&t)),
                Some(Emit::Status(s)) => {
                    pending.push_str(&scrubber.finish());
                    if !pending.is_empty() {
                        progress += pending.chars().count() as f64;
                        ctx.progress_delta(progress, std::mem::take(&mut pending))
                            .await;
                    }
                    progress += 1.0;
                    ctx.progress(progress, None, s).await;
                    last_sent = Some(Instant::now());
                }
                None => {}
            }
            if done {
                break;
            }
        }
        if done {
            pending.push_str(&scrubber.finish());
        }
        let due = last_sent.is_none_or(|t| t.elapsed() >= PROGRESS_INTERVAL);
        if !pending.is_empty() && (due || done) {
            progress += pending.chars().count() as f64;
            ctx.progress_delta(progress, std::mem::take(&mut pending))
                .await;
            last_sent = Some(Instant::now());
        }
    }
    let end = match end {
        Some(end) => end,
        None if delivered == 0 => {
            return Err(nothing_arrived(ctx, received, &snippet, unreadable).into());
        }
        None => StreamEnd::Incomplete(format!(
            "the stream from Mistral ended before its final event ({}); the content is partial",
            terminal.describe()
        )),
    };
    if unreadable > 0 && end == StreamEnd::Complete {
        return Ok(StreamEnd::Incomplete(format!(
            "{unreadable} event(s) of the stream from Mistral were not JSON and were skipped; \
             the content may be partial"
        )));
    }
    Ok(end)
}

/// The error for a stream that ended without one usable event.
fn nothing_arrived(
    ctx: &CallContext,
    received: u64,
    snippet: &[u8],
    unreadable: u64,
) -> UpstreamError {
    if received == 0 {
        return UpstreamError::Decode(
            "the stream ended before any event arrived. Try again, or call without `stream`."
                .to_string(),
        );
    }
    let start = ctx.client.redact(String::from_utf8_lossy(snippet).trim());
    let what = if unreadable > 0 {
        format!("{unreadable} event(s) whose data is not JSON")
    } else {
        "no Server-Sent Events".to_string()
    };
    UpstreamError::Decode(format!(
        "a streamed call got {received} bytes holding {what} (it starts: {start:?}). \
         Call again without `stream` to get the whole answer at once."
    ))
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

/// Most events an event-stream tool returns; later ones are counted, not kept, so a long
/// log tail cannot fill the agent's context.
pub const MAX_COLLECTED_EVENTS: usize = 200;

/// Longest event text shown in one progress notification.
const EVENT_PROGRESS_CHARS: usize = 300;

/// Reads an event stream with no terminal marker of its own (workflow events and logs):
/// each event goes out as a progress notification, and the result holds the events
/// (the first [`MAX_COLLECTED_EVENTS`]) with their count.
pub async fn collect_events(
    ctx: &CallContext,
    upstream: &UpstreamRequest,
) -> Result<super::ToolOutput, ToolError> {
    let mut events = Vec::new();
    let mut count: u64 = 0;
    let end = drive_stream(ctx, upstream, Terminal::EndOfBody, |name, data| {
        count += 1;
        if events.len() < MAX_COLLECTED_EVENTS {
            let mut event = serde_json::Map::new();
            if !name.is_empty() {
                event.insert("event".into(), Value::String(name.to_string()));
            }
            event.insert("data".into(), data.clone());
            events.push(Value::Object(event));
        }
        let text = data.to_string();
        let line = super::clip(&text, EVENT_PROGRESS_CHARS);
        Ok(Some(Emit::Status(if name.is_empty() {
            line
        } else {
            format!("{name}: {line}")
        })))
    })
    .await?;
    let kept = events.len() as u64;
    let mut value = serde_json::json!({ "events": events, "count": count });
    if count > kept {
        value["omitted"] = serde_json::json!(count - kept);
    }
    end.mark(&mut value);
    Ok(super::ToolOutput::json(value))
}
