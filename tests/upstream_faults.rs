//! A hostile or broken upstream: absurd headers, endless lines, cut streams, mislabelled
//! answers and huge bodies. Each call must answer (never hang or panic), say what went
//! wrong, and keep memory bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::harness::{self, structured, text};
use common::{FakeMistral, Reply};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};

const CHAT: &str = "POST /v1/chat/completions";
const MIB: u64 = 1024 * 1024;

fn chat_args(stream: bool) -> Value {
    json!({
        "model": "mistral-small-latest",
        "messages": [{"role": "user", "content": "Say hello"}],
        "stream": stream,
    })
}

/// A call that must answer within `secs`; a panic or a spinning server shows as a hang.
async fn call_within(
    s: &harness::TestServer,
    secs: u64,
    tool: &str,
    args: Value,
) -> CallToolResult {
    tokio::time::timeout(Duration::from_secs(secs), s.call(tool, args))
        .await
        .unwrap_or_else(|_| panic!("{tool} did not answer within {secs}s"))
}

fn chunk_event(text: &str) -> String {
    format!(
        "data: {}\n\n",
        json!({"id": "c1", "model": "mistral-small-latest", "created": 1,
               "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": null}]})
    )
}

#[tokio::test]
async fn absurd_retry_after_values_get_an_answer_not_a_panic() {
    for value in [
        "1e20",
        "inf",
        "-5",
        "NaN",
        "18446744073709551616",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        let fake = FakeMistral::start().await;
        fake.push(
            CHAT,
            Reply::json(429, json!({"message": "Rate limit exceeded"}))
                .with_header("retry-after", value),
        );
        let s = harness::start(&fake, |_| {}).await;
        let r = call_within(&s, 20, "chat_complete", chat_args(false)).await;
        if r.is_error == Some(true) {
            // Too long to wait inside the call: the agent is told to wait instead.
            assert!(text(&r).contains("429"), "{value}: {}", text(&r));
            let wait = structured(&r)["error"]["retry_after_secs"].as_u64();
            assert!(
                wait.is_some_and(|w| w <= 86_400),
                "{value}: retry_after_secs {wait:?}"
            );
        } else {
            // Ignored as meaningless: the client's own backoff retried.
            assert!(text(&r).contains("Paris"), "{value}: {}", text(&r));
        }
    }
}

#[tokio::test]
async fn huge_timeouts_do_not_panic() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let r = call_within(
        &s,
        20,
        "batch_jobs_wait",
        json!({"job_id": "b1", "timeout_secs": u64::MAX}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("timeout_secs"), "{}", text(&r));

    // A per-call budget too large to add to a clock instant means "no deadline".
    let dir = tempfile::tempdir().unwrap();
    let mut config = harness::test_config(&fake, dir.path(), |_| {});
    config.tools.call_budget = Duration::MAX;
    let s = harness::start_with_config(config, dir).await;
    let r = call_within(&s, 20, "chat_complete", chat_args(false)).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
}

#[tokio::test]
async fn one_endless_sse_line_fails_fast_with_the_limit_named() {
    let fake = FakeMistral::start().await;
    fake.push(
        CHAT,
        Reply::Huge {
            status: 200,
            content_type: "text/event-stream".into(),
            prefix: b"data: ".to_vec(),
            fill: b'x',
            size: 50 * MIB,
            suffix: b"\n\n".to_vec(),
        },
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = call_within(&s, 30, "chat_complete", chat_args(true)).await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&r).contains("max_stream_event_kb"), "{}", text(&r));
    assert_eq!(structured(&r)["error"]["kind"], "too_large");
}

#[tokio::test]
async fn a_stream_broken_mid_event_is_marked_incomplete() {
    let fake = FakeMistral::start().await;
    let hello = chunk_event("Hello");
    let wor = chunk_event(" wor");
    fake.push(
        CHAT,
        Reply::raw(
            200,
            "text/event-stream",
            vec![
                hello.as_bytes(),
                wor.as_bytes(),
                b"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ld",
            ],
        )
        .paced(Duration::from_millis(20))
        .then_abort(),
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = call_within(&s, 20, "chat_complete", chat_args(true)).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let v = structured(&r);
    assert_eq!(v["choices"][0]["message"]["content"], "Hello wor");
    let note = v["incomplete"].as_str().unwrap_or_default();
    assert!(note.contains("broke"), "no incomplete marker: {v}");
    assert!(text(&r).starts_with('['), "{}", text(&r));
}

#[tokio::test]
async fn a_stream_ending_without_done_is_marked_incomplete() {
    let fake = FakeMistral::start().await;
    let hello = chunk_event("Hello");
    let wor = chunk_event(" wor");
    fake.push(
        CHAT,
        Reply::raw(
            200,
            "text/event-stream",
            vec![hello.as_bytes(), wor.as_bytes()],
        ),
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = call_within(&s, 20, "chat_complete", chat_args(true)).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let v = structured(&r);
    let note = v["incomplete"].as_str().unwrap_or_default();
    assert!(note.contains("[DONE]"), "no incomplete marker: {v}");

    // Conversations end with conversation.response.done; without it the answer is partial.
    fake.push(
        "POST /v1/conversations",
        Reply::raw(
            200,
            "text/event-stream",
            vec![
                b"event: conversation.response.started\ndata: {\"type\":\"conversation.response.started\",\"conversation_id\":\"conv_1\"}\n\n",
                b"event: message.output.delta\ndata: {\"type\":\"message.output.delta\",\"output_index\":0,\"id\":\"m1\",\"content\":\"Bonj\"}\n\n",
            ],
        ),
    );
    let r = call_within(
        &s,
        20,
        "conversations_start",
        json!({"model": "mistral-small-latest", "inputs": "Hi", "stream": true}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let note = structured(&r)["incomplete"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        note.contains("conversation.response.done"),
        "{}",
        structured(&r)
    );
}

#[tokio::test]
async fn a_stream_answered_with_plain_json_is_not_an_empty_success() {
    let fake = FakeMistral::start().await;
    let body = common::chat_response("Paris").to_string();
    fake.push(
        CHAT,
        Reply::raw(200, "text/event-stream", vec![body.as_bytes()]),
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = call_within(&s, 20, "chat_complete", chat_args(true)).await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&r).contains("without `stream`"), "{}", text(&r));

    // Nothing at all is an error too.
    fake.push(CHAT, Reply::raw(200, "text/event-stream", vec![]));
    let r = call_within(&s, 20, "chat_complete", chat_args(true)).await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
}

#[tokio::test]
async fn a_huge_json_answer_fails_cleanly_with_advice() {
    let fake = FakeMistral::start().await;
    // No Content-Length: the cap is enforced while reading.
    fake.push(CHAT, Reply::huge_json(200 * MIB));
    let s = harness::start(&fake, |_| {}).await;
    let r = call_within(&s, 60, "chat_complete", chat_args(false)).await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    let t = text(&r);
    assert!(
        t.contains("max_response_mb") && t.contains("save_to"),
        "{t}"
    );
    assert_eq!(structured(&r)["error"]["kind"], "too_large");

    // With Content-Length: refused before reading.
    let dir = tempfile::tempdir().unwrap();
    let mut config = harness::test_config(&fake, dir.path(), |_| {});
    config.upstream.max_response_bytes = MIB;
    let s = harness::start_with_config(config, dir).await;
    fake.push(
        "GET /v1/models",
        Reply::Bytes {
            status: 200,
            content_type: "application/json".into(),
            body: format!("{{\"data\":\"{}\"}}", "y".repeat(2 * MIB as usize)).into_bytes(),
        },
    );
    let r = call_within(&s, 20, "models_list", json!({})).await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert!(
        text(&r).contains(&format!("{} bytes", 2 * MIB + 11)),
        "{}",
        text(&r)
    );
}

/// What a raw stdio call returned: whether it was a tool error, its size, its start.
struct RawAnswer {
    is_error: bool,
    bytes: usize,
    head: String,
}

/// Runs the real binary over stdio against a fake that answers models_list (a tool that
/// returns Mistral's JSON as it is) with a `body_mib` MiB JSON body, and returns the answer
/// and the server's peak RSS (VmHWM) in MiB. The client side is raw JSON-RPC lines, so the
/// test process never parses the huge answer.
async fn peak_rss_for_json_answer(body_mib: u64, config: &str) -> (RawAnswer, u64) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let fake = FakeMistral::start().await;
    fake.push("GET /v1/models", Reply::huge_json(body_mib * MIB));
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mistral-mcp"))
        .envs(common::server_env(&fake))
        .env("RUST_LOG", "warn")
        .env("MISTRAL_MCP_CONFIG", &config_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "models_list", "arguments": {}}});
    let lines = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "rss-probe", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        call,
    ];
    for line in lines {
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }
    stdin.flush().await.unwrap();
    let mut answer = Vec::new();
    let read = async {
        loop {
            answer.clear();
            let n = stdout.read_until(b'\n', &mut answer).await.unwrap();
            assert!(n > 0, "the server closed stdout");
            if answer.starts_with(br#"{"jsonrpc":"2.0","id":2"#) {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(600), read)
        .await
        .expect("no answer within 600s");
    let hwm_kib = common::peak_rss(pid) / 1024;
    let head = String::from_utf8_lossy(&answer[..answer.len().min(600)]).to_string();
    let is_error = head.contains("\"isError\":true") || {
        let tail = &answer[answer.len().saturating_sub(200)..];
        String::from_utf8_lossy(tail).contains("\"isError\":true")
    };
    let _ = child.kill().await;
    (
        RawAnswer {
            is_error,
            bytes: answer.len(),
            head,
        },
        hwm_kib / 1024,
    )
}

#[tokio::test]
async fn peak_memory_for_a_200_mib_json_answer_stays_under_twice_the_body() {
    let (r, peak) = peak_rss_for_json_answer(200, "").await;
    eprintln!("200 MiB JSON answer, default cap: peak RSS {peak} MiB");
    assert!(r.is_error, "{}", r.head);
    assert!(r.head.contains("max_response_mb"), "{}", r.head);
    assert!(peak < 400, "peak RSS {peak} MiB for a 200 MiB answer");
}

#[tokio::test]
async fn peak_memory_for_a_200_mib_json_answer_with_a_raised_cap() {
    let (r, peak) = peak_rss_for_json_answer(200, "[mistral]\nmax_response_mb = 256\n").await;
    eprintln!(
        "200 MiB JSON answer, max_response_mb = 256: peak RSS {peak} MiB, answer line {} MiB",
        r.bytes as u64 / MIB
    );
    assert!(!r.is_error, "{}", r.head);
    // The floor is the result text plus rmcp's whole serialised line (2x) plus the idle
    // server; repeating the JSON in structuredContent would make it 4x.
    assert!(peak < 500, "peak RSS {peak} MiB for a 200 MiB answer");
}
