//! A regression net for intent search: recall over the shared dev intents (when present)
//! and over the developers' own held-out intents. Ranking is deterministic, so these are
//! exact figures, not timings; the latency is measured by `examples/search_eval.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mistral_mcp::config::{Config, Overrides};
use mistral_mcp::search::Evaluation;

fn evaluate(tsv: &str) -> Evaluation {
    let server = mistral_mcp::app::build_server(
        &Config::load_with(&Overrides::default(), &|_| None).unwrap(),
    )
    .unwrap();
    let tools = server
        .catalog()
        .tools
        .iter()
        .map(|t| (t.name.as_str(), t.spec().operation()));
    server.search_index().evaluate(tsv, tools)
}

#[test]
fn dev_intents_meet_the_targets() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/intents-dev.tsv");
    let Ok(tsv) = std::fs::read_to_string(&path) else {
        eprintln!("*** SKIPPED: {} not found ***", path.display());
        return;
    };
    let e = evaluate(&tsv);
    assert!(e.evaluated >= 60, "only {} intents evaluated", e.evaluated);
    assert!(
        e.recall_at_1() >= 0.90,
        "recall@1 {:.3}; misses:\n{}",
        e.recall_at_1(),
        e.misses.join("\n")
    );
    assert!(
        e.recall_at_5() >= 0.98,
        "recall@5 {:.3}; misses:\n{}",
        e.recall_at_5(),
        e.misses.join("\n")
    );
}

#[test]
fn held_out_intents_stay_found() {
    let e = evaluate(include_str!("data/intents-heldout.tsv"));
    assert_eq!(e.evaluated, 30);
    assert!(
        e.recall_at_1() >= 0.85,
        "recall@1 {:.3}; misses:\n{}",
        e.recall_at_1(),
        e.misses.join("\n")
    );
    assert_eq!(e.at5, e.evaluated, "misses:\n{}", e.misses.join("\n"));
}

/// The blind intents (tests/data/intents-blind-*.tsv, written by helpers who never saw the
/// catalog's words) over the whole catalog, admin tools included. Prints recall@1/3/5 and MRR
/// per split and per toolset (`cargo test --test search_quality -- --nocapture`); the floors
/// only catch a collapse. Tune on the dev halves, report the test halves.
#[test]
fn blind_intents_are_measured() {
    let env = |k: &str| (k == "MISTRAL_ADMIN_API_KEY").then(|| "unused".to_string());
    let server =
        mistral_mcp::app::build_server(&Config::load_with(&Overrides::default(), &env).unwrap())
            .unwrap();
    let tools = || {
        server
            .catalog()
            .tools
            .iter()
            .map(|t| (t.name.as_str(), t.spec().operation()))
    };
    let toolset_of: std::collections::HashMap<String, &str> = server
        .catalog()
        .tools
        .iter()
        .map(|t| (t.spec().operation(), t.toolset.as_str()))
        .collect();
    // (split, intents, fewest intents, recall@1 and @5 floors): the small-toolset sets are a
    // second, later blind set over the toolsets of fewest operations (chat, classifiers,
    // skills, users), split like the first; the third, over the same toolsets, is never tuned
    // on. The fourth is over the whole catalog again, two intents per operation, one in an
    // agent's voice and one in a person's (0.90 and 0.98 when first read), tuned on since;
    // the fifth, from the same brief, reports (0.91 and 0.99 when first read). The floors
    // sit under today's figures (about 0.95 and 0.99 on the first set, 0.87-0.95 and 0.99 on
    // the second): they catch a regression such as examples lost from the build or weights
    // left unfitted, not a small change.
    for (split, tsv, fewest, floor_at_1, floor_at_5) in [
        (
            "dev",
            include_str!("data/intents-blind-dev.tsv"),
            1000,
            0.90,
            0.98,
        ),
        (
            "test",
            include_str!("data/intents-blind-test.tsv"),
            1000,
            0.90,
            0.98,
        ),
        (
            "small-toolsets dev",
            include_str!("data/intents-blind-small-toolsets-dev.tsv"),
            150,
            0.80,
            0.95,
        ),
        (
            "small-toolsets test",
            include_str!("data/intents-blind-small-toolsets-test.tsv"),
            150,
            0.80,
            0.95,
        ),
        (
            "small-toolsets third",
            include_str!("data/intents-blind-small-toolsets-3.tsv"),
            200,
            0.80,
            0.95,
        ),
        (
            "fourth (whole catalog)",
            include_str!("data/intents-blind-4.tsv"),
            500,
            0.85,
            0.95,
        ),
        (
            "fifth (whole catalog, never tuned on)",
            include_str!("data/intents-blind-5.tsv"),
            500,
            0.85,
            0.95,
        ),
    ] {
        let e = server.search_index().evaluate(tsv, tools());
        println!(
            "blind {split}: {} intents ({} skipped), recall@1 {:.3}, @3 {:.3}, @5 {:.3}, MRR {:.3}",
            e.evaluated,
            e.skipped,
            e.recall_at_1(),
            e.recall_at_3(),
            e.recall_at_5(),
            e.mrr()
        );
        let mut by_toolset: std::collections::BTreeMap<&str, String> = Default::default();
        for line in tsv.lines().filter(|l| !l.starts_with('#')) {
            let op = line.split('\t').next().unwrap_or_default();
            let toolset = toolset_of.get(op).copied().unwrap_or("(excluded)");
            let lines = by_toolset.entry(toolset).or_default();
            lines.push_str(line);
            lines.push('\n');
        }
        for (toolset, lines) in &by_toolset {
            let t = server.search_index().evaluate(lines, tools());
            if t.evaluated == 0 {
                continue;
            }
            println!(
                "  {toolset:<14} {:>4} intents  @1 {:.2}  @3 {:.2}  @5 {:.2}  MRR {:.2}",
                t.evaluated,
                t.recall_at_1(),
                t.recall_at_3(),
                t.recall_at_5(),
                t.mrr()
            );
        }
        assert!(
            e.evaluated > fewest,
            "{split}: only {} intents",
            e.evaluated
        );
        assert!(
            e.recall_at_1() >= floor_at_1 && e.recall_at_5() >= floor_at_5,
            "{split}: recall@1 {:.3}, @5 {:.3}",
            e.recall_at_1(),
            e.recall_at_5()
        );
    }
}
