//! Where in a tool's arguments a rejected value sits, found by walking the arguments beside
//! the tool's input schema. Generated operations check their arguments with the typed
//! request's plain `Deserialize` (path tracking per request type cost a quarter of a
//! megabyte of binary); when that check fails, this names the field, compiled once.

use serde_json::{Map, Value};

/// The path (`messages[2].role`) of the first value in `args` the schema does not allow,
/// if the schema can tell. `null` counts as a mismatch only when `nulls_matter` (the
/// schema has no way to say a field is optional-and-nullable after simplification).
pub fn first_mismatch(
    args: &Value,
    schema: &Map<String, Value>,
    nulls_matter: bool,
) -> Option<String> {
    let mut path = String::new();
    mismatch(args, schema, nulls_matter, &mut path, 0).then_some(path)
}

/// Whether `value` breaks `schema` somewhere; `path` then leads to the innermost spot.
fn mismatch(
    value: &Value,
    schema: &Map<String, Value>,
    nulls_matter: bool,
    path: &mut String,
    depth: usize,
) -> bool {
    if depth > 64 {
        return false;
    }
    if value.is_null() && !nulls_matter {
        return false;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let objects = branches.iter().filter_map(Value::as_object);
            let mut fits = false;
            let mut deepest: Option<String> = None;
            for branch in objects {
                let mut inner = path.clone();
                if !mismatch(value, branch, nulls_matter, &mut inner, depth + 1) {
                    fits = true;
                    break;
                }
                if deepest.as_ref().is_none_or(|d| inner.len() > d.len()) {
                    deepest = Some(inner);
                }
            }
            if !fits {
                if let Some(d) = deepest {
                    *path = d;
                }
                return true;
            }
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return true;
    }
    if let Some(t) = schema.get("type")
        && !type_fits(value, t)
    {
        return true;
    }
    match value {
        Value::Object(obj) => {
            let props = schema.get("properties").and_then(Value::as_object);
            // In serde's order: the fields given, then the fields missing.
            for (k, v) in obj {
                match props.and_then(|p| p.get(k)).and_then(Value::as_object) {
                    Some(sub) => {
                        let len = path.len();
                        push_key(path, k);
                        if mismatch(v, sub, nulls_matter, path, depth + 1) {
                            return true;
                        }
                        path.truncate(len);
                    }
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        push_key(path, k);
                        return true;
                    }
                    None => {}
                }
            }
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for r in required.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(r) {
                        push_key(path, r);
                        return true;
                    }
                }
            }
            false
        }
        Value::Array(items) => {
            let Some(item_schema) = schema.get("items").and_then(Value::as_object) else {
                return false;
            };
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                if mismatch(v, item_schema, nulls_matter, path, depth + 1) {
                    return true;
                }
                path.truncate(len);
            }
            false
        }
        _ => false,
    }
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn type_fits(value: &Value, t: &Value) -> bool {
    let one = |name: &str| match name {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    };
    match t {
        Value::String(name) => one(name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(one),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Map<String, Value> {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["model", "messages"],
            "properties": {
                "model": {"type": "string"},
                "temperature": {"type": "number"},
                "messages": {"type": "array", "items": {
                    "type": "object",
                    "required": ["role"],
                    "properties": {
                        "role": {"type": "string", "enum": ["user", "assistant"]},
                        "content": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]}
                    }
                }}
            }
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    #[test]
    fn names_the_field_that_breaks_the_schema() {
        let s = schema();
        let at = |v: Value| first_mismatch(&v, &s, false);
        assert_eq!(
            at(json!({"model": 7, "messages": []})).as_deref(),
            Some("model")
        );
        assert_eq!(at(json!({"messages": []})).as_deref(), Some("model"));
        assert_eq!(
            at(json!({"model": "m", "messages": [{"role": "user"}, {"role": "robot"}]})).as_deref(),
            Some("messages[1].role")
        );
        assert_eq!(
            at(json!({"model": "m", "messages": [], "tempreature": 1})).as_deref(),
            Some("tempreature")
        );
        assert_eq!(
            at(json!({"model": "m", "messages": [{"role": "user", "content": 5}]})).as_deref(),
            Some("messages[0].content")
        );
        assert_eq!(
            at(json!({"model": "m", "messages": [], "temperature": null})),
            None
        );
        assert_eq!(at(json!({"model": "m", "messages": []})), None);
    }
}
