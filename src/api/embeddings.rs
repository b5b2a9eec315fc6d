//! Embeddings (`POST /v1/embeddings`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::chat_types::TextInput;
use crate::tool::{
    CallContext, Effect, OpEntry, OpSpec, Operation, ToolError, ToolOutput, build_request, entry,
};

pub fn entries() -> Vec<OpEntry> {
    vec![entry::<CreateEmbeddings>()]
}

/// Embed texts as vectors.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEmbeddings {
    /// `mistral-embed` for text, `codestral-embed` for code.
    pub model: String,
    /// One text or a list of texts; one vector comes back per text, in order.
    pub input: TextInput,
    /// Vector length (codestral-embed only).
    pub output_dimension: Option<u32>,
    /// `float` (default), `int8`, `uint8`, `binary` or `ubinary`.
    pub output_dtype: Option<String>,
    /// `float` (default) or `base64`.
    pub encoding_format: Option<String>,
    pub metadata: Option<Map<String, Value>>,
}

impl Operation for CreateEmbeddings {
    const SPEC: OpSpec = OpSpec::post("embeddings_create", "/v1/embeddings", Effect::Inference);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        if self.input.is_empty() {
            return Err(ToolError::InvalidArguments(
                "`input` must contain at least one text".into(),
            ));
        }
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let out = ToolOutput::from_response(&response, &ctx)?;
        // The vectors are for programs, not for reading: keep them out of the text.
        let data = out.structured.get("data").and_then(Value::as_array);
        let count = data.map_or(0, Vec::len);
        let dims = data
            .and_then(|d| d.first())
            .and_then(|e| e.get("embedding"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let tokens = out
            .structured
            .pointer("/usage/prompt_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let model = out
            .structured
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(&self.model)
            .to_string();
        Ok(out.with_summary(format!(
            "{count} embedding(s) of {dims} dimensions from {model} ({tokens} tokens). The vectors are in structuredContent.data[].embedding, in input order."
        )))
    }
}
