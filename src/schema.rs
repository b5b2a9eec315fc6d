//! Tool input schemas that every major MCP client accepts.
//!
//! schemars derives the schema from the typed request struct, so the schema and the parser
//! cannot disagree. What it emits by default trips real clients (see `notes/rmcp-3.11.md`
//! §7.1): `$defs`/`$ref` (Cursor, Copilot CLI), a 2020-12 `$schema` URI (Gemini CLI),
//! `type: ["T","null"]` (Gemini), `format: uint32` (Ajv warnings). [`input_schema`] produces
//! a draft-07 object schema with subschemas inlined and those constructs rewritten.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

pub mod compat;

/// Integer and float formats that carry no meaning for an agent and upset validators.
const NUMERIC_FORMATS: &[&str] = &[
    "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float",
    "double", "uint128", "int128",
];

/// The input schema of a request type, ready for `tools/list`.
pub fn input_schema<T: JsonSchema>() -> JsonObject {
    let mut settings = SchemaSettings::draft07();
    settings.inline_subschemas = true;
    settings.meta_schema = None;
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut value = schema.to_value();
    simplify(&mut value);
    into_object_root(value)
}

fn into_object_root(value: Value) -> JsonObject {
    let mut obj = match value {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    // The tool's description says this better, and repeating it costs context tokens.
    obj.remove("title");
    obj.remove("description");
    obj.remove("definitions");
    obj.remove("$defs");
    obj.insert("type".into(), Value::String("object".into()));
    obj.entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    obj
}

/// Rewrites one schema node and its children in place.
pub fn simplify(value: &mut Value) {
    let Value::Object(obj) = value else {
        if let Value::Array(items) = value {
            items.iter_mut().for_each(simplify);
        }
        return;
    };
    for child in obj.values_mut() {
        simplify(child);
    }
    if let Some(Value::String(f)) = obj.get("format")
        && NUMERIC_FORMATS.contains(&f.as_str())
    {
        obj.remove("format");
    }
    // Option<T> → T: absence already means "not set", and null types confuse Gemini.
    if let Some(Value::Array(types)) = obj.get("type") {
        let non_null: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        if non_null.len() == 1 {
            obj.insert(
                "type".into(),
                non_null.into_iter().next().unwrap_or(Value::Null),
            );
        } else if non_null.len() < types.len() {
            obj.insert("type".into(), Value::Array(non_null));
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(variants)) = obj.get(key) {
            let non_null: Vec<Value> = variants
                .iter()
                .filter(|v| v.get("type").and_then(Value::as_str) != Some("null"))
                .cloned()
                .collect();
            if non_null.len() == 1 && variants.len() == 2 {
                obj.remove(key);
                if let Some(Value::Object(inner)) = non_null.into_iter().next() {
                    for (k, v) in inner {
                        obj.entry(k).or_insert(v);
                    }
                }
            } else if non_null.len() < variants.len() {
                obj.insert(key.into(), Value::Array(non_null));
            }
        }
    }
    // A oneOf of documented string constants (a unit enum with doc comments) → one enum.
    if let Some(Value::Array(variants)) = obj.get("oneOf")
        && !variants.is_empty()
        && variants
            .iter()
            .all(|v| v.get("const").is_some_and(Value::is_string))
    {
        let values: Vec<Value> = variants
            .iter()
            .filter_map(|v| v.get("const").cloned())
            .collect();
        obj.remove("oneOf");
        obj.insert("type".into(), Value::String("string".into()));
        obj.insert("enum".into(), Value::Array(values));
    }
    if obj.get("default").is_some_and(Value::is_null) {
        obj.remove("default");
    }
}

/// Checks the rules the catalog promises: object root, no top-level combinators, no
/// references. Returns the first violation.
pub fn check_portable(name: &str, schema: &JsonObject) -> Result<(), String> {
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(format!("{name}: input schema root is not an object"));
    }
    for key in ["anyOf", "oneOf", "allOf", "not", "if"] {
        if schema.contains_key(key) {
            return Err(format!("{name}: input schema has a top-level {key}"));
        }
    }
    let text = Value::Object(schema.clone()).to_string();
    for marker in [
        "\"$ref\"",
        "\"$defs\"",
        "\"definitions\"",
        "\"$schema\"",
        "\"nullable\"",
    ] {
        if text.contains(marker) {
            return Err(format!("{name}: input schema contains {marker}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    enum Mode {
        /// Fast.
        Fast,
        /// Careful.
        Careful,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        a: u32,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Req {
        /// The count.
        count: Option<u32>,
        mode: Option<Mode>,
        inner: Vec<Inner>,
        temperature: Option<f32>,
    }

    #[test]
    fn schema_is_portable() {
        let s = input_schema::<Req>();
        check_portable("req", &s).unwrap();
        let props = s["properties"].as_object().unwrap();
        assert_eq!(props["count"]["type"], "integer");
        assert!(props["count"].get("format").is_none());
        assert_eq!(props["count"]["description"], "The count.");
        assert_eq!(
            props["mode"]["enum"],
            serde_json::json!(["Fast", "Careful"])
        );
        assert_eq!(
            props["inner"]["items"]["properties"]["a"]["type"],
            "integer"
        );
        assert_eq!(props["temperature"]["type"], "number");
    }
}
