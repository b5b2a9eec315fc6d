//! Words as search compares them: lower-cased, identifiers split, stop words dropped,
//! English endings folded, and common verbs of other languages folded to the English action
//! they mean. Queries, tool texts and example intents all pass through [`tokenize`], so they
//! meet on the same terms.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Words an HTTP method stands for, so "delete …" and "list …" meet the right operations.
pub(super) fn method_words(method: &str) -> &'static str {
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
    "i", "in", "into", "is", "it", "its", "me", "of", "on", "or", "our", "please", "so", "some",
    "that", "the", "their", "them", "then", "these", "this", "those", "to", "up", "use", "using",
    "want", "what", "with", "you", "your", "id", "mistral", "s",
];

/// Lower-cased, identifier-split, stop-word-free, lightly stemmed words.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    // Whether the word being read follows a '/': "/v1/files" is a path's API version, "skill
    // sk_9 v2" a version of the skill.
    let mut in_path = false;
    let flush = |word: &mut String, in_path: bool, out: &mut Vec<String>| {
        if !word.is_empty() {
            let lower = word.to_lowercase();
            let w = strip_accents(&lower);
            let api_version =
                w.len() > 1 && w.starts_with('v') && w[1..].bytes().all(|b| b.is_ascii_digit());
            if api_version {
                if !in_path {
                    out.push("version".to_string());
                }
            } else if let Some(english) = fold_foreign(&w) {
                if english != DROPPED {
                    out.push(stem(english));
                }
            } else if !STOP_WORDS.contains(&w.as_ref()) {
                // Folding after stemming too: "organisations" meets "organisation".
                let stemmed = stem(&w);
                match fold_foreign(&stemmed) {
                    Some(DROPPED) => {}
                    Some(english) => out.push(stem(english)),
                    None => out.push(stemmed),
                }
            }
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            // camelCase boundary
            if c.is_uppercase() && prev_lower {
                flush(&mut word, in_path, &mut out);
                in_path = false;
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            word.push(c);
        } else {
            prev_lower = false;
            flush(&mut word, in_path, &mut out);
            in_path = c == '/';
        }
    }
    flush(&mut word, in_path, &mut out);
    out
}

/// Words of French, German, Spanish, Italian and Portuguese that users mix into requests
/// (verbs, the API's nouns, possessives), and English "mine" or "myself", each with the
/// English word it means: a table of data, one line per word and language.
const FOREIGN_WORDS: &str = include_str!("foreign_words.tsv");

/// What [`FOREIGN_WORDS`] folds a foreign stop word to ("le", "der", "una"): it is dropped,
/// as the English stop words are.
const DROPPED: &str = "-";

/// Lower-case letters with their accents removed: "modèle" meets "modele", "détails" meets
/// "details".
fn strip_accents(word: &str) -> std::borrow::Cow<'_, str> {
    if word.is_ascii() {
        return word.into();
    }
    word.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            other => other,
        })
        .collect::<String>()
        .into()
}

/// File extensions, as the kind of content they name: "transcribe memo.m4a" is about audio
/// whichever extension the examples happened to use.
const FILE_KINDS: &[(&str, &str)] = &[
    ("audio", "mp3 wav m4a ogg oga flac opus aac webm"),
    ("image", "png jpg jpeg gif webp tif tiff bmp"),
];

/// The English word a foreign word means ([`FOREIGN_WORDS`]), or the kind of a file
/// extension ([`FILE_KINDS`]).
fn fold_foreign(word: &str) -> Option<&'static str> {
    /// Every word of the table, and apart the German words a compound may end in.
    struct Folding {
        words: HashMap<&'static str, &'static str>,
        german: HashMap<&'static str, &'static str>,
    }
    static FOLDING: OnceLock<Folding> = OnceLock::new();
    let folding = FOLDING.get_or_init(|| {
        let table = FOREIGN_WORDS
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let mut columns = line.split('\t');
                Some((columns.next()?, columns.next()?, columns.next()?))
            });
        let file_kinds = FILE_KINDS.iter().map(|&(kind, words)| (kind, "", words));
        let mut folding = Folding {
            words: HashMap::new(),
            german: HashMap::new(),
        };
        for (english, language, words) in table.chain(file_kinds) {
            for word in words.split(' ') {
                // A word listed twice keeps its first meaning.
                folding.words.entry(word).or_insert(english);
                // "*" lines are the first, hand-made table's, German words among them.
                if matches!(language, "de" | "*") && english != DROPPED {
                    folding.german.entry(word).or_insert(english);
                }
            }
        }
        folding
    });
    let words = &folding.words;
    words
        .get(word)
        .or_else(|| without_enclitic(word).and_then(|verb| words.get(verb)))
        .copied()
        .or_else(|| compound_head(word, &folding.german))
}

/// Pronouns that Spanish, Italian and Portuguese attach to a verb: "bórralo" is "borra"
/// (delete) and "lo" (it), "mostrami" is "mostra" (show) and "mi" (me). Longest first.
const ENCLITICS: &[&str] = &[
    "glielo", "gliela", "melo", "mela", "selo", "sela", "telo", "los", "las", "les", "nos", "gli",
    "lo", "la", "le", "li", "me", "te", "se", "mi", "ti", "ci", "vi", "ne",
];

/// The verb of a verb with a pronoun attached, when at least five letters are left.
fn without_enclitic(word: &str) -> Option<&str> {
    ENCLITICS
        .iter()
        .filter_map(|pronoun| word.strip_suffix(pronoun))
        .find(|verb| verb.len() >= 5)
}

/// The meaning of a German compound's last part, which names what it is: "Benutzergruppe"
/// is a "Gruppe", "Auswertungskampagnen" are "Kampagnen". The longest German word of the
/// table the compound ends in, of five letters or more after at least five letters.
fn compound_head(word: &str, german: &HashMap<&str, &'static str>) -> Option<&'static str> {
    // Each split hashes the rest of the word: a long "word" (pasted data, a fuzzer's input)
    // would cost its length squared. German compounds of the API fit in forty letters.
    if word.len() > 40 {
        return None;
    }
    (5..word.len().saturating_sub(4))
        .find_map(|at| word.get(at..).and_then(|tail| german.get(tail).copied()))
}

/// What the naive Bayes classifiers see of a query: its words and word pairs, its first
/// three words as written (the question or command shape: "which", "how many", "delete"),
/// and whether it asks a question.
pub fn features(text: &str) -> Vec<String> {
    features_of(text, &tokenize(text))
}

/// [`features`] of a text already tokenized (and perhaps spell-corrected) into `terms`.
pub fn features_of(text: &str, terms: &[String]) -> Vec<String> {
    let mut out: Vec<String> = terms.to_vec();
    out.extend(terms.windows(2).map(|w| format!("{}_{}", w[0], w[1])));
    let lower = text.to_lowercase();
    let raw = lower
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty());
    for (i, w) in raw.take(3).enumerate() {
        if i == 0 {
            out.push(format!("FIRST_{w}"));
        }
        out.push(format!("RAW_{w}"));
    }
    if text.contains('?') {
        out.push("QMARK".into());
    }
    out.sort_unstable();
    out.dedup();
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

/// Words that turn what follows, to the end of the clause, into what the request is not
/// about: "the summary, not the raw OTel data", "deactivate it instead of deleting it".
const NEGATIONS: &[&str] = &[
    "not", "no", "don't", "dont", "doesn't", "without", "instead", "except", "never", "rather",
    "nicht", "kein", "keine", "pas", "sans", "ohne", "sin",
];

/// Words after a negation that say the object is no longer wanted, rather than ruled out.
const DISUSE: &[&str] = &["need", "want", "use", "require", "longer"];

fn bare_word(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_alphanumeric() || *c == '\'')
        .collect::<String>()
        .to_lowercase()
}

/// The query's text with every negated span (from a negation word to the end of its clause)
/// taken out, and those spans apart: what the request asks for, and what it rules out. A
/// dash ends a clause as a comma does: "not just one skill — list them all".
pub fn split_negated(text: &str) -> (String, String) {
    let (mut kept, mut negated) = (String::new(), String::new());
    for clause in text.split_inclusive([',', '.', ';', ':', '(', ')', '!', '?', '—', '–']) {
        let mut negating = false;
        let mut words = clause.split_whitespace().peekable();
        while let Some(word) = words.next() {
            let bare = bare_word(word);
            if bare == "but" {
                negating = false;
                continue;
            }
            // "we don't need prompt p_1 anymore": the object is what the request is about.
            let disuse = words
                .peek()
                .is_some_and(|next| DISUSE.contains(&bare_word(next).as_str()));
            if NEGATIONS.contains(&bare.as_str()) && !disuse {
                negating = true;
                continue;
            }
            let target = if negating { &mut negated } else { &mut kept };
            target.push_str(word);
            target.push(' ');
        }
        kept.push('\n');
    }
    (kept, negated)
}

/// Where a request moves on from what it asks for to what it is for or what comes next:
/// "list my workspaces so I can pick one for the batch job", "get the skills -> find
/// legal-review", "create workspace Research and then I'll invite people".
const LATER_STEPS: &[&str] = &[
    " so i ",
    " so i'",
    " so we ",
    " so you ",
    " so that ",
    " in order to ",
    " and then ",
    ", then ",
    "; then ",
    "->",
    "→",
    "; step 2",
    ", step 2",
    " step 2:",
];

/// Words that open a leading clause setting the scene, up to its comma: "Before sending the
/// report, look up my name", "For the access review, list the workspaces".
const SCENE_SETTERS: &[&str] = &[
    "before ", "after ", "once ", "for the ", "for our ", "for my ",
];

/// The part of a request that says what it asks for: its first step, without a purpose
/// clause after it or a scene-setting clause before it. The whole request when that would
/// leave fewer than two words.
pub fn main_request(text: &str) -> &str {
    let lower = text.to_lowercase();
    // Lower-casing keeps byte offsets for the ASCII markers, but not always for other text.
    if lower.len() != text.len() {
        return text;
    }
    let scene_set = SCENE_SETTERS.iter().any(|s| lower.starts_with(s));
    let start = match lower.find(',') {
        Some(comma) if scene_set => comma + 1,
        _ => 0,
    };
    let end = LATER_STEPS
        .iter()
        .filter_map(|marker| lower[start..].find(marker).map(|at| start + at))
        .filter(|&at| at > start)
        .min()
        .unwrap_or(lower.len());
    let main = &text[start..end];
    if main.split_whitespace().count() >= 2 {
        main
    } else {
        text
    }
}

/// Whether `a` becomes `b` by one edit: a letter changed, added or dropped, or two
/// neighbours swapped ("archvie" → "archive", "campain" → "campaign").
pub fn one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 || a == b {
        return false;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        let rest = prefix + 1;
        // Changed letter, or swapped neighbours.
        short[rest..] == long[rest..]
            || (rest < short.len()
                && short[prefix] == long[rest]
                && short[rest] == long[prefix]
                && short[rest + 1..] == long[rest + 1..])
    } else {
        short[prefix..] == long[prefix + 1..]
    }
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
            vec!["message", "my", "conversation"]
        );
        assert_eq!(tokenize("running batches"), vec!["run", "batch"]);
        assert_eq!(tokenize("/v1/files/{file_id}"), vec!["file", "file"]);
        assert_eq!(
            tokenize("skill sk_9 v2"),
            vec!["skill", "sk", "9", "version"]
        );
    }

    #[test]
    fn typos_are_one_edit_apart() {
        assert!(one_edit_apart("archvie", "archive"));
        assert!(one_edit_apart("campain", "campaign"));
        assert!(one_edit_apart("delet", "delete"));
        assert!(one_edit_apart("fiels", "files"));
        assert!(!one_edit_apart("file", "file"));
        assert!(!one_edit_apart("agent", "agents_x"));
        assert!(!one_edit_apart("list", "lost_"));
    }

    #[test]
    fn other_languages_meet_the_catalog_words() {
        // Articles and prepositions are dropped as English ones are.
        assert_eq!(tokenize("Lösche die Datei"), vec!["delete", "file"]);
        assert_eq!(tokenize("détails du modèle"), vec!["detail", "model"]);
        // A pronoun attached to the verb, and a German compound's last part.
        assert_eq!(tokenize("Bórralo"), vec!["delete"]);
        assert_eq!(tokenize("mostrami i modelli"), vec!["show", "model"]);
        assert_eq!(tokenize("die Benutzergruppe"), vec!["group"]);
        // English words do not end in one by chance.
        assert_eq!(tokenize("alternative"), vec!["alternative"]);
        // A long run of letters is one word, read in linear time.
        assert_eq!(tokenize(&"gruppe".repeat(50_000)).len(), 1);
    }

    #[test]
    fn purposes_and_later_steps_are_left_out() {
        assert_eq!(
            main_request("list my workspaces so I can pick one for the batch job"),
            "list my workspaces"
        );
        assert_eq!(
            main_request("Before sending the report, look up my name"),
            " look up my name"
        );
        assert_eq!(
            main_request("plan: get skills list -> find legal-review"),
            "plan: get skills list "
        );
        assert_eq!(
            main_request("step 2: get every version"),
            "step 2: get every version"
        );
        assert_eq!(main_request("so I can"), "so I can");
    }

    #[test]
    fn foreign_words_are_written_as_search_compares_them() {
        // A word with capitals, accents or other letters would never be met: dead data.
        for line in FOREIGN_WORDS.lines().filter(|l| !l.starts_with('#')) {
            let columns: Vec<&str> = line.split('\t').collect();
            assert_eq!(columns.len(), 3, "{line}");
            for word in columns[2].split(' ') {
                assert!(word.bytes().all(|b| b.is_ascii_lowercase()), "{word}");
            }
        }
    }

    #[test]
    fn negated_spans_are_set_apart() {
        let (kept, negated) = split_negated("get the summary of ex_9, not the raw OTel data");
        assert_eq!(tokenize(&kept), vec!["summary", "ex", "9"]);
        assert_eq!(tokenize(&negated), vec!["raw", "otel", "data"]);
        let (kept, _) = split_negated("deactivate it instead of deleting it, but keep the logs");
        assert_eq!(tokenize(&kept), vec!["deactivate", "keep", "log"]);
        let (kept, _) = split_negated("not just one skill — list every skill");
        assert_eq!(tokenize(&kept), vec!["list", "every", "skill"]);
    }
}
