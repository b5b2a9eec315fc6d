//! Whole workflows as a new user's agent would run them, through the real binary over
//! stdio: agent + streamed conversation, JSONL upload + batch job to completion, a library
//! document processed, a recording transcribed from a local path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::fake_jobs::{batch_job, document};
use common::harness::{RecordingClient, text};
use common::{FakeMistral, Reply};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, NumberOrString, ProgressToken, RequestMetaObject,
};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

struct Session {
    client: RunningService<RoleClient, RecordingClient>,
    handler: RecordingClient,
    dir: tempfile::TempDir,
    _logs: tokio::task::JoinHandle<String>,
}

async fn launch(fake: &FakeMistral) -> Session {
    let dir = tempfile::tempdir().unwrap();
    let env = common::server_env(fake);
    let allowed = dir.path().display().to_string();
    let (transport, stderr) = TokioChildProcess::builder(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mistral-mcp")).configure(|c| {
            c.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            c.env("MISTRAL_MCP_ALLOWED_DIRS", &allowed);
        }),
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stderr = stderr.unwrap();
    let logs = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    let handler = RecordingClient::default();
    let client = handler.clone().serve(transport).await.unwrap();
    Session {
        client,
        handler,
        dir,
        _logs: logs,
    }
}

impl Session {
    async fn call(&self, name: &str, args: Value, progress: bool) -> CallToolResult {
        let mut params = CallToolRequestParams::new(name.to_string())
            .with_arguments(args.as_object().cloned().unwrap());
        if progress {
            params.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
                NumberOrString::String(name.to_string().into()),
            )));
        }
        let r = self.client.call_tool(params).await.unwrap();
        assert_eq!(r.is_error, Some(false), "{name} failed: {}", text(&r));
        r
    }

    fn progress_messages(&self) -> Vec<String> {
        self.handler
            .progress
            .lock()
            .unwrap()
            .iter()
            .filter_map(|p| p.message.clone())
            .collect()
    }
}

fn structured(r: &CallToolResult) -> Value {
    r.structured_content.clone().unwrap()
}

#[tokio::test]
async fn agent_then_streamed_conversation() {
    let fake = FakeMistral::start().await;
    let s = launch(&fake).await;
    let agent = s
        .call(
            "agents_create",
            json!({"model": "mistral-medium-latest", "name": "support", "instructions": "Answer in French.", "tools": [{"type": "web_search"}]}),
            false,
        )
        .await;
    let agent_id = structured(&agent)["id"].as_str().unwrap().to_string();
    let started = s
        .call(
            "conversations_start",
            json!({"agent_id": agent_id, "inputs": "Bonjour"}),
            false,
        )
        .await;
    let conversation_id = structured(&started)["conversation_id"]
        .as_str()
        .unwrap()
        .to_string();
    let appended = s
        .call(
            "conversations_append",
            json!({"conversation_id": conversation_id, "inputs": "Et la suite ?", "stream": true}),
            true,
        )
        .await;
    assert!(!text(&appended).is_empty());
    assert!(
        !s.progress_messages().is_empty(),
        "the streamed append reported progress"
    );
    for rec in fake.requests() {
        common::assert_valid_upstream(&rec);
    }
}

#[tokio::test]
async fn jsonl_upload_then_batch_job_to_completion() {
    let fake = FakeMistral::start().await;
    fake.push(
        "GET /v1/batch/jobs/{id}",
        Reply::json(200, batch_job("QUEUED", 0, 2)),
    );
    fake.push(
        "GET /v1/batch/jobs/{id}",
        Reply::json(200, batch_job("RUNNING", 1, 2)),
    );
    let s = launch(&fake).await;
    let jsonl = s.dir.path().join("requests.jsonl");
    std::fs::write(
        &jsonl,
        "{\"custom_id\":\"1\",\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}}\n",
    )
    .unwrap();
    let file = s
        .call(
            "files_upload",
            json!({"path": jsonl.display().to_string(), "purpose": "batch"}),
            false,
        )
        .await;
    let file_id = structured(&file)["id"].as_str().unwrap().to_string();
    let job = s
        .call("batch_jobs_create", json!({"input_files": [file_id], "model": "mistral-small-latest", "endpoint": "/v1/chat/completions"}), false)
        .await;
    let job_id = structured(&job)["id"].as_str().unwrap().to_string();
    let done = s
        .call(
            "batch_jobs_wait",
            json!({"job_id": job_id, "timeout_secs": 60}),
            true,
        )
        .await;
    assert_eq!(structured(&done)["status"], "SUCCESS", "{}", text(&done));
    let messages = s.progress_messages();
    assert!(
        messages.iter().any(|m| m.contains("RUNNING")),
        "{messages:?}"
    );
    let upload = fake
        .requests()
        .into_iter()
        .find(|r| r.route() == "POST /v1/files")
        .unwrap();
    assert!(
        upload
            .multipart()
            .iter()
            .any(|(n, f, _)| n == "file" && f.as_deref() == Some("requests.jsonl"))
    );
}

#[tokio::test]
async fn library_document_processed() {
    let fake = FakeMistral::start().await;
    fake.push(
        "GET /v1/libraries/{id}/documents/{id}",
        Reply::json(200, document("notes.md", "Running")),
    );
    let s = launch(&fake).await;
    let doc_path = s.dir.path().join("notes.md");
    std::fs::write(&doc_path, "# Notes\nMistral MCP journey.\n").unwrap();
    let library = s
        .call("libraries_create", json!({"name": "Team notes"}), false)
        .await;
    let library_id = structured(&library)["id"].as_str().unwrap().to_string();
    let uploaded = s
        .call(
            "libraries_documents_upload",
            json!({"library_id": library_id, "path": doc_path.display().to_string()}),
            false,
        )
        .await;
    let document_id = structured(&uploaded)["id"].as_str().unwrap().to_string();
    let done = s
        .call(
            "libraries_documents_wait",
            json!({"library_id": library_id, "document_id": document_id, "timeout_secs": 60}),
            true,
        )
        .await;
    assert_eq!(
        structured(&done)["process_status"],
        "done",
        "{}",
        text(&done)
    );
    for rec in fake.requests() {
        common::assert_valid_upstream(&rec);
    }
}

#[tokio::test]
async fn transcribe_a_local_recording() {
    let fake = FakeMistral::start().await;
    let s = launch(&fake).await;
    let wav = s.dir.path().join("memo.wav");
    std::fs::write(&wav, b"RIFF\x24\x00\x00\x00WAVEfmt ").unwrap();
    let r = s
        .call(
            "audio_transcribe",
            json!({"model": "voxtral-mini-latest", "path": wav.display().to_string()}),
            false,
        )
        .await;
    assert!(!text(&r).is_empty());
    let req = fake.last();
    assert_eq!(req.route(), "POST /v1/audio/transcriptions");
    let parts = req.multipart();
    assert!(
        parts
            .iter()
            .any(|(n, f, _)| n == "file" && f.as_deref() == Some("memo.wav"))
    );
    common::assert_valid_upstream(&req);
    tokio::time::sleep(Duration::from_millis(10)).await;
}
