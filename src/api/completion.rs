//! Completion results shared by chat, FIM and agent completions: readable summaries, and
//! the streaming path that consumes Mistral's SSE, reports partial text as MCP progress and
//! returns the assembled completion in the same shape as a non-streamed one.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::chat_types::content_text;
use crate::tool::stream::{Emit, Terminal, drive_stream, stream_error};
use crate::tool::{CallContext, OpSpec, ToolError, ToolOutput, build_request};

/// Sends a completion request, streamed or not, and summarises the result.
pub async fn complete<T: Serialize>(
    spec: &OpSpec,
    request: &T,
    stream: bool,
    ctx: CallContext,
) -> Result<ToolOutput, ToolError> {
    let upstream = build_request(spec, request)?;
    let value = if stream {
        stream_completion(&upstream, &ctx).await?
    } else {
        let response = ctx.send(&upstream).await?;
        return ToolOutput::from_response(&response, &ctx).map(|out| {
            let summary = summarize(&out.structured);
            out.with_summary(summary)
        });
    };
    let summary = summarize(&value);
    Ok(ToolOutput::json(value).with_summary(summary))
}

/// The answer text first, then tool calls, finish reason and token usage on one line.
pub fn summarize(response: &Value) -> String {
    let mut out = String::new();
    if let Some(note) = response.get("incomplete").and_then(Value::as_str) {
        out.push_str(&format!("[{note}]\n"));
    }
    let choices = response
        .get("choices")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, choice) in choices.iter().enumerate() {
        if choices.len() > 1 {
            out.push_str(&format!("[choice {i}]\n"));
        }
        let message = choice.get("message").unwrap_or(&Value::Null);
        let text = content_text(message.get("content").unwrap_or(&Value::Null));
        out.push_str(&text);
        if let Some(calls) = message.get("tool_calls").and_then(Value::as_array) {
            for call in calls {
                let f = call.get("function").unwrap_or(&Value::Null);
                let name = f.get("name").and_then(Value::as_str).unwrap_or("?");
                let args = match f.get("arguments") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                let id = call.get("id").and_then(Value::as_str).unwrap_or("");
                out.push_str(&format!("\n[tool call {id}] {name}({args})"));
            }
        }
        out.push('\n');
    }
    let mut meta = Vec::new();
    if let Some(model) = response.get("model").and_then(Value::as_str) {
        meta.push(format!("model {model}"));
    }
    if let Some(reason) = choices
        .first()
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str)
    {
        meta.push(format!("finish_reason {reason}"));
    }
    if let Some(usage) = response.get("usage") {
        let p = usage
            .get("prompt_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let c = usage
            .get("completion_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        meta.push(format!("tokens {p} in / {c} out"));
    }
    if !meta.is_empty() {
        out.push_str(&format!("({})", meta.join(", ")));
    }
    out.trim().to_string()
}

#[derive(Default)]
struct ToolCallAcc {
    id: Option<String>,
    kind: Option<String>,
    name: String,
    arguments: String,
}

#[derive(Default)]
struct ChoiceAcc {
    role: Option<String>,
    text: String,
    thinking: String,
    tool_calls: BTreeMap<u64, ToolCallAcc>,
    finish_reason: Option<Value>,
}

/// Folds completion chunks into one completion response.
#[derive(Default)]
pub struct CompletionAssembler {
    head: Map<String, Value>,
    choices: BTreeMap<u64, ChoiceAcc>,
    usage: Option<Value>,
    chars: usize,
}

impl CompletionAssembler {
    /// Absorbs one chunk; returns the new text it carried.
    pub fn absorb(&mut self, chunk: &Value) -> String {
        for key in ["id", "model", "created"] {
            if let Some(v) = chunk.get(key) {
                self.head.entry(key).or_insert_with(|| v.clone());
            }
        }
        if let Some(u) = chunk.get("usage").filter(|u| !u.is_null()) {
            self.usage = Some(u.clone());
        }
        let mut new_text = String::new();
        for choice in chunk
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            let acc = self.choices.entry(index).or_default();
            if let Some(reason) = choice.get("finish_reason").filter(|r| !r.is_null()) {
                acc.finish_reason = Some(reason.clone());
            }
            let Some(delta) = choice.get("delta") else {
                continue;
            };
            if let Some(role) = delta.get("role").and_then(Value::as_str) {
                acc.role = Some(role.to_string());
            }
            match delta.get("content") {
                Some(Value::String(s)) => {
                    acc.text.push_str(s);
                    new_text.push_str(s);
                }
                Some(Value::Array(chunks)) => {
                    for c in chunks {
                        match c.get("type").and_then(Value::as_str) {
                            Some("text") => {
                                let s = c.get("text").and_then(Value::as_str).unwrap_or("");
                                acc.text.push_str(s);
                                new_text.push_str(s);
                            }
                            Some("thinking") => {
                                let parts = c.get("thinking").cloned().unwrap_or(Value::Null);
                                acc.thinking.push_str(&content_text(&parts));
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
            for call in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let i = call.get("index").and_then(Value::as_u64).unwrap_or(0);
                let t = acc.tool_calls.entry(i).or_default();
                if let Some(id) = call
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|s| *s != "null")
                {
                    t.id = Some(id.to_string());
                }
                if let Some(k) = call.get("type").and_then(Value::as_str) {
                    t.kind = Some(k.to_string());
                }
                if let Some(f) = call.get("function") {
                    if let Some(n) = f.get("name").and_then(Value::as_str) {
                        t.name.push_str(n);
                    }
                    match f.get("arguments") {
                        Some(Value::String(s)) => t.arguments.push_str(s),
                        Some(Value::Object(o)) => {
                            t.arguments.push_str(&Value::Object(o.clone()).to_string())
                        }
                        _ => {}
                    }
                }
            }
        }
        self.chars += new_text.chars().count();
        new_text
    }

    pub fn chars(&self) -> usize {
        self.chars
    }

    /// The completion as a non-streamed call would have returned it.
    pub fn finish(self) -> Value {
        let mut out = self.head;
        out.insert("object".into(), json!("chat.completion"));
        let choices: Vec<Value> = self
            .choices
            .into_iter()
            .map(|(index, c)| {
                let content = if c.thinking.is_empty() {
                    json!(c.text)
                } else {
                    json!([
                        {"type": "thinking", "thinking": [{"type": "text", "text": c.thinking}]},
                        {"type": "text", "text": c.text}
                    ])
                };
                let mut message = json!({ "role": c.role.unwrap_or_else(|| "assistant".into()), "content": content });
                if !c.tool_calls.is_empty() {
                    let calls: Vec<Value> = c
                        .tool_calls
                        .into_iter()
                        .map(|(i, t)| {
                            json!({
                                "id": t.id,
                                "type": t.kind.unwrap_or_else(|| "function".into()),
                                "index": i,
                                "function": {"name": t.name, "arguments": t.arguments},
                            })
                        })
                        .collect();
                    message["tool_calls"] = json!(calls);
                }
                json!({ "index": index, "message": message, "finish_reason": c.finish_reason })
            })
            .collect();
        out.insert("choices".into(), json!(choices));
        if let Some(u) = self.usage {
            out.insert("usage".into(), u);
        }
        Value::Object(out)
    }
}

async fn stream_completion(
    upstream: &crate::mistral::UpstreamRequest,
    ctx: &CallContext,
) -> Result<Value, ToolError> {
    let mut assembler = CompletionAssembler::default();
    let end = drive_stream(ctx, upstream, Terminal::DoneSentinel, |name, chunk| {
        if name == "error" || chunk.get("object").and_then(Value::as_str) == Some("error") {
            return Err(stream_error(chunk));
        }
        let text = assembler.absorb(chunk);
        Ok((!text.is_empty()).then_some(Emit::Text(text)))
    })
    .await?;
    let mut value = assembler.finish();
    end.mark(&mut value);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_text_tool_calls_and_usage() {
        let mut a = CompletionAssembler::default();
        a.absorb(&json!({"id":"c1","model":"m","created":1,"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}));
        a.absorb(&json!({"id":"c1","choices":[{"index":0,"delta":{"content":"lo"}}]}));
        a.absorb(&json!({"choices":[{"index":0,"delta":{"tool_calls":[{"id":"t1","index":0,"function":{"name":"get","arguments":"{\"a\""}}]}}]}));
        a.absorb(&json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"","arguments":":1}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}));
        assert_eq!(a.chars(), 5);
        let v = a.finish();
        assert_eq!(v["choices"][0]["message"]["content"], "Hello");
        assert_eq!(
            v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            "{\"a\":1}"
        );
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(v["usage"]["total_tokens"], 5);
        let s = summarize(&v);
        assert!(s.starts_with("Hello"), "{s}");
        assert!(s.contains("get({\"a\":1})"), "{s}");
        assert!(s.contains("tokens 3 in / 2 out"), "{s}");
    }
}
