//! Agents, conversations and audio tools against the fake upstream: the requests they send
//! (checked against the official spec), streamed conversations and transcriptions,
//! multipart uploads, audio results, annotations and argument errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use common::fake_agents::{
    AGENT_ID, CONVERSATION_ID, SAMPLE_WAV, SPEECH_BYTES, VOICE_ID, conversation_stream_events,
    transcription_stream_events,
};
use common::harness::{self, structured, text};
use common::{FILE_ID, FakeMistral, Reply, assert_valid_upstream};
use serde_json::{Value, json};

const TOOLSETS: [&str; 3] = ["agents", "conversations", "audio"];

/// The official spec as JSON, or `None` where it is not on this machine.
fn spec_doc() -> Option<&'static Value> {
    static DOC: std::sync::OnceLock<Option<Value>> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let path = std::env::var("MISTRAL_OPENAPI_SPEC").map_or_else(
            |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/mistral/openapi.yaml"),
            PathBuf::from,
        );
        let text = std::fs::read_to_string(path).ok()?;
        serde_yaml::from_str(&text).ok()
    })
    .as_ref()
}

/// Checks a tool result against a response schema of the spec (`components/schemas/<name>`).
fn assert_matches_response_schema(name: &str, value: &Value) {
    let Some(doc) = spec_doc() else { return };
    let root = json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"].clone(),
    });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "not a valid {name}: {errors:?}\n{value}");
}

/// One call per tool of the three toolsets (streamed variants included), with typical
/// arguments: each succeeds and every upstream request passes the spec checks.
#[tokio::test]
async fn every_tool_sends_spec_valid_requests() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    std::fs::write(s.dir.path().join("meeting.mp3"), b"ID3 fake meeting audio").unwrap();
    std::fs::write(s.dir.path().join("me.wav"), b"RIFF fake voice").unwrap();
    let audio = s.dir.path().join("meeting.mp3").display().to_string();
    let voice_wav = s.dir.path().join("me.wav").display().to_string();
    let saved = s.dir.path().join("hello.mp3").display().to_string();
    let user = json!([{"role": "user", "content": "Capital of France?"}]);
    let search = json!([{"type": "web_search"}]);
    let sse = |events: Vec<String>| Reply::Sse {
        events,
        pause: Duration::from_millis(5),
    };
    let cases: Vec<(&str, Value, &str, Option<Reply>)> = vec![
        (
            "agents_create",
            json!({"model": "mistral-medium-latest", "name": "support-bot", "instructions": "Be brief.", "description": "Support agent",
                   "tools": [{"type": "web_search"}, {"type": "document_library", "library_ids": ["lib_1"]},
                             {"type": "function", "function": {"name": "get_order", "description": "Order status", "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}],
                   "completion_args": {"temperature": 0.3, "max_tokens": 500, "tool_choice": "auto", "response_format": {"type": "text"}},
                   "metadata": {"team": "support"}, "version_message": "first"}),
            "POST /v1/agents",
            None,
        ),
        (
            "agents_list",
            json!({"page_size": 10, "search": "support", "sources": ["api", "playground"], "deployment_chat": false, "metadata": {"team": "support"}}),
            "GET /v1/agents/pages",
            None,
        ),
        (
            "agents_list",
            json!({"page_token": "eyJvZmZzZXQiOjF9"}),
            "GET /v1/agents/pages",
            None,
        ),
        (
            "agents_get",
            json!({"agent_id": AGENT_ID}),
            "GET /v1/agents/{id}",
            None,
        ),
        (
            "agents_get",
            json!({"agent_id": AGENT_ID, "agent_version": "production"}),
            "GET /v1/agents/{id}",
            None,
        ),
        (
            "agents_update",
            json!({"agent_id": AGENT_ID, "instructions": "Be very brief.", "tools": search, "handoffs": ["ag_other"], "deployment_chat": true, "version_message": "shorter"}),
            "PATCH /v1/agents/{id}",
            None,
        ),
        (
            "agents_delete",
            json!({"agent_id": AGENT_ID}),
            "DELETE /v1/agents/{id}",
            None,
        ),
        (
            "agents_set_version",
            json!({"agent_id": AGENT_ID, "version": 1}),
            "PATCH /v1/agents/{id}/version",
            None,
        ),
        (
            "agents_versions_list",
            json!({"agent_id": AGENT_ID, "page": 0, "page_size": 2}),
            "GET /v1/agents/{id}/versions",
            None,
        ),
        (
            "agents_versions_get",
            json!({"agent_id": AGENT_ID, "version": "2"}),
            "GET /v1/agents/{id}/versions/{v}",
            None,
        ),
        (
            "agents_aliases_list",
            json!({"agent_id": AGENT_ID}),
            "GET /v1/agents/{id}/aliases",
            None,
        ),
        (
            "agents_aliases_set",
            json!({"agent_id": AGENT_ID, "alias": "production", "version": 2}),
            "PUT /v1/agents/{id}/aliases",
            None,
        ),
        (
            "agents_aliases_delete",
            json!({"agent_id": AGENT_ID, "alias": "production"}),
            "DELETE /v1/agents/{id}/aliases",
            None,
        ),
        (
            "agents_complete",
            json!({"agent_id": AGENT_ID, "messages": user, "max_tokens": 64, "tool_choice": "auto", "response_format": {"type": "json_object"}}),
            "POST /v1/agents/completions",
            None,
        ),
        (
            "agents_complete",
            json!({"agent_id": AGENT_ID, "messages": user, "stream": true}),
            "POST /v1/agents/completions",
            None,
        ),
        (
            "conversations_start",
            json!({"agent_id": AGENT_ID, "inputs": "Capital of France?", "name": "Capitals", "metadata": {"ticket": "42"}}),
            "POST /v1/conversations",
            None,
        ),
        (
            "conversations_start",
            json!({"model": "mistral-medium-latest", "instructions": "Be brief.", "tools": search,
                   "inputs": [{"role": "user", "content": "Capital of France?"}], "completion_args": {"temperature": 0.2},
                   "store": true, "stream": true}),
            "POST /v1/conversations",
            None,
        ),
        (
            "conversations_append",
            json!({"conversation_id": CONVERSATION_ID, "inputs": "And of Italy?", "completion_args": {"max_tokens": 100}}),
            "POST /v1/conversations/{id}",
            None,
        ),
        (
            "conversations_append",
            json!({"conversation_id": CONVERSATION_ID, "inputs": [{"type": "function.result", "tool_call_id": "call_1", "result": "{\"status\": \"shipped\"}"}], "stream": true}),
            "POST /v1/conversations/{id}",
            None,
        ),
        (
            "conversations_append",
            json!({"conversation_id": CONVERSATION_ID, "tool_confirmations": [{"tool_call_id": "call_2", "confirmation": "allow"}]}),
            "POST /v1/conversations/{id}",
            None,
        ),
        (
            "conversations_restart",
            json!({"conversation_id": CONVERSATION_ID, "from_entry_id": "msg_00", "inputs": "Capital of Spain?", "agent_version": 1}),
            "POST /v1/conversations/{id}/restart",
            None,
        ),
        (
            "conversations_restart",
            json!({"conversation_id": CONVERSATION_ID, "from_entry_id": "msg_00", "inputs": "Capital of Spain?", "stream": true}),
            "POST /v1/conversations/{id}/restart",
            None,
        ),
        (
            "conversations_list",
            json!({"page": 0, "page_size": 20, "metadata": {"ticket": "42"}}),
            "GET /v1/conversations",
            None,
        ),
        (
            "conversations_get",
            json!({"conversation_id": CONVERSATION_ID}),
            "GET /v1/conversations/{id}",
            None,
        ),
        (
            "conversations_delete",
            json!({"conversation_id": CONVERSATION_ID}),
            "DELETE /v1/conversations/{id}",
            None,
        ),
        (
            "conversations_history",
            json!({"conversation_id": CONVERSATION_ID}),
            "GET /v1/conversations/{id}/history",
            None,
        ),
        (
            "conversations_messages",
            json!({"conversation_id": CONVERSATION_ID}),
            "GET /v1/conversations/{id}/messages",
            None,
        ),
        (
            "audio_speech",
            json!({"input": "Hello there.", "voice_id": "voice_478", "response_format": "mp3"}),
            "POST /v1/audio/speech",
            None,
        ),
        (
            "audio_speech",
            json!({"input": "Hello there.", "ref_audio_path": voice_wav, "response_format": "wav", "save_to": saved}),
            "POST /v1/audio/speech",
            None,
        ),
        (
            "audio_transcribe",
            json!({"path": audio, "language": "en", "timestamp_granularities": ["segment"], "diarize": true}),
            "POST /v1/audio/transcriptions",
            None,
        ),
        (
            "audio_transcribe",
            json!({"file_url": "https://example.com/meeting.mp3", "model": "voxtral-mini-2507", "context_bias": ["Mistral", "Voxtral"], "temperature": 0.0}),
            "POST /v1/audio/transcriptions",
            None,
        ),
        (
            "audio_transcribe",
            json!({"file_id": FILE_ID, "stream": true}),
            "POST /v1/audio/transcriptions",
            Some(sse(transcription_stream_events(&["Hello", " world."]))),
        ),
        (
            "audio_transcribe",
            json!({"content_base64": "SUQzIGZha2U=", "file_name": "clip.mp3"}),
            "POST /v1/audio/transcriptions",
            None,
        ),
        (
            "audio_voices_list",
            json!({"limit": 5, "offset": 0, "type": "custom"}),
            "GET /v1/audio/voices",
            None,
        ),
        (
            "audio_voices_create",
            json!({"name": "Narrator", "path": voice_wav, "languages": ["en"], "gender": "female", "tags": ["calm"]}),
            "POST /v1/audio/voices",
            None,
        ),
        (
            "audio_voices_create",
            json!({"name": "Narrator", "sample_audio": "UklGRiBmYWtl", "sample_filename": "me.wav"}),
            "POST /v1/audio/voices",
            None,
        ),
        (
            "audio_voices_get",
            json!({"voice_id": VOICE_ID}),
            "GET /v1/audio/voices/{id}",
            None,
        ),
        (
            "audio_voices_update",
            json!({"voice_id": VOICE_ID, "name": "Calm narrator", "tags": ["calm", "slow"], "age": 40}),
            "PATCH /v1/audio/voices/{id}",
            None,
        ),
        (
            "audio_voices_delete",
            json!({"voice_id": VOICE_ID}),
            "DELETE /v1/audio/voices/{id}",
            None,
        ),
        (
            "audio_voices_sample",
            json!({"voice_id": VOICE_ID}),
            "GET /v1/audio/voices/{id}/sample",
            None,
        ),
    ];
    harness::check_every_tool(&s, &fake, &TOOLSETS, cases, assert_valid_upstream).await;
}

/// Every operation the spec tags agents, conversations or audio is a tool or an exclusion
/// with a reason.
#[test]
fn every_operation_of_the_areas_is_covered() {
    let Some(doc) = spec_doc() else { return };
    let catalog = mistral_mcp::catalog::Catalog::load(None).unwrap();
    let tools: BTreeSet<String> = catalog.tools.iter().map(|t| t.spec().operation()).collect();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tags: Vec<&str> = op["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let ours = tags.iter().any(|t| {
                ["agents", "beta.agents", "beta.conversations"].contains(t)
                    || t.starts_with("audio.")
            });
            if !ours {
                continue;
            }
            seen += 1;
            let key = format!("{} {path}", method.to_ascii_uppercase());
            assert!(
                tools.contains(&key) || catalog.excluded.contains_key(&key),
                "{key} is neither a tool nor excluded in tools.toml"
            );
        }
    }
    assert_eq!(seen, 33, "agents 13 + conversations 11 + audio 9");
}

#[tokio::test]
async fn streamed_append_reports_progress_and_assembles_the_response() {
    let fake = FakeMistral::start().await;
    fake.push(
        "POST /v1/conversations/{id}",
        Reply::Sse {
            events: conversation_stream_events(&["Bonjour", ", le", " monde", "!"]),
            pause: Duration::from_millis(150),
        },
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = s
        .call_with_progress(
            "conversations_append",
            json!({"conversation_id": CONVERSATION_ID, "inputs": "Say hello in French", "stream": true}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let sent = fake.last();
    assert_eq!(sent.path, format!("/v1/conversations/{CONVERSATION_ID}"));
    assert_eq!(sent.json()["stream"], true);
    assert_valid_upstream(&sent);

    let v = structured(&r);
    assert_eq!(v["object"], "conversation.response");
    assert_eq!(v["conversation_id"], CONVERSATION_ID);
    let outputs = v["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 2, "{v}");
    assert_eq!(outputs[0]["type"], "tool.execution");
    assert_eq!(outputs[0]["name"], "web_search");
    assert_eq!(outputs[1]["type"], "message.output");
    assert_eq!(outputs[1]["content"], "Bonjour, le monde!");
    assert_eq!(v["usage"]["completion_tokens"], 4);
    assert_matches_response_schema("ConversationResponse", &v);
    let t = text(&r);
    assert!(t.contains("Bonjour, le monde!"), "{t}");
    assert!(t.contains(CONVERSATION_ID), "{t}");

    let progress = s.progress.lock().unwrap().clone();
    let messages: Vec<String> = progress.iter().filter_map(|p| p.message.clone()).collect();
    assert!(
        messages.iter().any(|m| m.contains("web_search")),
        "tool activity is reported: {messages:?}"
    );
    let streamed: String = messages
        .iter()
        .filter(|m| !m.starts_with('['))
        .cloned()
        .collect();
    assert_eq!(streamed, "Bonjour, le monde!");
    assert!(
        messages.iter().filter(|m| !m.starts_with('[')).count() >= 2,
        "partial text arrives in several notifications: {messages:?}"
    );
    assert!(
        progress.windows(2).all(|w| w[0].progress < w[1].progress),
        "progress must increase"
    );
}

#[tokio::test]
async fn plain_and_streamed_starts_return_the_same_shape() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let args = json!({"agent_id": AGENT_ID, "inputs": "Capital of France?"});
    let plain = s.call("conversations_start", args.clone()).await;
    let mut streamed_args = args;
    streamed_args["stream"] = json!(true);
    let streamed = s.call("conversations_start", streamed_args).await;
    for r in [&plain, &streamed] {
        assert_eq!(r.is_error, Some(false), "{}", text(r));
        assert_matches_response_schema("ConversationResponse", &structured(r));
        assert!(text(r).contains("Paris"), "{}", text(r));
    }
    assert_eq!(
        structured(&streamed)["outputs"][1]["content"],
        "Paris is the capital."
    );
}

#[tokio::test]
async fn stream_error_events_become_tool_errors() {
    let fake = FakeMistral::start().await;
    fake.push(
        "POST /v1/conversations",
        Reply::Sse {
            events: vec![
                "event: conversation.response.started\ndata: {\"type\":\"conversation.response.started\",\"conversation_id\":\"conv_1\"}".into(),
                "event: conversation.response.error\ndata: {\"type\":\"conversation.response.error\",\"message\":\"Agent not found\",\"code\":404}".into(),
            ],
            pause: Duration::from_millis(5),
        },
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = s
        .call(
            "conversations_start",
            json!({"agent_id": "ag_missing", "inputs": "hi", "stream": true}),
        )
        .await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("Agent not found"), "{}", text(&r));
    assert_eq!(structured(&r)["error"]["status"], 404);
}

#[tokio::test]
async fn transcribes_a_local_file_as_multipart() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let audio = s.dir.path().join("meeting.mp3");
    std::fs::write(&audio, b"ID3 fake meeting audio").unwrap();
    let r = s
        .call(
            "audio_transcribe",
            json!({"path": audio.display().to_string(), "language": "en", "context_bias": ["Mistral", "Voxtral"], "diarize": true}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let rec = fake.last();
    assert_eq!(rec.route(), "POST /v1/audio/transcriptions");
    assert_valid_upstream(&rec);
    let parts = rec.multipart();
    let field = |name: &str| -> Vec<Vec<u8>> {
        parts
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, _, v)| v.clone())
            .collect()
    };
    let file = parts.iter().find(|(n, _, _)| n == "file").unwrap();
    assert_eq!(file.1.as_deref(), Some("meeting.mp3"));
    assert_eq!(file.2, b"ID3 fake meeting audio");
    assert_eq!(field("model"), vec![b"voxtral-mini-latest".to_vec()]);
    assert_eq!(field("language"), vec![b"en".to_vec()]);
    assert_eq!(field("diarize"), vec![b"true".to_vec()]);
    assert_eq!(
        field("context_bias"),
        vec![b"Mistral".to_vec(), b"Voxtral".to_vec()]
    );
    assert!(field("stream").is_empty(), "plain calls do not send stream");
    let t = text(&r);
    assert!(t.starts_with("Hello and welcome to the meeting."), "{t}");
    assert!(
        t.contains("speaker_1"),
        "segments with speakers are shown: {t}"
    );
    assert_matches_response_schema("TranscriptionResponse", &structured(&r));
}

#[tokio::test]
async fn streamed_transcription_reports_text_and_returns_the_transcript() {
    let fake = FakeMistral::start().await;
    fake.push(
        "POST /v1/audio/transcriptions",
        Reply::Sse {
            events: transcription_stream_events(&["Hello", " and", " welcome."]),
            pause: Duration::from_millis(150),
        },
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = s
        .call_with_progress(
            "audio_transcribe",
            json!({"file_url": "https://example.com/a.mp3", "stream": true}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let parts = fake.last().multipart();
    assert!(
        parts.iter().any(|(n, _, v)| n == "stream" && v == b"true"),
        "streaming sends stream=true"
    );
    let v = structured(&r);
    assert_eq!(v["text"], "Hello and welcome.");
    assert_eq!(v["language"], "en");
    assert_matches_response_schema("TranscriptionResponse", &v);
    let streamed: String = s
        .progress
        .lock()
        .unwrap()
        .iter()
        .filter_map(|p| p.message.clone())
        .collect();
    assert_eq!(streamed, "Hello and welcome.");
}

#[tokio::test]
async fn speech_comes_back_as_audio_or_is_saved() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let r = s
        .call(
            "audio_speech",
            json!({"input": "Hello there.", "voice_id": "voice_478"}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let audio = r
        .content
        .iter()
        .find_map(|c| c.as_audio().cloned())
        .expect("an audio content block");
    assert_eq!(audio.mime_type, "audio/mpeg");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&audio.data)
            .unwrap(),
        SPEECH_BYTES
    );
    assert_eq!(structured(&r)["bytes"], SPEECH_BYTES.len());
    assert!(
        !serde_json::to_string(&structured(&r))
            .unwrap()
            .contains(&audio.data),
        "structured output carries no base64 audio"
    );
    let body = fake.last().json();
    assert_eq!(
        body,
        json!({"input": "Hello there.", "voice_id": "voice_478"})
    );

    let target = s.dir.path().join("hello.wav");
    let r = s
        .call(
            "audio_speech",
            json!({"input": "Hello there.", "response_format": "wav", "save_to": target.display().to_string()}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(std::fs::read(&target).unwrap(), SPEECH_BYTES);
    assert_eq!(r.content.len(), 1, "a saved file is not also attached");
    assert!(text(&r).contains("hello.wav") && text(&r).contains("audio/wav"));
    assert!(fake.last().json().get("save_to").is_none());

    // Too large to inline: the agent is told to use save_to.
    let big = base64::engine::general_purpose::STANDARD.encode(vec![0u8; 300 * 1024]);
    fake.push(
        "POST /v1/audio/speech",
        Reply::json(200, json!({"audio_data": big})),
    );
    let r = s
        .call("audio_speech", json!({"input": "A long text."}))
        .await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("save_to"), "{}", text(&r));
    assert!(text(&r).len() < 1000);
}

#[tokio::test]
async fn voice_sample_is_returned_as_wav_audio() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let r = s
        .call("audio_voices_sample", json!({"voice_id": VOICE_ID}))
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let audio = r.content.iter().find_map(|c| c.as_audio().cloned());
    let audio = audio.expect("an audio content block");
    assert_eq!(audio.mime_type, "audio/wav");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&audio.data)
            .unwrap(),
        SAMPLE_WAV
    );
}

#[tokio::test]
async fn voice_creation_from_a_local_file_sends_base64() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let wav = s.dir.path().join("me.wav");
    std::fs::write(&wav, b"RIFF my voice").unwrap();
    let r = s
        .call(
            "audio_voices_create",
            json!({"name": "Me", "path": wav.display().to_string()}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let body = fake.last().json();
    assert_eq!(
        body,
        json!({"name": "Me", "sample_audio": base64::engine::general_purpose::STANDARD.encode(b"RIFF my voice"), "sample_filename": "me.wav"})
    );
}

#[tokio::test]
async fn list_results_say_how_to_get_the_next_page() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let r = s.call("agents_list", json!({"page_size": 1})).await;
    assert_eq!(
        structured(&r)["next_page"],
        json!({"page_token": "eyJvZmZzZXQiOjF9", "page_size": 1})
    );
    let r = s
        .call("conversations_list", json!({"page": 2, "page_size": 1}))
        .await;
    assert_eq!(
        structured(&r)["next_page"],
        json!({"page": 3, "page_size": 1})
    );
    assert!(fake.last().query.contains("page=2"));
    let r = s
        .call(
            "agents_versions_list",
            json!({"agent_id": AGENT_ID, "page_size": 5}),
        )
        .await;
    assert!(
        structured(&r).get("next_page").is_none(),
        "a short page is the last"
    );
    fake.push(
        "GET /v1/audio/voices",
        Reply::json(
            200,
            json!({"items": [{"id": VOICE_ID, "name": "A", "created_at": "2025-05-01T10:00:00Z", "user_id": null}], "total": 3, "page": 1, "page_size": 1, "total_pages": 3}),
        ),
    );
    let r = s.call("audio_voices_list", json!({"limit": 1})).await;
    assert_eq!(
        structured(&r)["next_page"],
        json!({"offset": 1, "limit": 1})
    );
}

#[tokio::test]
async fn annotations_match_what_the_tools_do() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |o| o.mode = Some(mistral_mcp::config::ToolMode::All)).await;
    let tools = s.client.list_all_tools().await.unwrap();
    let hints = |name: &str| {
        let t = tools.iter().find(|t| t.name == name).expect(name);
        let a = t.annotations.clone().unwrap();
        (
            a.read_only_hint.unwrap_or(false),
            a.destructive_hint.unwrap_or(false),
            a.idempotent_hint.unwrap_or(false),
        )
    };
    for name in [
        "agents_delete",
        "agents_aliases_delete",
        "conversations_delete",
        "audio_voices_delete",
    ] {
        assert_eq!(hints(name), (false, true, true), "{name}");
    }
    for name in [
        "agents_get",
        "agents_list",
        "conversations_history",
        "audio_voices_list",
        "audio_voices_sample",
    ] {
        let (read_only, destructive, _) = hints(name);
        assert!(read_only && !destructive, "{name}");
    }
    for name in [
        "agents_create",
        "agents_update",
        "conversations_start",
        "conversations_append",
        "audio_voices_create",
    ] {
        assert_eq!(hints(name), (false, false, false), "{name}");
    }
    assert_eq!(hints("agents_aliases_set"), (false, false, true));
    assert_eq!(hints("audio_transcribe"), (false, false, false));
}

#[tokio::test]
async fn deletes_send_no_body_and_say_what_went() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let r = s
        .call(
            "conversations_delete",
            json!({"conversation_id": CONVERSATION_ID}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(text(&r), format!("Deleted conversation {CONVERSATION_ID}."));
    let rec = fake.last();
    assert_eq!(rec.method, "DELETE");
    assert!(rec.body.is_empty());
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_naming_the_field() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let cases = [
        ("agents_create", json!({"model": "m"}), "name"),
        (
            "agents_create",
            json!({"model": "m", "name": "n", "tools": [{"type": "document_library", "libary_ids": ["x"]}]}),
            "libary_ids",
        ),
        (
            "agents_aliases_set",
            json!({"agent_id": AGENT_ID, "alias": "prod", "version": "two"}),
            "version",
        ),
        ("agents_get", json!({"agent_id": ".."}), "agent_id"),
        (
            "agents_complete",
            json!({"agent_id": AGENT_ID, "messages": []}),
            "messages",
        ),
        ("conversations_start", json!({"inputs": "hi"}), "agent_id"),
        (
            "conversations_start",
            json!({"inputs": "hi", "model": "m", "temprature": 0.1}),
            "temprature",
        ),
        (
            "conversations_append",
            json!({"conversation_id": CONVERSATION_ID}),
            "inputs",
        ),
        (
            "conversations_restart",
            json!({"conversation_id": CONVERSATION_ID, "inputs": "x"}),
            "from_entry_id",
        ),
        ("audio_transcribe", json!({"language": "en"}), "path"),
        (
            "audio_transcribe",
            json!({"file_url": "https://example.com/a.mp3", "file_id": FILE_ID}),
            "file_url",
        ),
        (
            "audio_transcribe",
            json!({"content_base64": "SUQz"}),
            "file_name",
        ),
        ("audio_speech", json!({"voice_id": "v"}), "input"),
        ("audio_voices_list", json!({"limit": "ten"}), "limit"),
        ("audio_voices_create", json!({"name": "x"}), "sample_audio"),
    ];
    harness::check_bad_arguments(&s, &fake, cases).await;
}

#[tokio::test]
async fn speech_refuses_save_paths_outside_allowed_dirs_before_calling_mistral() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let outside = tempfile::tempdir().unwrap();
    let r = s
        .call(
            "audio_speech",
            json!({"input": "hi", "save_to": outside.path().join("x.mp3").display().to_string()}),
        )
        .await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("outside the directories"), "{}", text(&r));
    assert!(fake.requests().is_empty(), "nothing billable was spent");
}
