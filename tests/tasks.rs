//! MCP tasks (SEP-2663) through the real binary over Streamable HTTP, with raw JSON-RPC as
//! a client that declares the tasks extension per request: a batch wait answers with a
//! task, polling shows progress and then the result, tasks/cancel stops the job on
//! Mistral. Clients without the extension get the plain call, answered within
//! `max_wait_secs`. With `MISTRAL_MCP_TEST_REDIS_URL`, two replicas share the task records:
//! a task started on A is polled and cancelled on B, and one whose replica stopped is
//! taken over.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::fake_jobs::{BATCH_JOB_ID, batch_job};
use common::http::{HttpServer, post, spawn_with_config};
use common::{FakeMistral, Reply};
use serde_json::{Value, json};

fn tasks_meta() -> Value {
    json!({"io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}})
}

async fn rpc(server: &HttpServer, method: &str, mut params: Value, tasks: bool) -> Value {
    if tasks {
        params["_meta"] = tasks_meta();
    }
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
    let response = post(&server.mcp_url(), &[], &body).await;
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

async fn start_wait(server: &HttpServer) -> String {
    let created = rpc(
        server,
        "tools/call",
        json!({"name": "batch_jobs_wait", "arguments": {"job_id": BATCH_JOB_ID}}),
        true,
    )
    .await;
    let result = &created["result"];
    assert_eq!(result["resultType"], "task", "{created}");
    assert_eq!(result["status"], "working", "{created}");
    assert!(result["ttlMs"].as_u64().unwrap() > 0);
    assert!(result["pollIntervalMs"].as_u64().is_some());
    assert!(
        result.get("task").is_none(),
        "flat, no nested task: {created}"
    );
    result["taskId"].as_str().unwrap().to_string()
}

async fn poll_until(server: &HttpServer, id: &str, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        let got = rpc(server, "tasks/get", json!({"taskId": id}), true).await;
        let task = got["result"].clone();
        assert!(task.is_object(), "{got}");
        seen.push(task.clone());
        if done(&task) {
            return seen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "task never got there: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether a task's status message contains `text`.
fn says(task: &Value, text: &str) -> bool {
    task["statusMessage"].as_str().unwrap_or("").contains(text)
}

fn running_job(times: usize, fake: &FakeMistral) {
    for i in 0..times {
        fake.push(
            "GET /v1/batch/jobs/{id}",
            Reply::json(200, batch_job("RUNNING", i.min(9) as u64, 10)),
        );
    }
}

#[tokio::test]
async fn a_batch_wait_becomes_a_task_that_reports_progress_and_then_its_result() {
    let fake = FakeMistral::start().await;
    running_job(2, &fake);
    fake.push(
        "GET /v1/batch/jobs/{id}",
        Reply::json(200, batch_job("SUCCESS", 10, 10)),
    );
    let server = spawn_with_config(&fake, &[], "").await.unwrap();
    let id = start_wait(&server).await;
    // Durable at once: the first poll finds it.
    let seen = poll_until(&server, &id, |t| t["status"] == "completed").await;
    let last = seen.last().unwrap();
    let text = last["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("SUCCESS"), "{last}");
    assert_eq!(last["result"]["structuredContent"]["status"], "SUCCESS");
    assert!(last.get("error").is_none());
    assert!(
        seen.iter()
            .any(|t| t["status"] == "working" && says(t, "RUNNING")),
        "progress shows while it runs: {seen:?}"
    );

    // Tasks are gated on the extension (SEP-2575: -32021).
    let gated = rpc(&server, "tasks/get", json!({"taskId": id}), false).await;
    assert_eq!(gated["error"]["code"], -32021, "{gated}");
    let unknown = rpc(&server, "tasks/get", json!({"taskId": "task-nope"}), true).await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    // Cancelling a finished task is an empty ack, and changes nothing.
    let ack = rpc(&server, "tasks/cancel", json!({"taskId": id}), true).await;
    assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
    let still = rpc(&server, "tasks/get", json!({"taskId": id}), true).await;
    assert_eq!(still["result"]["status"], "completed");
}

#[tokio::test]
async fn cancelling_a_wait_task_cancels_the_batch_job_on_mistral() {
    let fake = FakeMistral::start().await;
    running_job(200, &fake);
    let server = spawn_with_config(&fake, &[], "").await.unwrap();
    let id = start_wait(&server).await;
    poll_until(&server, &id, |t| says(t, "RUNNING")).await;
    let ack = rpc(&server, "tasks/cancel", json!({"taskId": id}), true).await;
    assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
    let got = rpc(&server, "tasks/get", json!({"taskId": id}), true).await;
    assert_eq!(got["result"]["status"], "cancelled", "{got}");
    assert!(
        got["result"]["statusMessage"]
            .as_str()
            .unwrap()
            .contains("batch_jobs_cancel"),
        "{got}"
    );
    let cancel = fake
        .requests()
        .into_iter()
        .find(|r| r.route() == "POST /v1/batch/jobs/{id}/cancel" || r.route().ends_with("/cancel"))
        .expect("the job was cancelled upstream");
    common::assert_valid_upstream(&cancel);
    // The runner stopped: no more polls after a moment.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let polls = fake.requests().len();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(fake.requests().len(), polls, "the wait stopped polling");
}

#[tokio::test]
async fn a_client_without_tasks_gets_the_last_state_within_max_wait() {
    let fake = FakeMistral::start().await;
    running_job(200, &fake);
    let server = spawn_with_config(&fake, &[], "[tools]\nmax_wait_secs = 2\n")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = rpc(
        &server,
        "tools/call",
        json!({"name": "batch_jobs_wait", "arguments": {"job_id": BATCH_JOB_ID, "timeout_secs": 600}}),
        false,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    let result = &answer["result"];
    assert!(result.get("taskId").is_none(), "{answer}");
    assert_ne!(result["isError"], true, "{answer}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("RUNNING"), "{text}");
    assert!(
        text.contains("batch_jobs_wait"),
        "says how to keep waiting: {text}"
    );
}

#[tokio::test]
async fn a_quick_tool_is_never_a_task() {
    let fake = FakeMistral::start().await;
    let server = spawn_with_config(&fake, &[], "").await.unwrap();
    let answer = rpc(
        &server,
        "tools/call",
        json!({"name": "models_list", "arguments": {}}),
        true,
    )
    .await;
    assert!(answer["result"].get("taskId").is_none(), "{answer}");
    assert!(answer["result"]["content"].is_array(), "{answer}");
}

fn redis_config(url: &str) -> String {
    let nonce: u64 = rand::random();
    format!("[state]\nbackend = \"redis\"\nurl = \"{url}\"\nkey_prefix = \"it-tasks-{nonce:x}\"\n")
}

#[tokio::test]
async fn with_redis_a_task_started_on_one_replica_is_polled_and_cancelled_on_another() {
    let Some(url) = common::redis_url(
        "with_redis_a_task_started_on_one_replica_is_polled_and_cancelled_on_another",
    ) else {
        return;
    };
    let fake = FakeMistral::start().await;
    let cfg = redis_config(&url);
    let a = spawn_with_config(&fake, &[], &cfg).await.unwrap();
    let b = spawn_with_config(&fake, &[], &cfg).await.unwrap();

    running_job(1, &fake);
    fake.push(
        "GET /v1/batch/jobs/{id}",
        Reply::json(200, batch_job("SUCCESS", 10, 10)),
    );
    let id = start_wait(&a).await;
    let seen = poll_until(&b, &id, |t| t["status"] == "completed").await;
    assert_eq!(
        seen.last().unwrap()["result"]["structuredContent"]["status"],
        "SUCCESS"
    );

    running_job(200, &fake);
    let id = start_wait(&a).await;
    poll_until(&b, &id, |t| says(t, "RUNNING")).await;
    let ack = rpc(&b, "tasks/cancel", json!({"taskId": id}), true).await;
    assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.route().ends_with("/cancel")),
        "B cancelled the job upstream"
    );
    // A's runner sees the cancelled record at its next heartbeat and stops polling.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let polls = fake.requests().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.requests().len(), polls, "A stopped its wait");
    let got = rpc(&a, "tasks/get", json!({"taskId": id}), true).await;
    assert_eq!(got["result"]["status"], "cancelled", "{got}");
}

#[tokio::test]
async fn with_redis_a_wait_whose_replica_stopped_is_taken_over_by_the_next_poll() {
    let Some(url) =
        common::redis_url("with_redis_a_wait_whose_replica_stopped_is_taken_over_by_the_next_poll")
    else {
        return;
    };
    let fake = FakeMistral::start().await;
    let cfg = redis_config(&url);
    let mut a = spawn_with_config(&fake, &[], &cfg).await.unwrap();
    let b = spawn_with_config(&fake, &[], &cfg).await.unwrap();
    running_job(3, &fake);
    fake.push(
        "GET /v1/batch/jobs/{id}",
        Reply::json(200, batch_job("SUCCESS", 10, 10)),
    );
    let id = start_wait(&a).await;
    poll_until(&b, &id, |t| says(t, "RUNNING")).await;
    a.child.kill().await.unwrap();
    // Past the lease, B's next poll takes the wait over and runs it to the end.
    let seen = poll_until(&b, &id, |t| t["status"] == "completed").await;
    assert!(seen.iter().any(|t| says(t, "resumed")), "{seen:?}");
    assert_eq!(
        seen.last().unwrap()["result"]["structuredContent"]["status"],
        "SUCCESS"
    );
}

/// The rmcp client over stdio, declaring the tasks extension at initialize: what a desktop
/// client with tasks support does.
#[tokio::test]
async fn the_rmcp_client_gets_a_task_polls_it_and_cancels_the_job_upstream() {
    use rmcp::ServiceExt;
    use rmcp::model::{
        CallToolRequestParams, CallToolResponse, CancelTaskParams, ClientCapabilities,
        ClientConfig, GetTaskParams, Implementation, TaskPayload, TaskStatus,
    };
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};

    let fake = FakeMistral::start().await;
    running_job(2, &fake);
    fake.push(
        "GET /v1/batch/jobs/{id}",
        Reply::json(200, batch_job("SUCCESS", 10, 10)),
    );
    let env = common::server_env(&fake);
    let (transport, _stderr) = TokioChildProcess::builder(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mistral-mcp")).configure(|c| {
            c.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            c.env("RUST_LOG", "warn");
        }),
    )
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let config = ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("tasks-test", "0"),
    );
    let client = config.serve(transport).await.unwrap();
    let wait = || {
        CallToolRequestParams::new("batch_jobs_wait").with_arguments(
            json!({"job_id": BATCH_JOB_ID})
                .as_object()
                .cloned()
                .unwrap(),
        )
    };
    let CallToolResponse::Task(created) = client.call_tool_once(wait()).await.unwrap() else {
        panic!("expected a task");
    };
    let id = created.task.task_id.clone();
    let started = Instant::now();
    let mut messages = Vec::new();
    let result = loop {
        let got = client
            .get_task(GetTaskParams::new(id.clone()))
            .await
            .unwrap();
        messages.extend(got.task.task.status_message.clone());
        if let TaskPayload::Completed { result } = got.task.payload {
            break result;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{messages:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(result["structuredContent"]["status"], "SUCCESS");
    assert!(
        messages.iter().any(|m| m.contains("RUNNING")),
        "{messages:?}"
    );

    running_job(200, &fake);
    let CallToolResponse::Task(created) = client.call_tool_once(wait()).await.unwrap() else {
        panic!("expected a task");
    };
    let id = created.task.task_id.clone();
    tokio::time::sleep(Duration::from_millis(500)).await;
    client
        .cancel_task(CancelTaskParams::new(id.clone()))
        .await
        .unwrap();
    let got = client.get_task(GetTaskParams::new(id)).await.unwrap();
    assert_eq!(got.task.task.status, TaskStatus::Cancelled);
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.route().ends_with("/cancel")),
        "the batch job was cancelled on Mistral"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_streamed_chat_task_shows_its_text_so_far_then_the_whole_answer() {
    let fake = FakeMistral::start().await;
    let events =
        common::chat_stream_events(&["Paris ", "is ", "the ", "capital ", "of ", "France."]);
    let chunks: Vec<String> = events.iter().map(|e| format!("{e}\n\n")).collect();
    let chunks: Vec<&[u8]> = chunks.iter().map(|c| c.as_bytes()).collect();
    fake.push(
        "POST /v1/chat/completions",
        Reply::raw(200, "text/event-stream", chunks).paced(Duration::from_millis(400)),
    );
    let server = spawn_with_config(&fake, &[], "").await.unwrap();
    let created = rpc(
        &server,
        "tools/call",
        json!({"name": "chat_complete", "arguments": {"model": "mistral-small-latest", "stream": true,
               "messages": [{"role": "user", "content": "Capital of France?"}]}}),
        true,
    )
    .await;
    let id = created["result"]["taskId"].as_str().unwrap().to_string();
    let seen = poll_until(&server, &id, |t| t["status"] == "completed").await;
    assert!(
        seen.iter()
            .any(|t| t["status"] == "working" && says(t, "Paris is")),
        "the text so far shows while it streams: {seen:?}"
    );
    let last = seen.last().unwrap();
    assert_eq!(
        last["result"]["structuredContent"]["choices"][0]["message"]["content"],
        "Paris is the capital of France."
    );
}

async fn rpc_as(server: &HttpServer, token: &str, method: &str, mut params: Value) -> Value {
    params["_meta"] = tasks_meta();
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": params});
    let auth = format!("Bearer {token}");
    let response = post(&server.mcp_url(), &[("authorization", &auth)], &body).await;
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// A task and a resource belong to what the caller may see: another credential cannot poll
/// or cancel someone's task, and a credential without the files toolset reads no files.
#[tokio::test]
async fn tasks_and_resources_follow_the_callers_grant() {
    use mistral_mcp::access::TokenHash;
    const ALICE: &str = "mmcp_test_alice_token_0123456789abcdef";
    const BOB: &str = "mmcp_test_bob_token_0123456789abcdefgh";
    const CHAT: &str = "mmcp_test_chat_only_token_0123456789ab";
    let fake = FakeMistral::start().await;
    running_job(200, &fake);
    let cfg = format!(
        "[[http.tokens]]\nname = \"alice\"\nhash = \"{}\"\n\n[[http.tokens]]\nname = \"bob\"\nhash = \"{}\"\n\n\
         [[http.tokens]]\nname = \"chat-only\"\nhash = \"{}\"\ntoolsets = [\"chat\"]\n",
        TokenHash::of(ALICE).to_config_string(),
        TokenHash::of(BOB).to_config_string(),
        TokenHash::of(CHAT).to_config_string(),
    );
    let server = spawn_with_config(&fake, &[], &cfg).await.unwrap();
    let created = rpc_as(
        &server,
        ALICE,
        "tools/call",
        json!({"name": "batch_jobs_wait", "arguments": {"job_id": BATCH_JOB_ID}}),
    )
    .await;
    let id = created["result"]["taskId"].as_str().unwrap().to_string();
    for method in ["tasks/get", "tasks/cancel"] {
        let other = rpc_as(&server, BOB, method, json!({"taskId": id})).await;
        assert_eq!(other["error"]["code"], -32602, "{method}: {other}");
    }
    let mine = rpc_as(&server, ALICE, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(mine["result"]["status"], "working", "{mine}");
    let ack = rpc_as(&server, ALICE, "tasks/cancel", json!({"taskId": id})).await;
    assert!(ack.get("result").is_some(), "{ack}");

    let listed = rpc_as(&server, CHAT, "resources/list", json!({})).await;
    assert_eq!(listed["result"]["resources"], json!([]), "{listed}");
    let read = rpc_as(
        &server,
        CHAT,
        "resources/read",
        json!({"uri": "mistral://files/f-1"}),
    )
    .await;
    assert_eq!(read["error"]["code"], -32602, "{read}");
    assert!(
        read["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not available to this caller"),
        "{read}"
    );
    let prompts = rpc_as(&server, CHAT, "prompts/list", json!({})).await;
    assert_eq!(prompts["result"]["prompts"], json!([]), "{prompts}");
}
