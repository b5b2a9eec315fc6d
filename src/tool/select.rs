//! The `select` argument of read tools: JSON paths (`data[].id`, `data[].capabilities.vision`)
//! naming the parts of a result to keep, in both its text and `structuredContent`.
//!
//! It is named `select`, not `fields`, because some Mistral operations already take a
//! `fields` query parameter (`prompts_get`, `skills_list`). A path is dot-separated names;
//! `name[]` steps into every item of an array. Kept items stay in their order and at their
//! index, so `data[].id` and `data[].name` line up. A path that matches nothing is an error
//! listing the paths the result does have, so a typo is never an empty answer.

use serde_json::{Map, Value};

use crate::error::ToolError;

/// The argument's name in every read tool's input schema.
pub const SELECT_ARG: &str = "select";

/// How deep the list of a result's paths (for an error) goes, and how many it names.
const MAX_LISTED_DEPTH: usize = 4;
const MAX_LISTED_PATHS: usize = 80;
/// Array items looked at when listing paths: the shape of a list is in its first items.
const MAX_LISTED_ITEMS: usize = 50;

/// The JSON schema of the argument, added to every read tool that returns JSON.
pub fn schema() -> Value {
    serde_json::json!({
        "type": "array",
        "items": { "type": "string" },
        // Short: it is repeated in every read tool of `tools/list`.
        "description": "Keep only these result paths, e.g. data[].id, data[].capabilities.vision"
    })
}

/// The `select` argument taken out of `args`: `None` when absent, an error when it is not a
/// non-empty list of well-formed paths.
pub fn take(args: &mut rmcp::model::JsonObject) -> Result<Option<Vec<String>>, ToolError> {
    let Some(raw) = args.remove(SELECT_ARG) else {
        return Ok(None);
    };
    let bad = || {
        ToolError::InvalidArguments(format!(
            "`{SELECT_ARG}` must be a list of paths such as [\"data[].id\", \"data[].name\"]"
        ))
    };
    let Value::Array(items) = raw else {
        return Err(bad());
    };
    let mut paths = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(path) = item else {
            return Err(bad());
        };
        parse(&path)?;
        paths.push(path);
    }
    if paths.is_empty() {
        return Err(bad());
    }
    Ok(Some(paths))
}

/// One step of a path: a field name, and whether it steps into each item of an array.
struct Step<'a> {
    name: &'a str,
    each: bool,
}

fn parse(path: &str) -> Result<Vec<Step<'_>>, ToolError> {
    let steps: Vec<Step<'_>> = path
        .split('.')
        .map(|s| match s.strip_suffix("[]") {
            Some(name) => Step { name, each: true },
            None => Step {
                name: s,
                each: false,
            },
        })
        .collect();
    let malformed = steps
        .iter()
        .any(|s| s.name.is_empty() || s.name.contains(['[', ']', ' ']));
    if path.is_empty() || malformed {
        return Err(ToolError::InvalidArguments(format!(
            "`{SELECT_ARG}` path `{}` is malformed: write names separated by dots, with [] after an \
             array's name to step into its items (`data[].capabilities.vision`)",
            crate::error::clip(path, 128)
        )));
    }
    Ok(steps)
}

/// `value` narrowed to `paths`. An error names the first path that matches nothing and lists
/// the paths `value` has.
pub fn apply(value: &Value, paths: &[String]) -> Result<Value, ToolError> {
    let mut out = Value::Object(Map::new());
    for path in paths {
        let steps = parse(path)?;
        let mut found = false;
        let Some(part) = extract(value, &steps, &mut found).filter(|_| found) else {
            let known = known_paths(value);
            return Err(ToolError::InvalidArguments(format!(
                "`{SELECT_ARG}` path `{}` matches nothing in this result. Its paths: {}. Call again \
                 with paths from this list",
                crate::error::clip(path, 128),
                known.join(", ")
            )));
        };
        merge(&mut out, part);
    }
    Ok(out)
}

/// The part of `value` that `steps` reaches, shaped like `value`; `found` is set when some
/// value was reached (an empty array reached by `[]` counts: the path is right, the page
/// empty).
fn extract(value: &Value, steps: &[Step<'_>], found: &mut bool) -> Option<Value> {
    let Some((step, rest)) = steps.split_first() else {
        *found = true;
        return Some(value.clone());
    };
    let child = value.as_object()?.get(step.name)?;
    let kept = if step.each {
        let items = child.as_array()?;
        if items.is_empty() {
            *found = true;
        }
        // An item without the field stays as `{}`, so indexes line up across paths.
        Value::Array(
            items
                .iter()
                .map(|item| extract(item, rest, found).unwrap_or_else(|| Value::Object(Map::new())))
                .collect(),
        )
    } else {
        extract(child, rest, found)?
    };
    let mut obj = Map::new();
    obj.insert(step.name.to_string(), kept);
    Some(Value::Object(obj))
}

/// Deep merge of two extracts of the same value: objects by key, arrays by index.
fn merge(into: &mut Value, part: Value) {
    match (into, part) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, v) in b.into_iter().enumerate() {
                match a.get_mut(i) {
                    Some(existing) => merge(existing, v),
                    None => a.push(v),
                }
            }
        }
        (slot, part) => *slot = part,
    }
}

/// The paths `value` has, in first-seen order: what a `select` error offers instead.
pub fn known_paths(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(value, "", 0, &mut out);
    if out.len() > MAX_LISTED_PATHS {
        let more = out.len() - MAX_LISTED_PATHS;
        out.truncate(MAX_LISTED_PATHS);
        out.push(format!("… {more} more"));
    }
    out
}

fn walk(value: &Value, prefix: &str, depth: usize, out: &mut Vec<String>) {
    if depth >= MAX_LISTED_DEPTH {
        return;
    }
    match value {
        Value::Object(obj) => {
            for (k, v) in obj {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    Value::Array(items) => {
                        let each = format!("{path}[]");
                        push_new(out, &each);
                        for item in items.iter().take(MAX_LISTED_ITEMS) {
                            walk(item, &each, depth + 1, out);
                        }
                    }
                    _ => {
                        push_new(out, &path);
                        walk(v, &path, depth + 1, out);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter().take(MAX_LISTED_ITEMS) {
                walk(item, prefix, depth + 1, out);
            }
        }
        _ => {}
    }
}

fn push_new(out: &mut Vec<String>, path: &str) {
    if !out.iter().any(|p| p == path) {
        out.push(path.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn models() -> Value {
        json!({"object": "list", "data": [
            {"id": "a", "name": "A", "capabilities": {"vision": true, "ocr": false}},
            {"id": "b", "capabilities": {"vision": false}},
        ]})
    }

    #[test]
    fn paths_keep_exactly_what_they_name_with_items_aligned() {
        let paths = vec!["data[].id".to_string(), "data[].name".to_string()];
        let kept = apply(&models(), &paths).unwrap();
        assert_eq!(
            kept,
            json!({"data": [{"id": "a", "name": "A"}, {"id": "b"}]})
        );
        let deep = apply(&models(), &["data[].capabilities.vision".to_string()]).unwrap();
        assert_eq!(
            deep,
            json!({"data": [{"capabilities": {"vision": true}}, {"capabilities": {"vision": false}}]})
        );
    }

    #[test]
    fn a_path_matching_nothing_names_itself_and_what_exists() {
        let err = apply(&models(), &["data[].capabilities.vison".to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`data[].capabilities.vison` matches nothing"),
            "{err}"
        );
        assert!(err.contains("data[].capabilities.vision"), "{err}");
        assert!(apply(&models(), &["data.id".to_string()]).is_err());
        assert!(parse("data..id").is_err());
        assert!(parse("data[0].id").is_err());
    }

    #[test]
    fn an_empty_page_is_not_a_bad_path() {
        let empty = json!({"data": []});
        assert_eq!(
            apply(&empty, &["data[].id".to_string()]).unwrap(),
            json!({"data": []})
        );
    }
}
