//! Typed Mistral operations, grouped by API area, and the machinery they share.
//!
//! Each operation is one request struct implementing [`Operation`]: its [`OpSpec`] declares
//! the method, path, query fields and effect exactly once; its fields (via schemars) are
//! the tool's input schema; serde parses the agent's arguments into it. The default
//! [`Operation::run`] sends the struct as a JSON request, routing `{path}` placeholders and
//! query fields out of the body. Areas with special needs (streams, uploads, downloads)
//! override `run`.
//!
//! Adding an operation: write the struct in its area file, add `entry::<T>()` to that
//! area's `entries()`, and describe it in `tools.toml`.

pub mod agents;
pub mod audio;
pub mod batch;
pub mod chat;
pub mod classifiers;
pub mod common;
pub mod completion;
pub mod conversations;
pub mod embeddings;
pub mod files;
pub mod fim;
pub mod fine_tuning;
pub mod generated;
pub mod libraries;
pub mod models;
pub mod ocr;
pub mod stream;
pub mod wait;

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use rmcp::model::{
    CallToolResult, ContentBlock, JsonObject, ProgressNotificationParam, ProgressToken,
};
use rmcp::{Peer, RoleServer};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::access::Grant;
use crate::localfs::LocalFiles;
use crate::mistral::{
    Auth, Method, MistralClient, RequestBody, UpstreamError, UpstreamRequest, UpstreamResponse,
};

/// What an operation does to the world; drives the MCP annotations and the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads state. Safe to retry.
    Read,
    /// A billable model call that stores nothing. Safe to retry.
    Inference,
    /// Creates or changes stored state.
    Write,
    /// Deletes data or irreversibly stops work.
    Destructive,
}

/// Where the fields left after path, query and headers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// No body; a leftover field is a bug.
    None,
    /// The leftover fields form a JSON object.
    Json,
    /// This one field's value is the whole JSON body (the spec's array bodies).
    Whole(&'static str),
}

/// How a list operation pages, so its result can say how to get the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    None,
    /// `page` (from 0) and `page_size`.
    Numbered,
    /// An opaque `cursor` from the previous answer.
    Cursor,
}

/// Whether Mistral answers with Server-Sent Events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streaming {
    Never,
    /// When the request sets `stream: true`.
    IfRequested,
    /// Always: the answer is an event stream.
    Always,
}

/// Everything fixed about an operation, declared once beside its request type (or
/// generated from the spec into `generated/`).
#[derive(Debug, Clone, Copy)]
pub struct OpSpec {
    /// Catalog key (`tools.toml`) and default tool name.
    pub id: &'static str,
    pub method: Method,
    /// Path with `{placeholders}` filled from fields of the same name.
    pub path: &'static str,
    /// Fields sent in the query string.
    pub query: &'static [&'static str],
    /// Fields sent as headers: (field, header name).
    pub headers: &'static [(&'static str, &'static str)],
    pub effect: Effect,
    /// Repeating the call has no further effect.
    pub idempotent: bool,
    pub body: Body,
    pub paging: Paging,
    pub streaming: Streaming,
    /// Which key Mistral expects.
    pub auth: Auth,
}

impl OpSpec {
    const fn new(id: &'static str, method: Method, path: &'static str, effect: Effect) -> Self {
        let idempotent = !matches!(method, Method::Post);
        let body = match method {
            Method::Post | Method::Put | Method::Patch => Body::Json,
            Method::Get | Method::Delete => Body::None,
        };
        Self {
            id,
            method,
            path,
            query: &[],
            headers: &[],
            effect,
            idempotent,
            body,
            paging: Paging::None,
            streaming: Streaming::Never,
            auth: Auth::Key,
        }
    }
    pub const fn get(id: &'static str, path: &'static str) -> Self {
        Self::new(id, Method::Get, path, Effect::Read)
    }
    pub const fn post(id: &'static str, path: &'static str, effect: Effect) -> Self {
        Self::new(id, Method::Post, path, effect)
    }
    pub const fn patch(id: &'static str, path: &'static str) -> Self {
        Self::new(id, Method::Patch, path, Effect::Write)
    }
    pub const fn put(id: &'static str, path: &'static str) -> Self {
        Self::new(id, Method::Put, path, Effect::Write)
    }
    pub const fn delete(id: &'static str, path: &'static str) -> Self {
        Self::new(id, Method::Delete, path, Effect::Destructive)
    }
    pub const fn query(mut self, fields: &'static [&'static str]) -> Self {
        self.query = fields;
        self
    }
    pub const fn headers(mut self, fields: &'static [(&'static str, &'static str)]) -> Self {
        self.headers = fields;
        self
    }
    pub const fn effect(mut self, effect: Effect) -> Self {
        self.effect = effect;
        self
    }
    pub const fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
    pub const fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }
    pub const fn no_body(mut self) -> Self {
        self.body = Body::None;
        self
    }
    /// A JSON body on a method that usually has none (a DELETE naming what to remove).
    pub const fn json_body(mut self) -> Self {
        self.body = Body::Json;
        self
    }
    pub const fn whole_body(mut self, field: &'static str) -> Self {
        self.body = Body::Whole(field);
        self
    }
    pub const fn paged(mut self, paging: Paging) -> Self {
        self.paging = paging;
        self
    }
    pub const fn streaming(mut self, streaming: Streaming) -> Self {
        self.streaming = streaming;
        self
    }
    /// Needs the organization's admin key.
    pub const fn admin(mut self) -> Self {
        self.auth = Auth::Admin;
        self
    }
    /// Takes the key in an `x-api-key` header.
    pub const fn key_header(mut self) -> Self {
        self.auth = Auth::KeyHeader;
        self
    }

    /// `"POST /v1/chat/completions"`.
    pub fn operation(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }

    pub fn read_only(&self) -> bool {
        self.effect == Effect::Read
    }

    /// A 5xx or a timeout may be retried only where a second attempt cannot do harm twice.
    pub fn retry_server_errors(&self) -> bool {
        matches!(self.effect, Effect::Read | Effect::Inference) || self.idempotent
    }
}

/// Page size Mistral uses for page-numbered lists when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Sends a page-numbered list request and adds `next_page` to its result.
pub async fn send_page<T: Serialize>(
    spec: &OpSpec,
    request: &T,
    page: Option<u32>,
    page_size: Option<u32>,
    ctx: &CallContext,
) -> Result<ToolOutput, ToolError> {
    let response = ctx.send(&build_request(spec, request)?).await?;
    Ok(ToolOutput::from_response(&response, ctx)?
        .with_next_page(page.unwrap_or(0), page_size.unwrap_or(DEFAULT_PAGE_SIZE)))
}

/// A Mistral operation as a typed request.
pub trait Operation: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static {
    const SPEC: OpSpec;

    /// Performs the operation. The default sends `self` as described by [`Self::SPEC`] and
    /// returns Mistral's JSON.
    fn run(self, ctx: CallContext) -> impl Future<Output = Result<ToolOutput, ToolError>> + Send {
        async move { perform(&Self::SPEC, &self, &ctx).await }
    }
}

/// What every operation without special behaviour does, driven by its [`OpSpec`]: send the
/// request, read the answer (or its event stream, as progress), and say how to get the
/// next page.
pub async fn perform<T: Serialize>(
    spec: &OpSpec,
    request: &T,
    ctx: &CallContext,
) -> Result<ToolOutput, ToolError> {
    let upstream = build_request(spec, request)?;
    let streams = match spec.streaming {
        Streaming::Never => false,
        Streaming::Always => true,
        Streaming::IfRequested => {
            matches!(&upstream.body, RequestBody::Json(b) if b.get("stream") == Some(&Value::Bool(true)))
        }
    };
    if streams {
        return stream::collect_events(ctx, &upstream).await;
    }
    let response = ctx.send(&upstream).await?;
    let out = ToolOutput::from_response(&response, ctx)?;
    let query = |name: &str| {
        upstream
            .query
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<u32>().ok())
    };
    Ok(match spec.paging {
        Paging::None => out,
        Paging::Numbered => out.with_next_page(
            query("page").unwrap_or(0),
            query("page_size").unwrap_or(DEFAULT_PAGE_SIZE),
        ),
        Paging::Cursor => out.with_next_cursor(
            query("page_size")
                .map(|n| ("page_size", n))
                .or(query("limit").map(|n| ("limit", n))),
        ),
    })
}

/// A registered operation: its spec, its input schema and a type-erased entry point.
pub struct OpEntry {
    pub spec: &'static OpSpec,
    pub input_schema: Arc<JsonObject>,
    /// Generated from the spec (`generated/`) rather than written by hand.
    pub generated: bool,
    invoke: fn(JsonObject, CallContext) -> BoxFuture<'static, Result<ToolOutput, ToolError>>,
}

impl OpEntry {
    pub async fn invoke(
        &self,
        args: JsonObject,
        ctx: CallContext,
    ) -> Result<ToolOutput, ToolError> {
        (self.invoke)(args, ctx).await
    }
}

pub fn entry<O: Operation>() -> OpEntry {
    OpEntry {
        spec: &O::SPEC,
        input_schema: Arc::new(crate::schema::input_schema::<O>()),
        generated: false,
        invoke: invoke::<O>,
    }
}

fn invoke<O: Operation>(
    args: JsonObject,
    ctx: CallContext,
) -> BoxFuture<'static, Result<ToolOutput, ToolError>> {
    Box::pin(async move {
        let request: O = parse_arguments(args)?;
        request.run(ctx).await
    })
}

/// Every operation the server knows, in catalog order.
pub fn registry() -> Vec<OpEntry> {
    [
        chat::entries(),
        fim::entries(),
        embeddings::entries(),
        classifiers::entries(),
        ocr::entries(),
        files::entries(),
        models::entries(),
        agents::entries(),
        conversations::entries(),
        audio::entries(),
        batch::entries(),
        fine_tuning::entries(),
        libraries::entries(),
        generated::entries()
            .into_iter()
            .map(|e| OpEntry {
                generated: true,
                ..e
            })
            .collect(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Deserialises tool arguments, naming the exact field that is wrong.
///
/// serde's messages quote the offending value or key, which may be megabytes long: quoted
/// spans are cut to a short prefix and the whole message is capped.
pub fn parse_arguments<T: DeserializeOwned>(args: JsonObject) -> Result<T, ToolError> {
    let value = Value::Object(args);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = clip(&e.path().to_string(), MAX_ECHOED_PATH);
        let inner = e.into_inner().to_string();
        let inner = inner.split(" at line ").next().unwrap_or(&inner);
        let inner = clip(&clip_quoted(inner, MAX_ECHOED_VALUE), MAX_ARGUMENT_MESSAGE);
        ToolError::InvalidArguments(if path == "." || path.is_empty() {
            inner
        } else {
            format!("`{path}`: {inner}")
        })
    })
}

/// How much of a value an argument error quotes back.
const MAX_ECHOED_VALUE: usize = 64;
/// How much of a field path an argument error names.
const MAX_ECHOED_PATH: usize = 256;
/// Cap on the reason in an argument error (a list of expected fields can be long).
const MAX_ARGUMENT_MESSAGE: usize = 1024;

/// At most `max` bytes of `text`, cut at a character boundary and marked with `…` when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Cuts every `"…"` or `` `…` `` span of `text` longer than `max` bytes to its first `max`
/// bytes: how serde quotes values and keys (`"` spans are Debug-escaped).
fn clip_quoted(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(4 * max));
    let mut rest = text;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = rest.as_bytes()[open];
        out.push_str(&rest[..=open]);
        let body = &rest[open + 1..];
        let mut escaped = false;
        let close = body.char_indices().find_map(|(i, c)| {
            let ends = c == char::from(quote) && !escaped;
            escaped = quote == b'"' && c == '\\' && !escaped;
            ends.then_some(i)
        });
        let (quoted, after) = match close {
            Some(close) => (&body[..close], &body[close..]),
            None => (body, ""),
        };
        out.push_str(&clip(quoted, max));
        // The closing quote (if any) is copied with the text after it.
        match after.char_indices().nth(1) {
            Some((next, _)) => {
                out.push_str(&after[..next]);
                rest = &after[next..];
            }
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Cap on any tool error message.
const MAX_ERROR_MESSAGE: usize = 2048;

/// Longest value accepted in a URL path segment: Mistral ids and model names are far shorter.
pub const MAX_PATH_VALUE: usize = 256;
/// Longest value accepted for one query parameter (a search text, a metadata filter).
pub const MAX_QUERY_VALUE: usize = 4096;
/// Longest path plus query accepted, well under what HTTP servers take.
pub const MAX_URL_LEN: usize = 8192;

/// Characters escaped in a path segment: everything that could change the path's shape.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Turns a request struct into an upstream request: `{name}` path segments and query fields
/// are taken out of the serialised struct; what remains is the JSON body.
pub fn build_request<T: Serialize>(
    spec: &OpSpec,
    request: &T,
) -> Result<UpstreamRequest, ToolError> {
    let mut fields = match serde_json::to_value(request) {
        // An unset optional field means "not sent": Mistral rejects null for some fields.
        Ok(Value::Object(map)) => map
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .collect::<JsonObject>(),
        Ok(_) => JsonObject::new(),
        Err(e) => {
            return Err(ToolError::Internal(format!(
                "cannot serialise request: {e}"
            )));
        }
    };
    let mut path = String::with_capacity(spec.path.len() + 32);
    let mut rest = spec.path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        path.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        let value = match fields.remove(name) {
            Some(Value::String(s)) => s,
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(ToolError::InvalidArguments(format!("`{name}` is required"))),
        };
        let value = value.trim();
        if value.is_empty() || value == "." || value == ".." {
            return Err(ToolError::InvalidArguments(format!(
                "`{name}` must be a non-empty id"
            )));
        }
        if value.len() > MAX_PATH_VALUE {
            return Err(ToolError::InvalidArguments(format!(
                "`{name}` is {} bytes long, more than the {MAX_PATH_VALUE} an id can be; pass the id itself",
                value.len()
            )));
        }
        path.extend(utf8_percent_encode(value, SEGMENT));
        rest = &rest[close + 1..];
    }
    path.push_str(rest);

    let mut query = Vec::new();
    let mut url_len = path.len();
    for &name in spec.query {
        let values = match fields.remove(name) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(v) => vec![v],
        };
        for value in values {
            let value = query_value(value);
            if value.len() > MAX_QUERY_VALUE {
                return Err(ToolError::InvalidArguments(format!(
                    "`{name}` is {} bytes long, more than the {MAX_QUERY_VALUE} a query parameter can carry; shorten it",
                    value.len()
                )));
            }
            // Counted before percent-encoding: the bound is on what the agent sent.
            url_len += name.len() + value.len() + 2;
            if url_len > MAX_URL_LEN {
                return Err(ToolError::InvalidArguments(format!(
                    "`{name}` makes the request URL longer than {MAX_URL_LEN} bytes; pass fewer or shorter values"
                )));
            }
            query.push((name.to_string(), value));
        }
    }
    let mut headers = Vec::new();
    for &(name, header) in spec.headers {
        match fields.remove(name) {
            None | Some(Value::Null) => {}
            Some(value) => headers.push((header.to_string(), query_value(value))),
        }
    }
    let body = match spec.body {
        Body::Json => RequestBody::Json(Value::Object(fields)),
        Body::Whole(name) => match fields.remove(name) {
            Some(value) => RequestBody::Json(value),
            None => RequestBody::None,
        },
        Body::None if fields.is_empty() => RequestBody::None,
        Body::None => {
            let names: Vec<&String> = fields.keys().collect();
            return Err(ToolError::Internal(format!(
                "{}: fields {names:?} have no place in the request",
                spec.id
            )));
        }
    };
    Ok(UpstreamRequest {
        method: spec.method,
        path,
        query,
        headers,
        body,
        auth: spec.auth,
        retry_server_errors: spec.retry_server_errors(),
    })
}

fn query_value(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Where progress notifications for the current call go, if the client asked for them.
#[derive(Clone)]
pub struct ProgressSink {
    peer: Peer<RoleServer>,
    token: ProgressToken,
}

impl ProgressSink {
    pub fn new(peer: Peer<RoleServer>, token: ProgressToken) -> Self {
        Self { peer, token }
    }
}

/// What an operation may use while it runs.
#[derive(Clone)]
pub struct CallContext {
    pub client: Arc<MistralClient>,
    pub files: Arc<LocalFiles>,
    pub cancel: CancellationToken,
    pub progress: Option<ProgressSink>,
    /// Who is calling over HTTP; `None` on stdio and the command line.
    pub grant: Option<Arc<Grant>>,
    pub request_id: Option<String>,
    /// When the server's per-call time budget runs out; waits end before it with the
    /// last state instead of being cut off with an error.
    pub deadline: Option<tokio::time::Instant>,
}

impl CallContext {
    pub async fn send(&self, request: &UpstreamRequest) -> Result<UpstreamResponse, ToolError> {
        Ok(self.client.send(request, &self.cancel).await?)
    }

    /// Sends a progress notification if the client gave a progress token. Failures are
    /// ignored: progress is advisory and must never fail the call.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: impl Into<String>) {
        let Some(sink) = &self.progress else { return };
        let mut message = message.into();
        crate::redact::scrub_string(&mut message);
        let mut param =
            ProgressNotificationParam::new(sink.token.clone(), progress).with_message(message);
        if let Some(total) = total {
            param = param.with_total(total);
        }
        if let Err(e) = sink.peer.notify_progress(param).await {
            tracing::debug!(error = %e, "progress notification not delivered");
        }
    }
}

/// A tool's successful result.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// Readable text for the agent. When absent, the JSON itself is the text.
    pub summary: Option<String>,
    /// The JSON for `structuredContent`; always an object.
    pub structured: Value,
    /// Extra content blocks (audio, embedded resources).
    pub extra: Vec<ContentBlock>,
}

impl ToolOutput {
    pub fn json(value: Value) -> Self {
        Self {
            summary: None,
            structured: object_root(value),
            extra: Vec::new(),
        }
    }

    pub fn with_summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }

    /// For cursor-paged lists: adds `next_page` (the arguments for the next call) when Mistral
    /// returned a non-empty `next_page_token`.
    pub fn with_next_page_token(mut self, page_size: Option<u32>) -> Self {
        let token = self
            .structured
            .get("next_page_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if let (Some(token), Value::Object(o)) = (token, &mut self.structured) {
            let mut next = json!({ "page_token": token });
            if let Some(size) = page_size {
                next["page_size"] = json!(size);
            }
            o.insert("next_page".into(), next);
        }
        self
    }

    /// For page-numbered lists: adds `next_page` (the arguments for the next call) when more
    /// items remain, judged by `pagination.has_more` or `total` when Mistral sends them, else
    /// by a full page.
    pub fn with_next_page(mut self, page: u32, page_size: u32) -> Self {
        let shown = first_list_len(&self.structured) as u64;
        let has_more = self
            .structured
            .pointer("/pagination/has_more")
            .and_then(Value::as_bool);
        let total = self.structured.get("total").and_then(Value::as_u64);
        let size = u64::from(page_size);
        let more = match (has_more, total) {
            (Some(more), _) => more,
            (None, Some(total)) => (u64::from(page) + 1) * size < total,
            (None, None) => size > 0 && shown >= size,
        };
        if more && let Value::Object(o) = &mut self.structured {
            o.insert(
                "next_page".into(),
                json!({ "page": page + 1, "page_size": page_size }),
            );
        }
        self
    }

    /// For cursor-paged lists: adds `next_page` (the arguments for the next call) when the
    /// answer carries a non-empty `next_cursor`, at its top or one object down.
    pub fn with_next_cursor(mut self, size: Option<(&str, u32)>) -> Self {
        let cursor = next_cursor(&self.structured).map(str::to_string);
        if let (Some(cursor), Value::Object(o)) = (cursor, &mut self.structured) {
            let mut next = json!({ "cursor": cursor });
            if let Some((name, size)) = size {
                next[name] = json!(size);
            }
            o.insert("next_page".into(), next);
        }
        self
    }

    /// Mistral's JSON answer, with any deprecation or rate-limit notices attached.
    pub fn from_response(
        response: &UpstreamResponse,
        ctx: &CallContext,
    ) -> Result<Self, ToolError> {
        let value = response.json().map_err(ToolError::Upstream)?;
        let mut out = Self::json(value);
        if !response.notices.is_empty() {
            let notices: JsonObject = response
                .notices
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(ctx.client.redact(v))))
                .collect();
            if let Value::Object(obj) = &mut out.structured {
                obj.insert("_mistral_headers".into(), Value::Object(notices));
            }
        }
        Ok(out)
    }

    pub fn into_result(self) -> CallToolResult {
        let (text, structured) = match self.summary {
            Some(s) => (s, Some(self.structured)),
            None => {
                let text = self.structured.to_string();
                // A large result is sent once, as text: structuredContent would repeat it,
                // doubling both the memory held and the message (no tool declares an
                // output schema, so structuredContent is optional).
                let structured =
                    (text.len() <= MAX_DUPLICATED_RESULT_BYTES).then_some(self.structured);
                (text, structured)
            }
        };
        let mut content = vec![ContentBlock::text(text)];
        content.extend(self.extra);
        let mut result = CallToolResult::success(content);
        result.structured_content = structured;
        result
    }
}

/// Results whose JSON text is larger than this are not repeated in `structuredContent`.
pub const MAX_DUPLICATED_RESULT_BYTES: usize = 1024 * 1024;

/// Length of a list answer's items: `data`, else the first array at the top or one object
/// down (`{"campaigns": [...]}`, `{"completion_events": {"results": [...]}}`).
fn first_list_len(value: &Value) -> usize {
    if let Some(items) = value.get("data").and_then(Value::as_array) {
        return items.len();
    }
    let Some(obj) = value.as_object() else {
        return 0;
    };
    obj.values()
        .find_map(Value::as_array)
        .or_else(|| {
            obj.values()
                .filter_map(Value::as_object)
                .find_map(|inner| inner.values().find_map(Value::as_array))
        })
        .map_or(0, Vec::len)
}

/// The cursor of the next page: `next_cursor` at the top or one object down.
fn next_cursor(value: &Value) -> Option<&str> {
    fn found(v: &Value) -> Option<&str> {
        v.get("next_cursor")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
    }
    found(value).or_else(|| {
        value
            .as_object()?
            .values()
            .filter(|v| v.is_object())
            .find_map(found)
    })
}

/// Legacy MCP clients only accept object `structuredContent`; lists and scalars are wrapped.
fn object_root(value: Value) -> Value {
    match value {
        Value::Object(_) => value,
        Value::Null => json!({}),
        Value::Array(items) => json!({ "data": items }),
        other => json!({ "value": other }),
    }
}

/// Why a tool call failed. Every variant becomes a tool result with `isError: true`.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error(
        "Invalid arguments: {0}. Check the tool's input schema (describe_tools shows it) and call again."
    )]
    InvalidArguments(String),
    #[error("{0}")]
    Upstream(#[from] UpstreamError),
    #[error("{0}")]
    LocalFile(String),
    #[error("{0}")]
    NotAllowed(String),
    /// The call ran past the server's per-call time budget.
    #[error("{0}")]
    OverBudget(String),
    #[error("Internal error in mistral-mcp: {0}. This is a bug; please report it.")]
    Internal(String),
}

impl ToolError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidArguments(_) => "invalid_arguments",
            Self::Upstream(e) => e.kind(),
            Self::LocalFile(_) => "local_file",
            Self::NotAllowed(_) => "not_allowed",
            Self::OverBudget(_) => "over_budget",
            Self::Internal(_) => "internal",
        }
    }

    pub fn into_result(self) -> CallToolResult {
        // Messages can quote what the agent sent (a path, an id); an error is never a dump.
        let message = clip(&self.to_string(), MAX_ERROR_MESSAGE);
        let mut error = json!({ "kind": self.kind(), "message": message });
        if let Self::Upstream(e) = &self {
            if let Some(status) = e.status() {
                error["status"] = json!(status);
            }
            if let Some(wait) = e.retry_after() {
                error["retry_after_secs"] = json!(wait.as_secs().max(1));
            }
        }
        let mut result = CallToolResult::error(vec![ContentBlock::text(message)]);
        result.structured_content = Some(json!({ "error": error }));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        file_id: String,
        page: Option<u32>,
        tags: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    }

    #[test]
    fn path_query_and_body_are_routed() {
        let spec = OpSpec::patch("x", "/v1/files/{file_id}").query(&["page", "tags"]);
        let req = build_request(
            &spec,
            &Sample {
                file_id: "a/b c".into(),
                page: Some(2),
                tags: Some(vec!["t1".into(), "t2".into()]),
                name: Some("n".into()),
            },
        )
        .unwrap();
        assert_eq!(req.path, "/v1/files/a%2Fb%20c");
        assert_eq!(
            req.query,
            vec![
                ("page".into(), "2".into()),
                ("tags".into(), "t1".into()),
                ("tags".into(), "t2".into())
            ]
        );
        match req.body {
            RequestBody::Json(v) => assert_eq!(v, json!({"name": "n"})),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn dot_segments_are_refused() {
        let spec = OpSpec::get("x", "/v1/files/{file_id}").query(&["page", "tags", "name"]);
        let err = build_request(
            &spec,
            &Sample {
                file_id: "..".into(),
                page: None,
                tags: None,
                name: None,
            },
        )
        .unwrap_err();
        assert!(matches!(err, ToolError::InvalidArguments(_)));
    }

    #[test]
    fn url_values_are_bounded_and_named() {
        let spec = OpSpec::get("x", "/v1/files/{file_id}").query(&["page", "tags", "name"]);
        let long_id = Sample {
            file_id: "f".repeat(MAX_PATH_VALUE + 1),
            page: None,
            tags: None,
            name: None,
        };
        let err = build_request(&spec, &long_id).unwrap_err().to_string();
        assert!(err.contains("`file_id`") && err.len() < 300, "{err}");
        let long_tag = Sample {
            file_id: "f".into(),
            page: None,
            tags: Some(vec!["t".repeat(MAX_QUERY_VALUE + 1)]),
            name: None,
        };
        let err = build_request(&spec, &long_tag).unwrap_err().to_string();
        assert!(err.contains("`tags`") && err.len() < 300, "{err}");
        let many_tags = Sample {
            file_id: "f".into(),
            page: None,
            tags: Some(vec!["t".repeat(1000); 10]),
            name: None,
        };
        let err = build_request(&spec, &many_tags).unwrap_err().to_string();
        assert!(err.contains("`tags`"), "{err}");
    }

    #[test]
    fn argument_errors_quote_only_a_prefix_of_values() {
        let huge = "y".repeat(100_000);
        for args in [
            json!({"file_id": "x", "page": huge}),
            json!({"file_id": "x", huge.clone(): 1}),
            json!({"file_id": [huge]}),
            json!({"file_id": format!("{huge}\"`{huge}"), "page": {huge.clone(): huge}}),
        ] {
            let err = parse_arguments::<Sample>(args.as_object().unwrap().clone()).unwrap_err();
            let text = err.to_string();
            assert!(text.len() < 1500, "{} bytes", text.len());
        }
        let err = parse_arguments::<Sample>(
            json!({"file_id": "x", "page": "two"})
                .as_object()
                .unwrap()
                .clone(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"two\""), "{err}");
    }

    #[test]
    fn error_messages_are_capped() {
        let err = ToolError::LocalFile(format!("Cannot read {}: no such file", "p".repeat(10_000)));
        let result = err.into_result();
        let text = &result.content[0].as_text().unwrap().text;
        assert!(text.len() <= MAX_ERROR_MESSAGE + 3, "{}", text.len());
        let message = result.structured_content.unwrap()["error"]["message"].clone();
        assert_eq!(message.as_str(), Some(text.as_str()));
    }

    #[test]
    fn clip_quoted_cuts_long_spans_only() {
        assert_eq!(clip_quoted("a `bc` \"de\"", 8), "a `bc` \"de\"");
        assert_eq!(clip_quoted("x `abcdef` y", 3), "x `abc…` y");
        assert_eq!(clip_quoted(r#"s "a\"bcdef" t"#, 4), r#"s "a\"b…" t"#);
        assert_eq!(clip_quoted("open `abcdef", 2), "open `ab…");
        assert_eq!(clip_quoted("é`éé`", 2), "é`é…`");
    }

    #[test]
    fn argument_errors_name_the_field() {
        let args = json!({"file_id": "x", "page": "two"});
        let err = parse_arguments::<Sample>(args.as_object().unwrap().clone()).unwrap_err();
        assert!(err.to_string().contains("`page`"), "{err}");
        let args = json!({"file_id": "x", "pgae": 1});
        let err = parse_arguments::<Sample>(args.as_object().unwrap().clone()).unwrap_err();
        assert!(err.to_string().contains("pgae"), "{err}");
        let err = parse_arguments::<Sample>(JsonObject::new()).unwrap_err();
        assert!(err.to_string().contains("file_id"), "{err}");
    }
}
