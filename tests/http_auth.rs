//! The shared HTTP endpoint as a team runs it: named tokens with their own grants, limits
//! and Mistral keys, the protections in front of `/mcp`, metrics, request ids, and a
//! drain on SIGTERM. The real binary, raw HTTP, the fake upstream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::http::{
    HttpServer, initialize, post, post_raw, spawn_with, spawn_with_config, tools_call, tools_list,
};
use common::{FakeMistral, Reply, TEST_KEY};
use mistral_mcp::access::TokenHash;
use serde_json::{Value, json};

const FULL: &str = "mmcp_full_0123456789abcdef0123456789abcdef";
const READER: &str = "mmcp_reader_0123456789abcdef0123456789abcd";
const LIMITED: &str = "mmcp_limited_0123456789abcdef0123456789ab";
const TEAM_B: &str = "mmcp_teamb_0123456789abcdef0123456789abcde";
const KEY_FULL: &str = "sk-team-a-VAULTED-aaaaaaaaaaaaaaaa";
const KEY_TEAM_B: &str = "sk-team-b-VAULTED-bbbbbbbbbbbbbbbb";

struct Team {
    _dir: tempfile::TempDir,
    server: HttpServer,
    /// Every response body and header the test saw, for the secret scan.
    seen: Vec<String>,
}

impl Team {
    async fn post(
        &mut self,
        token: Option<&str>,
        extra: &[(&str, &str)],
        body: &Value,
    ) -> (u16, Value) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = extra.to_vec();
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        let response = post(&self.server.mcp_url(), &headers, body).await;
        self.record(response).await
    }

    async fn record(&mut self, response: reqwest::Response) -> (u16, Value) {
        let status = response.status().as_u16();
        self.seen.push(format!("{:?}", response.headers()));
        let text = response.text().await.unwrap();
        self.seen.push(text.clone());
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let r = reqwest::get(format!("{}{path}", self.server.base))
            .await
            .unwrap();
        let status = r.status().as_u16();
        self.seen.push(format!("{:?}", r.headers()));
        let text = r.text().await.unwrap();
        self.seen.push(text.clone());
        (status, text)
    }
}

async fn start_team(fake: &FakeMistral, extra_config: &str) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("team-b.key");
    std::fs::write(&key_file, format!("{KEY_TEAM_B}\n")).unwrap();
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            r#"
[[tokens]]
name = "reader"
hash = "{reader}"
toolsets = ["models", "files"]
read_only = true

[[tokens]]
name = "team-b"
hash = "{team_b}"
mistral_api_key_file = "{key_file}"
"#,
            reader = TokenHash::of(READER).to_config_string(),
            team_b = TokenHash::of(TEAM_B).to_config_string(),
            key_file = key_file.display(),
        ),
    )
    .unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[http]
tokens_file = "{tokens}"
max_body_mb = 1
{extra_config}

[[http.tokens]]
name = "full"
hash = "{full}"
mistral_api_key = "{KEY_FULL}"

[[http.tokens]]
name = "limited"
hash = "{limited}"
rate_limit_per_minute = 3
"#,
            tokens = tokens.display(),
            full = TokenHash::of(FULL).to_config_string(),
            limited = TokenHash::of(LIMITED).to_config_string(),
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let server = spawn_with(
        fake,
        &[("RUST_LOG", "debug")],
        &[
            "--log-format",
            "json",
            "--config",
            &config,
            "serve",
            "--http",
            "127.0.0.1:0",
        ],
    )
    .await
    .unwrap();
    Team {
        _dir: dir,
        server,
        seen: Vec::new(),
    }
}

fn is_error(body: &Value) -> bool {
    body["result"]["isError"] == json!(true)
}

#[tokio::test]
async fn tokens_grants_limits_and_keys() {
    let fake = FakeMistral::start().await;
    let mut team = start_team(&fake, "").await;

    // No token, a wrong token: 401 with a challenge, and nothing reaches Mistral.
    for token in [None, Some("mmcp_wrong"), Some(&FULL[..FULL.len() - 1])] {
        let response = post(
            &team.server.mcp_url(),
            &token
                .map(|t| vec![("authorization", format!("Bearer {t}"))])
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
            &initialize(),
        )
        .await;
        assert_eq!(response.status(), 401, "token {token:?}");
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        team.record(response).await;
    }
    assert!(fake.requests().is_empty());

    // Each token's calls reach Mistral with its own key; the inbound token never does.
    for (token, key) in [(FULL, KEY_FULL), (TEAM_B, KEY_TEAM_B)] {
        let (status, body) = team
            .post(Some(token), &[], &tools_call("models_list", json!({})))
            .await;
        assert_eq!(status, 200);
        assert!(!is_error(&body), "{body}");
        let rec = fake.last();
        assert_eq!(
            rec.header("authorization"),
            Some(format!("Bearer {key}").as_str())
        );
    }

    // A read-only token: destructive and out-of-toolset tools are refused before any
    // upstream request, and its tools/list shows only what it may call.
    fake.clear();
    let (_, body) = team
        .post(
            Some(READER),
            &[],
            &tools_call("models_delete", json!({"model_id": "ft:x"})),
        )
        .await;
    assert!(is_error(&body), "{body}");
    assert_eq!(
        body["result"]["structuredContent"]["error"]["kind"],
        "not_allowed"
    );
    assert!(
        body["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("read-only")
    );
    let (_, body) = team
        .post(
            Some(READER),
            &[],
            &tools_call(
                "chat_complete",
                json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
            ),
        )
        .await;
    assert!(is_error(&body));
    assert!(
        body["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("toolset")
    );
    assert!(
        fake.requests().is_empty(),
        "refused calls must not reach Mistral"
    );
    let (_, body) = team.post(Some(READER), &[], &tools_list()).await;
    let names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"models_list") && names.contains(&"files_list"));
    assert!(!names.contains(&"models_delete") && !names.contains(&"chat_complete"));
    let (_, body) = team
        .post(Some(READER), &[], &tools_call("models_list", json!({})))
        .await;
    assert!(!is_error(&body));
    // No vaulted key: the server's own.
    assert_eq!(
        fake.last().header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );

    // Over the rate limit: 429 with Retry-After, per credential.
    for _ in 0..3 {
        assert_eq!(team.post(Some(LIMITED), &[], &tools_list()).await.0, 200);
    }
    let response = post(
        &team.server.mcp_url(),
        &[("authorization", &format!("Bearer {LIMITED}"))],
        &tools_list(),
    )
    .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    team.record(response).await;
    assert_eq!(
        team.post(Some(FULL), &[], &tools_list()).await.0,
        200,
        "other tokens unaffected"
    );

    // A foreign Origin or Host: 403, even with a valid token.
    let (status, _) = team
        .post(
            Some(FULL),
            &[("origin", "https://evil.example.com")],
            &initialize(),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = team
        .post(Some(FULL), &[("host", "evil.example.com")], &initialize())
        .await;
    assert_eq!(status, 403);

    // Over the body limit (1 MiB here): 413.
    let big = tools_call(
        "chat_complete",
        json!({"model": "m", "messages": [{"role": "user", "content": "x".repeat(2 << 20)}]}),
    );
    let response = post_raw(
        &team.server.mcp_url(),
        &[("authorization", &format!("Bearer {FULL}"))],
        big.to_string(),
    )
    .await;
    assert_eq!(response.status(), 413);
    team.record(response).await;

    // A request id is echoed and lands in the tool-call log line.
    let response = post(
        &team.server.mcp_url(),
        &[
            ("authorization", &format!("Bearer {TEAM_B}")),
            ("x-request-id", "req-42.abc"),
        ],
        &tools_call("models_list", json!({})),
    )
    .await;
    assert_eq!(response.headers()["x-request-id"], "req-42.abc");
    team.record(response).await;

    // Health, readiness and metrics.
    assert_eq!(team.get("/healthz").await.0, 200);
    let (status, ready) = team.get("/readyz").await;
    assert_eq!((status, ready.contains("ready")), (200, true));
    let (status, metrics) = team.get("/metrics").await;
    assert_eq!(status, 200);
    for needle in [
        r#"mistral_mcp_tool_calls_total{tool="models_list",outcome="ok"}"#,
        r#"mistral_mcp_tool_calls_total{tool="models_delete",outcome="not_allowed"}"#,
        r#"mistral_mcp_http_rejected_total{reason="unauthorized"} 3"#,
        r#"mistral_mcp_http_rejected_total{reason="rate_limited"} 1"#,
        r#"mistral_mcp_http_rejected_total{reason="forbidden"} 2"#,
        r#"mistral_mcp_http_rejected_total{reason="payload_too_large"} 1"#,
        r#"mistral_mcp_rate_limited_total{principal="limited"} 1"#,
        "mistral_mcp_upstream_request_duration_seconds_bucket",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }

    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = team.server.logs();
    let call_line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["request_id"] == "req-42.abc")
        .unwrap_or_else(|| panic!("no JSON log line with the request id in\n{logs}"));
    assert_eq!(call_line["fields"]["tool"], "models_list");
    assert_eq!(call_line["fields"]["principal"], "team-b");

    // No secret anywhere: responses, headers, logs (debug level), metrics.
    let mut everything = team.seen.join("\n");
    everything.push_str(&logs);
    for secret in [
        FULL, READER, LIMITED, TEAM_B, KEY_FULL, KEY_TEAM_B, TEST_KEY,
    ] {
        assert!(
            !everything.contains(secret),
            "a secret leaked: {}…",
            &secret[..8]
        );
    }
    // Upstream requests carry only Mistral keys, never an inbound token.
    for rec in fake.requests() {
        let auth = rec.header("authorization").unwrap_or("");
        for inbound in [FULL, READER, LIMITED, TEAM_B] {
            assert!(!auth.contains(inbound));
        }
    }
}

#[tokio::test]
async fn sigterm_drains_calls_in_flight_then_exits() {
    let fake = FakeMistral::start().await;
    let mut team = start_team(&fake, "shutdown_grace_secs = 10").await;
    fake.push(
        "GET /v1/models",
        Reply::json(200, json!({"object": "list", "data": []}))
            .delayed(Duration::from_millis(1500)),
    );
    let url = team.server.mcp_url();
    let slow = tokio::spawn(async move {
        let r = post(
            &url,
            &[("authorization", &format!("Bearer {FULL}"))],
            &tools_call("models_list", json!({})),
        )
        .await;
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    team.server.sigterm();
    let (status, body) = slow.await.unwrap();
    assert_eq!(status, 200);
    assert!(!is_error(&body), "the call in flight finished: {body}");
    let exit = tokio::time::timeout(Duration::from_secs(10), team.server.child.wait())
        .await
        .expect("exits after draining")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    let logs = team.server.logs();
    assert!(logs.contains("finishing calls in flight"), "{logs}");
    // Nothing listens any more.
    assert!(
        reqwest::get(format!("{}/healthz", team.server.base))
            .await
            .is_err()
    );
    team.seen.clear();
}

#[tokio::test]
async fn a_call_past_the_time_budget_is_stopped_with_an_explanation() {
    let fake = FakeMistral::start().await;
    let server = spawn_with_config(
        &fake,
        &[],
        "[tools]\ncall_budget_secs = 1\n[mistral]\nmax_concurrent_requests = 1\n",
    )
    .await
    .unwrap();
    fake.push(
        "GET /v1/models",
        Reply::json(200, json!({"object": "list", "data": []})).delayed(Duration::from_secs(3)),
    );
    let started = std::time::Instant::now();
    let r = post(
        &server.mcp_url(),
        &[],
        &tools_call("models_list", json!({})),
    )
    .await;
    let body: Value = r.json().await.unwrap();
    assert!(is_error(&body), "{body}");
    let text = body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("time budget of 1 s"), "{text}");
    assert_eq!(
        body["result"]["structuredContent"]["error"]["kind"],
        "over_budget"
    );
    assert!(started.elapsed() < Duration::from_millis(2500));

    // One upstream slot: two calls at once take turns, and the wait is counted.
    for _ in 0..2 {
        fake.push(
            "GET /v1/models",
            Reply::json(200, json!({"object": "list", "data": []}))
                .delayed(Duration::from_millis(400)),
        );
    }
    let url = server.mcp_url();
    let call = tools_call("models_list", json!({}));
    let started = std::time::Instant::now();
    let (a, b) = tokio::join!(post(&url, &[], &call), post(&url, &[], &call));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let queued = metrics
        .lines()
        .find(|l| l.starts_with("mistral_mcp_upstream_queued_total"))
        .unwrap();
    assert!(!queued.ends_with(" 0"), "{queued}");
}
