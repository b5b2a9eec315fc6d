//! Shared test harness: a fake Mistral upstream on 127.0.0.1 that records every request and
//! answers with realistic JSON, SSE or bytes; a validator that checks request bodies
//! against the official OpenAPI spec; and helpers to start the server in-process or as a
//! child process.
#![allow(dead_code)]

pub mod fake_agents;
pub mod fake_jobs;
pub mod fixtures;
pub mod harness;
pub mod http;
pub mod spec;
pub mod synth;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use futures::StreamExt;
use serde_json::{Value, json};

pub const TEST_KEY: &str = "sk-test-SECRET-0123456789abcdef";
/// The organization's admin key the test servers hold.
pub const TEST_ADMIN_KEY: &str = "sk-admin-SECRET-fedcba9876543210";

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// `"POST /v1/chat/completions"`.
    pub fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Parsed multipart fields: name → (filename, bytes).
    pub fn multipart(&self) -> Vec<(String, Option<String>, Vec<u8>)> {
        let ct = self.header("content-type").unwrap_or("");
        let Some(boundary) = ct.split("boundary=").nth(1) else {
            return Vec::new();
        };
        let delim = format!("--{}", boundary.trim_matches('"'));
        let body = &self.body[..];
        let mut out = Vec::new();
        let text = body;
        let positions: Vec<usize> = find_all(text, delim.as_bytes());
        for w in positions.windows(2) {
            let part = &text[w[0] + delim.len()..w[1]];
            let part = part.strip_prefix(b"\r\n").unwrap_or(part);
            let Some(split) = find_all(part, b"\r\n\r\n").first().copied() else {
                continue;
            };
            let head = String::from_utf8_lossy(&part[..split]).to_string();
            let mut content = part[split + 4..].to_vec();
            if content.ends_with(b"\r\n") {
                content.truncate(content.len() - 2);
            }
            let name = head
                .split("name=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or("")
                .to_string();
            let filename = head
                .split("filename=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .map(str::to_string);
            out.push((name, filename, content));
        }
        out
    }
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    if needle.is_empty() || hay.len() < needle.len() {
        return out;
    }
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if &hay[i..i + needle.len()] == needle {
            out.push(i);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    Json {
        status: u16,
        body: Value,
        headers: Vec<(String, String)>,
    },
    /// Raw SSE event blocks (each already formatted, e.g. `data: {...}`), sent with a pause.
    Sse {
        events: Vec<String>,
        pause: Duration,
    },
    Bytes {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
    Delay(Duration, Box<Reply>),
    /// A misbehaving upstream, for fault-injection tests: any status, headers and body
    /// chunks (a pause before each), ending cleanly or by breaking the connection.
    Raw {
        status: u16,
        headers: Vec<(String, String)>,
        chunks: Vec<Bytes>,
        pause: Duration,
        /// Break the connection after the last chunk instead of ending the body.
        abort: bool,
    },
    /// A body of `size` bytes generated on the fly (so the fake itself holds none of it):
    /// `prefix`, then `fill` repeated, then `suffix`. For memory and parser stress tests.
    Huge {
        status: u16,
        content_type: String,
        prefix: Vec<u8>,
        fill: u8,
        size: u64,
        suffix: Vec<u8>,
    },
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply::Json {
            status,
            body,
            headers: Vec::new(),
        }
    }
    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            Reply::Json {
                status,
                body,
                mut headers,
            } => {
                headers.push((name.to_string(), value.to_string()));
                Reply::Json {
                    status,
                    body,
                    headers,
                }
            }
            other => other,
        }
    }
    pub fn delayed(self, d: Duration) -> Self {
        Reply::Delay(d, Box::new(self))
    }
    /// Raw body chunks with a content type, ending cleanly.
    pub fn raw(status: u16, content_type: &str, chunks: Vec<&[u8]>) -> Self {
        Reply::Raw {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            chunks: chunks.into_iter().map(Bytes::copy_from_slice).collect(),
            pause: Duration::ZERO,
            abort: false,
        }
    }
    /// For `Raw`: break the connection after the last chunk.
    pub fn then_abort(self) -> Self {
        match self {
            Reply::Raw {
                status,
                headers,
                chunks,
                pause,
                ..
            } => Reply::Raw {
                status,
                headers,
                chunks,
                pause,
                abort: true,
            },
            other => other,
        }
    }
    /// For `Raw`: pause before each chunk.
    pub fn paced(self, every: Duration) -> Self {
        match self {
            Reply::Raw {
                status,
                headers,
                chunks,
                abort,
                ..
            } => Reply::Raw {
                status,
                headers,
                chunks,
                pause: every,
                abort,
            },
            other => other,
        }
    }
    /// A JSON body of about `size` bytes: `{"data":"xxxx…"}`, generated on the fly.
    pub fn huge_json(size: u64) -> Self {
        Reply::Huge {
            status: 200,
            content_type: "application/json".into(),
            prefix: b"{\"data\":\"".to_vec(),
            fill: b'x',
            size,
            suffix: b"\"}".to_vec(),
        }
    }
}

#[derive(Default)]
struct State {
    recorded: Vec<Recorded>,
    scripted: HashMap<String, VecDeque<Reply>>,
}

/// The fake Mistral API.
#[derive(Clone)]
pub struct FakeMistral {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeMistral {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let st = st.clone();
                async move { handle(st, method, uri, headers, body).await }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}"),
            state,
        }
    }

    /// Queues a reply for a route such as `"POST /v1/chat/completions"` or
    /// `"GET /v1/files/{id}"` (`{…}` matches one segment). Queued replies are used first,
    /// then the route's default.
    pub fn push(&self, route: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .scripted
            .entry(route.to_string())
            .or_default()
            .push_back(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().recorded.clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests().pop().expect("the fake received no request")
    }

    pub fn clear(&self) {
        self.state.lock().unwrap().recorded.clear();
    }
}

/// Whether `"METHOD /a/{x}/b"` matches a method and concrete path.
pub fn route_matches(pattern: &str, method: &str, path: &str) -> bool {
    let Some((pm, pp)) = pattern.split_once(' ') else {
        return false;
    };
    if pm != method {
        return false;
    }
    let a: Vec<&str> = pp.trim_matches('/').split('/').collect();
    let b: Vec<&str> = path.trim_matches('/').split('/').collect();
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.starts_with('{') || x == y)
}

async fn handle(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let rec = Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or("").to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: body.clone(),
    };
    let scripted = {
        let mut st = state.lock().unwrap();
        st.recorded.push(rec);
        let key = st
            .scripted
            .keys()
            .find(|k| route_matches(k, method.as_str(), &path))
            .cloned();
        key.and_then(|k| st.scripted.get_mut(&k).and_then(VecDeque::pop_front))
    };
    let reply = scripted.unwrap_or_else(|| default_reply(method.as_str(), &path, &body));
    respond(reply).await
}

fn respond(reply: Reply) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>> {
    Box::pin(async move {
        match reply {
            Reply::Delay(d, inner) => {
                tokio::time::sleep(d).await;
                respond(*inner).await
            }
            Reply::Json {
                status,
                body,
                headers,
            } => {
                let mut b = Response::builder()
                    .status(StatusCode::from_u16(status).unwrap())
                    .header("content-type", "application/json");
                for (k, v) in headers {
                    b = b.header(k, v);
                }
                b.body(Body::from(body.to_string())).unwrap()
            }
            Reply::Bytes {
                status,
                content_type,
                body,
            } => Response::builder()
                .status(StatusCode::from_u16(status).unwrap())
                .header("content-type", content_type)
                .body(Body::from(body))
                .unwrap(),
            Reply::Raw {
                status,
                headers,
                chunks,
                pause,
                abort,
            } => {
                let items: Vec<Result<Bytes, std::io::Error>> = chunks
                    .into_iter()
                    .map(Ok)
                    .chain(abort.then(|| {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "fake upstream broke the connection",
                        ))
                    }))
                    .collect();
                let stream = futures::stream::unfold(items.into_iter(), move |mut it| async move {
                    let next = it.next()?;
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                    Some((next, it))
                });
                let mut b = Response::builder().status(StatusCode::from_u16(status).unwrap());
                for (k, v) in headers {
                    b = b.header(k, v);
                }
                b.body(Body::from_stream(stream)).unwrap()
            }
            Reply::Huge {
                status,
                content_type,
                prefix,
                fill,
                size,
                suffix,
            } => {
                const CHUNK: usize = 1 << 16;
                let fill_len = size.saturating_sub((prefix.len() + suffix.len()) as u64);
                let block = Bytes::from(vec![fill; CHUNK]);
                let head = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(prefix))]);
                let body = futures::stream::unfold(fill_len, move |left| {
                    let block = block.clone();
                    async move {
                        if left == 0 {
                            return None;
                        }
                        let n = left.min(CHUNK as u64) as usize;
                        Some((Ok(block.slice(..n)), left - n as u64))
                    }
                });
                let tail = futures::stream::iter([Ok(Bytes::from(suffix))]);
                Response::builder()
                    .status(StatusCode::from_u16(status).unwrap())
                    .header("content-type", content_type)
                    .body(Body::from_stream(head.chain(body).chain(tail)))
                    .unwrap()
            }
            Reply::Sse { events, pause } => {
                let stream =
                    futures::stream::unfold(events.into_iter(), move |mut it| async move {
                        let next = it.next()?;
                        tokio::time::sleep(pause).await;
                        Some((
                            Ok::<_, std::io::Error>(Bytes::from(format!("{next}\n\n"))),
                            it,
                        ))
                    });
                Response::builder()
                    .status(200)
                    .header("content-type", "text/event-stream")
                    .body(Body::from_stream(stream))
                    .unwrap()
            }
        }
    })
}

pub const FILE_ID: &str = "3f5f5c4e-8b1a-4c8e-9d0e-2a6b1c7d9e01";

pub fn file_object(name: &str, purpose: &str, bytes: u64) -> Value {
    json!({
        "id": FILE_ID, "object": "file", "bytes": bytes, "created_at": 1732460000,
        "filename": name, "purpose": purpose, "sample_type": "ocr_input", "source": "upload",
        "num_lines": null, "mimetype": "application/pdf", "signature": null
    })
}

pub fn chat_response(text: &str) -> Value {
    json!({
        "id": "cmpl-e5cc70bb28c444948073e77776eb30ef", "object": "chat.completion",
        "created": 1732460000, "model": "mistral-small-latest",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "tool_calls": null, "prefix": false}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
    })
}

/// SSE events of a streamed chat completion that says `parts` joined.
pub fn chat_stream_events(parts: &[&str]) -> Vec<String> {
    let mut events = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let mut delta = json!({"content": p});
        if i == 0 {
            delta["role"] = json!("assistant");
        }
        events.push(format!(
            "data: {}",
            json!({"id": "cmpl-stream-1", "object": "chat.completion.chunk", "created": 1732460000, "model": "mistral-small-latest",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": null}]})
        ));
    }
    events.push(format!(
        "data: {}",
        json!({"id": "cmpl-stream-1", "object": "chat.completion.chunk", "created": 1732460000, "model": "mistral-small-latest",
               "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 10, "completion_tokens": parts.len(), "total_tokens": 10 + parts.len()}})
    ));
    events.push("data: [DONE]".to_string());
    events
}

/// Realistic default answers for every operation the server uses; for the other operations
/// of the spec, one synthesized from its response schema (see `synth`); 404 off the spec.
fn default_reply(method: &str, path: &str, body: &[u8]) -> Reply {
    let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let m = |p: &str| route_matches(p, method, path);
    if m("POST /v1/chat/completions")
        || m("POST /v1/fim/completions")
        || m("POST /v1/agents/completions")
    {
        if req.get("stream") == Some(&json!(true)) {
            return Reply::Sse {
                events: chat_stream_events(&["Paris", " is the", " capital."]),
                pause: Duration::from_millis(20),
            };
        }
        return Reply::json(200, chat_response("Paris is the capital of France."));
    }
    if m("POST /v1/embeddings") {
        let n = match req.get("input") {
            Some(Value::Array(a)) => a.len(),
            _ => 1,
        };
        let data: Vec<Value> = (0..n)
            .map(|i| json!({"object": "embedding", "embedding": vec![0.01f32 * (i as f32 + 1.0); 8], "index": i}))
            .collect();
        return Reply::json(
            200,
            json!({"id": "emb-1", "object": "list", "data": data, "model": "mistral-embed",
            "usage": {"prompt_tokens": 9, "completion_tokens": 0, "total_tokens": 9}}),
        );
    }
    if m("POST /v1/moderations") || m("POST /v1/chat/moderations") {
        return Reply::json(
            200,
            json!({"id": "mod-1", "model": "mistral-moderation-latest", "results": [
            {"categories": {"hate_and_discrimination": false, "violence_and_threats": false, "sexual": false},
             "category_scores": {"hate_and_discrimination": 0.01, "violence_and_threats": 0.002, "sexual": 0.0001}}]}),
        );
    }
    if m("POST /v1/classifications") || m("POST /v1/chat/classifications") {
        return Reply::json(
            200,
            json!({"id": "cls-1", "model": "ft:classifier:abc", "results": [
            {"intent": {"scores": {"billing": 0.9, "support": 0.1}}}]}),
        );
    }
    if m("POST /v1/ocr") {
        return Reply::json(
            200,
            json!({"pages": [
            {"index": 0, "markdown": "# INVOICE 2024-001\n\n| Item | Price |\n|---|---|\n| Widget | 10 EUR |", "images": [], "tables": [], "hyperlinks": [], "header": null, "footer": null, "dimensions": {"dpi": 200, "height": 2200, "width": 1700}},
            {"index": 1, "markdown": "Total: 10 EUR", "images": [], "tables": [], "hyperlinks": [], "header": null, "footer": null, "dimensions": null}],
            "model": "mistral-ocr-2512", "document_annotation": null, "usage_info": {"pages_processed": 2, "doc_size_bytes": 4096}}),
        );
    }
    if m("POST /v1/files") {
        return Reply::json(200, file_object("upload.pdf", "ocr", 4));
    }
    if m("GET /v1/files") {
        return Reply::json(
            200,
            json!({"object": "list", "data": [file_object("invoice.pdf", "ocr", 4096)], "total": 1}),
        );
    }
    if m("GET /v1/files/{id}/content") {
        return Reply::Bytes {
            status: 200,
            content_type: "application/octet-stream".into(),
            body: b"{\"custom_id\":\"1\"}\n".to_vec(),
        };
    }
    if m("GET /v1/files/{id}/url") {
        return Reply::json(
            200,
            json!({"url": "https://files.example.invalid/signed/abc?sig=1"}),
        );
    }
    if m("GET /v1/files/{id}") {
        return Reply::json(200, file_object("invoice.pdf", "ocr", 4096));
    }
    if m("DELETE /v1/files/{id}") {
        return Reply::json(
            200,
            json!({"id": FILE_ID, "object": "file", "deleted": true}),
        );
    }
    if m("GET /v1/models") {
        return Reply::json(
            200,
            json!({"object": "list", "data": [model_card("mistral-small-latest")]}),
        );
    }
    if m("GET /v1/models/{id}") {
        return Reply::json(200, model_card(path.rsplit('/').next().unwrap_or("")));
    }
    if m("DELETE /v1/models/{id}") {
        return Reply::json(
            200,
            json!({"id": "ft:open-mistral-7b:abc", "object": "model", "deleted": true}),
        );
    }
    if m("PATCH /v1/fine_tuning/models/{id}")
        || m("POST /v1/fine_tuning/models/{id}/archive")
        || m("DELETE /v1/fine_tuning/models/{id}/archive")
    {
        return Reply::json(
            200,
            json!({"id": "ft:open-mistral-7b:abc", "object": "model", "archived": method == "POST"}),
        );
    }
    if let Some(reply) = fake_agents::reply(method, path, &req) {
        return reply;
    }
    if let Some(reply) = fake_jobs::reply(method, path, &req) {
        return reply;
    }
    // Any other operation of the spec: a minimal reply valid against its response schema.
    if let Some(reply) = synth::reply(method, path, body) {
        return reply;
    }
    Reply::json(
        404,
        json!({"object": "error", "message": format!("fake upstream has no route {method} {path}"), "type": "invalid_request_error", "param": null, "code": null}),
    )
}

fn model_card(id: &str) -> Value {
    json!({"id": id, "object": "model", "created": 1732460000, "owned_by": "mistralai",
           "capabilities": {"completion_chat": true, "function_calling": true, "vision": false},
           "name": id, "description": "A small model", "max_context_length": 131072, "aliases": [], "type": "base"})
}

/// Peak resident memory of a process so far, in bytes (`VmHWM` in /proc/<pid>/status).
pub fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kib * 1024
}

/// Environment for a server process pointed at the fake.
/// The throwaway Redis that scripts/test starts (`MISTRAL_MCP_TEST_REDIS_URL`), or `None`
/// with a loud SKIPPED line for `test` when it is not there.
pub fn redis_url(test: &str) -> Option<String> {
    match std::env::var("MISTRAL_MCP_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "*** SKIPPED {test}: MISTRAL_MCP_TEST_REDIS_URL is not set; scripts/test starts a redis-server and sets it ***"
            );
            None
        }
    }
}

pub fn server_env(fake: &FakeMistral) -> Vec<(String, String)> {
    vec![
        ("MISTRAL_API_KEY".into(), TEST_KEY.into()),
        ("MISTRAL_BASE_URL".into(), fake.url.clone()),
        ("RUST_LOG".into(), "debug".into()),
    ]
}

/// The request is authorised with the server's key and matches the spec.
pub fn assert_valid_upstream(rec: &Recorded) {
    if let Some(spec) = spec::spec() {
        assert_valid_against(rec, spec, "the spec");
    } else {
        assert_authorised(rec);
    }
}

/// The request carries the key its operation's security scheme asks for: the admin key
/// (as bearer and `x-api-key`) for admin operations, the API key in `x-api-key` for the
/// user-context ones, else the API key as bearer.
pub fn assert_authorised(rec: &Recorded) {
    let scheme = spec::spec().and_then(|s| s.security_scheme(&rec.method, &rec.path));
    match scheme.as_deref() {
        Some("AdminApiKey") => {
            let bearer = format!("Bearer {TEST_ADMIN_KEY}");
            assert_eq!(
                rec.header("authorization"),
                Some(bearer.as_str()),
                "{}",
                rec.route()
            );
            assert_eq!(
                rec.header("x-api-key"),
                Some(TEST_ADMIN_KEY),
                "{}",
                rec.route()
            );
        }
        Some("DashboardUserContextAuth") => {
            assert_eq!(rec.header("x-api-key"), Some(TEST_KEY), "{}", rec.route());
            assert_eq!(rec.header("authorization"), None, "{}", rec.route());
        }
        _ => assert_eq!(
            rec.header("authorization"),
            Some(format!("Bearer {TEST_KEY}").as_str()),
            "{}",
            rec.route()
        ),
    }
}

/// The request is authorised and matches `spec` (named `label` in failures): JSON body,
/// multipart field names, or no body for an operation the spec has; query names.
pub fn assert_valid_against(rec: &Recorded, spec: &spec::Spec, label: &str) {
    assert_authorised(rec);
    let ct = rec.header("content-type").unwrap_or("");
    if ct.starts_with("application/json") {
        if let Err(e) = spec.check_json_body(&rec.method, &rec.path, &rec.json()) {
            panic!(
                "{} sent a body {label} rejects:\n{e}\nbody: {}",
                rec.route(),
                rec.json()
            );
        }
    } else if ct.starts_with("multipart/form-data") {
        let names: Vec<String> = rec.multipart().into_iter().map(|(n, _, _)| n).collect();
        spec.check_multipart_fields(&rec.method, &rec.path, &names)
            .unwrap();
    } else {
        assert!(
            rec.body.is_empty(),
            "{} sent an unexpected body",
            rec.route()
        );
        assert!(
            !spec.operations(&rec.method, &rec.path).is_empty(),
            "{} is not in {label}",
            rec.route()
        );
    }
    spec.check_params(&rec.method, &rec.path, &rec.query)
        .unwrap();
}
