//! Fill-in-the-middle code completion (`POST /v1/fim/completions`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::chat_types::Stop;
use super::completion;
use crate::tool::{CallContext, Effect, OpEntry, OpSpec, Operation, ToolError, ToolOutput, entry};

pub fn entries() -> Vec<OpEntry> {
    vec![entry::<FimComplete>()]
}

/// Complete code between a prefix and an optional suffix.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FimComplete {
    /// A code model, for example `codestral-latest`.
    pub model: String,
    /// The code before the gap.
    pub prompt: String,
    /// The code after the gap.
    pub suffix: Option<String>,
    /// Sampling temperature, 0 to 1.5.
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Most tokens to generate.
    pub max_tokens: Option<u32>,
    /// Fewest tokens to generate.
    pub min_tokens: Option<u32>,
    /// Stream the completion with progress notifications.
    pub stream: Option<bool>,
    pub stop: Option<Stop>,
    pub random_seed: Option<u64>,
    pub metadata: Option<Map<String, Value>>,
}

impl Operation for FimComplete {
    const SPEC: OpSpec = OpSpec::post("fim_complete", "/v1/fim/completions", Effect::Inference);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let stream = self.stream.unwrap_or(false);
        completion::complete(&Self::SPEC, &self, stream, ctx).await
    }
}
