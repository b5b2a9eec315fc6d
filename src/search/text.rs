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
            let lower = word.to_lowercase();
            let w = strip_accents(&lower);
            let w = fold_foreign(&w).unwrap_or(&w);
            if !STOP_WORDS.contains(&w) {
                out.push(stem(w));
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

/// Verbs of French, German, Spanish, Italian and Portuguese that users mix into requests,
/// each with the English action it means (accents stripped, as [`tokenize`] compares them). Only actions: the objects (files, agents, jobs)
/// are matched by the catalog's own words and its example intents.
const FOREIGN_VERBS: &[(&str, &str)] = &[
    (
        "delete",
        "supprimer supprime supprimez effacer efface loschen losche loscht entfernen entferne borrar borra eliminar elimina cancella rimuovi apagar apaga remover",
    ),
    (
        "create",
        "creer cree creez erstellen erstelle anlegen crear crea creare criar cria",
    ),
    (
        "list",
        "lister liste listez auflisten welche quels quelles listar elenca mostra muestra montre",
    ),
    (
        "show",
        "afficher affiche zeige zeig anzeigen obtenir recuperer abrufen hole obtener ottieni",
    ),
    (
        "update",
        "modifier modifie andern andere aktualisieren aktualisiere actualizar actualiza aggiorna atualizar",
    ),
    (
        "cancel",
        "annuler annule abbrechen stornieren cancelar annulla",
    ),
    ("upload", "televerser hochladen subir carica carregar"),
    (
        "download",
        "telecharger herunterladen descargar scarica baixar",
    ),
    (
        "start",
        "demarrer lancer lance starten starte iniciar avvia",
    ),
    ("stop", "arreter arrete stoppen stoppe detener ferma parar"),
    (
        "transcribe",
        "transcrire transkribieren transcribir trascrivi",
    ),
    (
        "translate",
        "traduire ubersetzen ubersetze traducir tradurre",
    ),
];

/// The nouns of the API in the same languages (accents stripped, as [`tokenize`] compares
/// them), each with the catalog's English word.
const FOREIGN_NOUNS: &[(&str, &str)] = &[
    (
        "model",
        "modele modeles modell modelle modelo modelos modello modelli",
    ),
    ("file", "fichier fichiers datei dateien archivo archivos"),
    ("document", "dokument dokumente documento documentos"),
    (
        "library",
        "bibliotheque bibliotheques bibliothek bibliotheken biblioteca",
    ),
    ("key", "cle cles schlussel clave claves chiave"),
    (
        "user",
        "utilisateur utilisateurs benutzer nutzer usuario usuarios utente",
    ),
    ("job", "tache taches auftrag auftrage trabajo trabajos"),
    ("voice", "voix stimme stimmen voz voces"),
    ("limit", "limite limites grenze grenzen"),
    ("group", "groupe groupes gruppe gruppen grupo grupos gruppo"),
    ("conversation", "gesprach gesprache conversacion"),
    ("organization", "organisation organizacion organizzazione"),
];

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

/// The English word a foreign verb or noun means, if it is one of [`FOREIGN_VERBS`] or
/// [`FOREIGN_NOUNS`], or the kind of a file extension ([`FILE_KINDS`]).
fn fold_foreign(word: &str) -> Option<&'static str> {
    static FOLD: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let fold = FOLD.get_or_init(|| {
        FOREIGN_VERBS
            .iter()
            .chain(FOREIGN_NOUNS)
            .chain(FILE_KINDS)
            .flat_map(|(english, words)| words.split(' ').map(move |w| (w, *english)))
            .collect()
    });
    fold.get(word).copied()
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
/// taken out, and those spans apart: what the request asks for, and what it rules out.
pub fn split_negated(text: &str) -> (String, String) {
    let (mut kept, mut negated) = (String::new(), String::new());
    for clause in text.split_inclusive([',', '.', ';', ':', '(', ')', '!', '?']) {
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
            vec!["message", "conversation"]
        );
        assert_eq!(tokenize("running batches"), vec!["run", "batch"]);
        assert_eq!(tokenize("/v1/files/{file_id}"), vec!["file", "file"]);
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
        assert_eq!(tokenize("Lösche die Datei"), vec!["delete", "die", "file"]);
        assert_eq!(tokenize("détails du modèle"), vec!["detail", "du", "model"]);
    }

    #[test]
    fn negated_spans_are_set_apart() {
        let (kept, negated) = split_negated("get the summary of ex_9, not the raw OTel data");
        assert_eq!(tokenize(&kept), vec!["summary", "ex", "9"]);
        assert_eq!(tokenize(&negated), vec!["raw", "otel", "data"]);
        let (kept, _) = split_negated("deactivate it instead of deleting it, but keep the logs");
        assert_eq!(tokenize(&kept), vec!["deactivate", "keep", "log"]);
    }
}
