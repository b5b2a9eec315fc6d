//! The side-by-side run: every server on the same work against the same stub, rounds
//! interleaved so drift on a shared machine hits all of them alike. Any failed call, any
//! server that does not start and any request the stub did not expect ends the run with an
//! error; throughput errors are counted and also fail the run, after the table is printed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use hyper::Method;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::client::{
    HttpConn, McpHttpTarget, StdioServer, call_params, check_tool_result, has_id, quick_check,
    request_line, rpc_result, truncate, upstream_headers,
};
use crate::measure::{peak_rss_mib, percentile_us, reset_peak};
use crate::report::{self, Results};
use crate::stub::{CHAT_MARKER, EMBED_MARKER};

pub const TOKENIZER: &str = "o200k_base (tiktoken-rs 0.12.1)";
pub const CONCURRENCY: [usize; 3] = [1, 16, 64];

pub struct Opts {
    pub ours: String,
    pub python: String,
    pub fastmcp_script: String,
    pub spec: String,
    pub node: String,
    pub node_preload: String,
    pub node_server: String,
    pub search_eval: Vec<PathBuf>,
    pub rounds: usize,
    pub calls: usize,
    pub warmup: usize,
    pub seconds: f64,
    pub cold_runs: usize,
    pub logs: PathBuf,
    pub report: PathBuf,
    pub command: String,
    /// Another mistral-mcp binary to measure beside `ours`, for an A/B report.
    pub baseline: Option<String>,
    /// Leave FastMCP and the npm server out (with `--baseline`: only the two builds).
    pub only_ours: bool,
}

impl Opts {
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut o = Opts {
            ours: "target/release/mistral-mcp".into(),
            python: ".bench/py/bin/python".into(),
            fastmcp_script: "bench/peers/fastmcp_server.py".into(),
            spec: ".bench/openapi.fastmcp.json".into(),
            node: "node".into(),
            node_preload: "bench/peers/node_base_url.mjs".into(),
            node_server: ".bench/node/node_modules/mistral-mcp/dist/index.js".into(),
            search_eval: Vec::new(),
            rounds: 3,
            calls: 500,
            warmup: 30,
            seconds: 3.0,
            cold_runs: 7,
            logs: ".bench/logs".into(),
            report: ".bench/report.md".into(),
            command: "bench/run".into(),
            baseline: None,
            only_ours: false,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut val = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| anyhow!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--ours" => o.ours = val()?,
                "--python" => o.python = val()?,
                "--fastmcp-script" => o.fastmcp_script = val()?,
                "--spec" => o.spec = val()?,
                "--node" => o.node = val()?,
                "--node-preload" => o.node_preload = val()?,
                "--node-server" => o.node_server = val()?,
                "--search-eval" => o.search_eval.push(val()?.into()),
                "--rounds" => o.rounds = val()?.parse()?,
                "--calls" => o.calls = val()?.parse()?,
                "--warmup" => o.warmup = val()?.parse()?,
                "--seconds" => o.seconds = val()?.parse()?,
                "--cold-runs" => o.cold_runs = val()?.parse()?,
                "--logs" => o.logs = val()?.into(),
                "--report" => o.report = val()?.into(),
                "--command" => o.command = val()?,
                "--baseline" => o.baseline = Some(val()?),
                "--only-ours" => o.only_ours = true,
                other => bail!("unknown option {other}"),
            }
        }
        if o.rounds == 0 || o.calls == 0 || o.cold_runs == 0 || o.seconds <= 0.0 {
            bail!("--rounds, --calls, --cold-runs and --seconds must be positive");
        }
        if o.rounds > 20 || o.calls > 100_000 || o.cold_runs > 100 || o.seconds > 60.0 {
            bail!(
                "refusing an unbounded run: at most 20 rounds, 100000 calls, 100 cold runs, 60 s"
            );
        }
        Ok(o)
    }
}

/// One tool call a server is measured on: its tool name and arguments.
#[derive(Clone)]
pub struct Call {
    pub tool: String,
    pub args: String,
}

/// How to start one server and what to call on it.
#[derive(Clone)]
pub struct ServerDef {
    pub key: &'static str,
    pub name: &'static str,
    pub config: &'static str,
    pub stdio: Vec<String>,
    /// Command line for Streamable HTTP; `{port}` is replaced.
    pub http: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Extra environment for HTTP mode; `{port}` is replaced.
    pub http_env: Vec<(String, String)>,
    pub http_path: &'static str,
    /// chat and embeddings calls; `None`: measured for start-up and tools/list only.
    pub calls: Option<(Call, Call)>,
    /// Measured for throughput and memory (one configuration per server program).
    pub load: bool,
}

pub const CHAT_ARGS: &str =
    r#"{"model":"mistral-small-latest","messages":[{"role":"user","content":"hi"}]}"#;
pub const EMBED_ARGS: &str = r#"{"model":"mistral-embed","input":["hello"]}"#;

fn s(v: &str) -> String {
    v.to_string()
}

fn servers(o: &Opts, upstream: &str) -> Vec<ServerDef> {
    let ours_env = vec![
        (s("MISTRAL_API_KEY"), s("bench-key")),
        (s("MISTRAL_BASE_URL"), upstream.to_string()),
    ];
    let ours = |mode: &str| -> (Vec<String>, Vec<String>) {
        (
            vec![o.ours.clone(), s("--tools"), s(mode)],
            vec![
                o.ours.clone(),
                s("--tools"),
                s(mode),
                s("serve"),
                s("--http"),
                s("127.0.0.1:{port}"),
            ],
        )
    };
    let (all_stdio, all_http) = ours("all");
    let (dyn_stdio, dyn_http) = ours("dynamic");
    let direct = |tool: &str, args: &str| Call {
        tool: tool.to_string(),
        args: args.to_string(),
    };
    let via_call_tool = |tool: &str, args: &str| Call {
        tool: s("call_tool"),
        args: format!(r#"{{"name":"{tool}","arguments":{args}}}"#),
    };
    let fastmcp = vec![
        o.python.clone(),
        o.fastmcp_script.clone(),
        o.spec.clone(),
        upstream.to_string(),
    ];
    let node = vec![
        o.node.clone(),
        s("--import"),
        format!("file://{}", absolute(&o.node_preload)),
        o.node_server.clone(),
    ];
    let node_env = |profile: Option<&str>| {
        let mut env = vec![
            (s("MISTRAL_API_KEY"), s("bench-key")),
            (s("BENCH_UPSTREAM"), upstream.to_string()),
        ];
        if let Some(p) = profile {
            env.push((s("MISTRAL_MCP_PROFILE"), s(p)));
        }
        env
    };
    vec![
        ServerDef {
            key: "ours_all",
            name: "mistral-mcp (Rust)",
            config: "--tools all (default)",
            stdio: all_stdio,
            http: all_http,
            env: ours_env.clone(),
            http_env: vec![],
            http_path: "/mcp",
            calls: Some((
                direct("chat_complete", CHAT_ARGS),
                direct("embeddings_create", EMBED_ARGS),
            )),
            load: true,
        },
        ServerDef {
            key: "ours_dynamic",
            name: "mistral-mcp (Rust)",
            config: "--tools dynamic (calls via call_tool)",
            stdio: dyn_stdio,
            http: dyn_http,
            env: ours_env,
            http_env: vec![],
            http_path: "/mcp",
            calls: Some((
                via_call_tool("chat_complete", CHAT_ARGS),
                via_call_tool("embeddings_create", EMBED_ARGS),
            )),
            load: false,
        },
        ServerDef {
            key: "fastmcp",
            name: "FastMCP from_openapi",
            config: "default = every operation a tool",
            stdio: [fastmcp.clone(), vec![s("stdio")]].concat(),
            http: [fastmcp, vec![s("http"), s("{port}")]].concat(),
            env: vec![(s("MISTRAL_API_KEY"), s("bench-key"))],
            http_env: vec![],
            http_path: "/mcp",
            calls: Some((
                direct("chat_completion_v1_chat_completions_post", CHAT_ARGS),
                direct("embeddings_v1_embeddings_post", EMBED_ARGS),
            )),
            load: true,
        },
        ServerDef {
            key: "npm_core",
            name: "mistral-mcp (npm)",
            config: "default profile (core)",
            stdio: node.clone(),
            http: vec![],
            env: node_env(None),
            http_env: vec![],
            http_path: "/mcp",
            calls: None,
            load: false,
        },
        ServerDef {
            key: "npm_admin",
            name: "mistral-mcp (npm)",
            config: "MISTRAL_MCP_PROFILE=admin (everything)",
            stdio: node.clone(),
            http: [node, vec![s("--http")]].concat(),
            env: node_env(Some("admin")),
            http_env: vec![(s("MCP_HTTP_PORT"), s("{port}"))],
            http_path: "/mcp",
            calls: Some((
                direct("mistral_chat", CHAT_ARGS),
                direct(
                    "mistral_embed",
                    r#"{"model":"mistral-embed","inputs":["hello"]}"#,
                ),
            )),
            load: true,
        },
    ]
}

fn absolute(p: &str) -> String {
    std::fs::canonicalize(p)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| p.to_string())
}

fn with_port(items: &[String], port: u16) -> Vec<String> {
    items
        .iter()
        .map(|a| a.replace("{port}", &port.to_string()))
        .collect()
}

pub struct Bench {
    o: Opts,
    upstream: SocketAddr,
    _stub: Child,
    defs: Vec<ServerDef>,
    pub res: Results,
}

impl Bench {
    async fn new(o: Opts) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&o.logs)?;
        let exe = std::env::current_exe()?;
        let mut stub = Command::new(exe)
            .args(["stub", "127.0.0.1:0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the upstream stub")?;
        let stdout = stub
            .stdout
            .take()
            .ok_or_else(|| anyhow!("stub: no stdout"))?;
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(10),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .map_err(|_| anyhow!("the upstream stub did not start within 10 s"))??;
        let upstream: SocketAddr = line
            .trim()
            .strip_prefix("listening ")
            .ok_or_else(|| anyhow!("unexpected stub output {line:?}"))?
            .parse()?;
        let mut defs = servers(&o, &format!("http://{upstream}"));
        if let Some(path) = &o.baseline {
            let ours = defs
                .iter()
                .find(|d| d.key == "ours_all")
                .cloned()
                .ok_or_else(|| anyhow!("no ours_all server"))?;
            let swap = |argv: &[String]| -> Vec<String> {
                argv.iter()
                    .map(|a| {
                        if *a == o.ours {
                            path.clone()
                        } else {
                            a.clone()
                        }
                    })
                    .collect()
            };
            defs.push(ServerDef {
                key: "baseline",
                name: "mistral-mcp (baseline build)",
                stdio: swap(&ours.stdio),
                http: swap(&ours.http),
                ..ours
            });
        }
        if o.only_ours {
            defs.retain(|d| d.key == "ours_all" || d.key == "baseline");
        }
        Ok(Self {
            o,
            upstream,
            _stub: stub,
            defs,
            res: Results::default(),
        })
    }

    fn def(&self, key: &str) -> anyhow::Result<ServerDef> {
        self.defs
            .iter()
            .find(|d| d.key == key)
            .cloned()
            .ok_or_else(|| anyhow!("no server {key}"))
    }

    async fn stub_stats(&self) -> anyhow::Result<Value> {
        let mut conn = HttpConn::new(self.upstream)?;
        let a = conn.send(Method::GET, "/stats", &[], Bytes::new()).await?;
        let v: Value = serde_json::from_slice(&a.body)?;
        if v["rejected"].as_u64() != Some(0) {
            bail!(
                "the upstream stub received requests it does not accept (no bearer token, a body \
                 Mistral would refuse, or an unknown route): {v}"
            );
        }
        Ok(v)
    }

    /// Fails unless the stub served exactly `n` more requests on `route` than in `before`.
    async fn expect_upstream(
        &self,
        before: &Value,
        route: &str,
        n: u64,
        what: &str,
    ) -> anyhow::Result<()> {
        let after = self.stub_stats().await?;
        let got = after[route].as_u64().unwrap_or(0) - before[route].as_u64().unwrap_or(0);
        if got != n {
            bail!(
                "{what}: {n} calls should have made {n} upstream {route} requests, the stub saw {got}"
            );
        }
        Ok(())
    }

    fn log_file(&self, name: &str) -> anyhow::Result<(std::fs::File, PathBuf)> {
        let path = self.o.logs.join(format!("{name}.log"));
        Ok((std::fs::File::create(&path)?, path))
    }

    fn failure(&self, what: String, log: &PathBuf, err: anyhow::Error) -> anyhow::Error {
        let tail = std::fs::read_to_string(log)
            .map(|t| {
                let lines: Vec<&str> = t.lines().collect();
                lines[lines.len().saturating_sub(15)..].join("\n")
            })
            .unwrap_or_default();
        anyhow!(
            "{what}: {err:#}\n--- last lines of {} ---\n{tail}",
            log.display()
        )
    }

    // ---------------------------------------------------------------- direct baseline

    async fn direct_smoke(&self) -> anyhow::Result<()> {
        let mut conn = HttpConn::new(self.upstream)?;
        for (path, body, marker) in direct_calls() {
            let a = conn
                .send(
                    Method::POST,
                    path,
                    &upstream_headers(),
                    Bytes::from_static(body.as_bytes()),
                )
                .await?;
            if !a.status.is_success() || !String::from_utf8_lossy(&a.body).contains(marker) {
                bail!("the stub answered {path} with HTTP {}", a.status);
            }
        }
        Ok(())
    }

    async fn direct_latency(&mut self, transport: &str) -> anyhow::Result<()> {
        let mut conn = HttpConn::new(self.upstream)?;
        let headers = upstream_headers();
        for (series, (path, body, marker)) in ["chat", "embed"].into_iter().zip(direct_calls()) {
            let body = Bytes::from_static(body.as_bytes());
            let mut times = Vec::with_capacity(self.o.calls);
            for i in 0..self.o.warmup + self.o.calls {
                let t = Instant::now();
                let a = conn
                    .send(Method::POST, path, &headers, body.clone())
                    .await?;
                let el = t.elapsed();
                if !a.status.is_success() || !std::str::from_utf8(&a.body)?.contains(marker) {
                    bail!("direct {path}: HTTP {}", a.status);
                }
                if i >= self.o.warmup {
                    times.push(el);
                }
            }
            self.res
                .latency_push("direct", transport, series, &mut times);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- cold start

    async fn cold_start(&mut self, def: &ServerDef, run: usize) -> anyhow::Result<()> {
        let (file, log) = self.log_file(&format!("{}-cold-{run}", def.key))?;
        let started = Instant::now();
        let outcome = async {
            let mut server = StdioServer::spawn(&def.stdio, &def.env, file)?;
            let init = request_line(1, "initialize", &crate::client::initialize_params());
            let list = request_line(2, "tools/list", "");
            server
                .send_lines(&[
                    &init,
                    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                    &list,
                ])
                .await?;
            let init = server.read_response(1).await?.to_string();
            let info = rpc_result(serde_json::from_str(&init)?)?;
            let first = server.read_response(2).await?.to_string();
            let mut page = rpc_result(serde_json::from_str(&first)?)?;
            let mut tools: Vec<Value> = Vec::new();
            let mut id = 3;
            loop {
                tools.extend(page["tools"].as_array().cloned().unwrap_or_default());
                let Some(cursor) = page.get("nextCursor").and_then(Value::as_str) else {
                    break;
                };
                if id > 100 {
                    bail!("tools/list did not end after 100 pages");
                }
                let params = serde_json::json!({ "cursor": cursor }).to_string();
                server
                    .send_lines(&[&request_line(id, "tools/list", &params)])
                    .await?;
                let line = server.read_response(id).await?.to_string();
                page = rpc_result(serde_json::from_str(&line)?)?;
                id += 1;
            }
            let elapsed = started.elapsed();
            server.close().await;
            Ok::<_, anyhow::Error>((elapsed, tools, info))
        }
        .await;
        let (elapsed, tools, info) = outcome.map_err(|e| {
            self.failure(
                format!("{} {} failed to start over stdio", def.name, def.config),
                &log,
                e,
            )
        })?;
        if tools.is_empty() {
            bail!("{} {}: tools/list is empty", def.name, def.config);
        }
        self.res.note_server(def.key, &info);
        self.res.cold_push(def.key, elapsed.as_secs_f64() * 1000.0);
        if !self.res.tools.contains_key(def.key) {
            self.res
                .tools
                .insert(def.key.to_string(), report::tools_cost(&tools));
        }
        Ok(())
    }

    // ---------------------------------------------------------------- stdio calls

    async fn stdio_calls(&mut self, def: &ServerDef, round: usize) -> anyhow::Result<()> {
        let Some((chat, embed)) = def.calls.clone() else {
            return Ok(());
        };
        let (file, log) = self.log_file(&format!("{}-stdio-{round}", def.key))?;
        let result = async {
            let mut server = StdioServer::spawn(&def.stdio, &def.env, file)?;
            let info = server.initialize().await?;
            self.res.note_server(def.key, &info);
            server.list_tools().await?;
            for (series, call, marker, route) in [
                ("chat", &chat, CHAT_MARKER, "chat"),
                ("embed", &embed, EMBED_MARKER, "embeddings"),
            ] {
                let before = self.stub_stats().await?;
                let params = call_params(&call.tool, &call.args);
                // Full check on the first answer.
                let first = server.request("tools/call", &params).await?;
                check_tool_result(&first, marker)?;
                let mut times = Vec::with_capacity(self.o.calls);
                for i in 0..self.o.warmup + self.o.calls {
                    let id = server.take_id();
                    let line = request_line(id, "tools/call", &params);
                    let t = Instant::now();
                    server.send_lines(&[&line]).await?;
                    let answer = server.read_response(id).await?;
                    let el = t.elapsed();
                    quick_check(answer, marker)?;
                    if i >= self.o.warmup {
                        times.push(el);
                    }
                }
                let n = (self.o.warmup + self.o.calls + 1) as u64;
                self.expect_upstream(
                    &before,
                    route,
                    n,
                    &format!("{} stdio {}", def.key, call.tool),
                )
                .await?;
                self.res.latency_push(def.key, "stdio", series, &mut times);
            }
            server.close().await;
            Ok::<_, anyhow::Error>(())
        }
        .await;
        result.map_err(|e| self.failure(format!("{} {} over stdio", def.name, def.config), &log, e))
    }

    // ---------------------------------------------------------------- HTTP

    async fn http_round(&mut self, def: &ServerDef, round: usize) -> anyhow::Result<()> {
        let Some((chat, embed)) = def.calls.clone() else {
            return Ok(());
        };
        let port = free_port()?;
        let (file, log) = self.log_file(&format!("{}-http-{round}", def.key))?;
        let argv = with_port(&def.http, port);
        let mut env = def.env.clone();
        for (k, v) in &def.http_env {
            env.push((k.clone(), v.replace("{port}", &port.to_string())));
        }
        let (program, args) = argv.split_first().ok_or_else(|| anyhow!("empty command"))?;
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {program}"))?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let result = self.http_work(def, &mut child, addr, &chat, &embed).await;
        let _ = child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        result.map_err(|e| {
            self.failure(
                format!("{} {} over Streamable HTTP", def.name, def.config),
                &log,
                e,
            )
        })
    }

    async fn http_work(
        &mut self,
        def: &ServerDef,
        child: &mut Child,
        addr: SocketAddr,
        chat: &Call,
        embed: &Call,
    ) -> anyhow::Result<()> {
        let pid = child.id().ok_or_else(|| anyhow!("server exited at once"))?;
        // Ready when it accepts a connection; start-up over HTTP is not what is timed here.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait()? {
                bail!("server exited during start-up ({status})");
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            if Instant::now() > deadline {
                bail!("server did not listen on {addr} within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut conn = HttpConn::new(addr)?;
        let mut target = McpHttpTarget::new(def.http_path);
        let info = target.initialize(&mut conn).await?;
        self.res.note_server(def.key, &info);
        let ids = AtomicU64::new(10);
        let list = target
            .request(
                &mut conn,
                ids.fetch_add(1, Ordering::Relaxed),
                "tools/list",
                "",
            )
            .await?;
        if list["tools"].as_array().is_none_or(Vec::is_empty) {
            bail!("tools/list over HTTP is empty");
        }
        if def.load {
            let (mib, procs) =
                peak_rss_mib(pid).ok_or_else(|| anyhow!("cannot read memory of pid {pid}"))?;
            self.res.mem_push(def.key, "idle", mib, procs);
        }
        for (series, call, marker, route) in [
            ("chat", chat, CHAT_MARKER, "chat"),
            ("embed", embed, EMBED_MARKER, "embeddings"),
        ] {
            let before = self.stub_stats().await?;
            let params = call_params(&call.tool, &call.args);
            let first = target
                .request(
                    &mut conn,
                    ids.fetch_add(1, Ordering::Relaxed),
                    "tools/call",
                    &params,
                )
                .await?;
            check_tool_result(&first, marker)?;
            let mut times = Vec::with_capacity(self.o.calls);
            for i in 0..self.o.warmup + self.o.calls {
                let id = ids.fetch_add(1, Ordering::Relaxed);
                let body = Bytes::from(request_line(id, "tools/call", &params));
                let t = Instant::now();
                let a = conn
                    .send(Method::POST, &target.path, &target.headers, body)
                    .await?;
                let el = t.elapsed();
                let text = std::str::from_utf8(&a.body)?;
                if a.status != 200 || !has_id(text, &format!(r#""id":{id}"#)) {
                    bail!("tools/call: HTTP {}: {}", a.status, truncate(text, 300));
                }
                quick_check(text, marker)?;
                if i >= self.o.warmup {
                    times.push(el);
                }
            }
            let n = (self.o.warmup + self.o.calls + 1) as u64;
            self.expect_upstream(
                &before,
                route,
                n,
                &format!("{} HTTP {}", def.key, call.tool),
            )
            .await?;
            self.res.latency_push(def.key, "http", series, &mut times);
        }
        if !def.load {
            return Ok(());
        }
        let params = call_params(&chat.tool, &chat.args);
        for c in CONCURRENCY {
            if c == 64 {
                reset_peak(pid)?;
            }
            let load = Load::Mcp {
                target: target.clone(),
                params: params.clone(),
                marker: CHAT_MARKER,
            };
            let before = self.stub_stats().await?;
            let t = self.throughput(addr, &load, c).await?;
            let after = self.stub_stats().await?;
            let served = after["chat"].as_u64().unwrap_or(0) - before["chat"].as_u64().unwrap_or(0);
            if served < t.ok {
                bail!(
                    "c={c}: {} calls succeeded but the stub served only {served}",
                    t.ok
                );
            }
            self.res.tput_push(def.key, c, &t);
            if c == 64 {
                let (mib, procs) =
                    peak_rss_mib(pid).ok_or_else(|| anyhow!("cannot read memory of pid {pid}"))?;
                self.res.mem_push(def.key, "load", mib, procs);
            }
        }
        Ok(())
    }

    async fn direct_throughput(&mut self) -> anyhow::Result<()> {
        let (path, body, _) = direct_calls()[0];
        for c in CONCURRENCY {
            let load = Load::Direct {
                path,
                body: Bytes::from_static(body.as_bytes()),
            };
            let t = self.throughput(self.upstream, &load, c).await?;
            self.res.tput_push("direct", c, &t);
        }
        Ok(())
    }

    /// `c` workers, one connection each, calling back to back: a warm-up, then a measured
    /// window of `--seconds`. Bounded in time (and in count per worker).
    async fn throughput(&self, addr: SocketAddr, load: &Load, c: usize) -> anyhow::Result<Tput> {
        let warm = Duration::from_secs_f64((self.o.seconds / 4.0).min(1.0));
        let window = Duration::from_secs_f64(self.o.seconds);
        let _ = run_load(addr, load, c, warm).await?;
        run_load(addr, load, c, window).await
    }
}

fn direct_calls() -> [(&'static str, &'static str, &'static str); 2] {
    [
        ("/v1/chat/completions", CHAT_ARGS, CHAT_MARKER),
        ("/v1/embeddings", EMBED_ARGS, EMBED_MARKER),
    ]
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

#[derive(Clone)]
pub enum Load {
    /// `marker`: text every answer must contain (empty: any successful result).
    Mcp {
        target: McpHttpTarget,
        params: String,
        marker: &'static str,
    },
    Direct {
        path: &'static str,
        body: Bytes,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Tput {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub per_sec: f64,
}

const MAX_CALLS_PER_WORKER: u64 = 1_000_000;

async fn run_load(
    addr: SocketAddr,
    load: &Load,
    c: usize,
    window: Duration,
) -> anyhow::Result<Tput> {
    let ids = Arc::new(AtomicU64::new(1_000_000));
    let started = Instant::now();
    let deadline = started + window;
    let mut tasks = Vec::with_capacity(c);
    for _ in 0..c {
        let load = load.clone();
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = HttpConn::new(addr)?;
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None::<String>);
            let upstream = upstream_headers();
            while Instant::now() < deadline && ok + errors < MAX_CALLS_PER_WORKER {
                let outcome = match &load {
                    Load::Mcp {
                        target,
                        params,
                        marker,
                    } => {
                        let id = ids.fetch_add(1, Ordering::Relaxed);
                        let body = Bytes::from(request_line(id, "tools/call", params));
                        match conn
                            .send(Method::POST, &target.path, &target.headers, body)
                            .await
                        {
                            Ok(a) => {
                                let text = String::from_utf8_lossy(&a.body);
                                if a.status != 200 || !has_id(&text, &format!(r#""id":{id}"#)) {
                                    Err(anyhow!("HTTP {}: {}", a.status, truncate(&text, 200)))
                                } else {
                                    quick_check(&text, marker)
                                }
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Load::Direct { path, body } => {
                        match conn.send(Method::POST, path, &upstream, body.clone()).await {
                            Ok(a) if a.status == 200 => Ok(()),
                            Ok(a) => Err(anyhow!("HTTP {}", a.status)),
                            Err(e) => Err(e),
                        }
                    }
                };
                match outcome {
                    Ok(()) => ok += 1,
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                        if ok == 0 && errors >= 100 {
                            break;
                        }
                    }
                }
            }
            Ok::<_, anyhow::Error>((ok, errors, first_error))
        }));
    }
    let mut total = Tput::default();
    for t in tasks {
        let (ok, errors, first) = t.await??;
        total.ok += ok;
        total.errors += errors;
        if total.first_error.is_none() {
            total.first_error = first;
        }
    }
    total.per_sec = total.ok as f64 / started.elapsed().as_secs_f64();
    Ok(total)
}

/// `mcp-bench load`: drive one running MCP server over Streamable HTTP, for profiling it.
pub async fn load_main(args: &[String]) -> anyhow::Result<bool> {
    let mut addr = None;
    let (mut path, mut tool, mut call_args) = (s("/mcp"), s("chat_complete"), s(CHAT_ARGS));
    let (mut c, mut seconds) = (16usize, 10.0f64);
    let mut bearer: Option<String> = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let val = it.next().ok_or_else(|| anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => addr = Some(val.parse::<SocketAddr>()?),
            "--path" => path = val.clone(),
            "--tool" => tool = val.clone(),
            "--args" => call_args = val.clone(),
            "-c" => c = val.parse()?,
            "--seconds" => seconds = val.parse()?,
            "--bearer" => bearer = Some(val.clone()),
            other => bail!("unknown option {other}"),
        }
    }
    let addr = addr.ok_or_else(|| anyhow!("usage: mcp-bench load --addr 127.0.0.1:PORT [--path /mcp] [--tool T --args JSON] [-c N] [--seconds S] [--bearer TOKEN]"))?;
    if !(1..=1024).contains(&c) || !(0.0..=300.0).contains(&seconds) {
        bail!("-c must be 1..=1024 and --seconds at most 300");
    }
    let mut target = McpHttpTarget::new(&path);
    if let Some(token) = bearer {
        // A credential with a rate limit or budget makes every call check the state store.
        target.headers.push((
            hyper::header::AUTHORIZATION,
            hyper::header::HeaderValue::from_str(&format!("Bearer {token}"))?,
        ));
    }
    target.initialize(&mut HttpConn::new(addr)?).await?;
    let load = Load::Mcp {
        target,
        params: call_params(&tool, &call_args),
        marker: "",
    };
    let t = run_load(addr, &load, c, Duration::from_secs_f64(seconds)).await?;
    println!(
        "{:.0} calls/s, {} ok, {} errors{}",
        t.per_sec,
        t.ok,
        t.errors,
        t.first_error
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    Ok(t.errors == 0)
}

pub async fn main(o: Opts) -> anyhow::Result<bool> {
    let rounds = o.rounds;
    let cold_runs = o.cold_runs;
    let mut b = Bench::new(o).await?;
    eprintln!("upstream stub on http://{}", b.upstream);
    b.direct_smoke().await?;
    b.stub_stats().await?;

    let keys: Vec<&'static str> = b.defs.iter().map(|d| d.key).collect();
    eprintln!("== cold start and tools/list ({cold_runs} runs each, over stdio)");
    for run in 0..cold_runs {
        for (i, _) in keys.iter().enumerate() {
            // Rotate the order so no server always goes first.
            let key = keys[(i + run) % keys.len()];
            let def = b.def(key)?;
            b.cold_start(&def, run).await?;
        }
    }
    for round in 0..rounds {
        eprintln!(
            "== round {}/{rounds}: per-call latency over stdio",
            round + 1
        );
        b.direct_latency("stdio").await?;
        for (i, _) in keys.iter().enumerate() {
            let def = b.def(keys[(i + round) % keys.len()])?;
            b.stdio_calls(&def, round).await?;
        }
        eprintln!(
            "== round {}/{rounds}: Streamable HTTP (latency, throughput, memory)",
            round + 1
        );
        b.direct_latency("http").await?;
        b.direct_throughput().await?;
        for (i, _) in keys.iter().enumerate() {
            let def = b.def(keys[(i + round) % keys.len()])?;
            eprintln!("   {} {}", def.name, def.config);
            b.http_round(&def, round).await?;
        }
    }
    b.stub_stats().await?;
    for path in b.o.search_eval.clone() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        b.res.search_push(&text)?;
    }
    eprintln!("== tokenizing tools/list with {TOKENIZER}");
    b.res.count_tokens()?;
    let machine = report::machine();
    let text = if let Some(baseline) = &b.o.baseline {
        report::render_ab(
            &b.res,
            &machine,
            &b.o.command,
            baseline,
            rounds,
            cold_runs,
            &CONCURRENCY,
        )?
    } else {
        report::render(
            &b.res,
            &b.defs,
            &machine,
            &b.o.command,
            rounds,
            b.o.calls,
            b.o.seconds,
            cold_runs,
        )?
    };
    std::fs::write(&b.o.report, &text)?;
    println!("{text}");
    let failed = b.res.load_errors();
    if !failed.is_empty() {
        eprintln!("\nFAILED: calls failed under load:\n{}", failed.join("\n"));
        return Ok(false);
    }
    Ok(true)
}

/// Percentiles of one series.
pub fn p50_p99(times: &mut [Duration]) -> (f64, f64) {
    times.sort_unstable();
    (percentile_us(times, 50.0), percentile_us(times, 99.0))
}
