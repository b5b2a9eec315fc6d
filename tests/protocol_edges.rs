//! The real binary over stdio, fed raw JSON-RPC lines that a well-behaved client never sends:
//! messages before `initialize`, wrong protocol versions, unreadable lines and oversized
//! arguments. The server must answer what deserves an answer and keep serving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::FakeMistral;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const BIN: &str = env!("CARGO_BIN_EXE_mistral-mcp");

/// The server as a child process driven line by line.
struct Stdio_ {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Stdio_ {
    fn spawn(fake: &FakeMistral) -> Self {
        let mut child = Command::new(BIN)
            .envs(common::server_env(fake))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            stdin,
            stdout,
        }
    }

    async fn send_line(&mut self, line: &[u8]) {
        // A server that already exited closes its stdin: the test then fails on `recv`.
        let _ = self.stdin.write_all(line).await;
        let _ = self.stdin.write_all(b"\n").await;
        let _ = self.stdin.flush().await;
    }

    async fn send(&mut self, message: Value) {
        self.send_line(message.to_string().as_bytes()).await;
    }

    /// The next message the server writes; fails when it writes nothing or exits.
    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(20), self.stdout.next_line())
            .await
            .expect("the server answered nothing within 20 s")
            .unwrap()
            .expect("the server closed stdout (it exited)");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON on stdout ({e}): {line}"))
    }

    async fn request(&mut self, id: Value, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        self.recv().await
    }

    async fn initialize(&mut self) {
        let reply = self
            .request(
                json!("init"),
                "initialize",
                json!({
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "protocol-edges", "version": "0"}
                }),
            )
            .await;
        assert_eq!(reply["id"], "init", "{reply}");
        assert!(reply["result"]["serverInfo"].is_object(), "{reply}");
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
    }

    /// `tools/list` works and lists the tools.
    async fn assert_serving(&mut self) {
        let reply = self.request(json!(1000), "tools/list", json!({})).await;
        assert_eq!(reply["id"], 1000, "{reply}");
        assert!(
            reply["result"]["tools"]
                .as_array()
                .is_some_and(|t| !t.is_empty()),
            "{reply}"
        );
    }

    /// Closes stdin and checks the server then ends cleanly.
    async fn finish(mut self) {
        drop(self.stdin);
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the server did not exit after stdin closed")
            .unwrap();
        assert!(status.success(), "exit status {status}");
    }
}

#[tokio::test]
async fn notifications_before_initialize_are_ignored() {
    let fake = FakeMistral::start().await;
    let mut s = Stdio_::spawn(&fake);
    s.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    s.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}),
    )
    .await;
    s.initialize().await;
    s.assert_serving().await;
    s.finish().await;
}

#[tokio::test]
async fn a_response_before_initialize_is_ignored() {
    let fake = FakeMistral::start().await;
    let mut s = Stdio_::spawn(&fake);
    s.send(json!({"jsonrpc": "2.0", "id": 99, "result": {}}))
        .await;
    s.send(json!({"jsonrpc": "2.0", "id": 98, "error": {"code": -1, "message": "no"}}))
        .await;
    s.initialize().await;
    s.assert_serving().await;
    s.finish().await;
}

#[tokio::test]
async fn a_request_before_initialize_gets_an_error_with_its_id() {
    let fake = FakeMistral::start().await;
    let mut s = Stdio_::spawn(&fake);
    let reply = s.request(json!("early"), "tools/list", json!({})).await;
    assert_eq!(reply["id"], "early", "{reply}");
    let message = reply["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("send `initialize`"), "{reply}");
    s.initialize().await;
    s.assert_serving().await;
    s.finish().await;
}

#[tokio::test]
async fn an_initialize_with_bad_params_is_refused_and_a_later_one_works() {
    let fake = FakeMistral::start().await;
    let mut s = Stdio_::spawn(&fake);
    // Params rmcp cannot read: refused with the id, and a proper initialize still works.
    let reply = s.request(json!(1), "initialize", json!(5)).await;
    assert_eq!(reply["id"], 1, "{reply}");
    assert!(reply["error"].is_object(), "{reply}");
    s.initialize().await;
    s.assert_serving().await;
    s.finish().await;
}

#[tokio::test]
async fn a_wrong_jsonrpc_version_gets_an_error_carrying_the_id() {
    let fake = FakeMistral::start().await;
    let mut s = Stdio_::spawn(&fake);
    s.initialize().await;
    s.send(json!({"jsonrpc": "1.0", "id": 5, "method": "tools/list"}))
        .await;
    let reply = s.recv().await;
    assert_eq!(reply["jsonrpc"], "2.0", "{reply}");
    assert_eq!(reply["id"], 5, "{reply}");
    assert_eq!(reply["error"]["code"], -32600, "{reply}");

    // An id that cannot be read is answered with `"id": null`, never without an id.
    s.send(json!({"jsonrpc": "2.0", "id": {"not": "an id"}, "method": "ping"}))
        .await;
    let reply = s.recv().await;
    assert!(
        reply.as_object().unwrap().get("id") == Some(&Value::Null),
        "{reply}"
    );
    assert_eq!(reply["error"]["code"], -32600, "{reply}");
    s.assert_serving().await;
    s.finish().await;
}

#[tokio::test]
async fn malformed_params_of_a_known_method_are_invalid_params() {
    let fake = FakeMistral::start().await;
    let mut s = Stdio_::spawn(&fake);
    s.initialize().await;
    // rmcp alone answers "method not found: tools/call", which sends the client astray.
    let reply = s.request(json!(3), "tools/call", json!({"name": 5})).await;
    assert_eq!(reply["id"], 3, "{reply}");
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    s.assert_serving().await;
    s.finish().await;
}

#[tokio::test]
async fn unreadable_lines_get_a_parse_error_and_the_server_keeps_serving() {
    let fake = FakeMistral::start().await;
    let mut s = Stdio_::spawn(&fake);
    s.send_line(b"this is not json").await;
    let reply = s.recv().await;
    assert_eq!(reply["error"]["code"], -32700, "{reply}");
    assert!(
        reply.as_object().unwrap().get("id") == Some(&Value::Null),
        "{reply}"
    );
    s.initialize().await;
    s.send_line(b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"\xff}")
        .await;
    let reply = s.recv().await;
    assert_eq!(reply["error"]["code"], -32700, "{reply}");
    s.assert_serving().await;
    s.finish().await;
}

#[tokio::test]
async fn a_huge_path_argument_is_refused_by_name_without_echo_or_upstream_call() {
    let fake = FakeMistral::start().await;
    let mut s = Stdio_::spawn(&fake);
    s.initialize().await;
    let huge = "f".repeat(10 * 1024 * 1024);
    let reply = s
        .request(
            json!(2),
            "tools/call",
            json!({"name": "files_retrieve", "arguments": {"file_id": huge}}),
        )
        .await;
    drop(huge);
    assert_eq!(reply["id"], 2);
    assert_eq!(reply["result"]["isError"], true);
    let text = reply["result"]["content"][0]["text"].as_str().unwrap();
    let head: String = text.chars().take(300).collect();
    assert!(text.contains("file_id"), "{head}");
    assert!(text.len() < 2048, "{} bytes of error", text.len());
    assert!(
        reply.to_string().len() < 4096,
        "{} bytes of reply",
        reply.to_string().len()
    );
    assert!(fake.requests().is_empty(), "nothing reaches Mistral");
    s.assert_serving().await;
    s.finish().await;
}

#[tokio::test]
async fn argument_errors_never_echo_huge_values() {
    let fake = FakeMistral::start().await;
    let mut s = Stdio_::spawn(&fake);
    s.initialize().await;
    let huge = "x".repeat(1024 * 1024);
    for (n, arguments) in [
        json!({"file_id": "a", "expiry": huge}),
        json!({"file_id": "a", huge.clone(): 1}),
        json!({"file_id": [huge]}),
    ]
    .into_iter()
    .enumerate()
    {
        let reply = s
            .request(
                json!(n),
                "tools/call",
                json!({"name": "files_signed_url", "arguments": arguments}),
            )
            .await;
        assert_eq!(reply["result"]["isError"], true, "{n}");
        let len = reply.to_string().len();
        assert!(len < 4096, "case {n}: {len} bytes of reply");
    }
    assert!(fake.requests().is_empty(), "nothing reaches Mistral");
    s.finish().await;
}

#[tokio::test]
async fn huge_names_are_never_echoed_whole() {
    let fake = FakeMistral::start().await;
    let mut s = Stdio_::spawn(&fake);
    s.initialize().await;
    let huge = "n".repeat(1024 * 1024);
    let calls = [
        ("tools/call", json!({"name": huge, "arguments": {}})),
        (huge.as_str(), json!({})),
        (
            "tools/call",
            json!({"name": "search_tools", "arguments": {"query": huge}}),
        ),
        (
            "tools/call",
            json!({"name": "describe_tools", "arguments": {"names": [huge]}}),
        ),
        (
            "tools/call",
            json!({"name": "call_tool", "arguments": {"name": huge, "arguments": {}}}),
        ),
    ];
    for (n, (method, params)) in calls.into_iter().enumerate() {
        let reply = s.request(json!(n), method, params).await;
        assert_eq!(reply["id"], n, "case {n}");
        let len = reply.to_string().len();
        assert!(len < 8192, "case {n}: {len} bytes of reply");
    }
    s.assert_serving().await;
    s.finish().await;
}
