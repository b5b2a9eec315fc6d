//! Chat completions (`POST /v1/chat/completions`), plain or streamed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::chat_types::{Message, ResponseFormat, Stop};
use super::completion;
use crate::tool::{CallContext, Effect, OpEntry, OpSpec, Operation, ToolError, ToolOutput, entry};

pub fn entries() -> Vec<OpEntry> {
    vec![entry::<ChatComplete>()]
}

/// A function the model may call, or a built-in tool such as `{"type":"web_search"}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatTool {
    /// `function` for your own functions; built-ins: `web_search`, `web_search_premium`, `code_interpreter`, `image_generation`, `document_library`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionDef>,
}

fn function_type() -> String {
    "function".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the function's arguments.
    pub parameters: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `auto`, `none`, `any`, `required`, or `{"type":"function","function":{"name":"…"}}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ToolChoice {
    Mode(ToolChoiceMode),
    Named {
        #[serde(rename = "type", default = "function_type")]
        kind: String,
        function: NamedFunction,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoiceMode {
    Auto,
    None,
    Any,
    Required,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedFunction {
    pub name: String,
}

/// Generate a chat completion.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatComplete {
    /// Model id, e.g. `mistral-large-latest`, `mistral-small-latest`, `magistral-medium-latest` (reasoning); models_list has all.
    pub model: String,
    /// The conversation, oldest message first.
    pub messages: Vec<Message>,
    /// Sampling temperature, 0 to 1.5. Lower is more deterministic.
    #[schemars(range(min = 0.0, max = 1.5))]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass, above 0 and at most 1.
    pub top_p: Option<f64>,
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
    /// Functions and built-in tools the model may call.
    pub tools: Option<Vec<ChatTool>>,
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
    /// Reasoning effort for reasoning models: `none`, `minimal`, `low`, `medium`, `high`, `xhigh`.
    pub reasoning_effort: Option<String>,
    /// `reasoning` to make a reasoning model show its thinking.
    pub prompt_mode: Option<String>,
    /// Prepend Mistral's safety system prompt.
    pub safe_prompt: Option<bool>,
    /// Free-form metadata stored with the request.
    pub metadata: Option<Map<String, Value>>,
}

impl Operation for ChatComplete {
    const SPEC: OpSpec = OpSpec::post("chat_complete", "/v1/chat/completions", Effect::Inference);

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
