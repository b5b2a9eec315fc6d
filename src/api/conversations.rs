//! Conversations (beta): stateful exchanges with a model or an agent that Mistral stores,
//! started, appended to and restarted from an entry, plain or streamed.
//!
//! Streams carry named events (`message.output.delta`, `tool.execution.*`,
//! `function.call.delta`, `agent.handoff.*`, `conversation.response.*`). They are folded
//! into the same `conversation.response` a non-streamed call returns, while partial text
//! and tool activity go out as MCP progress notifications. The stream driver here is also
//! used by audio transcription, whose streams have the same framing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::agents::{AgentTool, AgentVersion, CompletionArgs};
use super::chat_types::content_text;
use crate::tool::stream::{Emit, Terminal, drive_stream, stream_error};
use crate::tool::{
    CallContext, Effect, OpEntry, OpSpec, Operation, ToolError, ToolOutput, build_request, entry,
    send_page,
};

pub fn entries() -> Vec<OpEntry> {
    vec![
        entry::<StartConversation>(),
        entry::<AppendConversation>(),
        entry::<RestartConversation>(),
        entry::<ListConversations>(),
    ]
}

/// What to add to the conversation: a user message as plain text, or a list of entries.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ConversationInputs {
    /// A user message.
    Text(String),
    /// Entries such as `{"role":"user","content":"…"}`, `{"role":"assistant","content":"…"}` or, to answer a function call, `{"type":"function.result","tool_call_id":"…","result":"…"}`.
    Entries(Vec<Map<String, Value>>),
}

impl ConversationInputs {
    fn is_empty(&self) -> bool {
        match self {
            Self::Text(t) => t.trim().is_empty(),
            Self::Entries(e) => e.is_empty(),
        }
    }
}

/// Allow or deny a tool call that waits for confirmation.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolConfirmation {
    pub tool_call_id: String,
    /// `allow` or `deny`.
    pub confirmation: String,
}

/// Start a conversation with a model or an agent.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartConversation {
    /// The first user message (text), or a list of entries.
    pub inputs: ConversationInputs,
    /// Talk to this agent (`ag_…`). Give either `agent_id` or `model`.
    pub agent_id: Option<String>,
    /// Agent version number or alias (default: the agent's current version).
    pub agent_version: Option<AgentVersion>,
    /// Talk to this model directly, for example `mistral-medium-latest`. Give either `model` or `agent_id`.
    pub model: Option<String>,
    /// System instructions (with `model`).
    pub instructions: Option<String>,
    /// Tools the model may use (with `model`).
    pub tools: Option<Vec<AgentTool>>,
    /// Sampling settings (with `model`).
    pub completion_args: Option<CompletionArgs>,
    /// Moderation guardrails.
    pub guardrails: Option<Vec<Map<String, Value>>>,
    /// Conversation name.
    pub name: Option<String>,
    /// Conversation description.
    pub description: Option<String>,
    /// Free-form metadata.
    pub metadata: Option<Map<String, Value>>,
    /// Store the conversation so it can be continued (default true).
    pub store: Option<bool>,
    /// Who runs agent handoffs: `server` (default) or `client`.
    pub handoff_execution: Option<String>,
    /// Stream the answer: partial text arrives as progress notifications and the assembled response is returned at the end.
    pub stream: Option<bool>,
}

impl Operation for StartConversation {
    const SPEC: OpSpec = OpSpec::post("conversations_start", "/v1/conversations", Effect::Write);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        if self.agent_id.is_none() && self.model.is_none() {
            return Err(ToolError::InvalidArguments(
                "give `agent_id` (an agent) or `model` (a model such as mistral-medium-latest)"
                    .into(),
            ));
        }
        if self.inputs.is_empty() {
            return Err(ToolError::InvalidArguments(
                "`inputs` must not be empty".into(),
            ));
        }
        let stream = self.stream.unwrap_or(false);
        respond(&Self::SPEC, &self, stream, ctx).await
    }
}

/// Continue a stored conversation.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppendConversation {
    /// The conversation's id, as returned by conversations_start.
    pub conversation_id: String,
    /// The next user message (text), or entries such as function results.
    pub inputs: Option<ConversationInputs>,
    /// Allow or deny tool calls waiting for confirmation.
    pub tool_confirmations: Option<Vec<ToolConfirmation>>,
    /// Sampling settings for this turn.
    pub completion_args: Option<CompletionArgs>,
    /// Store the new entries (default true).
    pub store: Option<bool>,
    /// Who runs agent handoffs: `server` (default) or `client`.
    pub handoff_execution: Option<String>,
    /// Stream the answer: partial text arrives as progress notifications and the assembled response is returned at the end.
    pub stream: Option<bool>,
}

impl Operation for AppendConversation {
    const SPEC: OpSpec = OpSpec::post(
        "conversations_append",
        "/v1/conversations/{conversation_id}",
        Effect::Write,
    );

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        if self.inputs.is_none() && self.tool_confirmations.is_none() {
            return Err(ToolError::InvalidArguments(
                "give `inputs` (the next message or entries) or `tool_confirmations`".into(),
            ));
        }
        let stream = self.stream.unwrap_or(false);
        respond(&Self::SPEC, &self, stream, ctx).await
    }
}

/// Branch a conversation from one of its entries.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartConversation {
    /// The conversation to branch from.
    pub conversation_id: String,
    /// The entry to restart from (an entry id from conversations_history); later entries are left out of the new conversation.
    pub from_entry_id: String,
    /// New input to continue with from that entry.
    pub inputs: Option<ConversationInputs>,
    /// Agent version number or alias to use from here.
    pub agent_version: Option<AgentVersion>,
    /// Sampling settings.
    pub completion_args: Option<CompletionArgs>,
    /// Moderation guardrails.
    pub guardrails: Option<Vec<Map<String, Value>>>,
    /// Metadata for the new conversation.
    pub metadata: Option<Map<String, Value>>,
    /// Store the new conversation (default true).
    pub store: Option<bool>,
    /// Who runs agent handoffs: `server` (default) or `client`.
    pub handoff_execution: Option<String>,
    /// Stream the answer: partial text arrives as progress notifications and the assembled response is returned at the end.
    pub stream: Option<bool>,
}

impl Operation for RestartConversation {
    const SPEC: OpSpec = OpSpec::post(
        "conversations_restart",
        "/v1/conversations/{conversation_id}/restart",
        Effect::Write,
    );

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let stream = self.stream.unwrap_or(false);
        respond(&Self::SPEC, &self, stream, ctx).await
    }
}

/// List stored conversations, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListConversations {
    /// Page number, from 0.
    pub page: Option<u32>,
    /// Conversations per page (default 100).
    pub page_size: Option<u32>,
    /// Only conversations whose metadata contains these key/values.
    pub metadata: Option<Map<String, Value>>,
}

impl Operation for ListConversations {
    const SPEC: OpSpec = OpSpec::get("conversations_list", "/v1/conversations").query(&[
        "page",
        "page_size",
        "metadata",
    ]);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        send_page(&Self::SPEC, &self, self.page, self.page_size, &ctx).await
    }
}

/// Sends a start/append/restart request, streamed or not, and summarises the response.
async fn respond<T: Serialize>(
    spec: &OpSpec,
    request: &T,
    stream: bool,
    ctx: CallContext,
) -> Result<ToolOutput, ToolError> {
    let upstream = build_request(spec, request)?;
    let out = if stream {
        let mut assembler = ResponseAssembler::default();
        let end = drive_stream(
            &ctx,
            &upstream,
            Terminal::Event("conversation.response.done"),
            |name, data| assembler.absorb(name, data),
        )
        .await?;
        let mut value = assembler.finish();
        end.mark(&mut value);
        ToolOutput::json(value)
    } else {
        let response = ctx.send(&upstream).await?;
        ToolOutput::from_response(&response, &ctx)?
    };
    let summary = summarize(&out.structured);
    Ok(out.with_summary(summary))
}

/// The answer text, tool activity, then how to continue.
pub fn summarize(response: &Value) -> String {
    let mut out = String::new();
    let mut calls = false;
    for entry in response
        .get("outputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or("");
        match s("type") {
            "message.output" => {
                out.push_str(&content_text(entry.get("content").unwrap_or(&Value::Null)));
                out.push('\n');
            }
            "tool.execution" => out.push_str(&format!("[tool {} ran]\n", s("name"))),
            "function.call" => {
                calls = true;
                let args = match entry.get("arguments") {
                    Some(Value::String(a)) => a.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                out.push_str(&format!(
                    "[function call {}] {}({args})\n",
                    s("tool_call_id"),
                    s("name")
                ));
            }
            "agent.handoff" => out.push_str(&format!(
                "[handoff {} -> {}]\n",
                s("previous_agent_name"),
                s("next_agent_name")
            )),
            _ => {}
        }
    }
    let id = response
        .get("conversation_id")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let mut meta = vec![format!("conversation {id}")];
    if let Some(usage) = response.get("usage") {
        let n = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
        meta.push(format!(
            "tokens {} in / {} out",
            n("prompt_tokens"),
            n("completion_tokens")
        ));
    }
    out.push_str(&format!("({})", meta.join(", ")));
    if calls {
        out.push_str(&format!(
            "\nAnswer function calls with conversations_append conversation_id={id} inputs=[{{\"type\":\"function.result\",\"tool_call_id\":\"…\",\"result\":\"…\"}}]."
        ));
    }
    out.trim().to_string()
}

/// One output entry being assembled from deltas.
struct EntryAcc {
    id: String,
    entry: Map<String, Value>,
    /// Message content: text deltas merge into the last text chunk.
    chunks: Vec<Value>,
    /// Whether every content delta was a plain string (then content stays a string).
    plain: bool,
    arguments: String,
}

/// Folds conversation stream events into one `conversation.response`.
#[derive(Default)]
pub struct ResponseAssembler {
    conversation_id: Option<String>,
    outputs: Vec<EntryAcc>,
    usage: Option<Value>,
}

impl ResponseAssembler {
    fn entry(&mut self, data: &Value, kind: &str) -> &mut EntryAcc {
        let id = data
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let pos = match self.outputs.iter().position(|e| e.id == id) {
            Some(pos) => pos,
            None => {
                let mut entry = Map::new();
                entry.insert("object".into(), json!("entry"));
                entry.insert("type".into(), json!(kind));
                if !id.is_empty() {
                    entry.insert("id".into(), json!(id));
                }
                self.outputs.push(EntryAcc {
                    id,
                    entry,
                    chunks: Vec::new(),
                    plain: true,
                    arguments: String::new(),
                });
                self.outputs.len() - 1
            }
        };
        let acc = &mut self.outputs[pos];
        for key in ["created_at", "model", "agent_id"] {
            if let Some(v) = data.get(key).filter(|v| !v.is_null()) {
                acc.entry.entry(key).or_insert_with(|| v.clone());
            }
        }
        acc
    }

    /// Absorbs one event; returns what to report as progress.
    pub(super) fn absorb(&mut self, name: &str, data: &Value) -> Result<Option<Emit>, ToolError> {
        let s = |k: &str| {
            data.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Ok(match name {
            "conversation.response.started" => {
                self.conversation_id = data
                    .get("conversation_id")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                None
            }
            "conversation.response.done" => {
                self.usage = data.get("usage").cloned();
                None
            }
            "conversation.response.error" => return Err(stream_error(data)),
            "message.output.delta" => {
                let acc = self.entry(data, "message.output");
                acc.entry.insert("role".into(), json!("assistant"));
                let mut text = String::new();
                match data.get("content") {
                    Some(Value::String(t)) => {
                        push_text(&mut acc.chunks, t);
                        text.push_str(t);
                    }
                    Some(chunk @ Value::Object(_)) => {
                        acc.plain = false;
                        absorb_chunk(&mut acc.chunks, chunk, &mut text);
                    }
                    Some(Value::Array(chunks)) => {
                        acc.plain = false;
                        for chunk in chunks {
                            absorb_chunk(&mut acc.chunks, chunk, &mut text);
                        }
                    }
                    _ => {}
                }
                (!text.is_empty()).then_some(Emit::Text(text))
            }
            "tool.execution.started" => {
                let acc = self.entry(data, "tool.execution");
                acc.entry.insert("name".into(), json!(s("name")));
                acc.arguments.push_str(&s("arguments"));
                Some(Emit::Status(format!("[tool {} started]", s("name"))))
            }
            "tool.execution.delta" => {
                let acc = self.entry(data, "tool.execution");
                acc.entry.entry("name").or_insert_with(|| json!(s("name")));
                acc.arguments.push_str(&s("arguments"));
                None
            }
            "tool.execution.done" => {
                let acc = self.entry(data, "tool.execution");
                acc.entry.entry("name").or_insert_with(|| json!(s("name")));
                if let Some(info) = data.get("info") {
                    acc.entry.insert("info".into(), info.clone());
                }
                Some(Emit::Status(format!("[tool {} done]", s("name"))))
            }
            "function.call.delta" => {
                let acc = self.entry(data, "function.call");
                let first = !acc.entry.contains_key("tool_call_id");
                for key in ["tool_call_id", "name", "confirmation_status"] {
                    if let Some(v) = data.get(key).filter(|v| !v.is_null()) {
                        acc.entry.insert(key.into(), v.clone());
                    }
                }
                acc.arguments.push_str(&s("arguments"));
                first.then(|| Emit::Status(format!("[function call {}]", s("name"))))
            }
            "agent.handoff.started" => {
                let acc = self.entry(data, "agent.handoff");
                for key in ["previous_agent_id", "previous_agent_name"] {
                    acc.entry.insert(key.into(), json!(s(key)));
                }
                Some(Emit::Status(format!(
                    "[handing off from {}]",
                    s("previous_agent_name")
                )))
            }
            "agent.handoff.done" => {
                let acc = self.entry(data, "agent.handoff");
                for key in ["next_agent_id", "next_agent_name"] {
                    acc.entry.insert(key.into(), json!(s(key)));
                }
                Some(Emit::Status(format!(
                    "[handed off to {}]",
                    s("next_agent_name")
                )))
            }
            _ => None,
        })
    }

    /// The response as a non-streamed call would have returned it.
    pub fn finish(self) -> Value {
        let outputs: Vec<Value> = self
            .outputs
            .into_iter()
            .map(|acc| {
                let mut entry = acc.entry;
                match entry.get("type").and_then(Value::as_str) {
                    Some("message.output") => {
                        let content = if acc.plain {
                            json!(content_text(&Value::Array(acc.chunks)))
                        } else {
                            Value::Array(acc.chunks)
                        };
                        entry.insert("content".into(), content);
                    }
                    Some("tool.execution" | "function.call") => {
                        entry.insert("arguments".into(), json!(acc.arguments));
                    }
                    _ => {}
                }
                Value::Object(entry)
            })
            .collect();
        json!({
            "object": "conversation.response",
            "conversation_id": self.conversation_id.unwrap_or_default(),
            "outputs": outputs,
            "usage": self.usage.unwrap_or_else(|| json!({})),
        })
    }
}

/// Adds one content chunk of a delta; text chunks merge and their text is reported.
fn absorb_chunk(chunks: &mut Vec<Value>, chunk: &Value, text: &mut String) {
    if chunk.get("type").and_then(Value::as_str) == Some("text") {
        let t = chunk.get("text").and_then(Value::as_str).unwrap_or("");
        push_text(chunks, t);
        text.push_str(t);
    } else {
        chunks.push(chunk.clone());
    }
}

/// Appends text to the last chunk if it is a text chunk, else starts one.
fn push_text(chunks: &mut Vec<Value>, text: &str) {
    if let Some(Value::Object(last)) = chunks.last_mut()
        && last.get("type").and_then(Value::as_str) == Some("text")
        && let Some(Value::String(t)) = last.get_mut("text")
    {
        t.push_str(text);
        return;
    }
    chunks.push(json!({"type": "text", "text": text}));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_messages_tools_function_calls_and_handoffs() {
        let mut a = ResponseAssembler::default();
        let events = [
            (
                "conversation.response.started",
                json!({"conversation_id": "conv_1"}),
            ),
            (
                "tool.execution.started",
                json!({"id": "t1", "name": "web_search", "arguments": "{\"q\":"}),
            ),
            (
                "tool.execution.delta",
                json!({"id": "t1", "name": "web_search", "arguments": "\"x\"}"}),
            ),
            (
                "tool.execution.done",
                json!({"id": "t1", "name": "web_search", "info": {"n": 3}}),
            ),
            (
                "message.output.delta",
                json!({"id": "m1", "model": "mistral-medium", "content": "Hel"}),
            ),
            ("message.output.delta", json!({"id": "m1", "content": "lo"})),
            (
                "function.call.delta",
                json!({"id": "f1", "tool_call_id": "c1", "name": "get", "arguments": "{\"a\""}),
            ),
            (
                "function.call.delta",
                json!({"id": "f1", "tool_call_id": "c1", "name": "get", "arguments": ":1}"}),
            ),
            (
                "agent.handoff.started",
                json!({"id": "h1", "previous_agent_id": "ag_1", "previous_agent_name": "a"}),
            ),
            (
                "agent.handoff.done",
                json!({"id": "h1", "next_agent_id": "ag_2", "next_agent_name": "b"}),
            ),
            (
                "conversation.response.done",
                json!({"usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}),
            ),
        ];
        let mut text = String::new();
        for (name, data) in &events {
            if let Some(Emit::Text(t)) = a.absorb(name, data).unwrap() {
                text.push_str(&t);
            }
        }
        assert_eq!(text, "Hello");
        let v = a.finish();
        assert_eq!(v["conversation_id"], "conv_1");
        let outs = v["outputs"].as_array().unwrap();
        assert_eq!(outs.len(), 4);
        assert_eq!(outs[0]["arguments"], "{\"q\":\"x\"}");
        assert_eq!(outs[0]["info"]["n"], 3);
        assert_eq!(outs[1]["content"], "Hello");
        assert_eq!(outs[1]["model"], "mistral-medium");
        assert_eq!(outs[2]["arguments"], "{\"a\":1}");
        assert_eq!(outs[3]["next_agent_name"], "b");
        let s = summarize(&v);
        assert!(s.starts_with("[tool web_search ran]\nHello"), "{s}");
        assert!(
            s.contains("get({\"a\":1})") && s.contains("function.result"),
            "{s}"
        );
        assert!(
            a_err_is_upstream(),
            "conversation.response.error becomes an upstream error"
        );
    }

    fn a_err_is_upstream() -> bool {
        let mut a = ResponseAssembler::default();
        matches!(
            a.absorb(
                "conversation.response.error",
                &json!({"message": "boom", "code": 3000})
            ),
            Err(ToolError::Upstream(_))
        )
    }
}
