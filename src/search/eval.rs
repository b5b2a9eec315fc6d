//! Measuring search: recall@1/3/5 and MRR of an intents file (`operation(s)<TAB>intent`
//! lines), with the misses spelled out. Used by tests/search_quality.rs and
//! examples/search_eval.rs; nothing here runs in the server.

use std::collections::HashMap;

use super::SearchIndex;

/// Recall of a set of intents (`operation(s)<TAB>intent` lines, `|` between acceptable
/// operations, `#` comments).
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub evaluated: usize,
    /// Intents whose operation no tool exposes.
    pub skipped: usize,
    pub at1: usize,
    pub at3: usize,
    pub at5: usize,
    /// Sum of 1/rank over the intents whose tool is in the top 5 (0 for the others).
    pub reciprocal_ranks: f64,
    /// `intent: wanted, got` for every intent not ranked first.
    pub misses: Vec<String>,
    pub queries: Vec<String>,
    /// The second hit's score as a share of the best one's, and whether the best was right,
    /// per intent: how far a clear lead can be trusted.
    pub runner_up_shares: Vec<(f32, bool)>,
}

impl Evaluation {
    pub fn recall_at_1(&self) -> f64 {
        self.at1 as f64 / self.evaluated.max(1) as f64
    }
    pub fn recall_at_3(&self) -> f64 {
        self.at3 as f64 / self.evaluated.max(1) as f64
    }
    pub fn recall_at_5(&self) -> f64 {
        self.at5 as f64 / self.evaluated.max(1) as f64
    }
    /// Mean reciprocal rank, counting only the top 5.
    pub fn mrr(&self) -> f64 {
        self.reciprocal_ranks / self.evaluated.max(1) as f64
    }
}

impl SearchIndex {
    /// Ranks every intent of `tsv`; `tools` maps each tool name to its `"METHOD /path"`.
    pub fn evaluate<'a>(
        &self,
        tsv: &str,
        tools: impl IntoIterator<Item = (&'a str, String)>,
    ) -> Evaluation {
        let mut by_operation: HashMap<String, Vec<&str>> = HashMap::new();
        for (name, operation) in tools {
            by_operation.entry(operation).or_default().push(name);
        }
        let mut e = Evaluation::default();
        for line in tsv
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let Some((ops, intent)) = line.split_once('\t') else {
                continue;
            };
            // Several tools may share an operation (a get and its wait tool): any counts.
            let wanted: Vec<&str> = ops
                .split('|')
                .filter_map(|op| by_operation.get(op.trim()))
                .flatten()
                .copied()
                .collect();
            if wanted.is_empty() {
                e.skipped += 1;
                continue;
            }
            e.evaluated += 1;
            e.queries.push(intent.to_string());
            let hits = self.search(intent, 5);
            let rank = hits.iter().position(|h| wanted.contains(&h.name.as_str()));
            if let Some(top) = hits.first() {
                let second = hits.get(1).map_or(0.0, |h| h.score);
                e.runner_up_shares
                    .push((second / top.score.max(f32::EPSILON), rank == Some(0)));
            }
            if let Some(rank) = rank {
                e.at5 += 1;
                e.at3 += usize::from(rank < 3);
                e.reciprocal_ranks += 1.0 / (rank + 1) as f64;
                if rank == 0 {
                    e.at1 += 1;
                    continue;
                }
            }
            let got: Vec<&str> = hits.iter().take(3).map(|h| h.name.as_str()).collect();
            e.misses
                .push(format!("{intent:?}: want {wanted:?}, got {got:?}"));
        }
        e
    }
}
