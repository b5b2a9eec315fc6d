//! Intent search over the tool catalog: "run OCR on an invoice PDF" → `ocr_process`.
//!
//! A BM25 ranking over fields of different weight: the tool name, catalog keywords, title,
//! toolset, the operation (method verb and path words) and the description. Words are
//! lower-cased, identifiers split, stop words dropped and plurals and verb endings folded,
//! so "uploaded files" meets "files_upload". Everything is precomputed at start-up; a query
//! costs a few hash lookups per word. Each hit explains which words matched where.

use std::collections::HashMap;

/// Field weights: how much a word found in each field counts.
const W_NAME: f32 = 3.0;
const W_KEYWORDS: f32 = 2.5;
const W_TITLE: f32 = 2.0;
const W_TOOLSET: f32 = 1.5;
const W_OPERATION: f32 = 1.5;
const W_DESCRIPTION: f32 = 1.0;
/// Boost by the share of the tool name's words the query mentions: "get an agent" prefers
/// `agents_get` to `agents_versions_get`.
const W_NAME_COVERAGE: f32 = 0.3;
/// BM25 term saturation and length normalisation.
const K1: f32 = 1.2;
const B: f32 = 0.4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Name,
    Keywords,
    Title,
    Toolset,
    Operation,
    Description,
}

impl Field {
    fn weight(self) -> f32 {
        match self {
            Field::Name => W_NAME,
            Field::Keywords => W_KEYWORDS,
            Field::Title => W_TITLE,
            Field::Toolset => W_TOOLSET,
            Field::Operation => W_OPERATION,
            Field::Description => W_DESCRIPTION,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Keywords => "keywords",
            Field::Title => "title",
            Field::Toolset => "toolset",
            Field::Operation => "operation",
            Field::Description => "description",
        }
    }
}

/// What the index knows about one tool.
#[derive(Debug, Clone)]
pub struct SearchDoc {
    pub name: String,
    pub title: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub toolset: String,
    pub method: String,
    pub path: String,
}

/// One ranked result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    pub name: String,
    pub operation: String,
    pub score: f32,
    /// `word: field, field`, one entry per matched query word.
    pub matched: Vec<String>,
}

struct Posting {
    doc: usize,
    /// Weighted term frequency across fields.
    tf: f32,
    fields: Vec<Field>,
}

pub struct SearchIndex {
    docs: Vec<(String, String)>,
    /// Distinct words of each tool's name.
    name_terms: Vec<Vec<String>>,
    lengths: Vec<f32>,
    avg_len: f32,
    postings: HashMap<String, Vec<Posting>>,
}

impl SearchIndex {
    pub fn build(docs: &[SearchDoc]) -> Self {
        let mut postings: HashMap<String, Vec<Posting>> = HashMap::new();
        let mut lengths = Vec::with_capacity(docs.len());
        let mut name_terms = Vec::with_capacity(docs.len());
        for (i, d) in docs.iter().enumerate() {
            let mut names = tokenize(&d.name);
            names.dedup();
            name_terms.push(names);
            let operation = format!("{} {}", method_words(&d.method), d.path);
            let fields: [(Field, String); 6] = [
                (Field::Name, d.name.clone()),
                (Field::Keywords, d.keywords.join(" ")),
                (Field::Title, d.title.clone()),
                (Field::Toolset, d.toolset.clone()),
                (Field::Operation, operation),
                (Field::Description, d.description.clone()),
            ];
            let mut per_term: HashMap<String, (f32, Vec<Field>)> = HashMap::new();
            let mut len = 0.0;
            for (field, text) in &fields {
                for term in tokenize(text) {
                    len += field.weight();
                    let e = per_term.entry(term).or_insert((0.0, Vec::new()));
                    e.0 += field.weight();
                    if !e.1.contains(field) {
                        e.1.push(*field);
                    }
                }
            }
            lengths.push(len);
            for (term, (tf, fields)) in per_term {
                postings
                    .entry(term)
                    .or_default()
                    .push(Posting { doc: i, tf, fields });
            }
        }
        let avg_len = if lengths.is_empty() {
            1.0
        } else {
            lengths.iter().sum::<f32>() / lengths.len() as f32
        };
        Self {
            docs: docs
                .iter()
                .map(|d| (d.name.clone(), format!("{} {}", d.method, d.path)))
                .collect(),
            name_terms,
            lengths,
            avg_len,
            postings,
        }
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The best `limit` tools for `query`, best first. Tools that match no word are left out.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        self.search_filtered(query, limit, |_| true)
    }

    /// As [`Self::search`], over the tools `keep` accepts (by name).
    pub fn search_filtered(
        &self,
        query: &str,
        limit: usize,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<Hit> {
        let n = self.docs.len() as f32;
        let mut scores = vec![0.0f32; self.docs.len()];
        let mut matched: Vec<Vec<String>> = vec![Vec::new(); self.docs.len()];
        let mut seen = Vec::new();
        let terms = tokenize(query);
        for term in terms.iter().cloned() {
            if seen.contains(&term) {
                continue;
            }
            let Some(list) = self.postings.get(&term) else {
                seen.push(term);
                continue;
            };
            let df = list.len() as f32;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for p in list {
                let norm = 1.0 - B + B * self.lengths[p.doc] / self.avg_len;
                scores[p.doc] += idf * p.tf * (K1 + 1.0) / (p.tf + K1 * norm);
                let fields: Vec<&str> = p.fields.iter().map(|f| f.label()).collect();
                matched[p.doc].push(format!("{term}: {}", fields.join(", ")));
            }
            seen.push(term);
        }
        for (i, score) in scores.iter_mut().enumerate() {
            if *score <= 0.0 {
                continue;
            }
            let names = &self.name_terms[i];
            if !names.is_empty() {
                let covered = names.iter().filter(|n| terms.contains(n)).count() as f32;
                *score *= 1.0 + W_NAME_COVERAGE * covered / names.len() as f32;
            }
        }
        let mut ranked: Vec<usize> = (0..self.docs.len())
            .filter(|&i| scores[i] > 0.0 && keep(&self.docs[i].0))
            .collect();
        ranked.sort_by(|&a, &b| {
            scores[b]
                .total_cmp(&scores[a])
                .then_with(|| self.docs[a].0.cmp(&self.docs[b].0))
        });
        ranked
            .into_iter()
            .take(limit)
            .map(|i| Hit {
                name: self.docs[i].0.clone(),
                operation: self.docs[i].1.clone(),
                score: (scores[i] * 100.0).round() / 100.0,
                matched: std::mem::take(&mut matched[i]),
            })
            .collect()
    }
}

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

/// Words an HTTP method stands for, so "delete …" and "list …" meet the right operations.
fn method_words(method: &str) -> &'static str {
    match method {
        "GET" => "get read show",
        "POST" => "create run",
        "PUT" | "PATCH" => "update change",
        "DELETE" => "delete remove",
        _ => "",
    }
}

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "for", "from", "get", "give",
    "i", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "please", "so",
    "some", "that", "the", "their", "them", "then", "these", "this", "those", "to", "up", "use",
    "using", "want", "what", "with", "you", "your", "v1", "v2", "id", "mistral", "s",
];

/// Lower-cased, identifier-split, stop-word-free, lightly stemmed words.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            let w = word.to_ascii_lowercase();
            if !STOP_WORDS.contains(&w.as_str()) {
                out.push(stem(&w));
            }
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            // camelCase boundary
            if c.is_uppercase() && prev_lower {
                flush(&mut word, &mut out);
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            word.push(c);
        } else {
            prev_lower = false;
            flush(&mut word, &mut out);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Folds common English endings so "uploading", "uploaded" and "uploads" are one word.
fn stem(w: &str) -> String {
    let n = w.len();
    if n <= 3 || !w.is_ascii() {
        return w.to_string();
    }
    for (suffix, replacement, min_stem) in [
        ("ies", "y", 3),
        ("sses", "ss", 2),
        ("ing", "", 4),
        ("ed", "", 4),
        ("es", "", 4),
        ("s", "", 3),
    ] {
        if let Some(stem) = w.strip_suffix(suffix) {
            if stem.len() < min_stem {
                continue;
            }
            if suffix == "s" && (stem.ends_with('s') || stem.ends_with('u') || stem.ends_with('i'))
            {
                continue;
            }
            if suffix == "es"
                && !(stem.ends_with("sh")
                    || stem.ends_with("ch")
                    || stem.ends_with('x')
                    || stem.ends_with("ss"))
            {
                // "messages" → "messag" would miss "message": let the plain "s" rule act.
                continue;
            }
            let mut s = format!("{stem}{replacement}");
            // "running" → "runn" → "run"
            if (suffix == "ing" || suffix == "ed") && s.len() >= 3 {
                let b = s.as_bytes();
                if b[b.len() - 1] == b[b.len() - 2] && !matches!(b[b.len() - 1], b'l' | b's' | b'z')
                {
                    s.pop();
                }
            }
            return s;
        }
    }
    w.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_splits_identifiers_and_stems() {
        assert_eq!(tokenize("files_upload"), vec!["file", "upload"]);
        assert_eq!(
            tokenize("listFiles uploaded"),
            vec!["list", "file", "upload"]
        );
        assert_eq!(
            tokenize("the messages of my conversations"),
            vec!["message", "conversation"]
        );
        assert_eq!(tokenize("running batches"), vec!["run", "batch"]);
        assert_eq!(tokenize("/v1/files/{file_id}"), vec!["file", "file"]);
    }

    fn doc(name: &str, kw: &[&str], method: &str, path: &str) -> SearchDoc {
        SearchDoc {
            name: name.into(),
            title: name.replace('_', " "),
            description: String::new(),
            keywords: kw.iter().map(|s| s.to_string()).collect(),
            toolset: name.split('_').next().unwrap_or("").into(),
            method: method.into(),
            path: path.into(),
        }
    }

    #[test]
    fn ranks_and_explains() {
        let idx = SearchIndex::build(&[
            doc("files_upload", &["upload"], "POST", "/v1/files"),
            doc("files_delete", &["remove"], "DELETE", "/v1/files/{file_id}"),
            doc("ocr_process", &["pdf", "scan"], "POST", "/v1/ocr"),
        ]);
        let hits = idx.search("remove a file", 5);
        assert_eq!(hits[0].name, "files_delete");
        assert!(
            hits[0].matched.iter().any(|m| m.starts_with("remov")),
            "{:?}",
            hits[0].matched
        );
        assert_eq!(idx.search("scan this pdf", 1)[0].name, "ocr_process");
        assert!(idx.search("zzz", 5).is_empty());
    }
}
