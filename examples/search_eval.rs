//! Measures intent search: recall@1, recall@5 and per-query latency over an intents file
//! (`operation(s)<TAB>intent` per line, `|` between acceptable operations).
//!
//! cargo run --release --example search_eval -- ../shared/eval/intents-dev.tsv
//!
//! Intents whose operation the catalog does not expose are counted as skipped, not missed.

use std::time::Instant;

use mistral_mcp::config::{Config, Overrides};

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/eval/intents-dev.tsv".into());
    let text = std::fs::read_to_string(&path)?;
    // With an admin key, so the admin tools are indexed too.
    let env = |k: &str| (k == "MISTRAL_ADMIN_API_KEY").then(|| "unused".to_string());
    let server = mistral_mcp::app::build_server(&Config::load_with(&Overrides::default(), &env)?)?;
    let index = server.search_index();
    let tools = server
        .catalog()
        .tools
        .iter()
        .map(|t| (t.name.as_str(), t.spec().operation()));
    let e = index.evaluate(&text, tools);
    // Latency: every query many times, after a warm-up pass.
    let rounds = 2000;
    for q in &e.queries {
        std::hint::black_box(index.search(q, 5));
    }
    let started = Instant::now();
    for _ in 0..rounds {
        for q in &e.queries {
            std::hint::black_box(index.search(q, 5));
        }
    }
    let per_query =
        started.elapsed().as_secs_f64() * 1e6 / (rounds * e.queries.len().max(1)) as f64;
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
    println!(
        "recall@5: {:.3} ({}/{})",
        e.recall_at_5(),
        e.at5,
        e.evaluated
    );
    println!(
        "latency: {per_query:.2} µs per query (mean over {} queries)",
        rounds * e.queries.len()
    );
    if !e.misses.is_empty() {
        println!("not ranked first:\n  {}", e.misses.join("\n  "));
    }
    Ok(())
}
