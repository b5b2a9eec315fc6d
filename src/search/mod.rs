//! Intent search over the tool catalog: "run OCR on an invoice PDF" → `ocr_process`.
//!
//! Three kinds of signal, read as [`FEATURES`] of each tool and ranked by a linear model:
//! - **lexical**: BM25 over fields of different weight (the tool name, catalog keywords,
//!   title, toolset, the operation's method verb and path words, the description); each hit
//!   explains which words matched where;
//! - **examples**: BM25 over the catalog's example intents (requests written the way agents
//!   and users ask), a tool scoring by its best-matching examples;
//! - **understanding**: naive Bayes classifiers trained on those examples that read the
//!   request's action (list, get, create, cancel…), its resource (files, agent aliases,
//!   workflow schedules…) and the tool outright, so "which batch jobs are still running?"
//!   asks for a list even though no word says so; a logistic regression over the same
//!   features that weighs them by how well they separate the tools; and the structure of the
//!   request: how many of the tool's resource words it names, and whether it names a
//!   sibling's instead ("the agent's alias" is not the agent).
//!
//! Words pass through [`text`] (identifiers split, endings folded, foreign verbs folded).
//! Nothing is tokenized until the first search, so a server that is never asked to search
//! never pays for the index. The weights are fitted on the blind intents' dev half
//! (tests/data) and reported on the test half.

mod bayes;
mod eval;
mod logistic;
mod text;

use std::collections::HashMap;
use std::sync::OnceLock;

use bayes::NaiveBayes;
pub use eval::Evaluation;
use logistic::Logistic;
use text::method_words;
pub use text::{features, tokenize};
use text::{features_of, main_request, one_edit_apart, split_negated};

/// Field weights: how much a word found in each field counts.
const W_NAME: f32 = 3.0;
const W_KEYWORDS: f32 = 2.5;
const W_TITLE: f32 = 2.0;
const W_TOOLSET: f32 = 1.5;
const W_OPERATION: f32 = 1.5;
const W_DESCRIPTION: f32 = 1.0;
/// What the ranker reads about one tool for one request. Each is about 0..1; the score is
/// their weighted sum ([`Weights`]).
pub const FEATURES: [&str; FEATURE_COUNT] = [
    "lexical",
    "example_best",
    "example_more",
    "tool_probability",
    "tool_log_probability",
    "action_probability",
    "action_log_probability",
    "resource_probability",
    "resource_log_probability",
    "resource_words",
    "sibling_words",
    "name_words",
    "lexical_x_action",
    "lexical_x_resource",
    "example_x_action",
    "example_x_resource",
    "neighbours",
    "logistic_probability",
    "logistic_log_probability",
];
pub const FEATURE_COUNT: usize = 19;

/// A linear ranker over [`FEATURES`]. [`Weights::default`] is what the server uses: fitted on
/// the blind intents' dev half by `cargo run --release --example search_eval -- --fit`
/// (softmax over all tools, the dev intents only; the test half is reported, never fitted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights(pub [f32; FEATURE_COUNT]);

impl Default for Weights {
    fn default() -> Self {
        Weights(FITTED)
    }
}

/// The server's weights, as `search_eval -- --fit` printed them.
const FITTED: [f32; FEATURE_COUNT] = [
    3.873, 2.186, -0.312, 0.106, 4.166, 1.322, 0.659, 1.877, 0.846, 1.357, -1.223, 0.723, -0.353,
    -2.128, -0.201, -0.285, 1.358, 0.199, 4.157,
];

/// The signal groups measured apart (`search_eval -- --table`); the products of one group's
/// feature with another's count only in the combined ranker.
const CATALOG_TEXT: &[&str] = &["lexical", "resource_words", "sibling_words", "name_words"];
const EXAMPLE_MATCHES: &[&str] = &["example_best", "example_more", "neighbours"];

impl Weights {
    /// The features each named variant may use, for measuring the signals apart:
    /// `lexical` (catalog text only), `lexical+examples`, `classifiers` (the naive Bayes
    /// and logistic posteriors alone), `combined` (everything).
    pub fn mask(name: &str) -> Option<[bool; FEATURE_COUNT]> {
        let uses = |groups: &[&[&str]]| {
            let mut mask = [false; FEATURE_COUNT];
            for (m, f) in mask.iter_mut().zip(FEATURES) {
                *m = groups.iter().any(|g| g.contains(&f));
            }
            mask
        };
        Some(match name {
            "lexical" => uses(&[CATALOG_TEXT]),
            "lexical+examples" => uses(&[CATALOG_TEXT, EXAMPLE_MATCHES]),
            // The naive Bayes posteriors and the logistic regression's.
            "classifiers" => FEATURES.map(|f| f.ends_with("probability")),
            "combined" => [true; FEATURE_COUNT],
            _ => return None,
        })
    }

    fn score(&self, features: &[f32; FEATURE_COUNT]) -> f32 {
        self.0.iter().zip(features).map(|(w, f)| w * f).sum()
    }
}

/// How many of the nearest examples vote for their tools.
const NEIGHBOURS: usize = 10;
/// Example intents are BM25 documents of their own, short and many: full length
/// normalisation.
const B_EXAMPLES: f32 = 0.75;
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
    /// The catalog id (`<area>_<noun>_<verb>`), which names the tool's action and resource
    /// even when an override renames the tool.
    pub id: String,
    pub name: String,
    pub title: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub toolset: String,
    pub method: String,
    pub path: String,
    /// Requests this tool answers, in users' words.
    pub examples: Vec<String>,
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
    /// Each tool's name and `"METHOD /path"`.
    docs: Vec<(String, String)>,
    /// What the index is built from, on the first search.
    sources: Vec<SearchDoc>,
    /// Each tool's action class and resource class.
    actions: Vec<usize>,
    resources: Vec<usize>,
    weights: Weights,
    /// More example intents of a tool, by catalog id, read on the first search: the
    /// shipped catalog keeps its examples apart so that start-up does not parse them.
    more_examples: fn(&str) -> Vec<String>,
    lexical: OnceLock<Lexical>,
    learned: OnceLock<Learned>,
}

/// BM25 over the catalog's own text, field by field.
struct Lexical {
    /// Distinct words of each tool's name.
    name_terms: Vec<Vec<String>>,
    /// Words of each tool's resource (its id without the verb), less its toolset's own words
    /// where others remain: `agents_aliases_delete` → `alias`.
    resource_terms: Vec<Vec<String>>,
    /// Resource words of the other tools of the same toolset that are not this tool's: a
    /// request naming one ("delete the alias") is about a sibling.
    sibling_terms: Vec<Vec<String>>,
    lengths: Vec<f32>,
    avg_len: f32,
    postings: HashMap<String, Vec<Posting>>,
}

impl Lexical {
    fn build(docs: &[SearchDoc]) -> Self {
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
        let resource_terms: Vec<Vec<String>> = docs.iter().map(resource_words).collect();
        let sibling_terms = docs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let mut words: Vec<String> = docs
                    .iter()
                    .enumerate()
                    .filter(|(j, s)| *j != i && s.toolset == d.toolset)
                    .flat_map(|(j, _)| resource_terms[j].iter().cloned())
                    .filter(|w| !resource_terms[i].contains(w) && !name_terms[i].contains(w))
                    .collect();
                words.sort();
                words.dedup();
                words
            })
            .collect();
        Lexical {
            name_terms,
            resource_terms,
            sibling_terms,
            lengths,
            avg_len,
            postings,
        }
    }
}

impl SearchIndex {
    /// An index over `docs`. Nothing is tokenized until the first search: a server that is
    /// never asked to search starts as fast as one without search.
    pub fn build(docs: &[SearchDoc]) -> Self {
        let (actions, resources) = classes(docs);
        Self {
            docs: docs
                .iter()
                .map(|d| (d.name.clone(), format!("{} {}", d.method, d.path)))
                .collect(),
            sources: docs.to_vec(),
            actions,
            resources,
            weights: Weights::default(),
            more_examples: |_| Vec::new(),
            lexical: OnceLock::new(),
            learned: OnceLock::new(),
        }
    }

    /// The same index, learning also from `examples(id)` of each tool.
    pub fn with_more_examples(self, examples: fn(&str) -> Vec<String>) -> Self {
        Self {
            more_examples: examples,
            ..self
        }
    }

    /// The same index, mixing its signals by `weights`.
    pub fn with_weights(self, weights: Weights) -> Self {
        Self { weights, ..self }
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
        let (features, terms) = self.analyse(query);
        let scores: Vec<f32> = features.iter().map(|f| self.weights.score(f)).collect();
        let mut ranked: Vec<usize> = (0..self.docs.len())
            .filter(|&i| is_candidate(&features[i]) && keep(&self.docs[i].0))
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
                matched: self.matched(i, &terms),
            })
            .collect()
    }

    /// Every tool's [`FEATURES`] for `query`, in index order: what `search_eval -- --fit`
    /// learns the weights from.
    pub fn features(&self, query: &str) -> Vec<[f32; FEATURE_COUNT]> {
        self.analyse(query).0
    }

    /// The tool names, in index order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.docs.iter().map(|(name, _)| name.as_str())
    }

    /// Which of `terms` tool `i`'s catalog text holds, and where: `word: field, field`.
    fn matched(&self, i: usize, terms: &[String]) -> Vec<String> {
        let Some(lexical) = self.lexical.get() else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for term in terms {
            let posting = lexical
                .postings
                .get(term)
                .and_then(|list| list.iter().find(|p| p.doc == i));
            if let Some(p) = posting {
                let fields: Vec<&str> = p.fields.iter().map(|f| f.label()).collect();
                let line = format!("{term}: {}", fields.join(", "));
                if !out.contains(&line) {
                    out.push(line);
                }
            }
        }
        out
    }

    /// Features of every tool, and the query's terms (negated spans left out, typos fixed).
    fn analyse(&self, query: &str) -> (Vec<[f32; FEATURE_COUNT]>, Vec<String>) {
        let n = self.docs.len() as f32;
        let mut lexical_scores = vec![0.0f32; self.docs.len()];
        let mut seen = Vec::new();
        let lexical = self.lexical.get_or_init(|| Lexical::build(&self.sources));
        let learned = self.learned();
        // What the request is for or does next ("so I can …", "-> then …") and what it
        // rules out ("not the archived ones") are not searched for.
        let query = main_request(query);
        let (wanted, _) = split_negated(query);
        let terms: Vec<String> = tokenize(&wanted)
            .into_iter()
            .map(|t| spelled(t, lexical, learned))
            .collect();
        for term in &terms {
            if seen.contains(&term) {
                continue;
            }
            seen.push(term);
            let Some(list) = lexical.postings.get(term) else {
                continue;
            };
            let idf = idf(n, list.len() as f32);
            for p in list {
                lexical_scores[p.doc] +=
                    bm25(idf, p.tf, lexical.lengths[p.doc] / lexical.avg_len, B);
            }
        }
        let share = |words: &[String]| {
            if words.is_empty() {
                0.0
            } else {
                words.iter().filter(|w| terms.contains(w)).count() as f32 / words.len() as f32
            }
        };
        let mut features: Vec<[f32; FEATURE_COUNT]> = (0..self.docs.len())
            .map(|i| {
                let mut f = [0.0; FEATURE_COUNT];
                f[0] = lexical_scores[i];
                f[9] = share(&lexical.resource_terms[i]);
                let siblings = lexical.sibling_terms[i]
                    .iter()
                    .filter(|w| terms.contains(w))
                    .count();
                f[10] = (siblings.min(2) as f32) / 2.0;
                f[11] = share(&lexical.name_terms[i]);
                f
            })
            .collect();
        learned.fill(self, &terms, &features_of(query, &terms), &mut features);
        (features, terms)
    }
}

/// Whether a tool with these features may be a hit at all: a tool neither the words (catalog
/// text, examples) nor the tool classifier point at is not one, whatever the weights.
pub fn is_candidate(features: &[f32; FEATURE_COUNT]) -> bool {
    features[0] > 0.0 || features[1] > 0.0 || features[3] >= 0.01
}

/// A tool's resource words: its id without the verb, less the toolset's words unless
/// nothing else is left.
fn resource_words(doc: &SearchDoc) -> Vec<String> {
    let resource = doc.id.rsplit_once('_').map_or(doc.id.as_str(), |(r, _)| r);
    let all = tokenize(resource);
    let toolset = tokenize(&doc.toolset);
    let own: Vec<String> = all
        .iter()
        .filter(|w| !toolset.contains(w))
        .cloned()
        .collect();
    let mut words = if own.is_empty() { all } else { own };
    words.sort();
    words.dedup();
    words
}

impl SearchIndex {
    fn learned(&self) -> &Learned {
        self.learned.get_or_init(|| Learned::train(self))
    }
}

/// A word no tool text or example knows, replaced by a known word one typo away
/// ("archvie" → "archive"); short words are left alone, where one edit is another word. A
/// word only one or two examples use is replaced too when a neighbour is far more common:
/// the examples have typos of their own ("campain" in one of 15,000).
fn spelled(term: String, lexical: &Lexical, learned: &Learned) -> String {
    // How common a word is: the examples that use it, or more than any when the catalog's
    // own text does.
    let frequency = |t: &str| {
        if lexical.postings.contains_key(t) {
            usize::MAX
        } else {
            learned.postings.get(t).map_or(0, Vec::len)
        }
    };
    let own = frequency(&term);
    if term.len() < 5 || own > RARE {
        return term;
    }
    let best = lexical
        .postings
        .keys()
        .chain(learned.postings.keys())
        .filter(|k| one_edit_apart(&term, k))
        .map(|k| (frequency(k), k))
        .filter(|&(f, _)| f > own.saturating_mul(MORE_COMMON))
        // Deterministic whatever the hash order: the most common, then the shortest, then
        // the first alphabetically.
        .min_by(|a, b| {
            b.0.cmp(&a.0)
                .then(a.1.len().cmp(&b.1.len()))
                .then_with(|| a.1.cmp(b.1))
        });
    best.map_or(term, |(_, k)| k.to_string())
}

/// A word used by at most this many examples (and not by the catalog's text) may be a typo.
const RARE: usize = 2;
/// How much more common than a rare word its neighbour must be to replace it.
const MORE_COMMON: usize = 20;

/// BM25's inverse document frequency of a term found in `df` of `n` documents.
fn idf(n: f32, df: f32) -> f32 {
    ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
}

/// One term's BM25 contribution: `tf` its (weighted) frequency in a document whose length is
/// `relative_len` times the average.
fn bm25(idf: f32, tf: f32, relative_len: f32, b: f32) -> f32 {
    let norm = 1.0 - b + b * relative_len;
    idf * tf * (K1 + 1.0) / (tf + K1 * norm)
}

/// Catalog verbs that mean the same action, folded so the action classifier learns one
/// class for them: `files_retrieve` and `agents_get` both get one object.
const SAME_ACTION: &[(&str, &str)] = &[
    ("retrieve", "get"),
    ("status", "get"),
    ("info", "get"),
    ("content", "get"),
    ("summary", "get"),
    ("version", "get"),
    ("history", "get"),
    ("messages", "get"),
    ("url", "get"),
    ("remove", "delete"),
    ("unregister", "delete"),
    ("set", "update"),
    ("add", "create"),
    ("register", "create"),
];

/// Each tool's action class (its id's last word, folded by [`SAME_ACTION`]) and resource class
/// (the id without it), as indexes into the distinct values.
fn classes(docs: &[SearchDoc]) -> (Vec<usize>, Vec<usize>) {
    let mut actions: Vec<String> = Vec::new();
    let mut resources: Vec<String> = Vec::new();
    let index_of = |list: &mut Vec<String>, value: &str| match list.iter().position(|v| v == value)
    {
        Some(i) => i,
        None => {
            list.push(value.to_string());
            list.len() - 1
        }
    };
    let mut out = (Vec::new(), Vec::new());
    for d in docs {
        let (resource, verb) =
            d.id.rsplit_once('_')
                .unwrap_or((d.id.as_str(), d.id.as_str()));
        let action = SAME_ACTION
            .iter()
            .find(|(v, _)| *v == verb)
            .map_or(verb, |(_, a)| *a);
        out.0.push(index_of(&mut actions, action));
        out.1.push(index_of(&mut resources, resource));
    }
    out
}

/// The parts of the index learned from the example intents.
struct Learned {
    /// BM25 over every example: postings of (example, term frequency).
    postings: HashMap<String, Vec<(u32, f32)>>,
    lengths: Vec<f32>,
    avg_len: f32,
    /// The tool each example belongs to.
    owner: Vec<usize>,
    /// Every classifier feature seen in training, with its id: the three classifiers share
    /// one vocabulary.
    vocabulary: HashMap<String, u32>,
    actions: NaiveBayes,
    resources: NaiveBayes,
    tools: NaiveBayes,
    tools_logistic: Logistic,
}

impl Learned {
    fn train(index: &SearchIndex) -> Self {
        let mut postings: HashMap<String, Vec<(u32, f32)>> = HashMap::new();
        let (mut lengths, mut owner) = (Vec::new(), Vec::new());
        let mut samples: Vec<(Vec<u32>, usize)> = Vec::new();
        let mut vocabulary: HashMap<String, u32> = HashMap::new();
        let mut ids = |features: Vec<String>| -> Vec<u32> {
            features
                .into_iter()
                .map(|f| {
                    let next = vocabulary.len() as u32;
                    *vocabulary.entry(f).or_insert(next)
                })
                .collect()
        };
        for (tool, doc) in index.sources.iter().enumerate() {
            let more = (index.more_examples)(&doc.id);
            for example in doc.examples.iter().chain(&more) {
                let id = lengths.len() as u32;
                let terms = tokenize(example);
                lengths.push(terms.len() as f32);
                let mut tf: HashMap<&str, f32> = HashMap::new();
                for t in &terms {
                    *tf.entry(t.as_str()).or_default() += 1.0;
                }
                for (t, f) in tf {
                    match postings.get_mut(t) {
                        Some(list) => list.push((id, f)),
                        None => {
                            postings.insert(t.to_string(), vec![(id, f)]);
                        }
                    }
                }
                owner.push(tool);
                samples.push((ids(features_of(example, &terms)), tool));
            }
            // The title, as one more example the classifiers learn from.
            samples.push((ids(features(&doc.title)), tool));
        }
        let avg_len = (lengths.iter().sum::<f32>() / lengths.len().max(1) as f32).max(1.0);
        let count = |classes: &[usize]| classes.iter().max().map_or(0, |m| m + 1);
        let by = |classes: &[usize]| -> Vec<(&[u32], usize)> {
            samples
                .iter()
                .map(|(f, tool)| (f.as_slice(), classes[*tool]))
                .collect()
        };
        let by_tool: Vec<(&[u32], usize)> = samples
            .iter()
            .map(|(f, tool)| (f.as_slice(), *tool))
            .collect();
        let features = vocabulary.len();
        let tools = NaiveBayes::train(by_tool.iter().copied(), index.docs.len(), features);
        let tools_logistic = Logistic::train(&by_tool, &tools);
        Learned {
            actions: NaiveBayes::train(by(&index.actions), count(&index.actions), features),
            resources: NaiveBayes::train(by(&index.resources), count(&index.resources), features),
            tools,
            tools_logistic,
            vocabulary,
            postings,
            lengths,
            avg_len,
            owner,
        }
    }

    /// Fills in the example and classifier features; `features` holds the lexical BM25 in
    /// its first slot, normalised here to the best tool's.
    fn fill(
        &self,
        index: &SearchIndex,
        terms: &[String],
        words: &[String],
        features: &mut [[f32; FEATURE_COUNT]],
    ) {
        let tools = features.len();
        // Each tool's three best example scores.
        let mut best = vec![[0.0f32; 3]; tools];
        // Dense, with the examples touched listed: a hash map per query was half the time.
        let mut example_scores = vec![0.0f32; self.lengths.len()];
        let mut touched: Vec<u32> = Vec::new();
        let n = self.lengths.len() as f32;
        let mut seen: Vec<&String> = Vec::new();
        for term in terms {
            if seen.contains(&term) {
                continue;
            }
            seen.push(term);
            let Some(list) = self.postings.get(term) else {
                continue;
            };
            let idf = idf(n, list.len() as f32);
            for &(example, tf) in list {
                let len = self.lengths[example as usize] / self.avg_len;
                let score = &mut example_scores[example as usize];
                if *score == 0.0 {
                    touched.push(example);
                }
                *score += bm25(idf, tf, len, B_EXAMPLES);
            }
        }
        // The tools of the ten nearest examples, each counting for a tenth.
        let mut nearest: Vec<(u32, f32)> = touched
            .iter()
            .map(|&e| (e, example_scores[e as usize]))
            .collect();
        let closer = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if nearest.len() > NEIGHBOURS {
            nearest.select_nth_unstable_by(NEIGHBOURS, closer);
        }
        let mut neighbours = vec![0.0f32; tools];
        for (example, _) in nearest.iter().take(NEIGHBOURS) {
            neighbours[self.owner[*example as usize]] += 1.0 / NEIGHBOURS as f32;
        }
        for (example, score) in nearest {
            let top = &mut best[self.owner[example as usize]];
            if score > top[2] {
                top[2] = score;
                top.sort_unstable_by(|a, b| b.total_cmp(a));
            }
        }
        let max_lexical = features.iter().map(|f| f[0]).fold(0.0, f32::max);
        let max_example = best.iter().map(|t| t[0]).fold(0.0, f32::max);
        let words: Vec<u32> = words
            .iter()
            .filter_map(|w| self.vocabulary.get(w).copied())
            .collect();
        let words = words.as_slice();
        // A classifier that has seen none of the request's words says nothing: all zero.
        let none = |k: usize| vec![0.0; k];
        let action = self
            .actions
            .posterior(words)
            .unwrap_or_else(|| none(self.actions.classes()));
        let resource = self
            .resources
            .posterior(words)
            .unwrap_or_else(|| none(self.resources.classes()));
        let tool = self.tools.posterior(words).unwrap_or_else(|| none(tools));
        let logistic = if words.is_empty() {
            none(tools)
        } else {
            self.tools_logistic.posterior(words)
        };
        // ln p on a 0..1 scale: 1 for certainty, 0 at one in a million or less.
        let log_scale = |p: f32| 1.0 - p.max(1e-6).ln() / 1e-6f32.ln();
        for (i, f) in features.iter_mut().enumerate() {
            let lexical = if max_lexical > 0.0 {
                f[0] / max_lexical
            } else {
                0.0
            };
            let (example, more) = if max_example > 0.0 {
                (
                    best[i][0] / max_example,
                    (best[i][1] + best[i][2]) / max_example,
                )
            } else {
                (0.0, 0.0)
            };
            let p_tool = tool.get(i).copied().unwrap_or(0.0);
            let p_action = action.get(index.actions[i]).copied().unwrap_or(0.0);
            let p_resource = resource.get(index.resources[i]).copied().unwrap_or(0.0);
            f[0] = lexical;
            f[1] = example;
            f[2] = more;
            f[3] = p_tool;
            f[4] = log_scale(p_tool);
            f[5] = p_action;
            f[6] = log_scale(p_action);
            f[7] = p_resource;
            f[8] = log_scale(p_resource);
            f[12] = lexical * p_action;
            f[13] = lexical * p_resource;
            f[14] = example * p_action;
            f[15] = example * p_resource;
            f[16] = neighbours[i];
            let p_logistic = logistic.get(i).copied().unwrap_or(0.0);
            f[17] = p_logistic;
            f[18] = log_scale(p_logistic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, kw: &[&str], method: &str, path: &str) -> SearchDoc {
        SearchDoc {
            id: name.into(),
            name: name.into(),
            title: name.replace('_', " "),
            description: String::new(),
            keywords: kw.iter().map(|s| s.to_string()).collect(),
            toolset: name.split('_').next().unwrap_or("").into(),
            method: method.into(),
            path: path.into(),
            examples: Vec::new(),
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

    #[test]
    fn typos_meet_the_common_word() {
        let mut campaigns = doc(
            "campaigns_delete",
            &[],
            "DELETE",
            "/v1/campaigns/{campaign_id}",
        );
        // One example's own typo does not make "campain" a word.
        campaigns.examples = vec!["remove campain c_1".into(), "drop campagin c_2".into()];
        let idx = SearchIndex::build(&[campaigns, doc("files_delete", &[], "DELETE", "/v1/files")]);
        assert_eq!(
            idx.analyse("delete campain c_9").1,
            ["delete", "campaign", "c", "9"]
        );
        assert_eq!(idx.analyse("the campagin").1, ["campaign"]);
        // A word no text knows meets its neighbour whatever its count.
        assert_eq!(idx.analyse("delete campaigm").1, ["delete", "campaign"]);
    }

    #[test]
    fn example_intents_teach_the_action() {
        let mut list = doc("batch_jobs_list", &[], "GET", "/v1/batch/jobs");
        list.examples = vec!["which batch jobs are still running?".into()];
        let mut get = doc("batch_jobs_get", &[], "GET", "/v1/batch/jobs/{job_id}");
        get.examples = vec!["status of batch job b_1".into()];
        let idx = SearchIndex::build(&[get, list]);
        assert_eq!(
            idx.search("which jobs are running", 1)[0].name,
            "batch_jobs_list"
        );
        assert_eq!(idx.search("status of job b_9", 1)[0].name, "batch_jobs_get");
    }
}
