//! Fine-tuning jobs: create, list, inspect, start, cancel, and wait for them.
//!
//! Mistral has deprecated fine-tuning and dropped these operations from its current spec;
//! they are described only by the 2026-07-15 spec, which is what these types follow. The
//! resulting models are managed by the models area (models_update, models_archive, …).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tool::wait::{self, Backoff, Observation, Outcome, str_field};
use crate::tool::{
    CallContext, Effect, OpEntry, OpSpec, Operation, ToolError, ToolOutput, build_request, entry,
    send_page,
};

pub fn entries() -> Vec<OpEntry> {
    vec![
        entry::<CreateFineTuningJob>(),
        entry::<ListFineTuningJobs>(),
        entry::<WaitFineTuningJob>(),
    ]
}

/// A training file and its weight in the mix.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingFile {
    /// Id of an uploaded `.jsonl` file (files_upload with purpose `fine-tune`).
    pub file_id: String,
    /// Relative weight of this file (default 1.0, must be above 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
}

/// Training settings. `fim_ratio` applies to completion jobs only.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hyperparameters {
    /// Number of weight updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_steps: Option<u32>,
    /// Learning rate, 1e-8 to 1 (default 0.0001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    /// Weight decay, 0 to 1 (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// Fraction of steps spent warming up the learning rate, 0 to 1 (default 0.05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_fraction: Option<f64>,
    /// Passes over the training data (instead of `training_steps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<f64>,
    /// Sequence length, at least 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq_len: Option<u32>,
    /// Share of fill-in-the-middle samples, 0 to 1 (completion jobs, default 0.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fim_ratio: Option<f64>,
}

/// A label set a classifier job learns.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifierTarget {
    /// Name of the target, as used in the training data.
    pub name: String,
    /// Its possible labels.
    pub labels: Vec<String>,
    /// Relative weight (default 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// `single_class` or `multi_class`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_function: Option<String>,
}

/// Create a fine-tuning job (deprecated by Mistral).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFineTuningJob {
    /// Base model to fine-tune, for example `open-mistral-7b` or `mistral-small-latest`.
    pub model: String,
    /// Training data files.
    pub training_files: Option<Vec<TrainingFile>>,
    /// Ids of uploaded validation files (not the same data as training).
    pub validation_files: Option<Vec<String>>,
    /// Up to 18 characters added to the fine-tuned model's name.
    pub suffix: Option<String>,
    /// Training settings; `{}` uses Mistral's defaults.
    #[serde(default)]
    pub hyperparameters: Hyperparameters,
    /// Start training once validated (default true); false leaves the job at VALIDATED until fine_tuning_jobs_start.
    pub auto_start: Option<bool>,
    /// `completion` (default) or `classifier`.
    pub job_type: Option<String>,
    /// For classifier jobs: the targets to learn.
    pub classifier_targets: Option<Vec<ClassifierTarget>>,
    /// Share of invalid training samples to skip instead of failing, 0 to 0.5.
    pub invalid_sample_skip_percentage: Option<f64>,
    /// Integrations, for example `[{"type": "wandb", "project": "my-project", "api_key": "<40 chars>"}]`.
    pub integrations: Option<Vec<Value>>,
    /// Repositories to train on, for example `[{"type": "github", "name": "repo", "owner": "me", "token": "…"}]`.
    pub repositories: Option<Vec<Value>>,
    /// Only validate and estimate cost and duration; no job is created.
    pub dry_run: Option<bool>,
}

impl Operation for CreateFineTuningJob {
    const SPEC: OpSpec = OpSpec::post(
        "fine_tuning_jobs_create",
        "/v1/fine_tuning/jobs",
        Effect::Write,
    )
    .query(&["dry_run"]);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let out = ToolOutput::from_response(&response, &ctx)?;
        let job = &out.structured;
        let summary = match job.get("id").and_then(Value::as_str) {
            Some(id) => format!(
                "Created fine-tuning job {id} ({}). Follow it with fine_tuning_jobs_wait {{\"job_id\": \"{id}\"}}. Note: Mistral has deprecated fine-tuning.",
                str_field(job, "status")
            ),
            None => format!("Dry run, no job created: {job}"),
        };
        Ok(out.with_summary(summary))
    }
}

/// List fine-tuning jobs, one page at a time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListFineTuningJobs {
    /// Page number, from 0.
    pub page: Option<u32>,
    /// Jobs per page (default 100).
    pub page_size: Option<u32>,
    /// Only jobs fine-tuning this model.
    pub model: Option<String>,
    /// Only jobs created after this time (ISO 8601).
    pub created_after: Option<String>,
    /// Only jobs created before this time (ISO 8601).
    pub created_before: Option<String>,
    /// Only jobs created by this API key's user.
    pub created_by_me: Option<bool>,
    /// Only jobs in this state: `QUEUED`, `STARTED`, `VALIDATING`, `VALIDATED`, `RUNNING`, `FAILED_VALIDATION`, `FAILED`, `SUCCESS`, `CANCELLED`, `CANCELLATION_REQUESTED`.
    pub status: Option<String>,
    /// Only jobs logging to this Weights & Biases project.
    pub wandb_project: Option<String>,
    /// Only jobs with this Weights & Biases run name.
    pub wandb_name: Option<String>,
    /// Only jobs with this model suffix.
    pub suffix: Option<String>,
}

impl Operation for ListFineTuningJobs {
    const SPEC: OpSpec = OpSpec::get("fine_tuning_jobs_list", "/v1/fine_tuning/jobs").query(&[
        "page",
        "page_size",
        "model",
        "created_after",
        "created_before",
        "created_by_me",
        "status",
        "wandb_project",
        "wandb_name",
        "suffix",
    ]);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        send_page(&Self::SPEC, &self, self.page, self.page_size, &ctx).await
    }
}

/// Wait for a fine-tuning job to finish.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitFineTuningJob {
    /// The fine-tuning job's id.
    pub job_id: String,
    /// Longest time to wait, in seconds (at most 3600). A plain call is answered within the server's max_wait_secs (default 50); an MCP task waits as long as asked (default 3600). When the wait ends, the current state is returned and the job keeps running.
    #[serde(default, skip_serializing)]
    #[schemars(range(min = 1, max = 3600))]
    pub timeout_secs: Option<u64>,
}

impl Operation for WaitFineTuningJob {
    const SPEC: OpSpec = OpSpec::get("fine_tuning_jobs_wait", "/v1/fine_tuning/jobs/{job_id}");

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let timeout = wait::timeout_from(&ctx, self.timeout_secs)?;
        let request = build_request(&Self::SPEC, &self)?;
        let outcome = wait::poll(&ctx, &request, timeout, Backoff::default(), observe).await?;
        let summary = summarize(&outcome, timeout.as_secs());
        Ok(ToolOutput::json(outcome.into_value()).with_summary(summary))
    }
}

/// Stages in order; progress is the index of the stage reached.
const STAGES: &[&str] = &["QUEUED", "STARTED", "VALIDATING", "VALIDATED", "RUNNING"];
const TERMINAL: &[&str] = &["SUCCESS", "FAILED", "FAILED_VALIDATION", "CANCELLED"];

/// A validated job that will not start by itself waits on the user, not on Mistral.
fn awaits_start(job: &Value) -> bool {
    str_field(job, "status") == "VALIDATED"
        && job.get("auto_start").and_then(Value::as_bool) == Some(false)
}

fn latest_checkpoint(job: &Value) -> Option<String> {
    let cp = job.get("checkpoints")?.as_array()?.iter().max_by_key(|c| {
        c.get("step_number")
            .and_then(Value::as_u64)
            .unwrap_or_default()
    })?;
    let step = cp.get("step_number").and_then(Value::as_u64)?;
    let loss = cp
        .pointer("/metrics/train_loss")
        .and_then(Value::as_f64)
        .map(|l| format!(", train loss {l:.4}"))
        .unwrap_or_default();
    Some(format!("step {step}{loss}"))
}

fn observe(job: &Value) -> Observation {
    let status = str_field(job, "status");
    let done = STAGES.len();
    let stage = if TERMINAL.contains(&status) {
        done
    } else if status == "CANCELLATION_REQUESTED" {
        done - 1
    } else {
        STAGES.iter().position(|s| *s == status).unwrap_or(0)
    };
    let mut message = status.to_string();
    if let Some(cp) = latest_checkpoint(job) {
        message.push_str(&format!(" ({cp})"));
    }
    Observation {
        terminal: TERMINAL.contains(&status) || awaits_start(job),
        progress: stage as f64,
        total: Some(done as f64),
        message,
    }
}

fn summarize(outcome: &Outcome, waited_secs: u64) -> String {
    let job = outcome.value();
    let id = str_field(job, "id");
    let status = str_field(job, "status");
    let mut lines = vec![format!("Fine-tuning job {id} is {status}.")];
    if let Some(cp) = latest_checkpoint(job) {
        lines.push(format!("Latest checkpoint: {cp}."));
    }
    if let Some(model) = job.get("fine_tuned_model").and_then(Value::as_str) {
        lines.push(format!(
            "Fine-tuned model: {model}. Use it as `model` in chat_complete (or classifications_create for classifier jobs)."
        ));
    }
    if awaits_start(job) {
        lines.push(format!(
            "It is validated and waits to be started: call fine_tuning_jobs_start {{\"job_id\": \"{id}\"}}."
        ));
    } else if !outcome.finished() {
        lines.push(format!(
            "It is still running after {waited_secs}s of waiting. Call fine_tuning_jobs_wait again to keep waiting, or fine_tuning_jobs_cancel to stop it."
        ));
    }
    if matches!(status, "FAILED" | "FAILED_VALIDATION")
        && let Some(event) = job
            .get("events")
            .and_then(Value::as_array)
            .and_then(|e| e.last())
    {
        lines.push(format!("Last event: {event}"));
    }
    lines.push("Note: Mistral has deprecated fine-tuning jobs.".into());
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fine_tuning_states_read_as_stages() {
        let running = json!({"id": "j", "status": "RUNNING", "auto_start": true,
            "checkpoints": [{"step_number": 5, "metrics": {"train_loss": 1.25}, "created_at": 1}, {"step_number": 10, "metrics": {"train_loss": 0.5}, "created_at": 2}]});
        let o = observe(&running);
        assert!(!o.terminal);
        assert_eq!(o.progress, 4.0);
        assert_eq!(o.message, "RUNNING (step 10, train loss 0.5000)");
        let waiting = json!({"id": "j", "status": "VALIDATED", "auto_start": false});
        assert!(observe(&waiting).terminal);
        assert!(summarize(&Outcome::Finished(waiting), 1).contains("fine_tuning_jobs_start"));
        let done = json!({"id": "j", "status": "SUCCESS", "fine_tuned_model": "ft:x"});
        assert!(observe(&done).terminal);
        assert!(summarize(&Outcome::Finished(done), 1).contains("ft:x"));
    }
}
