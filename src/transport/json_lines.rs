//! JSON-RPC over newline-delimited JSON (MCP's stdio framing), owned here rather than by
//! rmcp's codec so that every line gets the answer JSON-RPC 2.0 asks for.
//!
//! rmcp's codec drops lines that are not JSON without a word and answers malformed messages
//! with an error that has no `id` member. Here each line is read with a size cap and then
//! either handed to rmcp, ignored (notifications and responses that cannot be read: JSON-RPC
//! never answers those), or answered at once: -32700 for a line that is not JSON, -32600 for
//! JSON that is not a request this server accepts, carrying the request's `id` when it can be
//! read and `"id": null` when not. Until a session has started, notifications and responses
//! are dropped (rmcp's handshake would end on them) and requests that need a session are
//! told to send `initialize` first. One [`JsonLines`] connection can hand out several
//! [`JsonLinesTransport`]s in turn, so a session whose handshake failed can start again on
//! the same streams (see [`super::stdio`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rmcp::RoleServer;
use rmcp::model::{ClientRequest, GetMeta, JsonRpcMessage};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::tool::clip;

/// Largest line accepted, as rmcp's own stdio codec: a message beyond it is refused unread.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// JSON-RPC 2.0 error codes used for lines rmcp never sees.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;
const METHOD_NOT_FOUND: i64 = -32601;
/// No MCP method name comes close; longer ones are refused without being quoted whole.
const MAX_METHOD_LEN: usize = 128;

/// Request methods rmcp has types for: one that still parses only as a custom request has
/// params of the wrong shape (rmcp would answer "method not found").
const TYPED_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
];

type BoxedRead = Box<dyn AsyncRead + Send + Unpin>;

/// One line-framed connection: a capped line reader and a single writer task, so that
/// answers written while reading and rmcp's own messages never interleave mid-line.
pub struct JsonLines {
    reader: Arc<Mutex<LineReader>>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    writer: JoinHandle<()>,
    session_started: Arc<AtomicBool>,
}

impl JsonLines {
    /// Starts the writer task; must be called inside a Tokio runtime.
    pub fn new<R, W>(read: R, write: W) -> Self
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let (outgoing, queue) = mpsc::unbounded_channel();
        Self {
            reader: Arc::new(Mutex::new(LineReader::new(Box::new(read)))),
            outgoing,
            writer: tokio::spawn(write_lines(write, queue)),
            session_started: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Called when rmcp's handshake failed: stray messages are kept from it again.
    pub fn mark_no_session(&self) {
        self.session_started.store(false, Ordering::Release);
    }

    /// A transport over this connection for one rmcp session (or one handshake attempt).
    pub fn transport(&self) -> JsonLinesTransport {
        JsonLinesTransport {
            reader: self.reader.clone(),
            outgoing: self.outgoing.clone(),
            session_started: self.session_started.clone(),
        }
    }

    /// Writes out what is still queued (an answer to the last line, say), then closes.
    pub async fn finish(self) {
        drop(self.outgoing);
        let drained = tokio::time::timeout(std::time::Duration::from_secs(5), self.writer);
        if drained.await.is_err() {
            tracing::warn!("stdout did not drain within 5 s; closing anyway");
        }
    }
}

struct Outgoing {
    line: Vec<u8>,
    /// Told the outcome of the write, for rmcp's sends; answers from the reader need none.
    written: Option<oneshot::Sender<std::io::Result<()>>>,
}

async fn write_lines<W: AsyncWrite + Unpin>(
    mut write: W,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    while let Some(Outgoing { line, written }) = queue.recv().await {
        let result = match write.write_all(&line).await {
            Ok(()) => write.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            tracing::debug!(error = %e, "writing a JSON-RPC line failed");
        }
        if let Some(written) = written {
            let _ = written.send(result);
        }
    }
}

fn closed() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotConnected, "the connection is closed")
}

/// rmcp's view of a [`JsonLines`] connection.
pub struct JsonLinesTransport {
    reader: Arc<Mutex<LineReader>>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    session_started: Arc<AtomicBool>,
}

impl JsonLinesTransport {
    fn answer(&self, message: &Value) {
        let mut line = message.to_string().into_bytes();
        line.push(b'\n');
        // Queued without waiting, so `receive` stays cancel-safe; order is kept by the queue.
        let _ = self.outgoing.send(Outgoing {
            line,
            written: None,
        });
    }
}

impl Transport<RoleServer> for JsonLinesTransport {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        // Queued now, in call order; the future only waits for the write.
        let queued = serde_json::to_vec(&item)
            .map_err(std::io::Error::from)
            .and_then(|mut line| {
                line.push(b'\n');
                let (written, outcome) = oneshot::channel();
                self.outgoing
                    .send(Outgoing {
                        line,
                        written: Some(written),
                    })
                    .map_err(|_| closed())?;
                Ok(outcome)
            });
        async move { queued?.await.unwrap_or_else(|_| Err(closed())) }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        // Holding the lock across reads is cancel-safe: a partial line stays in the reader.
        let mut reader = self.reader.lock().await;
        loop {
            let incoming = match reader.read_line().await {
                LineRead::Line => {
                    classify(reader.line(), self.session_started.load(Ordering::Acquire))
                }
                LineRead::Oversized => Incoming::Answer(error_reply(
                    Value::Null,
                    INVALID_REQUEST,
                    &format!(
                        "Invalid Request: a message is limited to {} MiB; send a smaller one",
                        MAX_LINE_BYTES >> 20
                    ),
                )),
                LineRead::Eof => return None,
                LineRead::Failed(e) => {
                    tracing::error!(error = %e, "reading stdin failed");
                    return None;
                }
            };
            reader.clear_line();
            match incoming {
                Incoming::Message(message) => {
                    // Set before rmcp sees the message: its session loop may read the next
                    // line before the handshake call has even returned.
                    if starts_session(&message) {
                        self.session_started.store(true, Ordering::Release);
                    }
                    return Some(*message);
                }
                Incoming::Ignore(why) => tracing::debug!("ignored an incoming line: {why}"),
                Incoming::Answer(reply) => self.answer(&reply),
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        // The streams outlive one session attempt; `JsonLines::finish` closes them.
        Ok(())
    }
}

/// What to do with one line.
pub enum Incoming {
    /// A message rmcp can handle.
    Message(Box<RxJsonRpcMessage<RoleServer>>),
    /// Nothing to answer (blank line, or a notification or response that cannot be read).
    Ignore(&'static str),
    /// A JSON-RPC error response to write back.
    Answer(Value),
}

/// Sorts one line (without its `\n`) into a message, something to ignore, or an error answer.
pub fn classify(line: &[u8], session_started: bool) -> Incoming {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // RFC 8259 lets a parser skip a leading byte order mark.
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Incoming::Ignore("blank line");
    }
    if let Ok(message) = serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(line) {
        return check_message(message, session_started);
    }
    let value: Value = match serde_json::from_slice(line) {
        Ok(value) => value,
        Err(e) => {
            return Incoming::Answer(error_reply(
                Value::Null,
                PARSE_ERROR,
                &format!(
                    "Parse error: the line is not valid UTF-8 JSON ({}); send one JSON-RPC message per line",
                    e.to_string().split(" at line ").next().unwrap_or_default()
                ),
            ));
        }
    };
    let Some(object) = value.as_object() else {
        return Incoming::Answer(error_reply(
            Value::Null,
            INVALID_REQUEST,
            "Invalid Request: a message must be a JSON object (batches are not supported)",
        ));
    };
    let id = object.get("id");
    let method = object.get("method");
    // JSON-RPC never answers a notification or a response, even a malformed one; answering
    // could also start an error loop with a peer that answers errors.
    if id.is_none() && method.is_some() {
        return Incoming::Ignore("a notification this server cannot read");
    }
    if method.is_none() && (object.contains_key("result") || object.contains_key("error")) {
        return Incoming::Ignore("a response this server cannot read");
    }
    let readable_id = match id {
        Some(Value::String(_)) => id.cloned(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => id.cloned(),
        _ => None,
    };
    let problem = if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        "\"jsonrpc\" must be \"2.0\"".to_string()
    } else if readable_id.is_none() {
        "\"id\" must be a string or an integer".to_string()
    } else {
        match method.and_then(Value::as_str) {
            None => "\"method\" must be a string".to_string(),
            Some(name) => format!("the params of `{}` do not match its schema", clip(name, 64)),
        }
    };
    Incoming::Answer(error_reply(
        readable_id.unwrap_or(Value::Null),
        INVALID_REQUEST,
        &format!("Invalid Request: {problem}"),
    ))
}

/// Refuses what rmcp would mishandle: a request of a known method whose params do not fit
/// its type, and anything but a request before the session has started.
fn check_message(message: RxJsonRpcMessage<RoleServer>, session_started: bool) -> Incoming {
    let request = match &message {
        JsonRpcMessage::Request(request) => request,
        _ if session_started => return Incoming::Message(Box::new(message)),
        _ => return Incoming::Ignore("a notification or response before initialize"),
    };
    let id = serde_json::to_value(&request.id).unwrap_or(Value::Null);
    let method = request.request.method();
    // rmcp would quote the whole method name back.
    if method.len() > MAX_METHOD_LEN {
        return Incoming::Answer(error_reply(
            id,
            METHOD_NOT_FOUND,
            &format!("Method not found: `{}`", clip(method, MAX_METHOD_LEN)),
        ));
    }
    if let ClientRequest::CustomRequest(custom) = &request.request
        && TYPED_METHODS.contains(&custom.method.as_str())
    {
        return Incoming::Answer(error_reply(
            id,
            INVALID_PARAMS,
            &format!("Invalid params: the params of `{method}` do not match the MCP schema for it"),
        ));
    }
    let lifecycle_free = matches!(method, "ping" | "server/discover");
    if !session_started && !lifecycle_free && !starts_session(&message) {
        return Incoming::Answer(error_reply(
            id,
            INVALID_REQUEST,
            &format!(
                "Server not initialized: send `initialize` (then `notifications/initialized`) before `{}`",
                clip(method, 64)
            ),
        ));
    }
    Incoming::Message(Box::new(message))
}

/// Whether rmcp starts a session on this message: an `initialize`, or a request carrying its
/// protocol version in `_meta` (MCP 2026-07-28 needs no handshake; rmcp checks the rest).
fn starts_session(message: &RxJsonRpcMessage<RoleServer>) -> bool {
    let JsonRpcMessage::Request(request) = message else {
        return false;
    };
    matches!(request.request, ClientRequest::InitializeRequest(_))
        || request.request.get_meta().protocol_version().is_some()
}

fn error_reply(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Outcome of one capped line read.
enum LineRead {
    Line,
    Oversized,
    Eof,
    Failed(std::io::Error),
}

/// Reads `\n`-terminated lines without ever buffering more than [`MAX_LINE_BYTES`] of one.
/// Cancel-safe: a partial line stays in `line` for the next call.
struct LineReader {
    read: BufReader<BoxedRead>,
    line: Vec<u8>,
    /// Skipping the rest of an oversized line, up to its `\n`.
    discarding: bool,
}

impl LineReader {
    fn new(read: BoxedRead) -> Self {
        Self {
            read: BufReader::new(read),
            line: Vec::new(),
            discarding: false,
        }
    }

    fn line(&self) -> &[u8] {
        self.line.strip_suffix(b"\n").unwrap_or(&self.line)
    }

    fn clear_line(&mut self) {
        self.line.clear();
        // A huge line should not pin its buffer for the rest of the session.
        self.line.shrink_to(64 * 1024);
    }

    async fn read_line(&mut self) -> LineRead {
        loop {
            let available = match self.read.fill_buf().await {
                Ok(available) => available,
                Err(e) => return LineRead::Failed(e),
            };
            if available.is_empty() {
                // An unterminated last line is still a message.
                if !self.discarding && !self.line.is_empty() {
                    return LineRead::Line;
                }
                return LineRead::Eof;
            }
            let newline = available.iter().position(|&b| b == b'\n');
            let take = newline.map_or(available.len(), |at| at + 1);
            let outcome = if self.discarding {
                self.discarding = newline.is_none();
                None
            } else if self.line.len() + take > MAX_LINE_BYTES {
                self.line.clear();
                self.discarding = newline.is_none();
                Some(LineRead::Oversized)
            } else {
                self.line.extend_from_slice(&available[..take]);
                newline.map(|_| LineRead::Line)
            };
            self.read.consume(take);
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(line: &str) -> Value {
        match classify(line.as_bytes(), true) {
            Incoming::Answer(v) => v,
            Incoming::Message(_) => panic!("{line} was handed on"),
            Incoming::Ignore(why) => panic!("{line} was ignored: {why}"),
        }
    }

    #[test]
    fn before_initialize_only_requests_pass() {
        let sorted = |line: &str| classify(line.as_bytes(), false);
        assert!(matches!(
            sorted(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Incoming::Ignore(_)
        ));
        assert!(matches!(
            sorted(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            Incoming::Ignore(_)
        ));
        for passes in [
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"server/discover"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
        ] {
            assert!(matches!(sorted(passes), Incoming::Message(_)), "{passes}");
        }
        let Incoming::Answer(v) = sorted(r#"{"jsonrpc":"2.0","id":2,"method":"initialize"}"#)
        else {
            panic!("initialize without params was not answered");
        };
        assert_eq!(v["error"]["code"], -32602);
        let Incoming::Answer(v) = sorted(r#"{"jsonrpc":"2.0","id":"t","method":"tools/list"}"#)
        else {
            panic!("tools/list before initialize was not answered");
        };
        assert_eq!(v["id"], "t");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("initialize"),
            "{v}"
        );
        let inline = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        assert!(matches!(sorted(inline), Incoming::Message(_)));
    }

    #[test]
    fn lines_are_sorted() {
        let valid = [
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"some/extension"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        ];
        for line in valid {
            assert!(
                matches!(classify(line.as_bytes(), true), Incoming::Message(_)),
                "{line}"
            );
        }
        for line in [
            &b"  \r"[..],
            br#"{"jsonrpc":"1.0","method":"notifications/x"}"#,
            br#"{"id":3,"result":5,"jsonrpc":"1"}"#,
        ] {
            assert!(matches!(classify(line, true), Incoming::Ignore(_)));
        }
        let v = answer(r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":5}}"#);
        assert_eq!(
            (v["id"].clone(), v["error"]["code"].clone()),
            (json!(9), json!(-32602))
        );
        let v = answer("nope");
        assert_eq!(
            (v["id"].clone(), v["error"]["code"].clone()),
            (Value::Null, json!(-32700))
        );
        let v = answer(r#"{"jsonrpc":"1.0","id":"a","method":"ping"}"#);
        assert_eq!(
            (v["id"].clone(), v["error"]["code"].clone()),
            (json!("a"), json!(-32600))
        );
        let v = answer(r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#);
        assert!(
            v.as_object()
                .is_some_and(|o| o.get("id") == Some(&Value::Null))
        );
        let v = answer("[]");
        assert_eq!(v["error"]["code"], -32600);
    }
}
