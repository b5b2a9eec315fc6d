//! The upstream stub: a stand-in for the Mistral API on 127.0.0.1 that answers chat,
//! embeddings, models and OCR at once, with bodies shaped like Mistral's (a 1024-dimension
//! vector per embedded text, a chat completion with usage, a model list, OCR pages).
//!
//! Plain hyper on tokio, no routing framework: it must never be the bottleneck. It counts
//! what it served per route (`GET /stats`), so the bench can check that every MCP call it
//! timed really reached the upstream exactly once, and that nothing unexpected arrived.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The text of every chat answer; the bench looks for it in MCP results.
pub const CHAT_MARKER: &str = "Bonjour! The bench stub answered this chat completion.";
/// Length of every embedding vector (mistral-embed's).
pub const EMBED_DIMS: usize = 1024;
/// The first value of every embedding vector (exact in bfloat16 and printed alike by Rust,
/// JavaScript and Python); the bench looks for it in MCP results.
pub const EMBED_MARKER: &str = "0.0166015625";

#[derive(Default)]
pub struct Counters {
    pub chat: AtomicU64,
    pub embeddings: AtomicU64,
    pub models: AtomicU64,
    pub ocr: AtomicU64,
    /// Requests without a bearer token, with a body that is not what Mistral accepts, or to
    /// a route the stub does not serve: the bench fails if any arrive.
    pub rejected: AtomicU64,
}

impl Counters {
    fn to_json(&self) -> Value {
        json!({
            "chat": self.chat.load(Ordering::Relaxed),
            "embeddings": self.embeddings.load(Ordering::Relaxed),
            "models": self.models.load(Ordering::Relaxed),
            "ocr": self.ocr.load(Ordering::Relaxed),
            "rejected": self.rejected.load(Ordering::Relaxed),
        })
    }
}

struct Stub {
    counters: Counters,
    /// One embedding vector, formatted once: `[-0.0166015625,0.0123291015625,…]`.
    vector: String,
    models: Bytes,
    seq: AtomicU64,
}

/// Serves until the process is killed. Prints `listening <addr>` on stdout once bound.
pub async fn serve(addr: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("listening {}", listener.local_addr()?);
    let stub = Arc::new(Stub {
        counters: Counters::default(),
        vector: vector(),
        models: Bytes::from(models().to_string()),
        seq: AtomicU64::new(1),
    });
    // Ends with the bench: the bench holds the stub's stdin and never writes to it.
    tokio::spawn(async {
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await;
        std::process::exit(0);
    });
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let stub = stub.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let stub = stub.clone();
                async move { Ok::<_, Infallible>(stub.handle(req).await) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Pseudo-random values rounded to bfloat16 precision, printed the way Mistral prints them.
fn vector() -> String {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = String::with_capacity(EMBED_DIMS * 20);
    out.push('[');
    for i in 0..EMBED_DIMS {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let unit = ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0;
        let bf16 = f32::from_bits(((unit * 0.08) as f32).to_bits() & 0xFFFF_0000);
        if i > 0 {
            out.push(',');
            let _ = write!(out, "{}", f64::from(bf16));
        } else {
            out.push_str(EMBED_MARKER);
        }
    }
    out.push(']');
    out
}

fn models() -> Value {
    let card = |id: &str, ctx: u32, vision: bool, desc: &str| {
        json!({
            "id": id, "object": "model", "created": 1_732_000_000, "owned_by": "mistralai",
            "capabilities": {"completion_chat": true, "completion_fim": id.starts_with("codestral"),
                "function_calling": true, "fine_tuning": false, "vision": vision, "classification": false},
            "name": id, "description": desc, "max_context_length": ctx, "aliases": [],
            "deprecation": null, "default_model_temperature": 0.3, "type": "base"
        })
    };
    json!({"object": "list", "data": [
        card("mistral-large-latest", 131072, false, "Our top-tier reasoning model for high-complexity tasks."),
        card("mistral-medium-latest", 131072, true, "Frontier-class multimodal model."),
        card("mistral-small-latest", 131072, true, "A small, fast model for everyday tasks."),
        card("magistral-medium-latest", 40960, false, "Reasoning model."),
        card("codestral-latest", 262144, false, "Model for code completion and generation."),
        card("ministral-8b-latest", 131072, false, "Edge model."),
        card("pixtral-large-latest", 131072, true, "Vision model."),
        card("mistral-embed", 8192, false, "Embedding model."),
    ]})
}

fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json_response(
        status,
        json!({"object": "error", "message": message, "type": "invalid_request_error", "param": null, "code": null})
            .to_string(),
    )
}

impl Stub {
    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        if parts.method == Method::GET && parts.uri.path() == "/stats" {
            return json_response(StatusCode::OK, self.counters.to_json().to_string());
        }
        let authorized = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer ") && v.len() > 7);
        if !authorized {
            self.counters.rejected.fetch_add(1, Ordering::Relaxed);
            return error(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => Bytes::new(),
        };
        let parsed = || serde_json::from_slice::<Value>(&body).ok();
        let response = match (parts.method.clone(), parts.uri.path()) {
            (Method::POST, "/v1/chat/completions") => parsed().and_then(|v| self.chat(&v)),
            (Method::POST, "/v1/embeddings") => parsed().and_then(|v| self.embeddings(&v)),
            (Method::GET, "/v1/models") => {
                self.counters.models.fetch_add(1, Ordering::Relaxed);
                Some(json_response(StatusCode::OK, self.models.clone()))
            }
            (Method::POST, "/v1/ocr") => parsed().and_then(|v| self.ocr(&v)),
            _ => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                return error(StatusCode::NOT_FOUND, "Not Found");
            }
        };
        response.unwrap_or_else(|| {
            self.counters.rejected.fetch_add(1, Ordering::Relaxed);
            error(StatusCode::UNPROCESSABLE_ENTITY, "invalid request body")
        })
    }

    fn next_id(&self, prefix: &str) -> String {
        format!(
            "{prefix}{:032x}",
            self.seq
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        )
    }

    fn chat(&self, req: &Value) -> Option<Response<Full<Bytes>>> {
        let model = req.get("model")?.as_str()?;
        let messages = req.get("messages")?.as_array()?;
        if messages.is_empty() || req.get("stream").and_then(Value::as_bool) == Some(true) {
            return None;
        }
        self.counters.chat.fetch_add(1, Ordering::Relaxed);
        let prompt_tokens = 8 + 4 * messages.len();
        let body = json!({
            "id": self.next_id(""),
            "object": "chat.completion",
            "model": model,
            "created": 1_764_000_000,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 14, "total_tokens": prompt_tokens + 14},
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": CHAT_MARKER, "tool_calls": null, "prefix": false},
                "finish_reason": "stop"
            }]
        });
        Some(json_response(StatusCode::OK, body.to_string()))
    }

    fn embeddings(&self, req: &Value) -> Option<Response<Full<Bytes>>> {
        let model = req.get("model")?.as_str()?;
        let count = match req.get("input")? {
            Value::String(_) => 1,
            Value::Array(items) if !items.is_empty() => items.len(),
            _ => return None,
        };
        self.counters.embeddings.fetch_add(1, Ordering::Relaxed);
        let mut body = String::with_capacity(count * (self.vector.len() + 64) + 200);
        let _ = write!(
            body,
            r#"{{"id":"{}","object":"list","model":"{model}","data":["#,
            self.next_id("")
        );
        for i in 0..count {
            if i > 0 {
                body.push(',');
            }
            let _ = write!(
                body,
                r#"{{"object":"embedding","embedding":{},"index":{i}}}"#,
                self.vector
            );
        }
        let tokens = 3 * count;
        let _ = write!(
            body,
            r#"],"usage":{{"prompt_tokens":{tokens},"completion_tokens":0,"total_tokens":{tokens}}}}}"#
        );
        Some(json_response(StatusCode::OK, body))
    }

    fn ocr(&self, req: &Value) -> Option<Response<Full<Bytes>>> {
        let model = req.get("model")?.as_str()?;
        req.get("document")?.as_object()?;
        self.counters.ocr.fetch_add(1, Ordering::Relaxed);
        let page = |i: u32| {
            json!({
                "index": i,
                "markdown": format!("# Invoice INV-2026-{i:04}\n\n| Item | Qty | Price |\n|---|---|---|\n| Consulting | 3 | 1,200.00 EUR |\n| Support | 1 | 300.00 EUR |\n\n**Total: 3,900.00 EUR**"),
                "images": [],
                "dimensions": {"dpi": 200, "height": 2200, "width": 1700}
            })
        };
        let body = json!({
            "pages": [page(0), page(1)],
            "model": model,
            "document_annotation": null,
            "usage_info": {"pages_processed": 2, "doc_size_bytes": 48213}
        });
        Some(json_response(StatusCode::OK, body.to_string()))
    }
}
