//! Moderation and classification of texts and conversations.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::chat_types::{Message, TextInput};
use crate::tool::{Effect, OpEntry, OpSpec, Operation, entry};

pub fn entries() -> Vec<OpEntry> {
    vec![
        entry::<Moderate>(),
        entry::<ModerateChat>(),
        entry::<Classify>(),
        entry::<ClassifyChat>(),
    ]
}

/// Flag harmful content in texts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Moderate {
    /// A moderation model, usually `mistral-moderation-latest`.
    pub model: String,
    /// One text or a list of texts.
    pub input: TextInput,
    pub metadata: Option<Map<String, Value>>,
}

impl Operation for Moderate {
    const SPEC: OpSpec = OpSpec::post("moderations_create", "/v1/moderations", Effect::Inference);
}

/// One conversation, or several conversations.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Conversations {
    One(Vec<Message>),
    Many(Vec<Vec<Message>>),
}

// The message schema is spelled out once: the several-conversations form points back to it
// instead of repeating ~1,500 bytes of schema in every tools/list.
impl JsonSchema for Conversations {
    fn schema_name() -> Cow<'static, str> {
        "Conversations".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let one = generator.subschema_for::<Vec<Message>>();
        json_schema!({"anyOf": [one, {
            "type": "array",
            "description": "Several conversations, each a list of messages as in the first form.",
            "items": {"type": "array", "items": {"type": "object"}}
        }]})
    }
}

/// Flag harmful content in a conversation, judging the last turn in context.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerateChat {
    /// A moderation model, usually `mistral-moderation-latest`.
    pub model: String,
    /// The conversation (a list of messages) or a list of conversations.
    pub input: Conversations,
}

impl Operation for ModerateChat {
    const SPEC: OpSpec = OpSpec::post(
        "chat_moderations_create",
        "/v1/chat/moderations",
        Effect::Inference,
    );
}

/// Classify texts with a classifier model.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Classify {
    /// A classifier model, such as one you fine-tuned (`ft:classifier:…`).
    pub model: String,
    /// One text or a list of texts.
    pub input: TextInput,
    pub metadata: Option<Map<String, Value>>,
}

impl Operation for Classify {
    const SPEC: OpSpec = OpSpec::post(
        "classifications_create",
        "/v1/classifications",
        Effect::Inference,
    );
}

/// A conversation to classify.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructRequest {
    pub messages: Vec<Message>,
}

/// One conversation or several.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InstructInputs {
    One(InstructRequest),
    Many(Vec<InstructRequest>),
}

impl JsonSchema for InstructInputs {
    fn schema_name() -> Cow<'static, str> {
        "InstructInputs".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let one = generator.subschema_for::<InstructRequest>();
        json_schema!({"anyOf": [one, {
            "type": "array",
            "description": "Several conversations, each `{\"messages\":[…]}` as in the first form.",
            "items": {"type": "object"}
        }]})
    }
}

/// Classify conversations with a classifier model.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyChat {
    /// A classifier model, such as one you fine-tuned.
    pub model: String,
    /// `{"messages":[…]}` or a list of them.
    pub input: InstructInputs,
}

impl Operation for ClassifyChat {
    const SPEC: OpSpec = OpSpec::post(
        "chat_classifications_create",
        "/v1/chat/classifications",
        Effect::Inference,
    );
}
