//! Every core tool against the fake upstream: the request it sends (method, path, query,
//! auth, body checked against the official spec) and the result it returns.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::harness::{self, structured, text};
use common::{FILE_ID, FakeMistral, Reply, TEST_KEY, assert_valid_upstream, spec};
use serde_json::{Value, json};

/// One call per core tool, with typical arguments: each must succeed and send a request
/// the spec accepts.
#[tokio::test]
async fn every_core_tool_sends_spec_valid_requests() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    std::fs::write(s.dir.path().join("invoice.pdf"), b"%PDF-1.4 fake").unwrap();
    let pdf = s.dir.path().join("invoice.pdf").display().to_string();
    let user = json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "chat_complete",
            json!({"model": "mistral-small-latest", "messages": user, "temperature": 0.2, "max_tokens": 64}),
            "POST /v1/chat/completions",
        ),
        (
            "chat_complete",
            json!({"model": "mistral-large-latest", "messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": "https://example.com/cat.png"}]}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "tool_choice": "auto", "response_format": {"type": "json_object"}, "stop": ["\n\n"], "random_seed": 7}),
            "POST /v1/chat/completions",
        ),
        (
            "chat_complete",
            json!({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "c1", "name": "f", "content": "42"}],
            "tool_choice": {"type": "function", "function": {"name": "f"}}}),
            "POST /v1/chat/completions",
        ),
        (
            "fim_complete",
            json!({"model": "codestral-latest", "prompt": "def add(a, b):", "suffix": "    return c", "max_tokens": 32}),
            "POST /v1/fim/completions",
        ),
        (
            "embeddings_create",
            json!({"model": "mistral-embed", "input": ["one", "two"]}),
            "POST /v1/embeddings",
        ),
        (
            "embeddings_create",
            json!({"model": "codestral-embed", "input": "x", "output_dimension": 256, "output_dtype": "int8"}),
            "POST /v1/embeddings",
        ),
        (
            "moderations_create",
            json!({"model": "mistral-moderation-latest", "input": "some text"}),
            "POST /v1/moderations",
        ),
        (
            "chat_moderations_create",
            json!({"model": "mistral-moderation-latest", "input": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}),
            "POST /v1/chat/moderations",
        ),
        (
            "classifications_create",
            json!({"model": "ft:classifier:abc", "input": ["refund please"]}),
            "POST /v1/classifications",
        ),
        (
            "chat_classifications_create",
            json!({"model": "ft:classifier:abc", "input": {"messages": [{"role": "user", "content": "refund please"}]}}),
            "POST /v1/chat/classifications",
        ),
        (
            "ocr_process",
            json!({"document": {"type": "document_url", "document_url": "https://example.com/invoice.pdf"}, "pages": [0, 1], "table_format": "markdown"}),
            "POST /v1/ocr",
        ),
        (
            "ocr_process",
            json!({"document": {"type": "image_url", "image_url": "data:image/png;base64,iVBORw0KGgo="}}),
            "POST /v1/ocr",
        ),
        (
            "ocr_process",
            json!({"model": "mistral-ocr-latest", "document": {"type": "file", "file_id": FILE_ID}, "include_image_base64": false}),
            "POST /v1/ocr",
        ),
        (
            "ocr_process",
            json!({"document": {"type": "local_path", "path": pdf}}),
            "POST /v1/ocr",
        ),
        (
            "files_upload",
            json!({"path": pdf, "purpose": "ocr"}),
            "POST /v1/files",
        ),
        (
            "files_upload",
            json!({"content_base64": "eyJhIjoxfQo=", "file_name": "batch.jsonl", "purpose": "batch", "visibility": "user"}),
            "POST /v1/files",
        ),
        (
            "files_list",
            json!({"page": 0, "page_size": 10, "purpose": "ocr", "source": ["upload"]}),
            "GET /v1/files",
        ),
        (
            "files_retrieve",
            json!({"file_id": FILE_ID}),
            "GET /v1/files/{id}",
        ),
        (
            "files_delete",
            json!({"file_id": FILE_ID}),
            "DELETE /v1/files/{id}",
        ),
        (
            "files_download",
            json!({"file_id": FILE_ID}),
            "GET /v1/files/{id}/content",
        ),
        (
            "files_signed_url",
            json!({"file_id": FILE_ID, "expiry": 48}),
            "GET /v1/files/{id}/url",
        ),
        ("models_list", json!({}), "GET /v1/models"),
        (
            "models_retrieve",
            json!({"model_id": "mistral-small-latest"}),
            "GET /v1/models/{id}",
        ),
        (
            "models_delete",
            json!({"model_id": "ft:open-mistral-7b:abc"}),
            "DELETE /v1/models/{id}",
        ),
        (
            "models_update",
            json!({"model_id": "ft:open-mistral-7b:abc", "name": "support-bot", "description": "v2"}),
            "PATCH /v1/fine_tuning/models/{id}",
        ),
        (
            "models_archive",
            json!({"model_id": "ft:open-mistral-7b:abc"}),
            "POST /v1/fine_tuning/models/{id}/archive",
        ),
        (
            "models_unarchive",
            json!({"model_id": "ft:open-mistral-7b:abc"}),
            "DELETE /v1/fine_tuning/models/{id}/archive",
        ),
    ];
    let cases = cases.into_iter().map(|(t, a, r)| (t, a, r, None)).collect();
    harness::check_every_tool(
        &s,
        &fake,
        &[
            "chat",
            "fim",
            "embeddings",
            "classifiers",
            "ocr",
            "files",
            "models",
        ],
        cases,
        assert_valid_upstream,
    )
    .await;
}

#[tokio::test]
async fn chat_returns_readable_text_and_json() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let r = s.call("chat_complete", json!({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "Capital of France?"}]})).await;
    assert_eq!(r.is_error, Some(false));
    assert!(
        text(&r).starts_with("Paris is the capital of France."),
        "{}",
        text(&r)
    );
    assert!(text(&r).contains("tokens 12 in / 7 out"));
    assert_eq!(
        structured(&r)["choices"][0]["message"]["content"],
        "Paris is the capital of France."
    );
    let body = fake.last().json();
    assert_eq!(body["model"], "mistral-small-latest");
    assert!(body.get("stream").is_none(), "unset fields are not sent");
}

#[tokio::test]
async fn streamed_chat_sends_progress_and_assembles_the_answer() {
    let fake = FakeMistral::start().await;
    fake.push(
        "POST /v1/chat/completions",
        Reply::Sse {
            events: common::chat_stream_events(&["Bonjour", ", le", " monde", "!"]),
            pause: Duration::from_millis(150),
        },
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = s
        .call_with_progress("chat_complete", json!({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "Say hello in French"}], "stream": true}))
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(
        structured(&r)["choices"][0]["message"]["content"],
        "Bonjour, le monde!"
    );
    assert_eq!(structured(&r)["usage"]["completion_tokens"], 4);
    assert_eq!(fake.last().json()["stream"], true);
    let progress = s.progress.lock().unwrap().clone();
    assert!(
        progress.len() >= 2,
        "expected several progress notifications, got {progress:?}"
    );
    let streamed: String = progress.iter().filter_map(|p| p.message.clone()).collect();
    assert_eq!(streamed, "Bonjour, le monde!");
    assert!(
        progress.windows(2).all(|w| w[0].progress < w[1].progress),
        "progress must increase"
    );
}

#[tokio::test]
async fn retries_429_honouring_retry_after() {
    let fake = FakeMistral::start().await;
    let limited = json!({"object": "error", "message": "Rate limit exceeded", "type": "rate_limited", "param": null, "code": "1300", "raw_status_code": 429});
    fake.push(
        "POST /v1/embeddings",
        Reply::json(429, limited).with_header("retry-after", "1"),
    );
    let s = harness::start(&fake, |_| {}).await;
    let started = std::time::Instant::now();
    let r = s
        .call(
            "embeddings_create",
            json!({"model": "mistral-embed", "input": "x"}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(fake.requests().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After was not honoured"
    );
}

#[tokio::test]
async fn persistent_429_reports_status_message_and_retry_after() {
    let fake = FakeMistral::start().await;
    for _ in 0..5 {
        fake.push(
            "GET /v1/models",
            Reply::json(429, json!({"message": "Requests rate limit exceeded"}))
                .with_header("retry-after", "0"),
        );
    }
    let s = harness::start(&fake, |_| {}).await;
    let r = s.call("models_list", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    let t = text(&r);
    assert!(
        t.contains("429") && t.contains("Requests rate limit exceeded"),
        "{t}"
    );
    assert_eq!(structured(&r)["error"]["status"], 429);
    assert_eq!(structured(&r)["error"]["kind"], "rate_limited");
    assert_eq!(
        fake.requests().len(),
        3,
        "max_retries=2 means three attempts"
    );
}

#[tokio::test]
async fn server_errors_are_retried_for_reads_but_not_for_uploads() {
    let fake = FakeMistral::start().await;
    fake.push(
        "GET /v1/files/{id}",
        Reply::json(503, json!({"message": "Service unavailable."})),
    );
    fake.push(
        "POST /v1/files",
        Reply::json(500, json!({"message": "Service unavailable."})),
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = s.call("files_retrieve", json!({"file_id": FILE_ID})).await;
    assert_eq!(r.is_error, Some(false));
    assert_eq!(fake.requests().len(), 2);
    fake.clear();
    let r = s
        .call(
            "files_upload",
            json!({"content_base64": "aGk=", "file_name": "a.txt"}),
        )
        .await;
    assert_eq!(r.is_error, Some(true));
    assert_eq!(
        fake.requests().len(),
        1,
        "a non-idempotent write must not be retried after a 5xx"
    );
    assert!(text(&r).contains("500"));
}

#[tokio::test]
async fn slow_upstream_times_out_with_advice() {
    let fake = FakeMistral::start().await;
    fake.push(
        "POST /v1/ocr",
        Reply::json(200, json!({})).delayed(Duration::from_secs(5)),
    );
    let s = harness::start(&fake, |o| {
        o.timeout_secs = Some(1);
        o.max_retries = Some(0);
    })
    .await;
    let started = std::time::Instant::now();
    let r = s.call("ocr_process", json!({"document": {"type": "document_url", "document_url": "https://example.com/a.pdf"}})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(
        text(&r).contains("did not answer within 1s"),
        "{}",
        text(&r)
    );
    assert_eq!(structured(&r)["error"]["kind"], "timeout");
}

#[tokio::test]
async fn validation_errors_from_mistral_name_the_field() {
    let fake = FakeMistral::start().await;
    fake.push(
        "POST /v1/chat/completions",
        Reply::json(422, json!({"object": "error", "message": {"detail": [{"type": "extra_forbidden", "loc": ["body", "messages", 0, "content"], "msg": "Input should be a valid string", "input": 5}]}, "type": "invalid_request_error", "param": null, "code": null})),
    );
    let s = harness::start(&fake, |_| {}).await;
    let r = s
        .call(
            "chat_complete",
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(r.is_error, Some(true));
    let t = text(&r);
    assert!(
        t.contains("422") && t.contains("messages.0.content: Input should be a valid string"),
        "{t}"
    );
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_naming_the_field() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let cases = [
        (
            "chat_complete",
            json!({"messages": [{"role": "user", "content": "x"}]}),
            "model",
        ),
        (
            "chat_complete",
            json!({"model": "m", "messages": [{"role": "robot", "content": "x"}]}),
            "messages[0]",
        ),
        (
            "chat_complete",
            json!({"model": "m", "messages": [], "temprature": 1}),
            "temprature",
        ),
        (
            "chat_complete",
            json!({"model": "m", "messages": []}),
            "messages",
        ),
        (
            "embeddings_create",
            json!({"model": "mistral-embed", "input": 42}),
            "input",
        ),
        ("files_list", json!({"page": "first"}), "page"),
        ("files_upload", json!({"purpose": "ocr"}), "path"),
        (
            "files_upload",
            json!({"content_base64": "!!!", "file_name": "a.pdf"}),
            "content_base64",
        ),
        ("files_retrieve", json!({"file_id": ".."}), "file_id"),
        (
            "ocr_process",
            json!({"document": {"type": "fax", "number": "1"}}),
            "document",
        ),
    ];
    harness::check_bad_arguments(&s, &fake, cases).await;
}

#[tokio::test]
async fn unknown_tool_is_a_protocol_error() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let params = rmcp::model::CallToolRequestParams::new("no_such_tool");
    let err = s.client.call_tool(params).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("no_such_tool") || msg.contains("-32602"),
        "{msg}"
    );
}

#[tokio::test]
async fn local_files_outside_allowed_dirs_are_refused() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.pdf"), b"x").unwrap();
    let r = s
        .call("files_upload", json!({"path": outside.path().join("secret.pdf").display().to_string(), "purpose": "ocr"}))
        .await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("outside the directories"), "{}", text(&r));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn ocr_of_a_local_pdf_uploads_then_reads_by_file_id() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let pdf = s.dir.path().join("invoice.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 invoice").unwrap();
    let r = s
        .call_with_progress(
            "ocr_process",
            json!({"document": {"type": "local_path", "path": pdf.display().to_string()}}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    let parts = reqs[0].multipart();
    let file = parts.iter().find(|(n, _, _)| n == "file").unwrap();
    assert_eq!(file.1.as_deref(), Some("invoice.pdf"));
    assert_eq!(file.2, b"%PDF-1.4 invoice");
    assert!(parts.iter().any(|(n, _, v)| n == "purpose" && v == b"ocr"));
    assert_eq!(
        reqs[1].json()["document"],
        json!({"type": "file", "file_id": FILE_ID})
    );
    let t = text(&r);
    assert!(
        t.contains("# INVOICE 2024-001") && t.contains("--- page 2 ---"),
        "{t}"
    );
    assert_eq!(structured(&r)["uploaded_file_id"], FILE_ID);
    assert!(
        !s.progress.lock().unwrap().is_empty(),
        "OCR of a local file reports progress"
    );
}

#[tokio::test]
async fn downloads_inline_small_text_link_binaries_and_save_large_files() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let r = s.call("files_download", json!({"file_id": FILE_ID})).await;
    assert_eq!(r.is_error, Some(false));
    assert_eq!(text(&r), "{\"custom_id\":\"1\"}\n");

    fake.push(
        "GET /v1/files/{id}/content",
        Reply::Bytes {
            status: 200,
            content_type: "image/png".into(),
            body: vec![0x89, 0x50, 0x4e, 0x47, 0xff, 0x00],
        },
    );
    let r = s.call("files_download", json!({"file_id": FILE_ID})).await;
    assert_eq!(r.is_error, Some(false));
    // This client speaks MCP 2025-11-25, which has resource links: the bytes stay on the
    // server until it reads mistral://files/{id}/content.
    let link = r.content.iter().find_map(|c| c.as_resource_link());
    assert_eq!(
        link.map(|l| l.uri.clone()),
        Some(format!("mistral://files/{FILE_ID}/content")),
        "binary comes back as a resource link"
    );

    let big = vec![b'x'; 300 * 1024];
    fake.push(
        "GET /v1/files/{id}/content",
        Reply::Bytes {
            status: 200,
            content_type: "application/octet-stream".into(),
            body: big.clone(),
        },
    );
    let r = s.call("files_download", json!({"file_id": FILE_ID})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("save_to"), "{}", text(&r));

    fake.push(
        "GET /v1/files/{id}/content",
        Reply::Bytes {
            status: 200,
            content_type: "application/octet-stream".into(),
            body: big.clone(),
        },
    );
    let target = s.dir.path().join("out.bin");
    let r = s
        .call(
            "files_download",
            json!({"file_id": FILE_ID, "save_to": target.display().to_string()}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(std::fs::read(&target).unwrap(), big);
    assert!(
        text(&r).len() < 300,
        "a saved download does not dump content"
    );
}

#[tokio::test]
async fn no_api_key_lists_tools_and_explains_how_to_set_it() {
    let fake = FakeMistral::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = harness::test_config(&fake, dir.path(), |_| {});
    config.upstream.api_key = None;
    let s = harness::start_with_config(config, dir).await;
    let tools = s.client.list_all_tools().await.unwrap();
    assert!(tools.len() > 20);
    let r = s.call("models_list", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("MISTRAL_API_KEY"), "{}", text(&r));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn the_key_never_appears_in_results_even_if_upstream_echoes_it() {
    let fake = FakeMistral::start().await;
    fake.push(
        "GET /v1/models",
        Reply::json(401, json!({"message": format!("Invalid key {TEST_KEY}")})),
    );
    let s = harness::start(&fake, |_| {}).await;
    let mut outputs = Vec::new();
    outputs.push(s.call("models_list", json!({})).await);
    outputs.push(
        s.call(
            "chat_complete",
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await,
    );
    outputs.push(s.call("files_download", json!({"file_id": FILE_ID})).await);
    for r in outputs {
        let all = serde_json::to_string(&r).unwrap();
        assert!(!all.contains(TEST_KEY), "key leaked: {all}");
    }
    // The upstream did receive it.
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {TEST_KEY}")))
    );
}

#[tokio::test]
async fn dynamic_mode_reaches_every_tool_through_three() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |o| {
        o.mode = Some(mistral_mcp::config::ToolMode::Dynamic)
    })
    .await;
    let tools = s.client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, vec!["search_tools", "describe_tools", "call_tool"]);

    let r = s
        .call(
            "search_tools",
            json!({"query": "extract text from a scanned PDF"}),
        )
        .await;
    assert_eq!(
        structured(&r)["results"][0]["name"],
        "ocr_process",
        "{}",
        text(&r)
    );

    // The best hits come with their input schema (no describe round trip) and the tools
    // they are told apart from.
    let r = s
        .call(
            "search_tools",
            json!({"query": "stop batch job b_12, it was a mistake"}),
        )
        .await;
    let found = structured(&r);
    let results = found["results"].as_array().unwrap();
    assert_eq!(results[0]["name"], "batch_jobs_cancel", "{}", text(&r));
    assert_eq!(results[0]["inputSchema"]["type"], "object");
    assert!(results[0]["inputSchema"]["properties"]["job_id"].is_object());
    assert_eq!(results[1]["inputSchema"]["type"], "object");
    assert!(results[2].get("inputSchema").is_none());
    let related: Vec<&str> = results[0]["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(related.contains(&"batch_jobs_get"), "{related:?}");
    assert!(text(&r).contains("Related: "), "{}", text(&r));
    assert!(found["close_call"].is_boolean());

    let r = s.call("search_tools", json!({"query": "zzqx qqzv"})).await;
    assert!(text(&r).contains("No tool matches"), "{}", text(&r));
    assert!(
        text(&r).contains("batch"),
        "suggests toolsets: {}",
        text(&r)
    );

    let r = s
        .call("describe_tools", json!({"names": ["ocr_process", "nope"]}))
        .await;
    let d = structured(&r);
    assert_eq!(d["tools"][0]["inputSchema"]["type"], "object");
    assert_eq!(d["unknown"], json!(["nope"]));

    let r = s
        .call(
            "call_tool",
            json!({"name": "models_retrieve", "arguments": {"model_id": "mistral-small-latest"}}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(structured(&r)["id"], "mistral-small-latest");

    let r = s
        .call(
            "call_tool",
            json!({"name": "model_retrieve", "arguments": {}}),
        )
        .await;
    assert_eq!(r.is_error, Some(true));
    assert!(
        text(&r).contains("models_retrieve"),
        "suggests the right name: {}",
        text(&r)
    );
}

#[tokio::test]
async fn read_only_mode_hides_and_refuses_writes() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |o| {
        o.read_only = true;
        o.mode = Some(mistral_mcp::config::ToolMode::All);
    })
    .await;
    let tools = s.client.list_all_tools().await.unwrap();
    assert!(
        tools
            .iter()
            .all(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true))
    );
    assert!(tools.iter().any(|t| t.name == "files_list"));
    assert!(
        s.client
            .call_tool(rmcp::model::CallToolRequestParams::new("files_delete"))
            .await
            .is_err()
    );
    let r = s
        .call("search_tools", json!({"query": "delete a file"}))
        .await;
    assert!(!text(&r).contains("files_delete"));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn toolset_filter_limits_the_list() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |o| {
        o.toolsets = Some(vec!["ocr".into(), "files".into()])
    })
    .await;
    let tools = s.client.list_all_tools().await.unwrap();
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert!(
        names.contains(&"ocr_process".to_string()) && names.contains(&"files_upload".to_string())
    );
    assert!(!names.contains(&"chat_complete".to_string()));
}

#[tokio::test]
async fn cancelling_a_call_stops_the_upstream_wait() {
    let fake = FakeMistral::start().await;
    fake.push(
        "POST /v1/chat/completions",
        Reply::json(200, common::chat_response("late")).delayed(Duration::from_secs(30)),
    );
    let s = harness::start(&fake, |_| {}).await;
    let params = rmcp::model::CallToolRequestParams::new("chat_complete").with_arguments(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            .as_object()
            .cloned()
            .unwrap(),
    );
    let started = std::time::Instant::now();
    // Dropping the call future cancels the request (notifications/cancelled).
    let outcome =
        tokio::time::timeout(Duration::from_millis(300), s.client.call_tool(params)).await;
    assert!(outcome.is_err());
    // The server is still responsive right after.
    let r = s.call("models_list", json!({})).await;
    assert_eq!(r.is_error, Some(false));
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// The validator used above rejects what Mistral rejects, so the spec checks can fail.
#[test]
fn spec_validator_rejects_invalid_bodies() {
    let Some(spec) = spec::spec() else { return };
    let ok = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    spec.check_json_body("POST", "/v1/chat/completions", &ok)
        .unwrap();
    for bad in [
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 5}),
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": null, "stream": null}),
        json!({"messages": [{"role": "user", "content": "hi"}]}),
        json!({"model": "m", "messages": [{"role": "robot", "content": "hi"}]}),
    ] {
        assert!(
            spec.check_json_body("POST", "/v1/chat/completions", &bad)
                .is_err(),
            "accepted {bad}"
        );
    }
    assert!(
        spec.check_params("GET", "/v1/files", "page=0&bogus=1")
            .is_err()
    );
    assert!(
        spec.check_multipart_fields("POST", "/v1/files", &["purpose".into()])
            .is_err()
    );
    assert!(
        spec.check_multipart_fields("POST", "/v1/files", &["file".into(), "purpose".into()])
            .is_ok()
    );
}

/// A stream still running when the per-call time budget is about to end hands back what
/// arrived, marked as partial, instead of an error that loses it.
#[tokio::test]
async fn a_stream_cut_by_the_time_budget_returns_the_partial_answer() {
    let fake = FakeMistral::start().await;
    fake.push(
        "POST /v1/chat/completions",
        Reply::Sse {
            events: common::chat_stream_events(&[
                "Paris ", "is ", "the ", "capital ", "of ", "France.",
            ]),
            pause: Duration::from_millis(400),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let mut config = harness::test_config(&fake, dir.path(), |_| {});
    config.tools.call_budget = Duration::from_secs(3);
    let s = harness::start_with_config(config, dir).await;
    let r = s
        .call(
            "chat_complete",
            json!({"model": "mistral-small-latest", "stream": true, "messages": [{"role": "user", "content": "Capital of France?"}]}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let v = structured(&r);
    assert!(
        v["incomplete"].as_str().unwrap().contains("time budget"),
        "{v}"
    );
    let answer = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(answer.starts_with("Paris"), "{answer}");
    assert!(!answer.contains("France."), "{answer}");
    assert!(text(&r).starts_with("[stopped early"), "{}", text(&r));
}
