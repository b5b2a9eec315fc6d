//! The real binary over stdio, launched the way Claude Desktop, Cursor and Windsurf launch
//! it: a child process with the key in its environment, driven by the rmcp client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::harness::RecordingClient;
use common::{FakeMistral, Reply, TEST_KEY};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, NumberOrString, ProgressToken, RequestMetaObject};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_mistral-mcp");

fn args(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[tokio::test]
async fn desktop_style_launch_lists_tools_and_runs_core_calls() {
    let fake = FakeMistral::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("invoice.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 invoice").unwrap();
    let env = common::server_env(&fake);
    let allowed = dir.path().display().to_string();
    let (transport, stderr) =
        TokioChildProcess::builder(tokio::process::Command::new(BIN).configure(|c| {
            c.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            c.env("MISTRAL_MCP_ALLOWED_DIRS", &allowed);
        }))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain stderr while the test runs: debug logs would otherwise fill the pipe and block the server.
    let mut stderr = stderr.unwrap();
    let logs_task = tokio::spawn(async move {
        let mut logs = String::new();
        let _ = stderr.read_to_string(&mut logs).await;
        logs
    });
    let handler = RecordingClient::default();
    let progress = handler.progress.clone();
    let client = handler.serve(transport).await.unwrap();

    let info = client.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().unwrap().name, "mistral-mcp");
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "chat_complete"));
    assert!(tools.iter().any(|t| t.name == "search_tools"));

    let chat = json!({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "Capital of France?"}]});
    let r = client
        .call_tool(CallToolRequestParams::new("chat_complete").with_arguments(args(chat.clone())))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(false));
    assert!(common::harness::text(&r).contains("Paris"));

    let mut streamed = chat.clone();
    streamed["stream"] = json!(true);
    let mut params = CallToolRequestParams::new("chat_complete").with_arguments(args(streamed));
    params.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
        NumberOrString::Number(7),
    )));
    let r = client.call_tool(params).await.unwrap();
    assert_eq!(r.is_error, Some(false));
    assert_eq!(
        r.structured_content.as_ref().unwrap()["choices"][0]["message"]["content"],
        "Paris is the capital."
    );
    assert!(
        !progress.lock().unwrap().is_empty(),
        "streamed chat sent progress over stdio"
    );

    let r = client
        .call_tool(
            CallToolRequestParams::new("embeddings_create")
                .with_arguments(args(json!({"model": "mistral-embed", "input": ["a", "b"]}))),
        )
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(false));
    assert_eq!(
        r.structured_content.as_ref().unwrap()["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let r = client
        .call_tool(
            CallToolRequestParams::new("ocr_process").with_arguments(args(
                json!({"document": {"type": "local_path", "path": pdf.display().to_string()}}),
            )),
        )
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(false), "{}", common::harness::text(&r));
    assert!(common::harness::text(&r).contains("INVOICE"));

    client.cancel().await.unwrap();
    let logs = logs_task.await.unwrap();
    assert!(
        logs.contains("serving MCP over stdio"),
        "logs go to stderr: {logs}"
    );
    assert!(logs.contains("tool call"), "{logs}");
    assert!(!logs.contains(TEST_KEY), "the key must never be logged");
    for rec in fake.requests() {
        common::assert_valid_upstream(&rec);
    }
}

/// stdout carries only JSON-RPC messages, even with debug logging on; logs go to stderr.
#[tokio::test]
async fn stdout_carries_only_protocol_messages() {
    let fake = FakeMistral::start().await;
    fake.push(
        "GET /v1/models",
        Reply::json(500, json!({"message": "boom"})),
    );
    let mut child = tokio::process::Command::new(BIN)
        .envs(common::server_env(&fake))
        .env("RUST_LOG", "trace")
        .args(["--max-retries", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Drain stderr concurrently: trace logs would otherwise fill the pipe and block the server.
    let mut stderr = child.stderr.take().unwrap();
    let logs_task = tokio::spawn(async move {
        let mut logs = String::new();
        let _ = stderr.read_to_string(&mut logs).await;
        logs
    });
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "models_list", "arguments": {}}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "chat_complete", "arguments": {"model": 5}}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "nope", "arguments": {}}}),
    ];
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    for m in &messages {
        stdin.write_all(format!("{m}\n").as_bytes()).await.unwrap();
    }
    stdin.flush().await.unwrap();
    // Replies may come in any order; collect them by id.
    let mut replies = std::collections::BTreeMap::new();
    while replies.len() < 5 {
        let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
        assert_eq!(v["jsonrpc"], "2.0", "{line}");
        if let Some(id) = v["id"].as_i64() {
            replies.insert(id, v);
        }
    }
    drop(stdin);
    // Nothing else appears on stdout before exit.
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(5), stdout.next_line()).await
    {
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
        assert_eq!(v["jsonrpc"], "2.0");
    }
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let logs = logs_task.await.unwrap();
    assert!(
        logs.contains("DEBUG") || logs.contains("TRACE"),
        "trace logging was on, on stderr"
    );
    assert!(!logs.contains(TEST_KEY));

    assert!(replies[&2]["result"]["tools"].as_array().unwrap().len() > 20);
    // An upstream failure is a tool result with isError, not a protocol error.
    assert_eq!(replies[&3]["result"]["isError"], true);
    assert!(
        replies[&3]["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("500")
    );
    // Bad arguments name the field.
    assert_eq!(replies[&4]["result"]["isError"], true);
    assert!(
        replies[&4]["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("model")
    );
    // An unknown tool is a JSON-RPC error.
    assert_eq!(replies[&5]["error"]["code"], -32602);
}

#[tokio::test]
async fn help_teaches_and_bad_config_fails_clearly() {
    let out = tokio::process::Command::new(BIN)
        .arg("--help")
        .output()
        .await
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "serve",
        "tools",
        "search",
        "call",
        "MISTRAL_API_KEY",
        "--allow-dir",
        "--read-only",
        "dynamic",
    ] {
        assert!(help.contains(needle), "--help does not mention {needle}");
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[mistral]\nbase_ulr = \"x\"\n").unwrap();
    let out = tokio::process::Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "tools"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("base_ulr"), "{err}");
    let out = tokio::process::Command::new(BIN)
        .args(["--toolsets", "chat,ocrr", "tools"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ocrr"));
}

#[tokio::test]
async fn cli_tools_search_and_call() {
    let fake = FakeMistral::start().await;
    let out = tokio::process::Command::new(BIN)
        .args(["tools", "--json"])
        .output()
        .await
        .unwrap();
    let tools: Value = serde_json::from_slice(&out.stdout).unwrap();
    let chat = tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "chat_complete")
        .unwrap();
    assert_eq!(chat["operation"], "POST /v1/chat/completions");
    assert_eq!(chat["enabled"], true);
    assert_eq!(chat["annotations"]["readOnlyHint"], false);

    let out = tokio::process::Command::new(BIN)
        .args([
            "search",
            "run OCR on an invoice PDF",
            "--json",
            "--limit",
            "3",
        ])
        .output()
        .await
        .unwrap();
    let hits: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hits[0]["name"], "ocr_process");
    assert!(hits[0]["score"].as_f64().unwrap() > 0.0);

    let out = tokio::process::Command::new(BIN)
        .envs(common::server_env(&fake))
        .args([
            "call",
            "models_retrieve",
            "--args",
            r#"{"model_id":"mistral-small-latest"}"#,
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["structuredContent"]["id"], "mistral-small-latest");

    let out = tokio::process::Command::new(BIN)
        .args(["call", "models_list"])
        .env_remove("MISTRAL_API_KEY")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("MISTRAL_API_KEY"));
}
