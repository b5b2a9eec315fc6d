//! Collected figures and the Markdown report: one table per question, every figure as
//! median (min–max) over rounds, the ratio against each peer beside it, then the targets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, anyhow};
use serde_json::Value;

use crate::measure::Spread;
use crate::run::{CONCURRENCY, ServerDef, TOKENIZER, Tput, p50_p99};

/// mistral-mcp's discovery tools, which reach operations rather than being one.
const META_TOOLS: [&str; 3] = ["search_tools", "describe_tools", "call_tool"];

pub struct ToolsCost {
    pub count: usize,
    pub names: Vec<String>,
    pub json: String,
    pub tokens: usize,
}

pub fn tools_cost(tools: &[Value]) -> ToolsCost {
    ToolsCost {
        count: tools.len(),
        names: tools
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_string))
            .collect(),
        // Compact and re-serialised the same way for every server, so escaping and spacing
        // choices of each implementation do not count.
        json: serde_json::to_string(tools).unwrap_or_default(),
        tokens: 0,
    }
}

pub struct SearchEval {
    pub file: String,
    pub indexed: String,
    pub evaluated: String,
    pub recall1: String,
    pub recall5: String,
    pub latency_us: f64,
}

#[derive(Default)]
pub struct Results {
    pub cold: BTreeMap<String, Vec<f64>>,
    pub tools: BTreeMap<String, ToolsCost>,
    /// (server, transport, series) → per round (p50 µs, p99 µs).
    pub latency: BTreeMap<(String, String, String), Vec<(f64, f64)>>,
    pub tput: BTreeMap<(String, usize), Vec<Tput>>,
    /// (server, idle|load) → per round MiB; and the largest process count seen.
    pub mem: BTreeMap<(String, String), Vec<f64>>,
    pub mem_procs: BTreeMap<String, usize>,
    pub search: Vec<SearchEval>,
    pub server_info: BTreeMap<String, String>,
}

impl Results {
    pub fn cold_push(&mut self, key: &str, ms: f64) {
        self.cold.entry(key.to_string()).or_default().push(ms);
    }

    pub fn latency_push(
        &mut self,
        key: &str,
        transport: &str,
        series: &str,
        times: &mut [Duration],
    ) {
        let p = p50_p99(times);
        self.latency
            .entry((key.to_string(), transport.to_string(), series.to_string()))
            .or_default()
            .push(p);
    }

    pub fn tput_push(&mut self, key: &str, c: usize, t: &Tput) {
        self.tput
            .entry((key.to_string(), c))
            .or_default()
            .push(t.clone());
    }

    pub fn mem_push(&mut self, key: &str, what: &str, mib: f64, procs: usize) {
        self.mem
            .entry((key.to_string(), what.to_string()))
            .or_default()
            .push(mib);
        let p = self.mem_procs.entry(key.to_string()).or_default();
        *p = (*p).max(procs);
    }

    pub fn note_server(&mut self, key: &str, init: &Value) {
        let info = &init["serverInfo"];
        let label = format!(
            "{} {}",
            info["name"].as_str().unwrap_or("?"),
            info["version"].as_str().unwrap_or("?")
        );
        self.server_info.insert(key.to_string(), label);
    }

    /// Parses the output of `cargo run --release --example search_eval`.
    pub fn search_push(&mut self, text: &str) -> anyhow::Result<()> {
        let field = |prefix: &str| -> anyhow::Result<String> {
            text.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map(|v| v.trim().to_string())
                .ok_or_else(|| anyhow!("search_eval output lacks {prefix:?}"))
        };
        let latency = field("latency:")?;
        let latency_us: f64 = latency
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .context("search_eval latency is not a number")?;
        self.search.push(SearchEval {
            file: field("intents file:")?,
            indexed: field("tools indexed:")?,
            evaluated: field("intents evaluated:")?,
            recall1: field("recall@1:")?,
            recall5: field("recall@5:")?,
            latency_us,
        });
        Ok(())
    }

    pub fn count_tokens(&mut self) -> anyhow::Result<()> {
        let bpe = tiktoken_rs::o200k_base()?;
        for cost in self.tools.values_mut() {
            cost.tokens = bpe.encode_ordinary(&cost.json).len();
        }
        Ok(())
    }

    pub fn load_errors(&self) -> Vec<String> {
        let mut out = Vec::new();
        for ((key, c), runs) in &self.tput {
            let errors: u64 = runs.iter().map(|t| t.errors).sum();
            if errors > 0 {
                let first = runs
                    .iter()
                    .find_map(|t| t.first_error.clone())
                    .unwrap_or_default();
                out.push(format!(
                    "  {key} c={c}: {errors} failed calls; first: {first}"
                ));
            }
        }
        out
    }

    /// Operations reachable through a listing: mistral-mcp's catalog tools (the same set in
    /// both modes), or one per tool for the peers.
    pub fn operations(&self, key: &str) -> usize {
        if key.starts_with("ours") {
            self.tools.get("ours_all").map_or(0, |c| {
                c.names
                    .iter()
                    .filter(|n| !META_TOOLS.contains(&n.as_str()))
                    .count()
            })
        } else {
            self.tools.get(key).map_or(0, |c| c.count)
        }
    }

    pub fn tokens_per_operation(&self, key: &str) -> Option<f64> {
        let ops = self.operations(key);
        let cost = self.tools.get(key)?;
        (ops > 0).then(|| cost.tokens as f64 / ops as f64)
    }

    fn cold(&self, key: &str) -> Option<Spread> {
        self.cold.get(key).and_then(|v| Spread::of(v))
    }

    fn lat(&self, key: &str, transport: &str, series: &str) -> Option<&Vec<(f64, f64)>> {
        self.latency
            .get(&(key.to_string(), transport.to_string(), series.to_string()))
    }

    /// Overhead over the direct call measured in the same round: (p50, p99) spreads.
    fn overhead(&self, key: &str, transport: &str, series: &str) -> Option<(Spread, Spread)> {
        let ours = self.lat(key, transport, series)?;
        let direct = self.lat("direct", transport, series)?;
        let p50: Vec<f64> = ours.iter().zip(direct).map(|(o, d)| o.0 - d.0).collect();
        let p99: Vec<f64> = ours.iter().zip(direct).map(|(o, d)| o.1 - d.1).collect();
        Some((Spread::of(&p50)?, Spread::of(&p99)?))
    }

    fn tput(&self, key: &str, c: usize) -> Option<(Spread, u64, u64)> {
        let runs = self.tput.get(&(key.to_string(), c))?;
        let rates: Vec<f64> = runs.iter().map(|t| t.per_sec).collect();
        Some((
            Spread::of(&rates)?,
            runs.iter().map(|t| t.ok).sum(),
            runs.iter().map(|t| t.errors).sum(),
        ))
    }

    fn mem(&self, key: &str, what: &str) -> Option<Spread> {
        self.mem
            .get(&(key.to_string(), what.to_string()))
            .and_then(|v| Spread::of(v))
    }
}

fn cell(s: Option<Spread>, decimals: usize) -> String {
    match s {
        Some(s) => format!(
            "{:.d$} ({:.d$}–{:.d$})",
            s.median,
            s.min,
            s.max,
            d = decimals
        ),
        None => "—".into(),
    }
}

/// How many times better mistral-mcp's figure is than the peer's (> 1: mistral-mcp is better).
fn ratio(ours: Option<f64>, peer: Option<f64>, lower_is_better: bool) -> String {
    match (ours, peer) {
        (Some(o), Some(p)) if o > 0.0 && p > 0.0 => {
            let r = if lower_is_better { p / o } else { o / p };
            if r >= 10.0 {
                format!("{r:.0}×")
            } else {
                format!("{r:.1}×")
            }
        }
        (Some(_), Some(_)) => "n/a".into(),
        _ => "—".into(),
    }
}

/// The one table: every figure for every server, with mistral-mcp `--tools all`'s advantage
/// over each peer beside it. The sections after it give the detail and the method.
fn summary(o: &mut String, r: &Results) -> anyhow::Result<()> {
    struct Row {
        name: String,
        cells: [String; 4],
        /// mistral-mcp --tools all, FastMCP, npm: the values the ratios compare.
        values: [Option<f64>; 3],
        lower_is_better: bool,
    }
    let med = |s: Option<Spread>| s.map(|s| s.median);
    let tokens = |k: &str| r.tools.get(k).map(|c| c.tokens);
    let num = |v: Option<usize>| v.map_or("—".into(), |v| v.to_string());
    let mut rows = Vec::new();
    rows.push(Row {
        name: "cold start (stdio: spawn → tools/list answered), ms".into(),
        cells: [
            cell(r.cold("ours_all"), 1),
            cell(r.cold("ours_dynamic"), 1),
            cell(r.cold("fastmcp"), 1),
            cell(r.cold("npm_admin"), 1),
        ],
        values: [
            med(r.cold("ours_all")),
            med(r.cold("fastmcp")),
            med(r.cold("npm_admin")),
        ],
        lower_is_better: true,
    });
    rows.push(Row {
        name: "tools/list tokens, default configuration (npm: its default core profile)".into(),
        cells: [
            num(tokens("ours_all")),
            num(tokens("ours_dynamic")),
            num(tokens("fastmcp")),
            num(tokens("npm_core")),
        ],
        values: [
            tokens("ours_all").map(|t| t as f64),
            tokens("fastmcp").map(|t| t as f64),
            tokens("npm_core").map(|t| t as f64),
        ],
        lower_is_better: true,
    });
    rows.push(Row {
        name: "tools/list tokens, everything enabled".into(),
        cells: [
            num(tokens("ours_all")),
            num(tokens("ours_dynamic")),
            num(tokens("fastmcp")),
            num(tokens("npm_admin")),
        ],
        values: [
            tokens("ours_all").map(|t| t as f64),
            tokens("fastmcp").map(|t| t as f64),
            tokens("npm_admin").map(|t| t as f64),
        ],
        lower_is_better: true,
    });
    let per_op = |k: &str| r.tokens_per_operation(k);
    let f0 = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.0}"));
    rows.push(Row {
        name: "tools/list tokens per operation reachable, everything enabled".into(),
        cells: [
            f0(per_op("ours_all")),
            f0(per_op("ours_dynamic")),
            f0(per_op("fastmcp")),
            f0(per_op("npm_admin")),
        ],
        values: [per_op("ours_all"), per_op("fastmcp"), per_op("npm_admin")],
        lower_is_better: true,
    });
    for transport in ["stdio", "http"] {
        for (series, what) in [("chat", "chat"), ("embed", "embeddings")] {
            for p99 in [false, true] {
                let pick = |k: &str| {
                    r.overhead(k, transport, series)
                        .map(|x| if p99 { x.1 } else { x.0 })
                };
                let tname = if transport == "http" {
                    "Streamable HTTP"
                } else {
                    "stdio"
                };
                rows.push(Row {
                    name: format!(
                        "{what} call overhead over direct, {}, {tname}, µs",
                        if p99 { "p99" } else { "p50" }
                    ),
                    cells: [
                        cell(pick("ours_all"), 0),
                        cell(pick("ours_dynamic"), 0),
                        cell(pick("fastmcp"), 0),
                        cell(pick("npm_admin"), 0),
                    ],
                    values: [
                        med(pick("ours_all")),
                        med(pick("fastmcp")),
                        med(pick("npm_admin")),
                    ],
                    lower_is_better: true,
                });
            }
        }
    }
    let mut errors = [0u64; 3];
    for c in CONCURRENCY {
        let t = |k: &str| r.tput(k, c);
        for (i, k) in ["ours_all", "fastmcp", "npm_admin"].iter().enumerate() {
            errors[i] += t(k).map_or(0, |x| x.2);
        }
        rows.push(Row {
            name: format!("throughput, Streamable HTTP, c={c}, calls/s"),
            cells: [
                cell(t("ours_all").map(|x| x.0), 0),
                "—".into(),
                cell(t("fastmcp").map(|x| x.0), 0),
                cell(t("npm_admin").map(|x| x.0), 0),
            ],
            values: [
                t("ours_all").map(|x| x.0.median),
                t("fastmcp").map(|x| x.0.median),
                t("npm_admin").map(|x| x.0.median),
            ],
            lower_is_better: false,
        });
    }
    rows.push(Row {
        name: "failed calls under load (all rounds and concurrencies)".into(),
        cells: [
            errors[0].to_string(),
            "—".into(),
            errors[1].to_string(),
            errors[2].to_string(),
        ],
        values: [None, None, None],
        lower_is_better: true,
    });
    for (what, name) in [("idle", "idle"), ("load", "under c=64 load")] {
        let m = |k: &str| r.mem(k, what);
        rows.push(Row {
            name: format!("peak resident memory, {name}, MiB"),
            cells: [
                cell(m("ours_all"), 1),
                "—".into(),
                cell(m("fastmcp"), 1),
                cell(m("npm_admin"), 1),
            ],
            values: [med(m("ours_all")), med(m("fastmcp")), med(m("npm_admin"))],
            lower_is_better: true,
        });
    }
    let search = r.search.first();
    let latency = Spread::of(&r.search.iter().map(|s| s.latency_us).collect::<Vec<_>>());
    let none = "no intent search".to_string();
    rows.push(Row {
        name: "intent search recall@1 / recall@5".into(),
        cells: [
            search.map_or("not run".into(), |s| {
                format!("{} / {}", s.recall1, s.recall5)
            }),
            "same index".into(),
            none.clone(),
            none.clone(),
        ],
        values: [None, None, None],
        lower_is_better: true,
    });
    rows.push(Row {
        name: "intent search, per query, µs".into(),
        cells: [cell(latency, 2), "same index".into(), none.clone(), none],
        values: [None, None, None],
        lower_is_better: true,
    });

    writeln!(o, "\n### At a glance\n")?;
    writeln!(
        o,
        "Tokens: {TOKENIZER}. The npm column is its `admin` profile (everything it has) except \
         where a row says otherwise; `—`: not measured for that configuration (the dynamic mode \
         runs the same process as `all` for load and memory).\n"
    )?;
    writeln!(
        o,
        "| figure | mistral-mcp `--tools all` | mistral-mcp `--tools dynamic` | FastMCP from_openapi | \
         mistral-mcp (npm), admin profile | × vs FastMCP | × vs npm |"
    )?;
    writeln!(o, "|---|---|---|---|---|---|---|")?;
    for row in rows {
        let [ours, fm, npm] = row.values;
        writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.name,
            row.cells[0],
            row.cells[1],
            row.cells[2],
            row.cells[3],
            if ours.is_some() {
                ratio(ours, fm, row.lower_is_better)
            } else {
                String::new()
            },
            if ours.is_some() {
                ratio(ours, npm, row.lower_is_better)
            } else {
                String::new()
            },
        )?;
    }
    Ok(())
}

pub struct Machine {
    pub lines: Vec<String>,
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(if o.stdout.is_empty() {
                &o.stderr
            } else {
                &o.stdout
            })
            .trim()
            .to_string()
        })
        .unwrap_or_else(|| "?".into())
}

pub fn machine() -> Machine {
    let nproc = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "?".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or("?".into(), |kb| format!("{:.1} GiB", kb / 1048576.0));
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    Machine {
        lines: vec![
            format!("- CPU: {cpu}; nproc {nproc}"),
            format!("- memory: {mem_gib}"),
            format!("- kernel: {}", command_line("uname", &["-sr"])),
            format!("- load average when the report was written: {load}"),
            format!(
                "- toolchains: {}; node {}; {}",
                command_line("rustc", &["--version"]),
                command_line("node", &["--version"]),
                command_line("python3", &["--version"]),
            ),
        ],
    }
}

#[allow(clippy::too_many_arguments)]
pub fn render(
    r: &Results,
    defs: &[ServerDef],
    machine: &Machine,
    command: &str,
    rounds: usize,
    calls: usize,
    seconds: f64,
    cold_runs: usize,
) -> anyhow::Result<String> {
    let mut o = String::new();
    let label = |key: &str| -> String {
        defs.iter()
            .find(|d| d.key == key)
            .map(|d| {
                format!(
                    "{} — {}",
                    r.server_info
                        .get(key)
                        .cloned()
                        .unwrap_or_else(|| d.name.to_string()),
                    d.config
                )
            })
            .unwrap_or_else(|| key.to_string())
    };
    let peers = ["fastmcp", "npm_admin"];
    writeln!(o, "Command: `{command}`")?;
    writeln!(o)?;
    for l in &machine.lines {
        writeln!(o, "{l}")?;
    }
    writeln!(
        o,
        "- servers: {}",
        ["ours_all", "fastmcp", "npm_admin"]
            .iter()
            .filter_map(|k| r.server_info.get(*k).cloned())
            .collect::<Vec<_>>()
            .join("; ")
    )?;
    writeln!(
        o,
        "\nEvery figure: median (min–max) over {rounds} rounds ({cold_runs} runs for cold start). \
         Ratio columns: how many times better mistral-mcp `--tools all` is than that row's server \
         (above 1: mistral-mcp is better; lower is better for time, size and memory, higher for throughput)."
    )?;

    summary(&mut o, r)?;
    writeln!(o, "\nThe same figures in detail, section by section:")?;

    // ------------------------------------------------------------ start-up and context
    writeln!(o, "\n### Cold start and tools/list (stdio)\n")?;
    writeln!(
        o,
        "Cold start: spawn → `initialize` → `tools/list` answered (ms). Size: the `tools` array \
         as compact JSON; tokens: {TOKENIZER}.\n"
    )?;
    writeln!(
        o,
        "Operations: the Mistral operations the listing lets an agent call (mistral-mcp: its tools \
         minus the discovery tools, reached directly in `all` mode and through `call_tool` in \
         `dynamic` mode; peers: one operation per tool).\n"
    )?;
    writeln!(
        o,
        "| server — configuration | cold start, ms | ratio | tools listed | operations | tools/list bytes | tokens | ratio | tokens per operation | ratio |"
    )?;
    writeln!(o, "|---|---|---|---|---|---|---|---|---|---|")?;
    let ours_cold = r.cold("ours_all").map(|s| s.median);
    let ours_tokens = r.tools.get("ours_all").map(|c| c.tokens as f64);
    let ours_per_op = r.tokens_per_operation("ours_all");
    for key in [
        "ours_all",
        "ours_dynamic",
        "fastmcp",
        "npm_core",
        "npm_admin",
    ] {
        let Some(cost) = r.tools.get(key) else {
            continue;
        };
        let cold = r.cold(key);
        let is_peer = !key.starts_with("ours");
        let per_op = r.tokens_per_operation(key);
        let peer_ratio = |ours: Option<f64>, peer: Option<f64>| {
            if is_peer {
                ratio(ours, peer, true)
            } else {
                String::new()
            }
        };
        writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} |",
            label(key),
            cell(cold, 1),
            peer_ratio(ours_cold, cold.map(|s| s.median)),
            cost.count,
            r.operations(key),
            cost.json.len(),
            cost.tokens,
            peer_ratio(ours_tokens, Some(cost.tokens as f64)),
            per_op.unwrap_or(f64::NAN),
            peer_ratio(ours_per_op, per_op),
        )?;
    }

    // ------------------------------------------------------------ per-call overhead
    writeln!(o, "\n### Per-call overhead over the direct call (µs)\n")?;
    writeln!(
        o,
        "{calls} sequential calls per series and round, one long-lived connection (stdio: one child \
         process). Overhead = the server's percentile minus the same percentile of the same request \
         sent straight to the stub in the same round. chat = a small chat completion; embed = \
         one text, a 1024-float vector back.\n"
    )?;
    for transport in ["stdio", "http"] {
        let tname = if transport == "stdio" {
            "stdio"
        } else {
            "Streamable HTTP"
        };
        writeln!(o, "**{tname}**\n")?;
        writeln!(
            o,
            "| server | chat p50 | ratio | chat p99 | ratio | embed p50 | ratio | embed p99 | ratio |"
        )?;
        writeln!(o, "|---|---|---|---|---|---|---|---|---|")?;
        let d = |s: &str, p99: bool| {
            r.lat("direct", transport, s).and_then(|v| {
                Spread::of(
                    &v.iter()
                        .map(|x| if p99 { x.1 } else { x.0 })
                        .collect::<Vec<_>>(),
                )
            })
        };
        writeln!(
            o,
            "| direct to the stub (absolute latency, not overhead) | {} | | {} | | {} | | {} | |",
            cell(d("chat", false), 0),
            cell(d("chat", true), 0),
            cell(d("embed", false), 0),
            cell(d("embed", true), 0)
        )?;
        let ours_chat = r.overhead("ours_all", transport, "chat");
        let ours_embed = r.overhead("ours_all", transport, "embed");
        for key in ["ours_all", "ours_dynamic", "fastmcp", "npm_admin"] {
            let (Some(chat), Some(embed)) = (
                r.overhead(key, transport, "chat"),
                r.overhead(key, transport, "embed"),
            ) else {
                continue;
            };
            let is_peer = peers.contains(&key);
            let rc = |ours: Option<(Spread, Spread)>, peer: (Spread, Spread), p99: bool| {
                if !is_peer {
                    return String::new();
                }
                let pick = |x: (Spread, Spread)| if p99 { x.1.median } else { x.0.median };
                ratio(ours.map(pick), Some(pick(peer)), true)
            };
            writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                label(key),
                cell(Some(chat.0), 0),
                rc(ours_chat, chat, false),
                cell(Some(chat.1), 0),
                rc(ours_chat, chat, true),
                cell(Some(embed.0), 0),
                rc(ours_embed, embed, false),
                cell(Some(embed.1), 0),
                rc(ours_embed, embed, true),
            )?;
        }
        writeln!(o)?;
    }

    // ------------------------------------------------------------ throughput
    writeln!(o, "### Throughput over Streamable HTTP (calls/s, chat)\n")?;
    writeln!(
        o,
        "c workers, one keep-alive connection each, calling back to back for {seconds} s after a \
         warm-up; errors = failed calls summed over rounds (HTTP error, JSON-RPC error, isError, \
         or the stub's answer missing).\n"
    )?;
    let mut head = String::from("| server |");
    let mut rule = String::from("|---|");
    for c in CONCURRENCY {
        write!(head, " c={c} | ratio |")?;
        rule.push_str("---|---|");
    }
    head.push_str(" calls ok | errors |");
    rule.push_str("---|---|");
    writeln!(o, "{head}\n{rule}")?;
    for key in ["direct", "ours_all", "fastmcp", "npm_admin"] {
        let name = if key == "direct" {
            "direct to the stub (ceiling of this machine)".to_string()
        } else {
            label(key)
        };
        let mut line = format!("| {name} |");
        let (mut ok, mut errors) = (0, 0);
        for c in CONCURRENCY {
            let t = r.tput(key, c);
            let ours = r.tput("ours_all", c).map(|t| t.0.median);
            if let Some((_, k, e)) = t {
                ok += k;
                errors += e;
            }
            let rt = if peers.contains(&key) {
                ratio(ours, t.map(|t| t.0.median), false)
            } else {
                String::new()
            };
            write!(line, " {} | {} |", cell(t.map(|t| t.0), 0), rt)?;
        }
        write!(line, " {ok} | {errors} |")?;
        writeln!(o, "{line}")?;
    }

    // ------------------------------------------------------------ memory
    writeln!(o, "\n### Peak resident memory (MiB)\n")?;
    writeln!(
        o,
        "VmHWM of the server process (and any children), HTTP mode: idle = after start-up, \
         initialize and tools/list; load = peak during the c=64 run (peak reset just before it).\n"
    )?;
    writeln!(
        o,
        "| server | processes | idle | ratio | under c=64 load | ratio |"
    )?;
    writeln!(o, "|---|---|---|---|---|---|")?;
    for key in ["ours_all", "fastmcp", "npm_admin"] {
        let idle = r.mem(key, "idle");
        let load = r.mem(key, "load");
        let is_peer = peers.contains(&key);
        let rt = |what: &str, v: Option<Spread>| {
            if is_peer {
                ratio(
                    r.mem("ours_all", what).map(|s| s.median),
                    v.map(|s| s.median),
                    true,
                )
            } else {
                String::new()
            }
        };
        writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            label(key),
            r.mem_procs.get(key).copied().unwrap_or(0),
            cell(idle, 1),
            rt("idle", idle),
            cell(load, 1),
            rt("load", load)
        )?;
    }

    // ------------------------------------------------------------ search
    writeln!(o, "\n### Intent search\n")?;
    let mut intents_note = String::new();
    writeln!(
        o,
        "| server | tools indexed | intents | recall@1 | recall@5 | per query, µs |"
    )?;
    writeln!(o, "|---|---|---|---|---|---|")?;
    if let Some(first) = r.search.first() {
        intents_note = format!(
            "Intents: `{}`; recall counts an intent found when a tool of one of its operations is \
             ranked first (@1) or in the top five (@5); latency: mean per query over the file, \
             {} runs.\n",
            first.file,
            r.search.len()
        );
        let lat = Spread::of(&r.search.iter().map(|s| s.latency_us).collect::<Vec<_>>());
        writeln!(
            o,
            "| mistral-mcp (`search_tools`, `cargo run --release --example search_eval`) | {} | {} | {} | {} | {} |",
            first.indexed,
            first.evaluated,
            first.recall1,
            first.recall5,
            cell(lat, 2)
        )?;
    } else {
        writeln!(o, "| mistral-mcp | not run | | | | |")?;
    }
    writeln!(
        o,
        "| FastMCP from_openapi | no intent search: the agent reads all {} tool definitions | | | | |",
        r.tools.get("fastmcp").map_or(0, |c| c.count)
    )?;
    writeln!(
        o,
        "| mistral-mcp (npm) | no intent search: the agent reads every listed tool | | | | |"
    )?;

    if !intents_note.is_empty() {
        writeln!(o, "\n{intents_note}")?;
    }

    // ------------------------------------------------------------ targets
    writeln!(o, "\n### Targets\n")?;
    let mut t = |name: &str, met: Option<bool>, detail: String| -> anyhow::Result<()> {
        let verdict = match met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "not measured",
        };
        writeln!(o, "- {verdict}: {name} — {detail}")?;
        Ok(())
    };
    let med = |s: Option<Spread>| s.map(|s| s.median);
    if let (Some(ours), Some(fm)) = (med(r.cold("ours_all")), med(r.cold("fastmcp"))) {
        t(
            "cold start ≤ 1/20 of FastMCP's",
            Some(ours * 20.0 <= fm),
            format!("{ours:.1} ms vs {fm:.1} ms ({:.0}×)", fm / ours),
        )?;
    }
    let ours64 = r.tput("ours_all", 64).map(|t| t.0.median);
    let best_peer64 = peers
        .iter()
        .filter_map(|k| r.tput(k, 64).map(|t| t.0.median))
        .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))));
    if let (Some(ours), Some(peer)) = (ours64, best_peer64) {
        t(
            "throughput at c=64 ≥ 10× the faster peer",
            Some(ours >= 10.0 * peer),
            format!("{ours:.0} vs {peer:.0} calls/s ({:.1}×)", ours / peer),
        )?;
    }
    for (what, name) in [("load", "under c=64 load"), ("idle", "idle")] {
        let ours = med(r.mem("ours_all", what));
        let smaller = peers
            .iter()
            .filter_map(|k| med(r.mem(k, what)))
            .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.min(b))));
        if let (Some(ours), Some(peer)) = (ours, smaller) {
            t(
                &format!("peak memory {name} ≤ 1/4 of the smaller peer's"),
                Some(ours * 4.0 <= peer),
                format!("{ours:.1} vs {peer:.1} MiB ({:.1}×)", peer / ours),
            )?;
        }
    }
    for transport in ["stdio", "http"] {
        for series in ["chat", "embed"] {
            let p50 = r
                .overhead("ours_all", transport, series)
                .map(|x| x.0.median);
            t(
                &format!("p50 overhead over direct < 250 µs ({series}, {transport})"),
                p50.map(|v| v < 250.0),
                p50.map_or("—".into(), |v| format!("{v:.0} µs")),
            )?;
        }
    }
    let dyn_tokens = r.tools.get("ours_dynamic").map(|c| c.tokens);
    t(
        "tools/list in dynamic mode < 1,500 tokens",
        dyn_tokens.map(|n| n < 1500),
        dyn_tokens.map_or("—".into(), |n| format!("{n} tokens")),
    )?;
    if let Some(ours) = r.tokens_per_operation("ours_all") {
        let others: Vec<(&str, f64)> = ["fastmcp", "npm_core", "npm_admin"]
            .iter()
            .filter_map(|k| r.tokens_per_operation(k).map(|p| (*k, p)))
            .collect();
        let met = others.iter().all(|(_, p)| ours < *p);
        let detail = format!(
            "{ours:.0} tokens per operation vs {}",
            others
                .iter()
                .map(|(k, p)| format!("{k} {p:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        t(
            "`all` mode: fewer tokens per operation than either peer (both configurations)",
            Some(met),
            detail,
        )?;
    }
    Ok(o)
}

/// The A/B report of `--baseline`: the same workload on two builds of mistral-mcp, side by
/// side, with the ratio baseline/new for every figure (above 1: the new build is better).
pub fn render_ab(
    r: &Results,
    machine: &Machine,
    command: &str,
    baseline: &str,
    rounds: usize,
    cold_runs: usize,
    concurrency: &[usize],
) -> anyhow::Result<String> {
    let mut o = String::new();
    writeln!(o, "Command: `{command}`\n")?;
    for l in &machine.lines {
        writeln!(o, "{l}")?;
    }
    writeln!(o, "- new: the build under test; baseline: `{baseline}`")?;
    writeln!(
        o,
        "\nEvery figure: median (min–max) over {rounds} rounds ({cold_runs} runs for cold start), \
         the two builds interleaved. Ratio: baseline / new for times and memory, new / baseline \
         for throughput (above 1: the new build is better).\n"
    )?;
    writeln!(o, "| figure | new | baseline | ratio |")?;
    writeln!(o, "|---|---|---|---|")?;
    let row = |o: &mut String,
               name: &str,
               new: Option<Spread>,
               old: Option<Spread>,
               lower: bool,
               d: usize| {
        let ratio = ratio(new.map(|s| s.median), old.map(|s| s.median), lower);
        writeln!(
            o,
            "| {name} | {} | {} | {ratio} |",
            cell(new, d),
            cell(old, d)
        )
    };
    row(
        &mut o,
        "cold start to tools/list, ms",
        r.cold("ours_all"),
        r.cold("baseline"),
        true,
        1,
    )?;
    for transport in ["stdio", "http"] {
        for series in ["chat", "embed"] {
            for (i, p) in ["p50", "p99"].iter().enumerate() {
                let pick = |key: &str| {
                    r.lat(key, transport, series).and_then(|v| {
                        let xs: Vec<f64> =
                            v.iter().map(|x| if i == 0 { x.0 } else { x.1 }).collect();
                        Spread::of(&xs)
                    })
                };
                row(
                    &mut o,
                    &format!("{transport} {series} call {p}, µs"),
                    pick("ours_all"),
                    pick("baseline"),
                    true,
                    0,
                )?;
            }
        }
    }
    for &c in concurrency {
        row(
            &mut o,
            &format!("HTTP throughput at c={c}, calls/s"),
            r.tput("ours_all", c).map(|t| t.0),
            r.tput("baseline", c).map(|t| t.0),
            false,
            0,
        )?;
    }
    for what in ["idle", "load"] {
        row(
            &mut o,
            &format!("memory ({what}), MiB"),
            r.mem("ours_all", what),
            r.mem("baseline", what),
            true,
            1,
        )?;
    }
    Ok(o)
}
