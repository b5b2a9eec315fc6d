//! Measures intent search: recall@1/3/5, MRR and per-query latency over intents files
//! (`operation(s)<TAB>intent` per line, `|` between acceptable operations).
//!
//! cargo run --release --example search_eval -- ../shared/eval/intents-dev.tsv
//! cargo run --release --example search_eval -- --fit                   (fits the ranker's
//!     weights on the blind intents' dev halves and prints them, with every half's figures)
//! cargo run --release --example search_eval -- --table                 (each signal group
//!     fitted alone and all combined, on both halves: the table search's figures come from)
//!
//! Intents whose operation the catalog does not expose are counted as skipped, not missed.

use std::time::Instant;

use mistral_mcp::config::{Config, Overrides};
use mistral_mcp::search::{FEATURE_COUNT, FEATURES, SearchIndex, Weights, is_candidate};
use mistral_mcp::server::McpServer;

/// The blind intent sets: the whole catalog's, the second and third sets over the small
/// toolsets (chat, classifiers, skills, users), and the fourth (tuned on) and fifth (reports)
/// over the whole catalog again. Only the dev halves are fitted on.
const BLIND: [(&str, &str); 7] = [
    ("dev", "tests/data/intents-blind-dev.tsv"),
    ("test", "tests/data/intents-blind-test.tsv"),
    (
        "small dev",
        "tests/data/intents-blind-small-toolsets-dev.tsv",
    ),
    (
        "small test",
        "tests/data/intents-blind-small-toolsets-test.tsv",
    ),
    (
        "small third",
        "tests/data/intents-blind-small-toolsets-3.tsv",
    ),
    ("fourth", "tests/data/intents-blind-4.tsv"),
    ("fifth", "tests/data/intents-blind-5.tsv"),
];
const VARIANTS: [&str; 4] = ["lexical", "lexical+examples", "classifiers", "combined"];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // With an admin key, so the admin tools are indexed too.
    let env = |k: &str| (k == "MISTRAL_ADMIN_API_KEY").then(|| "unused".to_string());
    let server = mistral_mcp::app::build_server(&Config::load_with(&Overrides::default(), &env)?)?;
    match args.first().map(String::as_str) {
        Some("--table") => return table(&server),
        Some("--fit") => return fit_and_print(&server),
        _ => {}
    }
    let weights = Weights::default();
    let files = args;
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
    println!("| signals | split | intents | @1 | @3 | @5 | MRR | µs/query (mean, p99) |");
    println!("|---|---|---|---|---|---|---|---|");
    for variant in VARIANTS {
        let mask = Weights::mask(variant).unwrap_or([true; FEATURE_COUNT]);
        let weights = fit(server, mask)?;
        report(server, variant, weights)?;
    }
    Ok(())
}

fn fit_and_print(server: &McpServer) -> anyhow::Result<()> {
    let weights = fit(server, [true; FEATURE_COUNT])?;
    println!("fitted on the dev halves:");
    for (name, w) in FEATURES.iter().zip(weights.0) {
        println!("  {name}: {w:.3}");
    }
    println!(
        "const FITTED: [f32; FEATURE_COUNT] = [{}];",
        weights
            .0
            .iter()
            .map(|w| format!("{w:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("| signals | split | intents | @1 | @3 | @5 | MRR | µs/query (mean, p99) |");
    println!("|---|---|---|---|---|---|---|---|");
    report(server, "fitted", weights)?;
    report(server, "shipped", Weights::default())
}

fn report(server: &McpServer, variant: &str, weights: Weights) -> anyhow::Result<()> {
    let root = env!("CARGO_MANIFEST_DIR");
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
    Ok(())
}

/// Softmax regression over each dev intent's relevant tools (the ones search can return),
/// by full-batch Adam: the weights that make the right tool most probable, features outside
/// `mask` held at zero. Only the dev halves are read.
fn fit(server: &McpServer, mask: [bool; FEATURE_COUNT]) -> anyhow::Result<Weights> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut text = String::new();
    for (_, path) in BLIND.iter().filter(|(split, _)| split.ends_with("dev")) {
        text += &std::fs::read_to_string(format!("{root}/{path}"))?;
    }
    let index = index(server, Weights::default());
    let names: Vec<&str> = index.names().collect();
    let by_operation = tools(server).fold(
        std::collections::HashMap::<String, Vec<usize>>::new(),
        |mut m, (name, op)| {
            if let Some(i) = names.iter().position(|n| *n == name) {
                m.entry(op).or_default().push(i);
            }
            m
        },
    );
    // Per intent: the candidates' features, and which of them are right.
    let mut samples: Vec<(Vec<[f32; FEATURE_COUNT]>, Vec<bool>)> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((ops, intent)) = line.split_once('\t') else {
            continue;
        };
        let wanted: Vec<usize> = ops
            .split('|')
            .filter_map(|op| by_operation.get(op.trim()))
            .flatten()
            .copied()
            .collect();
        let features = index.features(intent);
        let candidates: Vec<usize> = (0..features.len())
            .filter(|&i| is_candidate(&features[i]))
            .collect();
        let right: Vec<bool> = candidates.iter().map(|i| wanted.contains(i)).collect();
        if right.iter().any(|r| *r) {
            samples.push((candidates.iter().map(|&i| features[i]).collect(), right));
        }
    }
    let mut w = [0.0f32; FEATURE_COUNT];
    for (wi, m) in w.iter_mut().zip(mask) {
        *wi = if m { 1.0 } else { 0.0 };
    }
    let (mut m1, mut m2) = ([0.0f32; FEATURE_COUNT], [0.0f32; FEATURE_COUNT]);
    let (rate, beta1, beta2, l2) = (0.05f32, 0.9f32, 0.999f32, 1e-4f32);
    for step in 1..=600 {
        let mut grad = [0.0f32; FEATURE_COUNT];
        for (features, right) in &samples {
            let scores: Vec<f32> = features
                .iter()
                .map(|f| f.iter().zip(&w).map(|(a, b)| a * b).sum())
                .collect();
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
            let all: f32 = exp.iter().sum();
            let good: f32 = exp
                .iter()
                .zip(right)
                .filter(|(_, r)| **r)
                .map(|(e, _)| e)
                .sum();
            for ((f, e), r) in features.iter().zip(&exp).zip(right) {
                // d(-ln P(right)) / d score = p - q, q the share among the right tools.
                let q = if *r { e / good } else { 0.0 };
                let g = e / all - q;
                for k in 0..FEATURE_COUNT {
                    grad[k] += g * f[k];
                }
            }
        }
        for k in 0..FEATURE_COUNT {
            if !mask[k] {
                continue;
            }
            let g = grad[k] / samples.len() as f32 + l2 * w[k];
            m1[k] = beta1 * m1[k] + (1.0 - beta1) * g;
            m2[k] = beta2 * m2[k] + (1.0 - beta2) * g * g;
            let m1_hat = m1[k] / (1.0 - beta1.powi(step));
            let m2_hat = m2[k] / (1.0 - beta2.powi(step));
            w[k] -= rate * m1_hat / (m2_hat.sqrt() + 1e-8);
        }
    }
    Ok(Weights(w))
}
