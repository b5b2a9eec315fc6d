//! The real binary serving Streamable HTTP as a child process, with its stderr collected,
//! and raw JSON-RPC posts for checks below the MCP client (status codes, headers).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::FakeMistral;

pub const BIN: &str = env!("CARGO_BIN_EXE_mistral-mcp");

pub struct HttpServer {
    pub child: tokio::process::Child,
    pub base: String,
    pub logs: Arc<Mutex<String>>,
    /// Holds the config file of [`spawn_with_config`] while the server runs.
    _config_dir: Option<tempfile::TempDir>,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl HttpServer {
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Asks the server to stop the way Kubernetes does.
    pub fn sigterm(&self) {
        let pid = self.child.id().expect("server still running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// `serve --http <bind>` with the fake as upstream.
pub async fn spawn(
    fake: &FakeMistral,
    extra_env: &[(&str, &str)],
    bind: &str,
) -> Result<HttpServer, String> {
    spawn_with(fake, extra_env, &["serve", "--http", bind]).await
}

/// Starts the binary with these arguments and waits for its "listening on" line; `Err`
/// holds what it printed if it exits or stays silent instead.
pub async fn spawn_with(
    fake: &FakeMistral,
    extra_env: &[(&str, &str)],
    args: &[&str],
) -> Result<HttpServer, String> {
    let mut child = tokio::process::Command::new(BIN)
        .envs(super::server_env(fake))
        .envs(extra_env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let logs = Arc::new(Mutex::new(String::new()));
    let mut base = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while base.is_none() {
        let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Ok(Ok(Some(l))) => l,
            _ => return Err(logs.lock().unwrap().clone()),
        };
        logs.lock().unwrap().push_str(&format!("{line}\n"));
        if let Some(rest) = line.split("listening on ").nth(1) {
            base = rest.split("/mcp").next().map(str::to_string);
        }
    }
    let sink = logs.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    Ok(HttpServer {
        child,
        base: base.unwrap(),
        logs,
        _config_dir: None,
    })
}

/// `--config <file with this text> serve --http 127.0.0.1:0`.
pub async fn spawn_with_config(
    fake: &FakeMistral,
    extra_env: &[(&str, &str)],
    config_toml: &str,
) -> Result<HttpServer, String> {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_toml).unwrap();
    let config = config.display().to_string();
    let mut server = spawn_with(
        fake,
        extra_env,
        &["--config", &config, "serve", "--http", "127.0.0.1:0"],
    )
    .await?;
    server._config_dir = Some(dir);
    Ok(server)
}

pub fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}})
}

pub fn tools_list() -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
}

pub fn tools_call(name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
}

/// POSTs one JSON-RPC message the way an MCP client does (stateless: no session id).
pub async fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> reqwest::Response {
    post_raw(url, headers, body.to_string()).await
}

pub async fn post_raw(url: &str, headers: &[(&str, &str)], body: String) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(body).send().await.unwrap()
}
