//! The server's Mistral key never reaches a client or a log, whatever path an upstream
//! that echoes it makes it take: a success body, an error body, SSE deltas and their
//! progress notifications, downloaded text, and rmcp's own trace logging.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::harness::{self, text};
use common::{FILE_ID, FakeMistral, Reply, TEST_KEY};
use serde_json::json;

fn assert_clean(what: &str, value: &impl serde::Serialize) {
    let all = serde_json::to_string(value).unwrap();
    assert!(!all.contains(TEST_KEY), "key leaked in {what}: {all}");
}

#[tokio::test]
async fn a_success_body_that_echoes_the_key_is_masked_in_text_and_structured_content() {
    let fake = FakeMistral::start().await;
    fake.push(
        "GET /v1/models",
        Reply::json(
            200,
            json!({"object": "list", "data": [{"id": "m", "description": format!("echo {TEST_KEY}"),
                   TEST_KEY: {"nested": [TEST_KEY]}}]}),
        ),
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = s.call("models_list", json!({})).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_clean("a 200 result", &r);
    assert!(text(&r).contains("[redacted]"), "{}", text(&r));
}

#[tokio::test]
async fn error_bodies_that_echo_the_key_are_masked_in_the_structured_error() {
    let fake = FakeMistral::start().await;
    fake.push(
        "POST /v1/embeddings",
        Reply::json(
            422,
            json!({"object": "error", "message": {"detail": [{"type": "value_error", "loc": ["body", "input"],
                   "msg": format!("bad key {TEST_KEY}"), "input": TEST_KEY}]},
                   "type": "invalid_request_error", "param": null, "code": null}),
        ),
    );
    fake.push(
        "POST /v1/moderations",
        Reply::json(
            400,
            json!({"message": format!("Bearer {TEST_KEY} is not allowed here")}),
        ),
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = s
        .call(
            "embeddings_create",
            json!({"model": "mistral-embed", "input": "hi"}),
        )
        .await;
    assert_eq!(r.is_error, Some(true));
    assert_clean("a 422 result", &r);
    let r = s
        .call(
            "moderations_create",
            json!({"model": "mistral-moderation-latest", "input": "hi"}),
        )
        .await;
    assert_eq!(r.is_error, Some(true));
    assert_clean("a 400 result", &r);
}

#[tokio::test]
async fn sse_deltas_that_carry_the_key_are_masked_in_progress_and_the_result() {
    let fake = FakeMistral::start().await;
    // The key arrives whole in one delta and split across three in another place.
    let (a, rest) = TEST_KEY.split_at(5);
    let (b, c) = rest.split_at(9);
    let key_delta = format!("key {TEST_KEY} then ");
    let parts = [key_delta.as_str(), "split ", a, b, c, " end"];
    fake.push(
        "POST /v1/chat/completions",
        Reply::Sse {
            events: common::chat_stream_events(&parts),
            pause: Duration::from_millis(120),
        },
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = s
        .call_with_progress(
            "chat_complete",
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_clean("a streamed result", &r);
    let progress = s.progress.lock().unwrap().clone();
    assert!(progress.len() >= 2, "{progress:?}");
    let streamed: String = progress.iter().filter_map(|p| p.message.clone()).collect();
    assert!(
        !streamed.contains(TEST_KEY),
        "key leaked across progress notifications: {streamed}"
    );
    assert_eq!(streamed, "key [redacted] then split [redacted] end");
}

#[tokio::test]
async fn downloaded_text_that_contains_the_key_is_masked() {
    let fake = FakeMistral::start().await;
    fake.push(
        "GET /v1/files/{id}/content",
        Reply::Bytes {
            status: 200,
            content_type: "text/plain".into(),
            body: format!("line one\nsecret: {TEST_KEY}\n").into_bytes(),
        },
    );
    fake.push(
        "GET /v1/files/{id}/content",
        Reply::Bytes {
            status: 200,
            content_type: "application/jsonl".into(),
            body: format!("{{\"custom_id\":\"{TEST_KEY}\"}}\n").into_bytes(),
        },
    );
    let s = harness::start(&fake, |_| {}).await;
    for _ in 0..2 {
        let r = s.call("files_download", json!({"file_id": FILE_ID})).await;
        assert_eq!(r.is_error, Some(false), "{}", text(&r));
        assert_clean("downloaded text", &r);
    }
}

/// rmcp logs whole messages at trace level; the log writer masks them.
#[tokio::test]
async fn trace_logs_of_the_real_binary_never_carry_the_key() {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};

    let fake = FakeMistral::start().await;
    fake.push(
        "GET /v1/models",
        Reply::json(200, json!({"object": "list", "data": [{"id": TEST_KEY}]})),
    );
    fake.push(
        "POST /v1/embeddings",
        Reply::json(400, json!({"message": format!("bad key {TEST_KEY}")})),
    );
    let log = tempfile::NamedTempFile::new().unwrap();
    let stderr = log.reopen().unwrap();
    let mut env = common::server_env(&fake);
    env.retain(|(k, _)| k != "RUST_LOG");
    env.push(("RUST_LOG".into(), "trace".into()));
    let (transport, _) = TokioChildProcess::builder(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mistral-mcp")).configure(|c| {
            c.envs(env.clone());
        }),
    )
    .stderr(std::process::Stdio::from(stderr))
    .spawn()
    .unwrap();
    let client = ().serve(transport).await.unwrap();
    for (tool, args) in [
        ("models_list", json!({})),
        (
            "embeddings_create",
            json!({"model": "mistral-embed", "input": "x"}),
        ),
    ] {
        let r = client
            .call_tool(
                CallToolRequestParams::new(tool)
                    .with_arguments(args.as_object().cloned().unwrap_or_default()),
            )
            .await
            .unwrap();
        assert_clean(tool, &r);
    }
    client.cancel().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        logged.lines().count() > 5,
        "expected trace logs, got: {logged}"
    );
    assert!(
        logged.contains("[redacted]"),
        "the echoed key should have been logged masked"
    );
    let leaks: Vec<&str> = logged.lines().filter(|l| l.contains(TEST_KEY)).collect();
    assert!(
        leaks.is_empty(),
        "{} log lines carry the key: {:?}",
        leaks.len(),
        leaks.first()
    );
}
