//! The two MCP clients the bench drives servers with, plus plain HTTP for the direct baseline.
//!
//! Both send raw JSON-RPC text and parse only what they must check, so the client's own cost
//! stays small and identical for every server: stdio is one long-lived child with one request
//! in flight; HTTP is one keep-alive hyper connection per worker, POSTing with
//! `accept: application/json, text/event-stream` and reading JSON or SSE answers.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

pub const PROTOCOL_VERSION: &str = "2025-06-18";
/// No single request may take longer than this; the bench fails if one does.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn initialize_params() -> String {
    format!(
        r#"{{"protocolVersion":"{PROTOCOL_VERSION}","capabilities":{{}},"clientInfo":{{"name":"mcp-bench","version":"0"}}}}"#
    )
}

pub fn request_line(id: u64, method: &str, params: &str) -> String {
    if params.is_empty() {
        format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}"}}"#)
    } else {
        format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#)
    }
}

pub fn call_params(tool: &str, args: &str) -> String {
    format!(r#"{{"name":"{tool}","arguments":{args}}}"#)
}

const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// The `result` of a JSON-RPC response, or why there is none.
pub fn rpc_result(message: Value) -> anyhow::Result<Value> {
    match message {
        Value::Object(mut m) => {
            if let Some(err) = m.remove("error") {
                bail!("JSON-RPC error: {err}");
            }
            m.remove("result")
                .ok_or_else(|| anyhow!("response without result"))
        }
        other => bail!("not a JSON-RPC response: {other}"),
    }
}

/// A successful tool result that contains `marker` (text the upstream stub sent), so the
/// call is known to have gone through to the stub and back.
pub fn check_tool_result(result: &Value, marker: &str) -> anyhow::Result<()> {
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        bail!(
            "tool returned isError: {}",
            truncate(&result.to_string(), 600)
        );
    }
    let text = result.to_string();
    if !text.contains(marker) {
        bail!(
            "tool result lacks the upstream's answer ({marker:?}): {}",
            truncate(&text, 600)
        );
    }
    Ok(())
}

/// Whether a message carries `"id":N` exactly (not `"id":N0`): a cheap test that spares
/// the timed loop a full parse of every answer.
pub fn has_id(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(at, _)| {
        !text[at + needle.len()..]
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit())
    })
}

/// The check made on every timed answer, without parsing it: a result, not flagged as a
/// tool error, carrying the upstream's marker. The first answer of every series also gets
/// the full check ([`rpc_result`] and [`check_tool_result`]).
pub fn quick_check(text: &str, marker: &str) -> anyhow::Result<()> {
    let flagged = text.contains("\"isError\":true") || text.contains("\"isError\": true");
    if !text.contains("\"result\"") || flagged || !text.contains(marker) {
        bail!("bad tool answer: {}", truncate(text, 600));
    }
    Ok(())
}

pub fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// An MCP server spawned over stdio.
pub struct StdioServer {
    pub child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
    out: Vec<u8>,
    next_id: u64,
}

impl StdioServer {
    pub fn spawn(
        argv: &[String],
        env: &[(String, String)],
        stderr: std::fs::File,
    ) -> anyhow::Result<Self> {
        let (program, args) = argv.split_first().ok_or_else(|| anyhow!("empty command"))?;
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {program}"))?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
        let stdout = BufReader::with_capacity(
            1 << 16,
            child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?,
        );
        Ok(Self {
            child,
            stdin,
            stdout,
            line: String::new(),
            out: Vec::with_capacity(4096),
            next_id: 1,
        })
    }

    /// Writes messages without waiting for answers (start-up pipelines them like a client).
    pub async fn send_lines(&mut self, lines: &[&str]) -> anyhow::Result<()> {
        self.out.clear();
        for l in lines {
            self.out.extend_from_slice(l.as_bytes());
            self.out.push(b'\n');
        }
        self.stdin.write_all(&self.out).await?;
        self.stdin.flush().await?;
        Ok(())
    }

    /// Reads until the response with `id`, skipping notifications and other traffic, and
    /// returns its raw line (the caller decides what to parse).
    pub async fn read_response(&mut self, id: u64) -> anyhow::Result<&str> {
        let needle = format!(r#""id":{id}"#);
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        loop {
            self.line.clear();
            let n = tokio::time::timeout_at(deadline, self.stdout.read_line(&mut self.line))
                .await
                .map_err(|_| anyhow!("no answer to request {id} within {REQUEST_TIMEOUT:?}"))??;
            if n == 0 {
                bail!("server closed stdout before answering request {id}");
            }
            if has_id(&self.line, &needle) {
                return Ok(self.line.as_str());
            }
        }
    }

    pub fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// initialize, notifications/initialized.
    pub async fn initialize(&mut self) -> anyhow::Result<Value> {
        let id = self.take_id();
        let init = request_line(id, "initialize", &initialize_params());
        self.send_lines(&[&init, INITIALIZED]).await?;
        let line = self.read_response(id).await?;
        rpc_result(serde_json::from_str(line)?)
    }

    pub async fn request(&mut self, method: &str, params: &str) -> anyhow::Result<Value> {
        let id = self.take_id();
        let msg = request_line(id, method, params);
        self.send_lines(&[&msg]).await?;
        let line = self.read_response(id).await?;
        rpc_result(serde_json::from_str(line)?)
    }

    /// Every tool, following `nextCursor`.
    pub async fn list_tools(&mut self) -> anyhow::Result<Vec<Value>> {
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let params = match &cursor {
                Some(c) => serde_json::json!({ "cursor": c }).to_string(),
                None => String::new(),
            };
            let page = self.request("tools/list", &params).await?;
            tools.extend(
                page.get("tools")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
            cursor = page
                .get("nextCursor")
                .and_then(Value::as_str)
                .map(str::to_string);
            if cursor.is_none() {
                return Ok(tools);
            }
        }
        bail!("tools/list did not end after 100 pages")
    }

    /// Ends the session the way clients do (close stdin), then makes sure the child is gone.
    pub async fn close(mut self) {
        drop(self.stdin);
        if tokio::time::timeout(Duration::from_secs(3), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// One keep-alive HTTP/1.1 connection.
pub struct HttpConn {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

pub struct HttpAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpConn {
    pub fn new(addr: SocketAddr) -> anyhow::Result<Self> {
        Ok(Self {
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
            sender: None,
        })
    }

    async fn sender(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        let reconnect = match &self.sender {
            Some(s) => s.is_closed(),
            None => true,
        };
        if reconnect {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        let sender = self
            .sender
            .as_mut()
            .ok_or_else(|| anyhow!("no connection"))?;
        sender.ready().await?;
        Ok(sender)
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(hyper::header::HeaderName, HeaderValue)],
        body: Bytes,
    ) -> anyhow::Result<HttpAnswer> {
        let host = self.host.clone();
        let mut req = Request::builder().method(method).uri(path);
        if let Some(h) = req.headers_mut() {
            h.insert(HOST, host);
            for (k, v) in headers {
                h.insert(k, v.clone());
            }
        }
        let req = req.body(Full::new(body))?;
        let fut = async {
            let sender = self.sender().await?;
            let resp = sender.send_request(req).await?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, anyhow::Error>(HttpAnswer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, fut)
            .await
            .map_err(|_| anyhow!("no HTTP answer within {REQUEST_TIMEOUT:?}"))?
    }
}

/// Headers for talking to an MCP server's Streamable HTTP endpoint.
#[derive(Clone)]
pub struct McpHttpTarget {
    pub path: String,
    pub headers: Vec<(hyper::header::HeaderName, HeaderValue)>,
}

impl McpHttpTarget {
    pub fn new(path: &str) -> Self {
        let headers = vec![
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (
                ACCEPT,
                HeaderValue::from_static("application/json, text/event-stream"),
            ),
        ];
        Self {
            path: path.to_string(),
            headers,
        }
    }

    /// initialize + notifications/initialized; keeps the session id if the server gives one.
    pub async fn initialize(&mut self, conn: &mut HttpConn) -> anyhow::Result<Value> {
        let body = request_line(0, "initialize", &initialize_params());
        let answer = conn
            .send(Method::POST, &self.path, &self.headers, Bytes::from(body))
            .await?;
        if answer.status != StatusCode::OK {
            bail!(
                "initialize: HTTP {}: {}",
                answer.status,
                truncate(&String::from_utf8_lossy(&answer.body), 300)
            );
        }
        let result = rpc_result(parse_http_rpc(&answer, 0)?)?;
        if let Some(sid) = answer.headers.get("mcp-session-id") {
            self.headers.push((
                hyper::header::HeaderName::from_static("mcp-session-id"),
                sid.clone(),
            ));
        }
        self.headers.push((
            hyper::header::HeaderName::from_static("mcp-protocol-version"),
            HeaderValue::from_static(PROTOCOL_VERSION),
        ));
        let answer = conn
            .send(
                Method::POST,
                &self.path,
                &self.headers,
                Bytes::from_static(INITIALIZED.as_bytes()),
            )
            .await?;
        if !answer.status.is_success() {
            bail!("notifications/initialized: HTTP {}", answer.status);
        }
        Ok(result)
    }

    pub async fn request(
        &self,
        conn: &mut HttpConn,
        id: u64,
        method: &str,
        params: &str,
    ) -> anyhow::Result<Value> {
        let body = request_line(id, method, params);
        let answer = conn
            .send(Method::POST, &self.path, &self.headers, Bytes::from(body))
            .await?;
        if answer.status != StatusCode::OK {
            bail!(
                "{method}: HTTP {}: {}",
                answer.status,
                truncate(&String::from_utf8_lossy(&answer.body), 300)
            );
        }
        rpc_result(parse_http_rpc(&answer, id)?)
    }
}

/// The JSON-RPC message with `id` from a JSON or SSE answer.
pub fn parse_http_rpc(answer: &HttpAnswer, id: u64) -> anyhow::Result<Value> {
    let sse = answer
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !sse {
        return Ok(serde_json::from_slice(&answer.body)?);
    }
    let text = std::str::from_utf8(&answer.body)?;
    for line in text.lines() {
        if let Some(data) = line.strip_prefix("data:") {
            let data = data.trim_start();
            if data.is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(data)?;
            if v.get("id").and_then(Value::as_u64) == Some(id) {
                return Ok(v);
            }
        }
    }
    bail!("SSE answer without response {id}: {}", truncate(text, 300))
}

/// Headers for a direct upstream request, as an MCP server would send them.
pub fn upstream_headers() -> Vec<(hyper::header::HeaderName, HeaderValue)> {
    vec![
        (CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (ACCEPT, HeaderValue::from_static("application/json")),
        (AUTHORIZATION, HeaderValue::from_static("Bearer bench-key")),
    ]
}
