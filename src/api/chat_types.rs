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
    /// Chunks: `{"type":"text","text":…}`, `{"type":"image_url","image_url":URL}`, `{"type":"document_url","document_url":URL}`.
    Chunks(Vec<Value>),
}

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

// One message of a conversation. A flat object (rather than one schema per role) keeps the
// tool schema small; the per-role rules are checked when the message is parsed. (A `///`
// comment here would become schema text that every agent pays for.)
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Message {
    /// `system` (instructions), `user`, `assistant` (an earlier reply) or `tool` (a tool result).
    pub role: Role,
    /// Text or chunks; may be left out on an assistant message with tool_calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Assistant only: the tool calls it made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Assistant only: true on the last message to make the model continue its text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<bool>,
    /// Tool only: the id of the tool call this answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Tool only: the function's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    role: Role,
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
    #[serde(default)]
    prefix: Option<bool>,
    #[serde(default)]
    tool_call_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let m = RawMessage::deserialize(deserializer)?;
        let misplaced = |field: &str, allowed: &str| {
            D::Error::custom(format!("`{field}` is only allowed on {allowed} messages"))
        };
        if m.role != Role::Assistant {
            if m.tool_calls.is_some() {
                return Err(misplaced("tool_calls", "assistant"));
            }
            if m.prefix.is_some() {
                return Err(misplaced("prefix", "assistant"));
            }
            if m.content.is_none() {
                return Err(D::Error::custom(
                    "`content` is required on system, user and tool messages",
                ));
            }
        }
        if m.role != Role::Tool {
            if m.tool_call_id.is_some() {
                return Err(misplaced("tool_call_id", "tool"));
            }
            if m.name.is_some() {
                return Err(misplaced("name", "tool"));
            }
        }
        Ok(Message {
            role: m.role,
            content: m.content,
            tool_calls: m.tool_calls,
            prefix: m.prefix,
            tool_call_id: m.tool_call_id,
            name: m.name,
        })
    }
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
        assert!(serde_json::from_value::<Message>(json!({"role":"user"})).is_err());
        let e = serde_json::from_value::<Message>(
            json!({"role":"user","content":"x","tool_call_id":"1"}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("tool_call_id"), "{e}");
    }
}
