//! The shared state store with a real Redis, through the real binary: one rate limit and one
//! daily budget per credential across two replicas, usage recorded and read back by
//! `mistral-mcp usage`, and what happens when Redis dies mid-run and comes back.
//!
//! Needs `MISTRAL_MCP_TEST_REDIS_URL` (scripts/test starts a throwaway redis-server and sets
//! it); without it every test here says loudly that it was skipped. The outage test starts
//! its own redis-server on a free port, so it can stop it without touching the shared one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::FakeMistral;
use common::http::{BIN, HttpServer, post, spawn_with_config, tools_call, tools_list};
use mistral_mcp::access::TokenHash;
use serde_json::{Value, json};

const LIMITED: &str = "mmcp_test_limited_token_0123456789";
const BUDGET_REQ: &str = "mmcp_test_budget_requests_token_01";
const BUDGET_TOK: &str = "mmcp_test_budget_tokens_token_0123";
const FREE: &str = "mmcp_test_free_token_0123456789abcd";

/// A config with four tokens, state in Redis at `url` under a prefix of its own.
fn config(url: &str, prefix: &str) -> String {
    format!(
        r#"
[state]
backend = "redis"
url = "{url}"
key_prefix = "{prefix}"

[[http.tokens]]
name = "limited"
hash = "{limited}"
rate_limit_per_minute = 3

[[http.tokens]]
name = "budget-req"
hash = "{budget_req}"
max_requests_per_day = 3

[[http.tokens]]
name = "budget-tok"
hash = "{budget_tok}"
max_tokens_per_day = 30

[[http.tokens]]
name = "free"
hash = "{free}"
"#,
        limited = TokenHash::of(LIMITED).to_config_string(),
        budget_req = TokenHash::of(BUDGET_REQ).to_config_string(),
        budget_tok = TokenHash::of(BUDGET_TOK).to_config_string(),
        free = TokenHash::of(FREE).to_config_string(),
    )
}

fn prefix(test: &str) -> String {
    let nonce: u64 = rand::random();
    format!("it-{test}-{nonce:x}")
}

/// POSTs as `token`; the status and the JSON body (the JSON-RPC response or an HTTP error).
async fn call(server: &HttpServer, token: &str, body: &Value) -> (u16, Value, Option<String>) {
    let response = post(
        &server.mcp_url(),
        &[("authorization", &format!("Bearer {token}"))],
        body,
    )
    .await;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        retry_after,
    )
}

fn chat() -> Value {
    tools_call(
        "chat_complete",
        json!({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}]}),
    )
}

fn is_error(body: &Value) -> bool {
    body["result"]["isError"] == json!(true)
}

fn error_kind(body: &Value) -> String {
    body["result"]["structuredContent"]["error"]["kind"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn result_text(body: &Value) -> String {
    body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

async fn two_replicas(fake: &FakeMistral, url: &str, prefix: &str) -> (HttpServer, HttpServer) {
    let cfg = config(url, prefix);
    let a = spawn_with_config(fake, &[], &cfg).await.unwrap();
    let b = spawn_with_config(fake, &[], &cfg).await.unwrap();
    (a, b)
}

#[tokio::test]
async fn one_rate_limit_across_two_replicas() {
    let Some(url) = common::redis_url("one_rate_limit_across_two_replicas") else {
        return;
    };
    let fake = FakeMistral::start().await;
    let (a, b) = two_replicas(&fake, &url, &prefix("rate")).await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let server = if i % 2 == 0 { &a } else { &b };
        statuses.push(call(server, LIMITED, &tools_list()).await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429, 429, 429]);
    let (status, body, retry_after) = call(&b, LIMITED, &tools_list()).await;
    assert_eq!(status, 429);
    let wait: u64 = retry_after.unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    assert_eq!(body["error"], "rate_limited");
    // Another credential is not limited by it.
    assert_eq!(call(&a, FREE, &tools_list()).await.0, 200);
}

#[tokio::test]
async fn daily_budgets_hold_across_two_replicas_and_usage_is_readable() {
    let Some(url) = common::redis_url("daily_budgets_hold_across_two_replicas") else {
        return;
    };
    let fake = FakeMistral::start().await;
    let prefix = prefix("budget");
    let (a, b) = two_replicas(&fake, &url, &prefix).await;

    // Requests: 3 calls pass, alternating replicas; the 4th is refused before Mistral.
    for i in 0..3 {
        let server = if i % 2 == 0 { &a } else { &b };
        let (status, body, _) =
            call(server, BUDGET_REQ, &tools_call("models_list", json!({}))).await;
        assert_eq!(status, 200);
        assert!(!is_error(&body), "{body}");
    }
    let before = fake.requests().len();
    let (_, body, _) = call(&b, BUDGET_REQ, &tools_call("models_list", json!({}))).await;
    assert!(is_error(&body), "{body}");
    assert_eq!(error_kind(&body), "over_daily_budget");
    let text = result_text(&body);
    assert!(text.contains("`budget-req`"), "{text}");
    assert!(
        text.contains("3 requests") && text.contains("3 used today"),
        "{text}"
    );
    assert!(text.contains("00:00 UTC (in "), "{text}");
    assert_eq!(
        fake.requests().len(),
        before,
        "a refused call must not reach Mistral"
    );

    // Tokens: each chat reports 19; a budget of 30 lets two calls run, then refuses.
    assert!(!is_error(&call(&a, BUDGET_TOK, &chat()).await.1));
    // The streamed path reports usage too (the fake's stream says 10 + 3 tokens).
    let streamed = tools_call(
        "chat_complete",
        json!({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}], "stream": true}),
    );
    assert!(!is_error(&call(&b, BUDGET_TOK, &streamed).await.1));
    let (_, body, _) = call(&a, BUDGET_TOK, &chat()).await;
    assert_eq!(error_kind(&body), "over_daily_budget", "{body}");
    assert!(
        result_text(&body).contains("32 used today"),
        "{}",
        result_text(&body)
    );

    // Both replicas wrote to one place: `mistral-mcp usage` reads it back.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, config(&url, &prefix)).unwrap();
    let out = tokio::process::Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "usage", "--json"])
        .env_remove("MISTRAL_MCP_STATE_URL")
        .env_remove("MISTRAL_MCP_STATE")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let row = |p: &str, m: &str| {
        rows.iter()
            .find(|r| r["principal"] == p && r["model"] == m)
            .cloned()
            .unwrap_or_else(|| panic!("no row {p}/{m}: {report:#}"))
    };
    assert_eq!(row("budget-req", "*")["requests"], 3);
    assert_eq!(row("budget-tok", "*")["requests"], 2);
    assert_eq!(row("budget-tok", "*")["total_tokens"], 32);
    let model = row("budget-tok", "mistral-small-latest");
    assert_eq!(model["prompt_tokens"], 22);
    assert_eq!(model["completion_tokens"], 10);
    assert_eq!(model["total_tokens"], 32);
    assert!(
        !report.to_string().contains("mmcp_test"),
        "no token in the report"
    );

    let table = tokio::process::Command::new(BIN)
        .args(["--config", cfg.to_str().unwrap(), "usage"])
        .output()
        .await
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("PRINCIPAL") && table.contains("budget-tok"),
        "{table}"
    );

    // The metric, on the replica that served the first chat.
    let metrics = reqwest::get(format!("{}/metrics", a.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"mistral_mcp_usage_tokens_total{principal="budget-tok",model="mistral-small-latest",kind="total"} 19"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn usage_with_the_memory_backend_says_where_usage_lives() {
    let out = tokio::process::Command::new(BIN)
        .arg("usage")
        .env_remove("MISTRAL_MCP_STATE_URL")
        .env_remove("MISTRAL_MCP_STATE")
        .env_remove("MISTRAL_MCP_CONFIG")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("memory") && err.contains("/metrics") && err.contains("redis"),
        "{err}"
    );
}

/// A redis-server of this test's own, on a free loopback port.
struct OwnRedis {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start(port: u16) -> OwnRedis {
        let dir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        OwnRedis {
            child,
            port,
            _dir: dir,
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn redis_down_fails_closed_then_recovers_without_a_restart() {
    if common::redis_url("redis_down_fails_closed_then_recovers_without_a_restart").is_none() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut redis = OwnRedis::start(port);
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    let fake = FakeMistral::start().await;
    let server = spawn_with_config(&fake, &[], &config(&url, "outage"))
        .await
        .unwrap();
    assert_eq!(call(&server, LIMITED, &tools_list()).await.0, 200);

    redis.stop();
    // Rate-limited credential: 503, Retry-After, a body that says why.
    let started = Instant::now();
    let (status, body, retry_after) = call(&server, LIMITED, &tools_list()).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(retry_after.as_deref(), Some("2"));
    assert_eq!(body["error"], "state_unavailable");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{body}"
    );
    // A budgeted credential: a tool error, and nothing sent to Mistral.
    let before = fake.requests().len();
    let (status, body, _) = call(&server, BUDGET_REQ, &tools_call("models_list", json!({}))).await;
    assert_eq!(status, 200);
    assert_eq!(error_kind(&body), "state_unavailable", "{body}");
    assert_eq!(fake.requests().len(), before);
    // A credential with neither: the call runs; only the usage record is lost (logged).
    let (status, body, _) = call(&server, FREE, &chat()).await;
    assert_eq!(status, 200);
    assert!(!is_error(&body), "{body}");
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"mistral_mcp_state_errors_total{op="rate_check"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"mistral_mcp_state_errors_total{op="admit"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"mistral_mcp_http_rejected_total{reason="state_unavailable"}"#),
        "{metrics}"
    );
    let logs = server.logs();
    assert!(logs.contains("rate limit not checked"), "{logs}");
    assert!(!logs.contains(common::TEST_KEY) && !logs.contains(LIMITED));

    // Redis back on the same port: the same server process recovers on its own.
    let _redis = OwnRedis::start(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, _) = call(&server, LIMITED, &tools_list()).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery within 10 s (last status {status})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body, _) = call(&server, BUDGET_REQ, &tools_call("models_list", json!({}))).await;
    assert_eq!(status, 200);
    assert!(!is_error(&body), "{body}");
    assert!(server.child.id().is_some(), "the server kept running");
}

#[tokio::test]
async fn a_server_starts_while_redis_is_down() {
    if common::redis_url("a_server_starts_while_redis_is_down").is_none() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fake = FakeMistral::start().await;
    let url = format!("redis://127.0.0.1:{port}/0");
    let server = spawn_with_config(&fake, &[], &config(&url, "late"))
        .await
        .unwrap();
    let logs = server.logs();
    assert!(logs.contains("state store"), "{logs}");
    assert_eq!(call(&server, LIMITED, &tools_list()).await.0, 503);
    let ready = reqwest::get(format!("{}/readyz", server.base))
        .await
        .unwrap();
    assert_eq!(
        ready.status(),
        200,
        "readiness is about this replica, not Redis"
    );
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["state"], "unreachable", "{ready}");
    let _redis = OwnRedis::start(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while call(&server, LIMITED, &tools_list()).await.0 != 200 {
        assert!(Instant::now() < deadline, "no recovery within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready: Value = reqwest::get(format!("{}/readyz", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["state"], "ok", "{ready}");
}
