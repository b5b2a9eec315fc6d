//! Agents (beta): persistent model + instructions + tools configurations, their versions
//! and version aliases, and the legacy agent completion endpoint.
//!
//! The request types for agent tools and completion arguments live here because
//! conversations accept the same shapes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::chat::{FunctionDef, ToolChoice};
use super::chat_types::{Message, ResponseFormat, Stop};
use super::completion;
use crate::tool::{
    CallContext, Effect, OpEntry, OpSpec, Operation, ToolError, ToolOutput, build_request, entry,
};

pub fn entries() -> Vec<OpEntry> {
    vec![
        entry::<CreateAgent>(),
        entry::<ListAgents>(),
        entry::<UpdateAgent>(),
        entry::<ListAgentVersions>(),
        entry::<AgentComplete>(),
    ]
}

/// A tool an agent or conversation may use. Set only the fields its `type` needs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentTool {
    /// `function` (needs `function`), `web_search`, `web_search_premium`, `code_interpreter`, `image_generation`, `document_library` (needs `library_ids`) or `connector` (needs `connector_id`).
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function's name, description and JSON Schema parameters (type `function`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionDef>,
    /// Libraries to search (type `document_library`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_ids: Option<Vec<String>>,
    /// The connector's id (type `connector`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<String>,
    /// Connector credentials: `{"type":"api-key","value":"…"}` or `{"type":"oauth2-token","value":"…"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Map<String, Value>>,
    /// Built-in tool settings, for example which actions need confirmation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_configuration: Option<Map<String, Value>>,
}

fn function_type() -> String {
    "function".into()
}

/// Sampling and output settings used when the model answers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletionArgs {
    /// Sampling temperature, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Most tokens to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Seed for reproducible sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_seed: Option<u64>,
    /// Stop generating at any of these strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Penalise tokens already present, -2 to 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Penalise frequent tokens, -2 to 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Force JSON output, optionally matching a schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// `auto` (default), `none`, `any` or `required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<String>,
    /// Reasoning effort for reasoning models: `none`, `minimal`, `low`, `medium`, `high`, `xhigh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Expected output, to speed up small edits: `{"type":"content","content":"…"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Map<String, Value>>,
}

/// An agent version: a number, or an alias such as `production`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AgentVersion {
    Number(u64),
    Alias(String),
}

fn agent_summary(v: &Value) -> String {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    let version = v.get("version").map_or("?".to_string(), Value::to_string);
    format!(
        "Agent {} ({}), model {}, version {version}.",
        s("name"),
        s("id"),
        s("model")
    )
}

/// Create an agent.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    /// Model the agent runs on, for example `mistral-medium-latest`.
    pub model: String,
    /// Display name.
    pub name: String,
    /// System instructions the agent follows.
    pub instructions: Option<String>,
    /// What the agent is for; other agents read this when deciding to hand off.
    pub description: Option<String>,
    /// Tools the agent may use.
    pub tools: Option<Vec<AgentTool>>,
    /// Default sampling settings; conversations can override them.
    pub completion_args: Option<CompletionArgs>,
    /// Moderation guardrails, for example `[{"moderation_llm_v1": {…}, "block_on_error": false}]`.
    pub guardrails: Option<Vec<Map<String, Value>>>,
    /// Ids of agents this agent may hand the conversation to.
    #[schemars(length(min = 1))]
    pub handoffs: Option<Vec<String>>,
    /// Free-form metadata.
    pub metadata: Option<Map<String, Value>>,
    /// Note describing this first version (at most 500 characters).
    #[schemars(length(max = 500))]
    pub version_message: Option<String>,
}

impl Operation for CreateAgent {
    const SPEC: OpSpec = OpSpec::post("agents_create", "/v1/agents", Effect::Write);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let out = ToolOutput::from_response(&response, &ctx)?;
        let summary = format!(
            "Created {} Use its id as agent_id in conversations_start.",
            agent_summary(&out.structured)
        );
        Ok(out.with_summary(summary))
    }
}

/// List agents, a page at a time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListAgents {
    /// Agents per page, 1 to 1000 (default 20).
    #[schemars(range(min = 1, max = 1000))]
    pub page_size: Option<u32>,
    /// Cursor from the previous page's `next_page_token`.
    pub page_token: Option<String>,
    /// Search agent names and ids.
    pub search: Option<String>,
    /// Only agents with exactly this name.
    pub name: Option<String>,
    /// Only the agent with this id.
    pub id: Option<String>,
    /// Where the agents were made: `api`, `playground`, `agent_builder_v1`.
    pub sources: Option<Vec<String>>,
    /// Only agents deployed (or not) to Le Chat.
    pub deployment_chat: Option<bool>,
    /// Only agents whose metadata contains these key/values.
    pub metadata: Option<Map<String, Value>>,
}

impl Operation for ListAgents {
    const SPEC: OpSpec = OpSpec::get("agents_list", "/v1/agents/pages").query(&[
        "page_size",
        "page_token",
        "search",
        "name",
        "id",
        "sources",
        "deployment_chat",
        "metadata",
    ]);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        Ok(ToolOutput::from_response(&response, &ctx)?.with_next_page_token(self.page_size))
    }
}

/// Change an agent; this creates a new version.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    /// The agent's id.
    pub agent_id: String,
    /// New model.
    pub model: Option<String>,
    /// New display name.
    pub name: Option<String>,
    /// New system instructions.
    pub instructions: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Replaces the agent's tools.
    pub tools: Option<Vec<AgentTool>>,
    /// Replaces the default sampling settings.
    pub completion_args: Option<CompletionArgs>,
    /// Replaces the moderation guardrails.
    pub guardrails: Option<Vec<Map<String, Value>>>,
    /// Replaces the ids of agents this agent may hand off to.
    #[schemars(length(min = 1))]
    pub handoffs: Option<Vec<String>>,
    /// Deploy the agent to Le Chat (or remove it).
    pub deployment_chat: Option<bool>,
    /// Replaces the metadata.
    pub metadata: Option<Map<String, Value>>,
    /// Note describing the new version (at most 500 characters).
    #[schemars(length(max = 500))]
    pub version_message: Option<String>,
}

impl Operation for UpdateAgent {
    // Every call creates a version, so a retry after a 5xx could create two.
    const SPEC: OpSpec = OpSpec {
        idempotent: false,
        ..OpSpec::patch("agents_update", "/v1/agents/{agent_id}")
    };

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let out = ToolOutput::from_response(&response, &ctx)?;
        let summary = format!("Updated. {}", agent_summary(&out.structured));
        Ok(out.with_summary(summary))
    }
}

/// List an agent's versions, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListAgentVersions {
    /// The agent's id.
    pub agent_id: String,
    /// Page number, from 0.
    pub page: Option<u32>,
    /// Versions per page, 1 to 100 (default 20).
    #[schemars(range(min = 1, max = 100))]
    pub page_size: Option<u32>,
}

impl Operation for ListAgentVersions {
    const SPEC: OpSpec = OpSpec::get("agents_versions_list", "/v1/agents/{agent_id}/versions")
        .query(&["page", "page_size"]);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let out = ToolOutput::from_response(&response, &ctx)?;
        Ok(out.with_next_page(self.page.unwrap_or(0), self.page_size.unwrap_or(20)))
    }
}

/// Run a one-shot chat completion with an agent.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentComplete {
    /// The agent to answer.
    pub agent_id: String,
    /// The conversation, oldest message first.
    pub messages: Vec<Message>,
    /// Most tokens to generate.
    pub max_tokens: Option<u32>,
    /// Stream the answer: partial text arrives as progress notifications and the assembled answer is returned at the end.
    pub stream: Option<bool>,
    /// Stop generating at any of these strings.
    pub stop: Option<Stop>,
    /// Seed for reproducible sampling.
    pub random_seed: Option<u64>,
    /// Force JSON output, optionally matching a schema.
    pub response_format: Option<ResponseFormat>,
    /// Tools for this request, in addition to the agent's.
    pub tools: Option<Vec<AgentTool>>,
    /// Whether and which tool the model must call.
    pub tool_choice: Option<ToolChoice>,
    /// Allow several tool calls in one answer (default true).
    pub parallel_tool_calls: Option<bool>,
    /// Penalise tokens already present, -2 to 2.
    pub presence_penalty: Option<f64>,
    /// Penalise frequent tokens, -2 to 2.
    pub frequency_penalty: Option<f64>,
    /// Number of answers to generate.
    pub n: Option<u32>,
    /// Expected output, to speed up small edits: `{"type":"content","content":"…"}`.
    pub prediction: Option<Map<String, Value>>,
    /// Reasoning effort for reasoning models: `none`, `minimal`, `low`, `medium`, `high`, `xhigh`.
    pub reasoning_effort: Option<String>,
    /// `reasoning` to make a reasoning model show its thinking.
    pub prompt_mode: Option<String>,
    /// Moderation guardrails for this request.
    pub guardrails: Option<Vec<Map<String, Value>>>,
    /// Key grouping requests that share a prompt prefix, for caching.
    pub prompt_cache_key: Option<String>,
    /// `standard` or `priority` capacity.
    pub service_tier: Option<String>,
    /// Free-form metadata stored with the request.
    pub metadata: Option<Map<String, Value>>,
}

impl Operation for AgentComplete {
    const SPEC: OpSpec = OpSpec::post(
        "agents_complete",
        "/v1/agents/completions",
        Effect::Inference,
    );

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        if self.messages.is_empty() {
            return Err(ToolError::InvalidArguments(
                "`messages` must contain at least one message".into(),
            ));
        }
        let stream = self.stream.unwrap_or(false);
        completion::complete(&Self::SPEC, &self, stream, ctx).await
    }
}
