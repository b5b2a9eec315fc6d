//! Bounded property-based fuzzing (proptest, stable toolchain) of the two parsers that face
//! untrusted input: the JSON-RPC line reader of the stdio transport, and tool argument
//! parsing with request building.
//!
//! Each target runs a fixed number of cases so the suite stays within a few tens of seconds
//! on a small machine; `FUZZ_CASES=<n>` runs `n` cases per part of each target instead (long
//! runs). Every run draws fresh inputs unless `PROPTEST_RNG_SEED=<n>` fixes them. The figures
//! are written to stderr, past libtest's capture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::Cell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::FakeMistral;
use mistral_mcp::catalog::Catalog;
use mistral_mcp::server::McpServer;
use mistral_mcp::transport::stdio::serve_on;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rmcp::model::CallToolRequestParams;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, WriteHalf};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Longest error text a tool may return for bad input.
const MAX_ERROR_TEXT: usize = 4096;

fn cases(default: u32) -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // Shrinking re-runs server sessions; a bounded number of steps keeps failures quick.
        max_shrink_iters: 200,
        ..Config::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Written to stderr directly, not through `println!`, so that the figures show in a plain
/// `cargo test` run (scripts/test) where libtest captures printed output.
fn report(target: &str, cases: u32, started: Instant, detail: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "fuzz target {target}: {cases} cases in {:.1} s{detail}",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------
// Random JSON

/// Strings that stress parsers: empty, unicode, control characters, quotes, and huge ones.
fn nasty_string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-z0-9_./-]{0,16}",
        3 => any::<String>(),
        1 => Just(String::new()),
        1 => Just("..".to_string()),
        1 => "[\"`\\\\\n\r\t\u{0}\u{7f}\u{2028}\u{feff}é😀]{0,8}",
        1 => (0usize..300_000).prop_map(|n| "x".repeat(n)),
        1 => (0usize..20_000).prop_map(|n| "é\"`".repeat(n)),
    ]
    .boxed()
}

/// Numbers at and past the edges of what the server's types hold.
fn edge_number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        select(vec![
            json!(0),
            json!(-1),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(1.5),
            json!(-0.0),
            json!(1e308),
            json!(u32::MAX as u64 + 1),
        ]),
    ]
    .boxed()
}

fn arb_json(depth: u32) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        edge_number(),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,8}|\\PC{0,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

// ---------------------------------------------------------------------------------------
// JSON-RPC lines

fn message_templates() -> Vec<Value> {
    vec![
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "fuzz", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": "l", "method": "tools/list", "params": {}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
               "params": {"name": "files_retrieve", "arguments": {"file_id": "f-1"}}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
               "params": {"name": "models_list", "arguments": {}}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "resources/list", "params": {}}),
        json!({"jsonrpc": "2.0", "id": 6, "method": "logging/setLevel", "params": {"level": "debug"}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}),
        json!({"jsonrpc": "2.0", "id": 7, "result": {}}),
        json!({"jsonrpc": "2.0", "id": 8, "error": {"code": -32601, "message": "no"}}),
    ]
}

/// Ids of every JSON type, and numbers no integer type holds.
fn arb_id() -> BoxedStrategy<Value> {
    prop_oneof![
        edge_number(),
        nasty_string().prop_map(Value::String),
        Just(Value::Null),
        Just(json!(true)),
        Just(json!([1])),
        Just(json!({"id": 1})),
    ]
    .boxed()
}

/// A valid message with up to three fields replaced, removed or added.
fn mutated_message() -> BoxedStrategy<Value> {
    #[derive(Debug, Clone)]
    enum Edit {
        Set(&'static str, Value),
        Remove(&'static str),
    }
    let field = select(vec![
        "jsonrpc", "id", "method", "params", "result", "error", "extra",
    ]);
    let edit = prop_oneof![
        (field.clone(), arb_json(2)).prop_map(|(f, v)| Edit::Set(f, v)),
        arb_id().prop_map(|v| Edit::Set("id", v)),
        select(vec![
            json!("1.0"),
            json!("2"),
            json!(2.0),
            json!(null),
            json!("2.0 ")
        ])
        .prop_map(|v| Edit::Set("jsonrpc", v)),
        field.prop_map(Edit::Remove),
    ];
    (
        select(message_templates()),
        proptest::collection::vec(edit, 0..4),
    )
        .prop_map(|(mut message, edits)| {
            if let Value::Object(o) = &mut message {
                for edit in edits {
                    match edit {
                        Edit::Set(k, v) => {
                            o.insert(k.to_string(), v);
                        }
                        Edit::Remove(k) => {
                            o.remove(k);
                        }
                    }
                }
            }
            message
        })
        .boxed()
}

/// Text that is almost a message: byte edits of valid lines (invalid UTF-8 included), deep
/// nesting, numbers out of range, lone surrogates.
fn near_valid_text() -> BoxedStrategy<Vec<u8>> {
    let texts: Vec<Vec<u8>> = message_templates()
        .into_iter()
        .map(|m| m.to_string().into_bytes())
        .collect();
    let byte_edits = (
        select(texts),
        proptest::collection::vec((any::<usize>(), any::<u8>(), 0..3u8), 1..5),
    )
        .prop_map(|(mut text, edits)| {
            for (at, byte, kind) in edits {
                if text.is_empty() {
                    break;
                }
                let at = at % text.len();
                match kind {
                    0 => text.truncate(at),
                    1 => text.insert(at, byte),
                    _ => text[at] = byte,
                }
            }
            text
        });
    prop_oneof![
        4 => byte_edits,
        1 => (1usize..20_000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        1 => (1usize..5_000).prop_map(|n| {
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{}1{}}}"#,
                "{\"a\":".repeat(n), "}".repeat(n)).into_bytes()
        }),
        1 => select(vec![
            br#"{"jsonrpc":"2.0","id":1e400,"method":"ping"}"#.to_vec(),
            br#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}"#.to_vec(),
            br#"{"jsonrpc":"2.0","id":-0,"method":"ping"}"#.to_vec(),
            br#"{"jsonrpc":"2.0","id":"\ud800","method":"ping"}"#.to_vec(),
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi\xffng\"}".to_vec(),
            b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r".to_vec(),
            br#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#.to_vec(),
            b"[]".to_vec(),
            b"null".to_vec(),
            b"\"\"".to_vec(),
            b"".to_vec(),
            b"\r".to_vec(),
        ]),
        1 => proptest::collection::vec(any::<u8>(), 0..64),
    ]
    .boxed()
}

fn jsonrpc_line() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => mutated_message().prop_map(|m| m.to_string().into_bytes()),
        2 => near_valid_text(),
        1 => arb_json(3).prop_map(|v| v.to_string().into_bytes()),
    ]
    .boxed()
}

/// A raw JSON-RPC client on one end of a pipe; the server's stdio loop on the other.
struct RawSession {
    write: WriteHalf<DuplexStream>,
    read: Lines<BufReader<tokio::io::ReadHalf<DuplexStream>>>,
    server: JoinHandle<anyhow::Result<()>>,
    probes: u64,
    /// Answers read while waiting for another one.
    early: HashMap<String, Value>,
}

impl RawSession {
    fn start(server: McpServer) -> Self {
        let (client, server_end) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_end);
        let server = tokio::spawn(serve_on(server, server_read, server_write));
        let (read, write) = tokio::io::split(client);
        Self {
            write,
            read: BufReader::new(read).lines(),
            server,
            probes: 0,
            early: HashMap::new(),
        }
    }

    async fn send(&mut self, line: &[u8]) -> Result<(), TestCaseError> {
        let sent = async {
            self.write.write_all(line).await?;
            self.write.write_all(b"\n").await?;
            self.write.flush().await
        };
        tokio::time::timeout(Duration::from_secs(10), sent)
            .await
            .map_err(|_| TestCaseError::fail("the server stopped reading"))?
            .map_err(|e| TestCaseError::fail(format!("the server closed its input: {e}")))
    }

    /// Sends a request without waiting; returns its id.
    async fn send_request(&mut self, method: &str, params: Value) -> Result<String, TestCaseError> {
        self.probes += 1;
        let id = format!("probe-{}", self.probes);
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send(request.to_string().as_bytes()).await?;
        Ok(id)
    }

    /// Waits for the answer with this id, checking every line on the way: JSON-RPC 2.0, an
    /// `id` on every response, short error messages.
    async fn reply_to(&mut self, id: &str) -> Result<Value, TestCaseError> {
        if let Some(reply) = self.early.remove(id) {
            return Ok(reply);
        }
        loop {
            let line = tokio::time::timeout(Duration::from_secs(15), self.read.next_line())
                .await
                .map_err(|_| TestCaseError::fail(format!("no answer to {id} in 15 s")))?
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .ok_or_else(|| TestCaseError::fail("the server ended the session"))?;
            let message: Value = serde_json::from_str(&line)
                .map_err(|e| TestCaseError::fail(format!("server wrote non-JSON ({e})")))?;
            prop_assert_eq!(&message["jsonrpc"], "2.0");
            let object = message.as_object().unwrap();
            if object.contains_key("error") || object.contains_key("result") {
                prop_assert!(object.contains_key("id"), "a response without id: {}", line);
            }
            if let Some(error) = object.get("error") {
                let text = error["message"].as_str().unwrap_or_default();
                prop_assert!(
                    text.len() < MAX_ERROR_TEXT,
                    "a {} byte JSON-RPC error",
                    text.len()
                );
            }
            match message["id"].as_str() {
                Some(seen) if seen == id => return Ok(message),
                Some(seen) if seen.starts_with("probe-") => {
                    self.early.insert(seen.to_string(), message);
                }
                _ => {}
            }
        }
    }

    async fn probe(&mut self, method: &str, params: Value) -> Result<Value, TestCaseError> {
        let id = self.send_request(method, params).await?;
        self.reply_to(&id).await
    }

    fn alive(&self) -> Result<(), TestCaseError> {
        prop_assert!(!self.server.is_finished(), "the server loop ended");
        Ok(())
    }
}

fn initialize_params() -> Value {
    json!({"protocolVersion": "2025-06-18", "capabilities": {},
           "clientInfo": {"name": "fuzz", "version": "0"}})
}

#[test]
fn fuzz_jsonrpc_lines() {
    let rt = runtime();
    let started = Instant::now();
    let (fake, dir) =
        rt.block_on(async { (FakeMistral::start().await, tempfile::tempdir().unwrap()) });
    let config = common::harness::test_config(&fake, dir.path(), |_| {});
    let new_server = || McpServer::new(&config, Catalog::load(None).unwrap()).unwrap();

    // Inside a session: any line, then the server still answers ping and tools/list.
    let session_cases = cases(600);
    let session = tokio::sync::Mutex::new(rt.block_on(async {
        let mut s = RawSession::start(new_server());
        s.probe("initialize", initialize_params()).await.unwrap();
        s.send(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            .await
            .unwrap();
        s
    }));
    let lines_sent = Cell::new(0u64);
    runner(session_cases)
        .run(&proptest::collection::vec(jsonrpc_line(), 1..4), |lines| {
            rt.block_on(async {
                let mut s = session.lock().await;
                for line in &lines {
                    s.send(line).await?;
                }
                let pong = s.probe("ping", json!({})).await?;
                prop_assert!(pong.get("result").is_some(), "ping: {}", pong);
                s.alive()
            })?;
            lines_sent.set(lines_sent.get() + lines.len() as u64);
            Ok(())
        })
        .unwrap();
    rt.block_on(async {
        let mut s = session.lock().await;
        let listed = s.probe("tools/list", json!({})).await.unwrap();
        assert!(listed["result"]["tools"].is_array(), "{listed}");
    });

    // Before initialize, on a fresh server each time: any line, then ping is answered, and
    // initialize, notifications/initialized and tools/list sent at once (as clients do) are.
    let fresh_cases = cases(120);
    let listed_after = Cell::new(0u32);
    runner(fresh_cases)
        .run(&jsonrpc_line(), |line| {
            rt.block_on(async {
                let mut s = RawSession::start(new_server());
                s.send(&line).await?;
                let pong = s.probe("ping", json!({})).await?;
                prop_assert!(pong.get("result").is_some(), "ping: {}", pong);
                let init = s.send_request("initialize", initialize_params()).await?;
                s.send(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
                    .await?;
                let list = s.send_request("tools/list", json!({})).await?;
                s.reply_to(&init).await?;
                let listed = s.reply_to(&list).await?;
                if listed["result"]["tools"].is_array() {
                    listed_after.set(listed_after.get() + 1);
                }
                s.alive()
            })
        })
        .unwrap();
    let listed_after = listed_after.get();
    assert!(
        listed_after * 10 >= fresh_cases * 9,
        "only {listed_after} of {fresh_cases} sessions listed tools after a stray first line"
    );
    report(
        "jsonrpc_lines",
        session_cases + fresh_cases,
        started,
        &format!(
            " ({session_cases} in one session, {} lines; {fresh_cases} before initialize)",
            lines_sent.get()
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Tool arguments

/// Values shaped by a JSON schema, with rare wrong types, nulls and extra keys.
fn from_schema(schema: &Value, depth: u32) -> BoxedStrategy<Value> {
    if depth > 5 {
        return arb_json(1);
    }
    prop_oneof![
        12 => shaped(schema, depth),
        1 => arb_json(2),
        1 => Just(Value::Null),
    ]
    .boxed()
}

fn shaped(schema: &Value, depth: u32) -> BoxedStrategy<Value> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values.is_empty()
    {
        return select(values.clone()).boxed();
    }
    if let Some(value) = schema.get("const") {
        return Just(value.clone()).boxed();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(alternatives) = schema.get(key).and_then(Value::as_array)
            && !alternatives.is_empty()
        {
            return Union::new(alternatives.iter().map(|a| shaped(a, depth + 1))).boxed();
        }
    }
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ if schema.get("properties").is_some() => vec!["object".into()],
        _ => Vec::new(),
    };
    if types.is_empty() {
        return arb_json(2);
    }
    Union::new(types.iter().map(|t| {
        match t.as_str() {
            "string" => nasty_string().prop_map(Value::String).boxed(),
            "integer" => {
                let min = schema.get("minimum").and_then(Value::as_i64).unwrap_or(0);
                let max = schema
                    .get("maximum")
                    .and_then(Value::as_i64)
                    .unwrap_or(min.saturating_add(100))
                    .max(min);
                prop_oneof![4 => (min..=max).prop_map(Value::from), 1 => edge_number()].boxed()
            }
            "number" => prop_oneof![(0.0..1.0f64).prop_map(Value::from), edge_number()].boxed(),
            "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
            "null" => Just(Value::Null).boxed(),
            "array" => {
                let items = schema.get("items").cloned().unwrap_or(json!({}));
                proptest::collection::vec(from_schema(&items, depth + 1), 0..4)
                    .prop_map(Value::Array)
                    .boxed()
            }
            "object" => object_from_schema(schema, depth)
                .prop_map(Value::Object)
                .boxed(),
            _ => arb_json(1),
        }
    }))
    .boxed()
}

fn object_from_schema(schema: &Value, depth: u32) -> BoxedStrategy<Map<String, Value>> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, sub)| {
            let keep = if required.contains(&name.as_str()) {
                0.95
            } else {
                0.5
            };
            let name = name.clone();
            proptest::option::weighted(keep, from_schema(sub, depth + 1))
                .prop_map(move |v| v.map(|v| (name.clone(), v)))
                .boxed()
        })
        .collect();
    let extra = proptest::option::weighted(0.1, ("[a-z_]{1,12}|\\PC{1,6}", arb_json(1)));
    (fields, extra)
        .prop_map(|(fields, extra)| fields.into_iter().flatten().chain(extra).collect())
        .boxed()
}

fn check_error_result(
    tool: &str,
    result: &rmcp::model::CallToolResult,
) -> Result<(), TestCaseError> {
    if result.is_error == Some(true) {
        let text = common::harness::text(result);
        prop_assert!(!text.is_empty(), "{tool}: an error without a message");
        prop_assert!(
            text.len() < MAX_ERROR_TEXT,
            "{tool}: a {} byte error message: {}…",
            text.len(),
            text.chars().take(200).collect::<String>()
        );
    }
    Ok(())
}

#[test]
fn fuzz_tool_arguments() {
    let rt = runtime();
    let started = Instant::now();
    let fake = rt.block_on(FakeMistral::start());
    let dir = tempfile::tempdir().unwrap();
    let config = common::harness::test_config(&fake, dir.path(), |o| o.timeout_secs = Some(5));
    let server = McpServer::new(&config, Catalog::load(None).unwrap()).unwrap();
    let tools: Vec<(String, Value)> = server
        .listed_tools()
        .iter()
        .map(|t| (t.name.to_string(), Value::Object((*t.input_schema).clone())))
        .collect();
    assert!(tools.len() > 20, "{} tools", tools.len());
    let per_tool = |tools: &[(String, Value)]| {
        Union::new(tools.iter().map(|(name, schema)| {
            let name = name.clone();
            object_from_schema(schema, 0)
                .prop_map(move |args| (name.clone(), args))
                .boxed()
        }))
    };

    // Every exposed tool, in-process: parsing, request building and the call to the fake.
    let direct_cases = cases(3000);
    let refused = Cell::new(0u32);
    runner(direct_cases)
        .run(&per_tool(&tools), |(tool, args)| {
            let result = rt.block_on(async {
                let mut ctx = server.detached_context(CancellationToken::new());
                ctx.deadline = Some(tokio::time::Instant::now() + Duration::from_secs(2));
                let call = server.call(&tool, args, ctx);
                tokio::time::timeout(Duration::from_secs(20), call).await
            });
            let result = result
                .map_err(|_| TestCaseError::fail(format!("{tool} ran past 20 s")))?
                .ok_or_else(|| TestCaseError::fail(format!("{tool} is listed but not callable")))?;
            refused.set(refused.get() + u32::from(result.is_error == Some(true)));
            check_error_result(&tool, &result)
        })
        .unwrap();

    // A sample through the MCP client, as an agent would send it.
    let mcp_cases = cases(300);
    let client_server = rt.block_on(common::harness::start(&fake, |o| o.timeout_secs = Some(5)));
    runner(mcp_cases)
        .run(&per_tool(&tools), |(tool, args)| {
            let result = rt.block_on(async {
                let params = CallToolRequestParams::new(tool.clone()).with_arguments(args);
                tokio::time::timeout(
                    Duration::from_secs(20),
                    client_server.client.call_tool(params),
                )
                .await
            });
            let result = result
                .map_err(|_| TestCaseError::fail(format!("{tool} ran past 20 s")))?
                .map_err(|e| TestCaseError::fail(format!("{tool}: a protocol error: {e}")))?;
            check_error_result(&tool, &result)
        })
        .unwrap();
    report(
        "tool_arguments",
        direct_cases + mcp_cases,
        started,
        &format!(
            " ({} tools; {direct_cases} in-process, {} refused; {mcp_cases} over MCP)",
            tools.len(),
            refused.get()
        ),
    );
}
