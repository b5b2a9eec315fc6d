//! The real binary serving Streamable HTTP, driven by the rmcp HTTP client and raw requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::harness::RecordingClient;
use common::http::spawn;
use common::{FakeMistral, TEST_KEY};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, NumberOrString, ProgressToken, RequestMetaObject};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

fn args(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[tokio::test]
async fn http_client_lists_calls_and_streams_with_progress() {
    let fake = FakeMistral::start().await;
    let server = spawn(&fake, &[], "127.0.0.1:0").await.unwrap();

    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");

    let transport = StreamableHttpClientTransport::from_uri(format!("{}/mcp", server.base));
    let handler = RecordingClient::default();
    let progress = handler.progress.clone();
    let client = handler.serve(transport).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "ocr_process"));

    let chat = json!({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "Capital of France?"}]});
    let r = client
        .call_tool(CallToolRequestParams::new("chat_complete").with_arguments(args(chat.clone())))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(false));

    let mut streamed = chat;
    streamed["stream"] = json!(true);
    let mut params = CallToolRequestParams::new("chat_complete").with_arguments(args(streamed));
    params.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
        NumberOrString::String("h1".into()),
    )));
    let r = client.call_tool(params).await.unwrap();
    assert_eq!(r.is_error, Some(false));
    assert_eq!(
        r.structured_content.as_ref().unwrap()["choices"][0]["message"]["content"],
        "Paris is the capital."
    );
    assert!(
        !progress.lock().unwrap().is_empty(),
        "progress arrives over HTTP too"
    );

    let r = client
        .call_tool(
            CallToolRequestParams::new("files_retrieve")
                .with_arguments(args(json!({"file_id": 7}))),
        )
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    assert!(common::harness::text(&r).contains("file_id"));
    client.cancel().await.unwrap();

    let logs = server.logs.lock().unwrap().clone();
    assert!(!logs.contains(TEST_KEY));
    for rec in fake.requests() {
        common::assert_valid_upstream(&rec);
    }
}

async fn raw_post(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    common::http::post(url, headers, &common::http::initialize()).await
}

#[tokio::test]
async fn host_and_origin_checks_block_rebinding() {
    let fake = FakeMistral::start().await;
    let server = spawn(&fake, &[], "127.0.0.1:0").await.unwrap();
    let url = format!("{}/mcp", server.base);
    assert_eq!(raw_post(&url, &[]).await.status(), 200);
    assert_eq!(
        raw_post(&url, &[("host", "evil.example.com")])
            .await
            .status(),
        403
    );
    assert_eq!(
        raw_post(&url, &[("origin", "https://evil.example.com")])
            .await
            .status(),
        403
    );
    assert_eq!(
        raw_post(&url, &[("origin", "http://localhost:6274")])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn bearer_token_is_required_when_configured() {
    let fake = FakeMistral::start().await;
    let token = "inbound-token-123";
    let server = spawn(&fake, &[("MISTRAL_MCP_HTTP_TOKEN", token)], "127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("{}/mcp", server.base);
    let r = raw_post(&url, &[]).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    assert_eq!(
        raw_post(&url, &[("authorization", "Bearer wrong")])
            .await
            .status(),
        401
    );
    assert_eq!(
        raw_post(&url, &[("authorization", &format!("Bearer {token}"))])
            .await
            .status(),
        200
    );
    // Health stays open for probes.
    assert_eq!(
        reqwest::get(format!("{}/healthz", server.base))
            .await
            .unwrap()
            .status(),
        200
    );

    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header(token),
    );
    let client = ().serve(transport).await.unwrap();
    let r = client
        .call_tool(CallToolRequestParams::new("models_list"))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(false));
    // The inbound token is not forwarded upstream: Mistral sees the server's key only.
    for rec in fake.requests() {
        assert_eq!(
            rec.header("authorization"),
            Some(format!("Bearer {TEST_KEY}").as_str())
        );
    }
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn non_loopback_bind_without_token_refuses_to_start() {
    let fake = FakeMistral::start().await;
    let err = spawn(&fake, &[], "0.0.0.0:0")
        .await
        .err()
        .expect("must refuse");
    assert!(err.contains("MISTRAL_MCP_HTTP_TOKEN"), "{err}");
}

#[tokio::test]
async fn session_mode_issues_session_ids_and_serves_the_client() {
    let fake = FakeMistral::start().await;
    let server = common::http::spawn_with_config(&fake, &[], "[http]\nsession_mode = true\n")
        .await
        .unwrap();
    let url = format!("{}/mcp", server.base);
    let r = raw_post(&url, &[]).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("mcp-session-id").is_some());

    let transport = StreamableHttpClientTransport::from_uri(url);
    let client = ().serve(transport).await.unwrap();
    let r = client
        .call_tool(CallToolRequestParams::new("models_list"))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(false));
    client.cancel().await.unwrap();
}
