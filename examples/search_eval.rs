//! Measures intent search: recall@1/3/5, MRR and per-query latency over intents files
//! (`operation(s)<TAB>intent` per line, `|` between acceptable operations).
//!
//! cargo run --release --example search_eval -- ../shared/eval/intents-dev.tsv
//! cargo run --release --example search_eval -- --weights lexical FILE   (one signal alone;
//!     or five numbers: lexical,examples,action,resource,tool)
//! cargo run --release --example search_eval -- --table                 (every signal, both
//!     halves of the blind intents: the table the search's figures are quoted from)
//!
//! Intents whose operation the catalog does not expose are counted as skipped, not missed.

use std::time::Instant;

use mistral_mcp::config::{Config, Overrides};
use mistral_mcp::search::{SearchIndex, Weights};
use mistral_mcp::server::McpServer;

const BLIND: [(&str, &str); 2] = [
    ("dev", "tests/data/intents-blind-dev.tsv"),
    ("test", "tests/data/intents-blind-test.tsv"),
];
const VARIANTS: [&str; 4] = ["lexical", "lexical+examples", "classifiers", "combined"];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // With an admin key, so the admin tools are indexed too.
    let env = |k: &str| (k == "MISTRAL_ADMIN_API_KEY").then(|| "unused".to_string());
    let server = mistral_mcp::app::build_server(&Config::load_with(&Overrides::default(), &env)?)?;
    if args.first().map(String::as_str) == Some("--table") {
        return table(&server);
    }
    let (weights, files) = match args.as_slice() {
        [flag, name, files @ ..] if flag == "--weights" => (parse_weights(name)?, files.to_vec()),
        files => (Weights::default(), files.to_vec()),
    };
    let files = if files.is_empty() {
        vec!["../shared/eval/intents-dev.tsv".to_string()]
    } else {
        files
    };
    let index = index(&server, weights);
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let e = index.evaluate(&text, tools(&server));
        println!("intents file: {path}");
        println!("tools indexed: {}", index.len());
        println!(
            "intents evaluated: {} (skipped, operation not in catalog: {})",
            e.evaluated, e.skipped
        );
        println!(
            "recall@1: {:.3} ({}/{})",
            e.recall_at_1(),
            e.at1,
            e.evaluated
        );
        println!("recall@3: {:.3}", e.recall_at_3());
        println!(
            "recall@5: {:.3} ({}/{})",
            e.recall_at_5(),
            e.at5,
            e.evaluated
        );
        println!("MRR: {:.3}", e.mrr());
        let (mean, p99) = latency(&index, &e.queries);
        println!("latency: {mean:.2} µs per query (mean), p99 {p99:.2} µs");
        for threshold in [0.5f32, 0.6, 0.7, 0.8, 0.9, 0.95] {
            let close: Vec<bool> = e
                .runner_up_shares
                .iter()
                .filter(|(share, _)| *share >= threshold)
                .map(|(_, right)| *right)
                .collect();
            println!(
                "second hit within {threshold} of the best: {} intents, {} of them ranked right",
                close.len(),
                close.iter().filter(|r| **r).count()
            );
        }
        if !e.misses.is_empty() {
            println!("not ranked first:\n  {}", e.misses.join("\n  "));
        }
    }
    Ok(())
}

/// A named variant, or five numbers: lexical,examples,action,resource,tool.
fn parse_weights(spec: &str) -> anyhow::Result<Weights> {
    if let Some(w) = Weights::named(spec) {
        return Ok(w);
    }
    let n: Vec<f32> = spec
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("weights: one of {VARIANTS:?}, or five numbers"))?;
    let [lexical, examples, action, resource, tool] = n[..] else {
        anyhow::bail!("weights: five numbers, lexical,examples,action,resource,tool");
    };
    Ok(Weights {
        lexical,
        examples,
        action,
        resource,
        tool,
    })
}

fn tools(server: &McpServer) -> impl Iterator<Item = (&str, String)> {
    server
        .catalog()
        .tools
        .iter()
        .map(|t| (t.name.as_str(), t.spec().operation()))
}

fn index(server: &McpServer, weights: Weights) -> SearchIndex {
    server.search_index_with(weights)
}

/// Mean and p99 of one query's time, after a warm-up pass (which also trains the learned
/// parts), over many passes.
fn latency(index: &SearchIndex, queries: &[String]) -> (f64, f64) {
    for q in queries {
        std::hint::black_box(index.search(q, 5));
    }
    let mut times = Vec::with_capacity(queries.len() * 20);
    for _ in 0..20 {
        for q in queries {
            let started = Instant::now();
            std::hint::black_box(index.search(q, 5));
            times.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let p99 = times
        .get(times.len() * 99 / 100)
        .copied()
        .unwrap_or_default();
    (mean, p99)
}

fn table(server: &McpServer) -> anyhow::Result<()> {
    let root = env!("CARGO_MANIFEST_DIR");
    println!("| signals | split | intents | @1 | @3 | @5 | MRR | µs/query (mean, p99) |");
    println!("|---|---|---|---|---|---|---|---|");
    for variant in VARIANTS {
        let weights = Weights::named(variant).unwrap_or_default();
        let index = index(server, weights);
        for (split, path) in BLIND {
            let text = std::fs::read_to_string(format!("{root}/{path}"))?;
            let e = index.evaluate(&text, tools(server));
            let (mean, p99) = latency(&index, &e.queries);
            println!(
                "| {variant} | {split} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {mean:.0}, {p99:.0} |",
                e.evaluated,
                e.recall_at_1(),
                e.recall_at_3(),
                e.recall_at_5(),
                e.mrr()
            );
        }
    }
    Ok(())
}
