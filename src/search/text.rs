//! Words as search compares them: lower-cased, identifiers split, stop words dropped,
//! English endings folded, and common verbs of other languages folded to the English action
//! they mean. Queries, tool texts and example intents all pass through [`tokenize`], so they
//! meet on the same terms.

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
            let w = word.to_lowercase();
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
/// each with the English action it means. Only actions: the objects (files, agents, jobs)
/// are matched by the catalog's own words and its example intents.
const FOREIGN_VERBS: &[(&str, &str)] = &[
    (
        "delete",
        "supprimer supprime supprimez effacer efface löschen lösche löscht entfernen entferne borrar borra eliminar elimina cancella rimuovi apagar apaga remover",
    ),
    (
        "create",
        "créer crée créez creer cree erstellen erstelle anlegen crear crea creare criar cria",
    ),
    (
        "list",
        "lister listez auflisten welche quels quelles listar elenca mostra muestra",
    ),
    (
        "show",
        "afficher affiche zeige zeig anzeigen obtenir récupérer recuperer abrufen hole obtener ottieni",
    ),
    (
        "update",
        "modifier modifie ändern ändere aktualisieren aktualisiere actualizar actualiza aggiorna atualizar",
    ),
    (
        "cancel",
        "annuler annule abbrechen stornieren cancelar annulla",
    ),
    (
        "upload",
        "téléverser televerser hochladen subir carica carregar",
    ),
    (
        "download",
        "télécharger telecharger herunterladen descargar scarica baixar",
    ),
    (
        "start",
        "démarrer demarrer lancer lance starten starte iniciar avvia",
    ),
    (
        "stop",
        "arrêter arreter arrête stoppen stoppe detener ferma parar",
    ),
    (
        "transcribe",
        "transcrire transkribieren transcribir trascrivi",
    ),
    (
        "translate",
        "traduire übersetzen übersetze traducir tradurre",
    ),
];

/// The English action a foreign verb means, if it is one of [`FOREIGN_VERBS`].
fn fold_foreign(word: &str) -> Option<&'static str> {
    if word.is_ascii() && word.len() < 4 {
        return None;
    }
    FOREIGN_VERBS
        .iter()
        .find(|(_, verbs)| verbs.split(' ').any(|v| v == word))
        .map(|(action, _)| *action)
}

/// What the naive Bayes classifiers see of a query: its words and word pairs, its first
/// three words as written (the question or command shape: "which", "how many", "delete"),
/// and whether it asks a question.
pub fn features(text: &str) -> Vec<String> {
    let terms = tokenize(text);
    let mut out: Vec<String> = terms.clone();
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
}
