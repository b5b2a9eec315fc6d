//! Default fake-upstream answers for agents, conversations and audio, shaped like the
//! spec's response schemas.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use super::{Reply, route_matches};

pub const AGENT_ID: &str = "ag_0196a0c1e2d37f4b9a1c2d3e4f5a6b7c";
pub const CONVERSATION_ID: &str = "conv_0196a0c1f0e17a2b8c3d4e5f6a7b8c9d";
pub const VOICE_ID: &str = "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const NOW: &str = "2025-05-01T10:00:00Z";

/// Bytes standing in for generated audio.
pub const SPEECH_BYTES: &[u8] = b"ID3\x04\x00fake-mp3-frames";
pub const SAMPLE_WAV: &[u8] = b"RIFF\x24\x00\x00\x00WAVEfmt fake";

pub fn agent(version: u64) -> Value {
    json!({
        "object": "agent", "id": AGENT_ID, "name": "support-bot", "model": "mistral-medium-latest",
        "instructions": "Answer support questions briefly.", "description": "Support agent",
        "tools": [{"type": "web_search"}], "completion_args": {"temperature": 0.3},
        "handoffs": null, "metadata": {"team": "support"},
        "version": version, "versions": (1..=version).collect::<Vec<_>>(),
        "created_at": NOW, "updated_at": NOW, "deployment_chat": false, "source": "api",
        "version_message": null
    })
}

fn alias(name: &str, version: u64) -> Value {
    json!({"alias": name, "version": version, "created_at": NOW, "updated_at": NOW})
}

pub fn conversation_response(text: &str) -> Value {
    json!({
        "object": "conversation.response", "conversation_id": CONVERSATION_ID,
        "outputs": [{
            "object": "entry", "type": "message.output", "id": "msg_01", "created_at": NOW,
            "completed_at": NOW, "agent_id": null, "model": "mistral-medium-latest",
            "role": "assistant", "content": text
        }],
        "usage": {"prompt_tokens": 15, "completion_tokens": 8, "total_tokens": 23, "connector_tokens": null, "connectors": null}
    })
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}")
}

/// Named SSE events of a streamed conversation turn: a web search, then `parts` of text.
pub fn conversation_stream_events(parts: &[&str]) -> Vec<String> {
    let mut events = vec![
        event(
            "conversation.response.started",
            json!({"type": "conversation.response.started", "created_at": NOW, "conversation_id": CONVERSATION_ID}),
        ),
        event(
            "tool.execution.started",
            json!({"type": "tool.execution.started", "created_at": NOW, "output_index": 0, "id": "tool_01", "name": "web_search", "arguments": "{\"query\": \"capital of France\"}"}),
        ),
        event(
            "tool.execution.done",
            json!({"type": "tool.execution.done", "created_at": NOW, "output_index": 0, "id": "tool_01", "name": "web_search", "info": {"results": 3}}),
        ),
    ];
    for (i, p) in parts.iter().enumerate() {
        events.push(event(
            "message.output.delta",
            json!({"type": "message.output.delta", "created_at": NOW, "output_index": 1, "id": "msg_02", "content_index": i, "model": "mistral-medium-latest", "agent_id": null, "role": "assistant", "content": p}),
        ));
    }
    events.push(event(
        "conversation.response.done",
        json!({"type": "conversation.response.done", "created_at": NOW, "usage": {"prompt_tokens": 20, "completion_tokens": parts.len(), "total_tokens": 20 + parts.len()}}),
    ));
    events
}

/// Named SSE events of a streamed transcription saying `parts` joined.
pub fn transcription_stream_events(parts: &[&str]) -> Vec<String> {
    let mut events = vec![event(
        "transcription.language",
        json!({"type": "transcription.language", "audio_language": "en"}),
    )];
    for p in parts {
        events.push(event(
            "transcription.text.delta",
            json!({"type": "transcription.text.delta", "text": p}),
        ));
    }
    let text: String = parts.concat();
    events.push(event(
        "transcription.segment",
        json!({"type": "transcription.segment", "text": text, "start": 0.0, "end": 2.5, "speaker_id": null}),
    ));
    events.push(event(
        "transcription.done",
        json!({"type": "transcription.done", "model": "voxtral-mini-2507", "text": text, "language": "en", "segments": [], "usage": {"prompt_tokens": 4, "completion_tokens": 9, "total_tokens": 13, "prompt_audio_seconds": 3}}),
    ));
    events
}

fn conversation(id: &str) -> Value {
    json!({"object": "conversation", "id": id, "created_at": NOW, "updated_at": NOW,
           "model": "mistral-medium-latest", "name": "Capitals", "description": null,
           "metadata": {}, "instructions": null, "tools": [], "completion_args": {}})
}

fn voice(name: &str) -> Value {
    json!({"id": VOICE_ID, "name": name, "slug": null, "languages": ["en"], "gender": "female",
           "age": 35, "tags": ["calm"], "color": null, "description": "A calm narrator",
           "retention_notice": 30, "created_at": NOW, "user_id": "user_01", "trimmed_seconds": 8.5})
}

fn no_content() -> Reply {
    Reply::Bytes {
        status: 204,
        content_type: "application/json".into(),
        body: Vec::new(),
    }
}

/// A realistic answer for `method path`, or `None` if this group has no such route.
pub fn reply(method: &str, path: &str, req: &Value) -> Option<Reply> {
    let m = |p: &str| route_matches(p, method, path);
    let streamed = req.get("stream") == Some(&json!(true));
    // Agents.
    if m("POST /v1/agents") {
        return Some(Reply::json(200, agent(1)));
    }
    if m("GET /v1/agents/pages") {
        return Some(Reply::json(
            200,
            json!({"object": "list", "data": [agent(2)], "next_page_token": "eyJvZmZzZXQiOjF9"}),
        ));
    }
    if m("GET /v1/agents/{id}")
        || m("PATCH /v1/agents/{id}/version")
        || m("GET /v1/agents/{id}/versions/{v}")
    {
        return Some(Reply::json(200, agent(2)));
    }
    if m("PATCH /v1/agents/{id}") {
        return Some(Reply::json(200, agent(3)));
    }
    if m("DELETE /v1/agents/{id}") || m("DELETE /v1/agents/{id}/aliases") {
        return Some(no_content());
    }
    if m("GET /v1/agents/{id}/versions") {
        return Some(Reply::json(200, json!([agent(2), agent(1)])));
    }
    if m("GET /v1/agents/{id}/aliases") {
        return Some(Reply::json(200, json!([alias("production", 2)])));
    }
    if m("PUT /v1/agents/{id}/aliases") {
        return Some(Reply::json(200, alias("production", 2)));
    }
    // Conversations.
    if m("POST /v1/conversations")
        || m("POST /v1/conversations/{id}")
        || m("POST /v1/conversations/{id}/restart")
    {
        if streamed {
            return Some(Reply::Sse {
                events: conversation_stream_events(&["Paris", " is the", " capital."]),
                pause: Duration::from_millis(20),
            });
        }
        return Some(Reply::json(
            200,
            conversation_response("Paris is the capital of France."),
        ));
    }
    if m("GET /v1/conversations") {
        return Some(Reply::json(200, json!([conversation(CONVERSATION_ID)])));
    }
    if m("GET /v1/conversations/{id}") {
        return Some(Reply::json(200, conversation(CONVERSATION_ID)));
    }
    if m("DELETE /v1/conversations/{id}") {
        return Some(no_content());
    }
    if m("GET /v1/conversations/{id}/history") {
        return Some(Reply::json(
            200,
            json!({"object": "conversation.history", "conversation_id": CONVERSATION_ID, "entries": [
                {"object": "entry", "type": "message.input", "id": "msg_00", "created_at": NOW, "completed_at": null, "role": "user", "content": "Capital of France?", "prefix": false},
                {"object": "entry", "type": "message.output", "id": "msg_01", "created_at": NOW, "completed_at": NOW, "agent_id": null, "model": "mistral-medium-latest", "role": "assistant", "content": "Paris."}
            ]}),
        ));
    }
    if m("GET /v1/conversations/{id}/messages") {
        return Some(Reply::json(
            200,
            json!({"object": "conversation.messages", "conversation_id": CONVERSATION_ID, "messages": [
                {"object": "entry", "type": "message.input", "id": "msg_00", "created_at": NOW, "completed_at": null, "role": "user", "content": "Capital of France?", "prefix": false},
                {"object": "entry", "type": "message.output", "id": "msg_01", "created_at": NOW, "completed_at": NOW, "agent_id": null, "model": "mistral-medium-latest", "role": "assistant", "content": "Paris."}
            ]}),
        ));
    }
    // Audio.
    if m("POST /v1/audio/speech") {
        let audio = base64::engine::general_purpose::STANDARD.encode(SPEECH_BYTES);
        return Some(Reply::json(200, json!({"audio_data": audio})));
    }
    if m("POST /v1/audio/transcriptions") {
        return Some(Reply::json(
            200,
            json!({"model": "voxtral-mini-2507", "text": "Hello and welcome to the meeting.", "language": "en",
                   "segments": [{"type": "transcription_segment", "text": "Hello and welcome to the meeting.", "start": 0.0, "end": 2.4, "score": null, "speaker_id": "speaker_1"}],
                   "usage": {"prompt_tokens": 4, "completion_tokens": 9, "total_tokens": 13, "prompt_audio_seconds": 3}}),
        ));
    }
    if m("GET /v1/audio/voices") {
        return Some(Reply::json(
            200,
            json!({"items": [voice("Narrator")], "total": 1, "page": 1, "page_size": 10, "total_pages": 1}),
        ));
    }
    if m("POST /v1/audio/voices")
        || m("GET /v1/audio/voices/{id}")
        || m("PATCH /v1/audio/voices/{id}")
        || m("DELETE /v1/audio/voices/{id}")
    {
        return Some(Reply::json(200, voice("Narrator")));
    }
    if m("GET /v1/audio/voices/{id}/sample") {
        return Some(Reply::Bytes {
            status: 200,
            content_type: "audio/wav".into(),
            body: SAMPLE_WAV.to_vec(),
        });
    }
    None
}
