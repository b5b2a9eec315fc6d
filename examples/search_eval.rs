//! Measures intent search: recall@1, recall@5 and per-query latency over an intents file
//! (`operation(s)<TAB>intent` per line, `|` between acceptable operations).
//!
//! cargo run --release --example search_eval -- ../shared/eval/intents-dev.tsv
//!
//! Intents whose operation the catalog does not expose are counted as skipped, not missed.

use std::collections::HashMap;
use std::time::Instant;

use mistral_mcp::config::{Config, Overrides};

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/eval/intents-dev.tsv".into());
    let text = std::fs::read_to_string(&path)?;
    let server =
        mistral_mcp::app::build_server(&Config::load_with(&Overrides::default(), &|_| None)?)?;
    // Several tools may share an operation (a get and its wait tool): any of them counts.
    let mut by_operation: HashMap<String, Vec<String>> = HashMap::new();
    for t in &server.catalog().tools {
        by_operation
            .entry(t.spec().operation())
            .or_default()
            .push(t.name.clone());
    }
    let index = server.search_index();
    let (mut total, mut at1, mut at5, mut skipped) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    let mut queries = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let Some((ops, intent)) = line.split_once('\t') else {
            continue;
        };
        let wanted: Vec<&String> = ops
            .split('|')
            .filter_map(|op| by_operation.get(op.trim()))
            .flatten()
            .collect();
        if wanted.is_empty() {
            skipped += 1;
            continue;
        }
        total += 1;
        queries.push(intent.to_string());
        let hits = index.search(intent, 5);
        let rank = hits.iter().position(|h| wanted.contains(&&h.name));
        match rank {
            Some(0) => {
                at1 += 1;
                at5 += 1;
            }
            Some(_) => at5 += 1,
            None => {}
        }
        if rank != Some(0) {
            let got: Vec<&str> = hits.iter().take(3).map(|h| h.name.as_str()).collect();
            misses.push(format!("  {intent:?}: want {wanted:?}, got {got:?}"));
        }
    }
    // Latency: every query many times, after a warm-up pass.
    let rounds = 2000;
    for q in &queries {
        std::hint::black_box(index.search(q, 5));
    }
    let started = Instant::now();
    for _ in 0..rounds {
        for q in &queries {
            std::hint::black_box(index.search(q, 5));
        }
    }
    let per_query = started.elapsed().as_secs_f64() * 1e6 / (rounds * queries.len().max(1)) as f64;
    println!("intents file: {path}");
    println!("tools indexed: {}", index.len());
    println!("intents evaluated: {total} (skipped, operation not in catalog: {skipped})");
    println!(
        "recall@1: {:.3} ({at1}/{total})",
        at1 as f64 / total.max(1) as f64
    );
    println!(
        "recall@5: {:.3} ({at5}/{total})",
        at5 as f64 / total.max(1) as f64
    );
    println!(
        "latency: {per_query:.2} µs per query (mean over {} queries)",
        rounds * queries.len()
    );
    if !misses.is_empty() {
        println!("not ranked first:\n{}", misses.join("\n"));
    }
    Ok(())
}
