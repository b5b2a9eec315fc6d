//! Batch inference jobs: create, list, inspect, cancel, delete, and wait for completion.
//!
//! A batch job runs many requests against one endpoint offline; its results land in an
//! output file that files_download fetches. Inline results (`inline=true`) can be large, so
//! they are dropped from an oversized answer in favour of the output file.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::tool::wait::{self, Backoff, Observation, Outcome, count_field, str_field};
use crate::tool::{
    CallContext, Effect, OpEntry, OpSpec, Operation, ToolError, ToolOutput, build_request, entry,
    send_page,
};

pub fn entries() -> Vec<OpEntry> {
    vec![
        entry::<CreateBatchJob>(),
        entry::<ListBatchJobs>(),
        entry::<GetBatchJob>(),
        entry::<WaitBatchJob>(),
    ]
}

/// One request of an inline batch.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Your id for this request; it is echoed in the result line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<String>,
    /// The request body as the endpoint takes it; `model` is set for the whole job (for chat: `{"messages": [...], "max_tokens": 100}`).
    pub body: Map<String, Value>,
}

/// Create a batch inference job.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBatchJob {
    /// Endpoint every request goes to: `/v1/chat/completions`, `/v1/embeddings`, `/v1/fim/completions`, `/v1/moderations`, `/v1/chat/moderations`, `/v1/ocr`, `/v1/classifications`, `/v1/chat/classifications`, `/v1/conversations` or `/v1/audio/transcriptions`.
    pub endpoint: String,
    /// Model for every request, for example `mistral-small-latest`.
    pub model: Option<String>,
    /// Ids of uploaded `.jsonl` files (files_upload with purpose `batch`). Each line: `{"custom_id": "0", "body": {"messages": [{"role": "user", "content": "Hi"}]}}`.
    pub input_files: Option<Vec<String>>,
    /// The requests inline instead of a file (up to 10000).
    pub requests: Option<Vec<BatchRequest>>,
    /// Agent to run the requests with (the deprecated agents API), instead of `model`.
    pub agent_id: Option<String>,
    /// Your labels for the job: keys up to 32 characters, values up to 512.
    pub metadata: Option<BTreeMap<String, String>>,
    /// Hours before the job is stopped, 1 to 168 (default 24).
    #[schemars(range(min = 1, max = 168))]
    pub timeout_hours: Option<u32>,
}

impl Operation for CreateBatchJob {
    const SPEC: OpSpec = OpSpec::post("batch_jobs_create", "/v1/batch/jobs", Effect::Write);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let no_files = self.input_files.as_ref().is_none_or(Vec::is_empty);
        let no_requests = self.requests.as_ref().is_none_or(Vec::is_empty);
        if no_files && no_requests {
            return Err(ToolError::InvalidArguments(
                "give the work as `input_files` (ids of uploaded .jsonl files) or `requests` (inline)".into(),
            ));
        }
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let out = ToolOutput::from_response(&response, &ctx)?;
        let job = &out.structured;
        let id = str_field(job, "id");
        let summary = format!(
            "Created batch job {id} ({}, {} requests). Follow it with batch_jobs_wait {{\"job_id\": \"{id}\"}}.",
            str_field(job, "status"),
            count_field(job, "total_requests"),
        );
        Ok(out.with_summary(summary))
    }
}

/// List batch jobs, newest first, one page at a time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBatchJobs {
    /// Page number, from 0.
    pub page: Option<u32>,
    /// Jobs per page (default 100).
    pub page_size: Option<u32>,
    /// Only jobs for this model.
    pub model: Option<String>,
    /// Only jobs for this agent.
    pub agent_id: Option<String>,
    /// Only jobs whose metadata contains these key/value pairs.
    pub metadata: Option<BTreeMap<String, String>>,
    /// Only jobs created after this time (ISO 8601, e.g. `2026-01-31T00:00:00Z`).
    pub created_after: Option<String>,
    /// Only jobs created with this API key's user.
    pub created_by_me: Option<bool>,
    /// Only jobs in these states: `QUEUED`, `RUNNING`, `SUCCESS`, `FAILED`, `TIMEOUT_EXCEEDED`, `CANCELLATION_REQUESTED`, `CANCELLED`.
    pub status: Option<Vec<String>>,
    /// `-created` (newest first, default) or `created`.
    pub order_by: Option<String>,
}

impl Operation for ListBatchJobs {
    const SPEC: OpSpec = OpSpec::get("batch_jobs_list", "/v1/batch/jobs").query(&[
        "page",
        "page_size",
        "model",
        "agent_id",
        "metadata",
        "created_after",
        "created_by_me",
        "status",
        "order_by",
    ]);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        send_page(&Self::SPEC, &self, self.page, self.page_size, &ctx).await
    }
}

/// Get a batch job.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetBatchJob {
    /// The batch job's id (a UUID).
    pub job_id: String,
    /// Include the results in the answer (`outputs`). Only for small jobs: large results are left out; download the output file with files_download instead.
    pub inline: Option<bool>,
}

impl Operation for GetBatchJob {
    const SPEC: OpSpec =
        OpSpec::get("batch_jobs_get", "/v1/batch/jobs/{job_id}").query(&["inline"]);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let size = response.body.len();
        let mut out = ToolOutput::from_response(&response, &ctx)?;
        let limit = ctx.files.max_inline_bytes as usize;
        if size > limit
            && let Value::Object(job) = &mut out.structured
            && job.remove("outputs").is_some()
        {
            let file = job
                .get("output_file")
                .and_then(Value::as_str)
                .unwrap_or("(not yet written)")
                .to_string();
            job.insert(
                "outputs_omitted".into(),
                json!(format!(
                    "the inline results are {size} bytes, over the {limit}-byte inline limit; download output file {file} with files_download and save_to"
                )),
            );
        }
        Ok(out)
    }
}

/// Wait for a batch job to finish.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitBatchJob {
    /// The batch job's id.
    pub job_id: String,
    /// Longest time to wait, in seconds (at most 3600). A plain call is answered within the server's max_wait_secs (default 50); an MCP task waits as long as asked (default 3600). When the wait ends, the current state is returned and the job keeps running.
    #[serde(default, skip_serializing)]
    #[schemars(range(min = 1, max = 3600))]
    pub timeout_secs: Option<u64>,
}

impl Operation for WaitBatchJob {
    const SPEC: OpSpec = OpSpec::get("batch_jobs_wait", "/v1/batch/jobs/{job_id}");

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let timeout = wait::timeout_from(&ctx, self.timeout_secs)?;
        let request = build_request(&Self::SPEC, &self)?;
        let outcome = wait::poll(&ctx, &request, timeout, Backoff::default(), observe).await?;
        let summary = summarize(&outcome, timeout.as_secs());
        Ok(ToolOutput::json(outcome.into_value()).with_summary(summary))
    }
}

const TERMINAL: &[&str] = &["SUCCESS", "FAILED", "TIMEOUT_EXCEEDED", "CANCELLED"];

fn counters(job: &Value) -> String {
    format!(
        "{}/{} requests done ({} succeeded, {} failed)",
        count_field(job, "completed_requests"),
        count_field(job, "total_requests"),
        count_field(job, "succeeded_requests"),
        count_field(job, "failed_requests"),
    )
}

fn observe(job: &Value) -> Observation {
    let status = str_field(job, "status");
    let total = count_field(job, "total_requests");
    Observation {
        terminal: TERMINAL.contains(&status),
        progress: count_field(job, "completed_requests") as f64,
        total: (total > 0).then_some(total as f64),
        message: format!("{status}: {}", counters(job)),
    }
}

fn summarize(outcome: &Outcome, waited_secs: u64) -> String {
    let job = outcome.value();
    let id = str_field(job, "id");
    let status = str_field(job, "status");
    let mut lines = vec![format!("Batch job {id} is {status}: {}.", counters(job))];
    if !outcome.finished() {
        lines.push(format!(
            "It is still running after {waited_secs}s of waiting. Call batch_jobs_wait again to keep waiting, or batch_jobs_cancel to stop it."
        ));
    }
    for (field, what) in [
        ("output_file", "Results"),
        ("error_file", "Errors per request"),
    ] {
        if let Some(file) = job.get(field).and_then(Value::as_str) {
            lines.push(format!(
                "{what}: file {file}. Download it with files_download {{\"file_id\": \"{file}\"}} (add \"save_to\": \"<local path>\" for large files); each line is one JSON result keyed by custom_id."
            ));
        }
    }
    if let Some(errors) = job.get("errors").and_then(Value::as_array) {
        for e in errors.iter().take(5) {
            lines.push(format!(
                "Error: {} (x{})",
                str_field(e, "message"),
                count_field(e, "count").max(1)
            ));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_states_read_as_counters() {
        let job = json!({"id": "b1", "status": "RUNNING", "total_requests": 10, "completed_requests": 4, "succeeded_requests": 3, "failed_requests": 1});
        let o = observe(&job);
        assert!(!o.terminal);
        assert_eq!((o.progress, o.total), (4.0, Some(10.0)));
        assert_eq!(
            o.message,
            "RUNNING: 4/10 requests done (3 succeeded, 1 failed)"
        );
        let done = json!({"id": "b1", "status": "SUCCESS", "total_requests": 10, "completed_requests": 10, "output_file": "f-out"});
        assert!(observe(&done).terminal);
        let text = summarize(&Outcome::Finished(done), 5);
        assert!(
            text.contains("files_download {\"file_id\": \"f-out\"}"),
            "{text}"
        );
        let text = summarize(&Outcome::StillRunning(job), 5);
        assert!(text.contains("still running"), "{text}");
    }
}
