//! MCP tasks (the `io.modelcontextprotocol/tasks` extension, SEP-2663): a long call
//! (a `*_wait`, a stream, a large document; `task = true` in tools.toml) answered with a
//! task the client polls with `tasks/get` and stops with `tasks/cancel`, instead of a
//! request held open past the client's patience. Only for requests whose client declared
//! the extension; everyone else keeps the plain call.
//!
//! A task's record lives in the state store (memory, or Redis shared by every replica), so
//! any replica answers `tasks/get` and `tasks/cancel`. The replica that created the task
//! runs it in the background and writes its progress there, with a heartbeat. A waiting
//! task whose runner went quiet (its replica stopped) is taken over by the replica that
//! next serves a poll from the same principal: waits only read, so running one again is
//! safe. Cancelling marks the record (a terminal record is never overwritten), stops the
//! local runner, and for jobs Mistral can stop (`cancel_with`) cancels them upstream.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolResult, CreateTaskResult, DetailedTask, GetTaskResult, JsonObject, Task, TaskPayload,
    TaskStatus,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Caller, McpServer};
use crate::catalog::ToolDef;
use crate::tool::{CallContext, ProgressSink, ProgressUpdate};

/// How long a task's record is kept after its last write.
const TASK_TTL: Duration = Duration::from_secs(2 * 3600);
/// What clients are told to wait between polls.
const POLL_INTERVAL_MS: u64 = 2_000;
/// How often a running task's record is refreshed even when nothing changed.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A working task whose record is older than this has lost its runner.
const LEASE: Duration = Duration::from_secs(30);
/// How much of a stream's text so far a task's status shows (the end of it).
const MAX_PARTIAL_CHARS: usize = 2_000;
/// A task's own time budget: the longest wait, with room for the last poll.
const TASK_BUDGET: Duration = Duration::from_secs(crate::tool::wait::MAX_TIMEOUT_SECS + 120);

/// What the store keeps per task.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TaskRecord {
    principal: String,
    tool: String,
    /// Kept only for tools that only read (waits): to take the task over and to cancel
    /// the job it follows. Never a file's content.
    arguments: JsonObject,
    status: TaskStatus,
    status_message: Option<String>,
    created_ms: u64,
    updated_ms: u64,
    result: Option<JsonObject>,
    error: Option<JsonObject>,
}

impl TaskRecord {
    fn task(&self, id: &str) -> Task {
        let mut task = Task::new(
            id,
            self.status,
            iso8601(self.created_ms),
            iso8601(self.updated_ms),
        )
        .with_ttl_ms(TASK_TTL.as_millis() as u64)
        .with_poll_interval_ms(POLL_INTERVAL_MS);
        if let Some(m) = &self.status_message {
            task = task.with_status_message(m.clone());
        }
        task
    }

    fn detailed(&self, id: &str) -> DetailedTask {
        let payload = match self.status {
            TaskStatus::Completed => TaskPayload::Completed {
                result: self.result.clone().unwrap_or_default(),
            },
            TaskStatus::Failed => TaskPayload::Failed {
                error: self.error.clone().unwrap_or_default(),
            },
            TaskStatus::Cancelled => TaskPayload::Cancelled,
            _ => TaskPayload::Working,
        };
        DetailedTask::new(self.task(id), payload)
    }

    fn stale(&self, now: u64) -> bool {
        self.status == TaskStatus::Working
            && now.saturating_sub(self.updated_ms) > LEASE.as_millis() as u64
    }
}

/// The runners on this replica, by task id: what `tasks/cancel` stops.
#[derive(Default)]
pub struct LocalRunners {
    tokens: Mutex<HashMap<String, CancellationToken>>,
}

impl LocalRunners {
    fn insert(&self, id: &str, token: CancellationToken) {
        let mut map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(id.to_string(), token);
    }
    fn remove(&self, id: &str) {
        let mut map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }
    fn cancel(&self, id: &str) {
        let map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = map.get(id) {
            t.cancel();
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `2026-11-30T10:26:07.123Z`.
fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let in_day = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        crate::state::day_string(secs / 86_400),
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60,
        ms % 1000
    )
}

fn new_task_id() -> String {
    format!("task-{:032x}", rand::random::<u128>())
}

fn state_error(e: crate::state::StateError) -> McpError {
    McpError::internal_error(
        format!("{e}. The task could not be read or written; try again shortly."),
        None,
    )
}

fn unknown_task(id: &str) -> McpError {
    McpError::invalid_params(
        format!(
            "no task `{}` (it never existed here, belongs to another caller, or expired {} h after its last update)",
            crate::tool::clip(id, 100),
            TASK_TTL.as_secs() / 3600
        ),
        Some(json!({ "taskId": id })),
    )
}

fn principal_of(caller: &Caller) -> String {
    caller
        .grant
        .as_ref()
        .map_or_else(|| "local".to_string(), |g| g.principal.clone())
}

impl McpServer {
    /// The task tool a `tools/call` names, directly or through `call_tool`, with its
    /// arguments; `None` when the call is not one to run as a task.
    pub(super) fn task_target(
        &self,
        name: &str,
        args: &JsonObject,
    ) -> Option<(&ToolDef, JsonObject)> {
        if name == super::META_CALL {
            let target = args.get("name")?.as_str()?;
            let inner = match args.get("arguments") {
                Some(Value::Object(o)) => o.clone(),
                None => JsonObject::new(),
                Some(_) => return None,
            };
            let tool = self.exposed_tool(target)?;
            return tool.task.then_some((tool, inner));
        }
        let tool = self.exposed_tool(name)?;
        tool.task.then(|| (tool, args.clone()))
    }

    /// Creates the task (durably: `tasks/get` finds it as soon as this returns) and starts
    /// its runner.
    pub(super) async fn start_task(
        &self,
        tool: &ToolDef,
        args: JsonObject,
        ctx: CallContext,
        caller: Caller,
    ) -> Result<CreateTaskResult, McpError> {
        let id = new_task_id();
        let now = now_ms();
        let record = TaskRecord {
            principal: principal_of(&caller),
            tool: tool.name.clone(),
            arguments: if tool.spec().read_only() {
                args.clone()
            } else {
                JsonObject::new()
            },
            status: TaskStatus::Working,
            status_message: Some(format!("{} started", tool.name)),
            created_ms: now,
            updated_ms: now,
            result: None,
            error: None,
        };
        self.save(&id, &record).await?;
        let task = record.task(&id);
        self.spawn_runner(id, record, args, ctx, caller);
        Ok(CreateTaskResult::new(task))
    }

    async fn save(&self, id: &str, record: &TaskRecord) -> Result<bool, McpError> {
        let json = serde_json::to_string(record)
            .map_err(|e| McpError::internal_error(format!("task record: {e}"), None))?;
        self.state()
            .task_save(id, &json, record.status.is_terminal(), TASK_TTL)
            .await
            .map_err(state_error)
    }

    async fn load(&self, id: &str, caller: &Caller) -> Result<TaskRecord, McpError> {
        let json = self
            .state()
            .task_load(id)
            .await
            .map_err(state_error)?
            .ok_or_else(|| unknown_task(id))?;
        let record: TaskRecord = serde_json::from_str(&json).map_err(|_| unknown_task(id))?;
        // Another caller's task does not exist for this one.
        if record.principal != principal_of(caller) {
            return Err(unknown_task(id));
        }
        Ok(record)
    }

    /// Runs the task's tool in the background, reporting progress into the record with a
    /// heartbeat, and writes the result unless the task was cancelled meanwhile.
    fn spawn_runner(
        &self,
        id: String,
        mut record: TaskRecord,
        args: JsonObject,
        mut ctx: CallContext,
        caller: Caller,
    ) {
        let server = self.clone();
        let cancel = CancellationToken::new();
        self.shared.runners.insert(&id, cancel.clone());
        let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
        ctx.cancel = cancel.clone();
        ctx.progress = Some(ProgressSink::Task(progress_tx));
        ctx.max_wait = None;
        tokio::spawn(async move {
            let Some(tool) = server.exposed_tool(&record.tool) else {
                return;
            };
            // A stream reports deltas: the status shows the text so far (its tail). Other
            // tools report states: the status shows the latest.
            let mut partial = String::new();
            let run = server.execute_within(tool, args, ctx, &caller, TASK_BUDGET);
            tokio::pin!(run);
            let mut progress_open = true;
            let outcome = loop {
                tokio::select! {
                    outcome = &mut run => break outcome,
                    update = progress_rx.recv(), if progress_open => {
                        let Some(first) = update else {
                            progress_open = false;
                            continue;
                        };
                        let mut next = Some(first);
                        while let Some(u) = next {
                            record.status_message = Some(status_of(u, &mut partial));
                            next = progress_rx.try_recv().ok();
                        }
                    }
                    () = tokio::time::sleep(HEARTBEAT) => {}
                }
                if now_ms().saturating_sub(record.updated_ms) >= 1_000 {
                    record.updated_ms = now_ms();
                    // `false`: the task was cancelled (or finished elsewhere); stop.
                    if let Ok(false) = server.save(&id, &record).await {
                        cancel.cancel();
                    }
                }
            };
            let mut result = outcome.unwrap_or_else(crate::tool::ToolError::into_result);
            crate::redact::scrub_result(&mut result);
            record.updated_ms = now_ms();
            record.arguments = JsonObject::new();
            record.status = TaskStatus::Completed;
            record.status_message = Some(if result.is_error == Some(true) {
                format!("{} ended with an error", record.tool)
            } else {
                format!("{} finished", record.tool)
            });
            record.result = Some(call_result_object(&result));
            if let Err(e) = server.save(&id, &record).await {
                tracing::warn!(task = %id, error = %e.message, "the task's result could not be saved");
            }
            server.shared.runners.remove(&id);
        });
    }

    pub(super) async fn get_task_for(
        &self,
        id: &str,
        ctx: CallContext,
        caller: &Caller,
    ) -> Result<GetTaskResult, McpError> {
        let mut record = self.load(id, caller).await?;
        if record.stale(now_ms()) && !record.arguments.is_empty() {
            // Its runner is gone (its replica stopped): this replica takes it over.
            record.updated_ms = now_ms();
            record.status_message =
                Some(format!("{} resumed on another server replica", record.tool));
            if self.save(id, &record).await? {
                let args = record.arguments.clone();
                self.spawn_runner(id.to_string(), record.clone(), args, ctx, caller.clone());
            }
        }
        Ok(GetTaskResult::new(record.detailed(id)))
    }

    pub(super) async fn cancel_task_for(
        &self,
        id: &str,
        ctx: CallContext,
        caller: &Caller,
    ) -> Result<(), McpError> {
        let mut record = self.load(id, caller).await?;
        if record.status.is_terminal() {
            return Ok(());
        }
        let upstream = self.cancel_upstream(&record, ctx, caller).await;
        record.status = TaskStatus::Cancelled;
        record.updated_ms = now_ms();
        record.status_message = Some(match upstream {
            Some(Ok(tool)) => format!("cancelled; {tool} stopped the job on Mistral"),
            Some(Err(why)) => {
                format!("cancelled here, but the job on Mistral may still run: {why}")
            }
            None => "cancelled".to_string(),
        });
        record.arguments = JsonObject::new();
        self.save(id, &record).await?;
        self.shared.runners.cancel(id);
        Ok(())
    }

    /// Stops the upstream job a cancelled wait was following, with the tool named by its
    /// `cancel_with`, given the wait's arguments that tool takes.
    async fn cancel_upstream(
        &self,
        record: &TaskRecord,
        ctx: CallContext,
        caller: &Caller,
    ) -> Option<Result<String, String>> {
        let cancel_id = self.exposed_tool(&record.tool)?.cancel_with.as_deref()?;
        let Some(cancel) = self
            .catalog()
            .tools
            .iter()
            .find(|t| t.spec().id == cancel_id)
            .and_then(|t| self.exposed_tool(&t.name))
        else {
            return Some(Err(format!("`{cancel_id}` is not enabled on this server")));
        };
        let schema = cancel.input_schema();
        let takes = schema.get("properties").and_then(Value::as_object);
        let args: JsonObject = record
            .arguments
            .iter()
            .filter(|(k, _)| takes.is_some_and(|p| p.contains_key(k.as_str())))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(match self.execute(cancel, args, ctx, caller).await {
            Ok(r) if r.is_error != Some(true) => Ok(cancel.name.clone()),
            Ok(r) => Err(r
                .content
                .iter()
                .find_map(|c| c.as_text().map(|t| t.text.clone()))
                .unwrap_or_default()),
            Err(e) => Err(e.to_string()),
        })
    }
}

/// A task's status message after one progress update: a stream's text so far, or the
/// latest state.
fn status_of(u: ProgressUpdate, partial: &mut String) -> String {
    if u.delta {
        partial.push_str(&u.message);
        // Only the end is shown; keep the buffer from growing without bound.
        if partial.len() > 4 * MAX_PARTIAL_CHARS {
            *partial = tail(partial, MAX_PARTIAL_CHARS);
        }
        return format!("partial output: {}", tail(partial, MAX_PARTIAL_CHARS));
    }
    match u.total {
        Some(t) => format!("{} ({}/{})", u.message, u.progress, t),
        None => u.message,
    }
}

/// The end of `text`, at most `max` bytes, cut at a character boundary, marked when cut.
fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

fn call_result_object(result: &CallToolResult) -> JsonObject {
    match serde_json::to_value(result) {
        Ok(Value::Object(o)) => o,
        _ => JsonObject::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso8601_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_796_034_367_123), "2026-11-30T10:26:07.123Z");
    }

    #[test]
    fn a_stream_status_keeps_the_end_of_the_text() {
        assert_eq!(tail("abc", 5), "abc");
        assert_eq!(tail("abcdef", 3), "…def");
        assert_eq!(tail("aé", 1), "…");
    }

    #[test]
    fn a_working_task_goes_stale_without_a_heartbeat() {
        let r = TaskRecord {
            principal: "p".into(),
            tool: "batch_jobs_wait".into(),
            arguments: JsonObject::new(),
            status: TaskStatus::Working,
            status_message: None,
            created_ms: 0,
            updated_ms: 1_000,
            result: None,
            error: None,
        };
        assert!(!r.stale(1_000 + LEASE.as_millis() as u64));
        assert!(r.stale(2_000 + LEASE.as_millis() as u64));
        let done = TaskRecord {
            status: TaskStatus::Completed,
            ..r
        };
        assert!(!done.stale(u64::MAX));
    }
}
