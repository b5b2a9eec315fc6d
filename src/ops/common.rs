//! Request types shared by several API areas: chat messages, text inputs, response formats.
//!
//! Message content chunks stay open JSON (`text`, `image_url`, `document_url`, `file`,
//! `input_audio`, `thinking`, …): Mistral adds chunk kinds often, and a closed enum here
//! would reject valid requests.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Message content: plain text, or a list of content chunks.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Chunks such as `{"type":"text","text":"…"}`, `{"type":"image_url","image_url":"https://… or data:image/png;base64,…"}`, `{"type":"document_url","document_url":"https://…"}`.
    Chunks(Vec<Value>),
}

/// One message of a conversation.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "role", rename_all = "lowercase", deny_unknown_fields)]
pub enum Message {
    /// Instructions that steer the assistant.
    System { content: Content },
    /// What the user says.
    User { content: Content },
    /// An earlier assistant turn, possibly with tool calls.
    Assistant {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<Content>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool_calls: Option<Vec<ToolCall>>,
        /// Set on the last message to make the model continue this text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<bool>,
    },
    /// The result of a tool call, answering `tool_call_id`.
    Tool {
        content: Content,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool_call_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
}

/// A tool call made by the assistant.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub function: FunctionCall,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionCall {
    pub name: String,
    /// Arguments as a JSON string or object.
    pub arguments: Value,
}

/// One text or a list of texts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TextInput {
    One(String),
    Many(Vec<String>),
}

impl TextInput {
    pub fn len(&self) -> usize {
        match self {
            TextInput::One(_) => 1,
            TextInput::Many(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Constrains the output format.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseFormat {
    /// `text` (default), `json_object` (any JSON), or `json_schema` (JSON matching `json_schema`).
    #[serde(rename = "type")]
    pub kind: ResponseFormatKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<JsonSchemaFormat>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormatKind {
    Text,
    JsonObject,
    JsonSchema,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonSchemaFormat {
    pub name: String,
    /// The JSON Schema the output must match.
    pub schema: serde_json::Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// Stop sequence(s).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

/// Text of message content, for summaries: string content, or the text chunks joined.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(chunks) => chunks
            .iter()
            .filter(|c| c.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|c| c.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_round_trip_and_reject_typos() {
        let m: Message = serde_json::from_value(json!({"role":"user","content":"hi"})).unwrap();
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"role":"user","content":"hi"})
        );
        let m: Message =
            serde_json::from_value(json!({"role":"assistant","content":null})).unwrap();
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"role":"assistant"})
        );
        assert!(serde_json::from_value::<Message>(json!({"role":"user","contnet":"hi"})).is_err());
        assert!(serde_json::from_value::<Message>(json!({"role":"robot","content":"hi"})).is_err());
    }
}
