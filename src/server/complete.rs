//! Argument completion (`completion/complete`) for prompts and resource templates: real
//! model ids, file ids and library ids from the caller's own account, matched against what
//! they have typed so far.
//!
//! The candidates come from models_list, files_list and libraries_list run through
//! [`McpServer::execute`] (the caller's key and grant), and are cached per caller for a
//! minute so typing does not cost an upstream call per keystroke. Completion is a
//! convenience: when Mistral cannot be reached it offers nothing rather than failing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{CompleteRequestParams, CompleteResult, CompletionInfo, JsonObject, Reference};
use serde_json::{Value, json};

use super::{Caller, McpServer};
use crate::tool::CallContext;

/// How long candidates are reused.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// Entries at which the cache is cleared (principals come and go).
const CACHE_MAX: usize = 1_000;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Model,
    File,
    Library,
}

/// One candidate: the value to insert and a name it can also be found by.
type Candidates = Arc<Vec<(String, String)>>;

#[derive(Default)]
pub struct CompletionCache {
    entries: Mutex<HashMap<(String, Kind), (Instant, Candidates)>>,
}

impl CompletionCache {
    fn get(&self, key: &(String, Kind)) -> Option<Candidates> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, c)| c.clone())
    }

    fn put(&self, key: (String, Kind), candidates: Candidates) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_MAX {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), candidates));
    }
}

/// What kind of value an argument takes, from its name.
fn kind_of(reference: &Reference, argument: &str) -> Option<Kind> {
    match reference {
        Reference::Prompt(_) => match argument {
            "model" => Some(Kind::Model),
            "document" | "input_file" | "training_file" => Some(Kind::File),
            "library" => Some(Kind::Library),
            _ => None,
        },
        Reference::Resource(r) => match (r.uri.as_str(), argument) {
            (u, "model_id") if u.starts_with("mistral://models/") => Some(Kind::Model),
            (u, "file_id") if u.starts_with("mistral://files/") => Some(Kind::File),
            _ => None,
        },
        _ => None,
    }
}

impl Kind {
    fn tool(self) -> &'static str {
        match self {
            Kind::Model => "models_list",
            Kind::File => "files_list",
            Kind::Library => "libraries_list",
        }
    }

    fn arguments(self) -> JsonObject {
        let mut args = JsonObject::new();
        if self == Kind::File {
            args.insert("page_size".into(), json!(100));
        }
        args
    }
}

/// The values that match what was typed: ids that start with it first, then ids or names
/// that contain it, case-insensitively.
fn matching(candidates: &[(String, String)], typed: &str) -> CompletionInfo {
    let typed = typed.to_lowercase();
    let mut first = Vec::new();
    let mut then = Vec::new();
    for (value, name) in candidates {
        let v = value.to_lowercase();
        if v.starts_with(&typed) {
            first.push(value.clone());
        } else if v.contains(&typed) || name.to_lowercase().contains(&typed) {
            then.push(value.clone());
        }
    }
    first.extend(then);
    let total = first.len();
    first.truncate(CompletionInfo::MAX_VALUES);
    let shown = first.len();
    CompletionInfo::with_pagination(first, Some(total as u32), total > shown).unwrap_or_default()
}

impl McpServer {
    pub(super) async fn complete_for(
        &self,
        request: &CompleteRequestParams,
        ctx: CallContext,
        caller: &Caller,
    ) -> CompleteResult {
        let Some(kind) = kind_of(&request.r#ref, &request.argument.name) else {
            return CompleteResult::default();
        };
        let principal = caller
            .grant
            .as_ref()
            .map_or_else(|| "local".to_string(), |g| g.principal.clone());
        let key = (principal, kind);
        let candidates = match self.shared.completions.get(&key) {
            Some(c) => c,
            None => {
                let Some(c) = self.fetch_candidates(kind, ctx, caller).await else {
                    return CompleteResult::default();
                };
                self.shared.completions.put(key, c.clone());
                c
            }
        };
        CompleteResult::new(matching(&candidates, &request.argument.value))
    }

    async fn fetch_candidates(
        &self,
        kind: Kind,
        ctx: CallContext,
        caller: &Caller,
    ) -> Option<Candidates> {
        let tool = self.exposed_tool(kind.tool())?;
        if caller.grant.as_ref().is_some_and(|g| !g.allows(tool)) {
            return None;
        }
        let result = match self.execute(tool, kind.arguments(), ctx, caller).await {
            Ok(r) if r.is_error != Some(true) => r,
            Ok(_) | Err(_) => {
                tracing::debug!(
                    tool = kind.tool(),
                    "completion: no candidates (the call failed)"
                );
                return None;
            }
        };
        let data = result
            .structured_content
            .as_ref()?
            .get("data")?
            .as_array()?;
        let candidates = data
            .iter()
            .filter_map(|item| {
                let id = item.get("id")?.as_str()?.to_string();
                let name = ["name", "filename"]
                    .iter()
                    .find_map(|k| item.get(*k).and_then(Value::as_str))
                    .unwrap_or("")
                    .to_string();
                Some((id, name))
            })
            .collect();
        Some(Arc::new(candidates))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn prefixes_rank_before_substrings_and_names() {
        let list = c(&[
            ("open-mistral-7b", ""),
            ("mistral-small-latest", ""),
            ("mistral-large-latest", ""),
            ("f-123", "mistral-notes.txt"),
        ]);
        let info = matching(&list, "MISTRAL");
        assert_eq!(
            info.values,
            [
                "mistral-small-latest",
                "mistral-large-latest",
                "open-mistral-7b",
                "f-123"
            ]
        );
        assert_eq!(info.total, Some(4));
        assert_eq!(info.has_more, Some(false));
    }

    #[test]
    fn at_most_a_hundred_values_and_says_there_are_more() {
        let list: Vec<(String, String)> =
            (0..150).map(|i| (format!("m{i}"), String::new())).collect();
        let info = matching(&list, "m");
        assert_eq!(info.values.len(), 100);
        assert_eq!(info.total, Some(150));
        assert_eq!(info.has_more, Some(true));
    }

    #[test]
    fn arguments_map_to_kinds() {
        assert_eq!(
            kind_of(&Reference::for_prompt("rag_setup"), "model"),
            Some(Kind::Model)
        );
        assert_eq!(
            kind_of(&Reference::for_prompt("rag_setup"), "library"),
            Some(Kind::Library)
        );
        assert_eq!(
            kind_of(
                &Reference::for_resource("mistral://files/{file_id}"),
                "file_id"
            ),
            Some(Kind::File)
        );
        assert_eq!(kind_of(&Reference::for_prompt("x"), "focus"), None);
    }
}
