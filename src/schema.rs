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
pub mod locate;

/// Integer and float formats that carry no meaning for an agent and upset validators.
const NUMERIC_FORMATS: &[&str] = &[
    "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float",
    "double", "uint128", "int128",
];

/// How many times one `$ref` may be expanded inside itself (recursive types) before the
/// innermost copy becomes a free-form object.
const MAX_REF_DEPTH: usize = 2;

/// Longest description a node keeps: Copilot cuts longer ones for gpt-4 family models
/// (see [`compat::vscode`]); cutting here keeps the cut at a word and marked.
const MAX_DESCRIPTION_CHARS: usize = 1024;

/// The input schema of a request type, ready for `tools/list`.
pub fn input_schema<T: JsonSchema>() -> JsonObject {
    let mut generator = generator();
    // The derived impl itself, not `root_schema_for`: that one is generic over `T` in full
    // and would be compiled again for each of ~290 requests.
    let schema = T::json_schema(&mut generator);
    root_schema(generator, schema)
}

fn generator() -> schemars::SchemaGenerator {
    let mut settings = SchemaSettings::draft07();
    settings.inline_subschemas = true;
    settings.meta_schema = None;
    settings.into_generator()
}

/// A request's schema as a root: the definitions its recursive parts refer to attached,
/// then made portable.
fn root_schema(mut generator: schemars::SchemaGenerator, schema: schemars::Schema) -> JsonObject {
    let mut value = schema.to_value();
    let definitions = generator.take_definitions(true);
    if let (Value::Object(root), false) = (&mut value, definitions.is_empty()) {
        root.insert("definitions".into(), Value::Object(definitions));
    }
    portable_schema(value)
}

/// Any JSON Schema (schemars output, or a schema written or generated as JSON) rewritten
/// into the subset every client accepts: references inlined, then [`simplify`], then an
/// object root.
pub fn portable_schema(mut value: Value) -> JsonObject {
    inline_refs(&mut value);
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

/// Replaces every `$ref` to `#`, `#/definitions/X` or `#/$defs/X` by a copy of its target
/// (sibling keywords kept). schemars inlines everything but recursive types; those are
/// expanded [`MAX_REF_DEPTH`] times, then cut to a free-form object.
fn inline_refs(root: &mut Value) {
    let mut defs = Map::new();
    for key in ["definitions", "$defs"] {
        if let Some(Value::Object(d)) = root.get(key) {
            for (name, schema) in d {
                defs.insert(format!("#/{key}/{name}"), schema.clone());
            }
        }
    }
    let mut whole = root.clone();
    if let Value::Object(o) = &mut whole {
        o.remove("definitions");
        o.remove("$defs");
    }
    defs.insert("#".into(), whole);
    expand_refs(root, &defs, &mut Vec::new());
}

fn expand_refs(node: &mut Value, defs: &Map<String, Value>, stack: &mut Vec<String>) {
    match node {
        Value::Array(items) => {
            for item in items {
                expand_refs(item, defs, stack);
            }
        }
        Value::Object(obj) => {
            if let Some(Value::String(target)) = obj.remove("$ref") {
                let depth = stack.iter().filter(|t| **t == target).count();
                let replacement = match defs.get(&target) {
                    Some(Value::Object(def)) if depth < MAX_REF_DEPTH => {
                        let mut def = def.clone();
                        def.remove("definitions");
                        def.remove("$defs");
                        Some(def)
                    }
                    // Too deep, or unresolvable: an object the agent fills in freely.
                    _ => None,
                };
                let pushed = replacement.is_some();
                match replacement {
                    Some(def) => {
                        for (k, v) in def {
                            obj.entry(k).or_insert(v);
                        }
                    }
                    None => {
                        obj.entry("type").or_insert_with(|| "object".into());
                    }
                }
                if pushed {
                    stack.push(target);
                }
                for (key, child) in obj.iter_mut() {
                    if key != "definitions" && key != "$defs" {
                        expand_refs(child, defs, stack);
                    }
                }
                if pushed {
                    stack.pop();
                }
                return;
            }
            for (key, child) in obj.iter_mut() {
                if key != "definitions" && key != "$defs" {
                    expand_refs(child, defs, stack);
                }
            }
        }
        _ => {}
    }
}

/// The JSON type name of a value.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Keywords that belong to one JSON type, moved onto that type's branch when a
/// `type: [..]` list becomes an `anyOf`.
fn keywords_of(t: &str) -> &'static [&'static str] {
    match t {
        "string" => &["minLength", "maxLength", "pattern", "format"],
        "integer" | "number" => &["minimum", "maximum", "format"],
        "array" => &["items", "minItems", "maxItems"],
        "object" => &[
            "properties",
            "required",
            "minProperties",
            "maxProperties",
            "additionalProperties",
        ],
        _ => &[],
    }
}

fn append_description(obj: &mut Map<String, Value>, text: &str) {
    let joined = match obj.get("description").and_then(Value::as_str) {
        Some(d) if !d.is_empty() => format!("{d} {text}"),
        _ => text.to_string(),
    };
    obj.insert("description".into(), Value::String(joined));
}

fn is_object_schema(v: &Value) -> bool {
    let Value::Object(o) = v else { return false };
    match o.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(_) => false,
        None => {
            !o.contains_key("anyOf") && (o.contains_key("properties") || o.contains_key("required"))
        }
    }
}

fn is_string_enum(v: &Value) -> bool {
    let Value::Object(o) = v else { return false };
    o.get("enum")
        .and_then(Value::as_array)
        .is_some_and(|e| !e.is_empty() && e.iter().all(Value::is_string))
        && !o.contains_key("properties")
        && o.get("type").is_none_or(|t| t == "string")
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Merges object schemas into one: properties united (same-named enums united), `required`
/// the intersection (a field is only required when every variant requires it). A property
/// holding a one-value enum in every variant is the discriminator: its description says
/// what each value means and which fields go with it.
fn flatten_objects(variants: &[Value]) -> Map<String, Value> {
    let mut props: Map<String, Value> = Map::new();
    let mut required: Option<Vec<String>> = None;
    let mut notes = Vec::new();
    for variant in variants {
        let Value::Object(o) = variant else { continue };
        if let Some(Value::Object(p)) = o.get("properties") {
            for (k, schema) in p {
                match (props.get_mut(k), schema) {
                    (None, _) => {
                        props.insert(k.clone(), schema.clone());
                    }
                    (Some(Value::Object(have)), Value::Object(new)) => {
                        if let (Some(Value::Array(a)), Some(Value::Array(b))) =
                            (have.get("enum").cloned(), new.get("enum"))
                        {
                            let mut all = a;
                            for x in b {
                                if !all.contains(x) {
                                    all.push(x.clone());
                                }
                            }
                            have.insert("enum".into(), Value::Array(all));
                        }
                    }
                    _ => {}
                }
            }
        }
        let req = string_list(o.get("required"));
        required = Some(match required {
            None => req,
            Some(have) => have.into_iter().filter(|r| req.contains(r)).collect(),
        });
        if let Some(d) = o.get("description").and_then(Value::as_str) {
            notes.push(d.to_string());
        }
    }
    let discriminator = props.keys().find(|k| {
        variants.iter().all(|v| {
            v.pointer(&format!("/properties/{k}/enum"))
                .and_then(Value::as_array)
                .is_some_and(|e| e.len() == 1)
        })
    });
    if let Some(key) = discriminator.cloned() {
        let mut with = Vec::new();
        for variant in variants {
            let value = variant
                .pointer(&format!("/properties/{key}/enum/0"))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), String::from))
                .unwrap_or_default();
            let fields: Vec<String> = string_list(variant.get("required"))
                .into_iter()
                .filter(|f| *f != key)
                .map(|f| format!("`{f}`"))
                .collect();
            let what = variant
                .get("description")
                .and_then(Value::as_str)
                .map(|d| format!(": {}", d.trim_end_matches('.')))
                .unwrap_or_default();
            let needs = if fields.is_empty() {
                String::new()
            } else {
                format!(" (needs {})", fields.join(", "))
            };
            if !what.is_empty() || !needs.is_empty() {
                with.push(format!("`{value}`{what}{needs}"));
            }
        }
        notes.clear();
        if !with.is_empty()
            && let Some(Value::Object(p)) = props.get_mut(&key)
        {
            append_description(p, &format!("{}.", with.join("; ")));
        }
    }
    let mut out = Map::new();
    out.insert("type".into(), "object".into());
    out.insert("properties".into(), Value::Object(props));
    let required = required.unwrap_or_default();
    if !required.is_empty() {
        out.insert(
            "required".into(),
            Value::Array(required.into_iter().map(Value::String).collect()),
        );
    }
    if !notes.is_empty() && notes.len() == variants.len() {
        out.insert(
            "description".into(),
            Value::String(format!("One of: {}", notes.join(" / "))),
        );
    }
    out
}

/// Rewrites one schema node and its children in place, into the subset every client of
/// [`compat`] accepts: Gemini's `Schema` fields only, one `type` per node, every array with
/// `items`, no `const` / `oneOf` / `allOf` / `$ref`, no `null` types. Idempotent.
pub fn simplify(value: &mut Value) {
    // `true` / `{}` (serde_json::Value): any JSON. Gemini needs a type; an object is what
    // free-form values in this API almost always are, and the parser still takes anything.
    if value.as_bool() == Some(true) {
        *value = Value::Object(Map::new());
    }
    let Value::Object(obj) = value else {
        if let Value::Array(items) = value {
            items.iter_mut().for_each(simplify);
        }
        return;
    };
    // Children first. Property maps are maps of schemas, never keywords.
    for (key, child) in obj.iter_mut() {
        match key.as_str() {
            "properties" | "patternProperties" | "$defs" | "definitions" => {
                if let Value::Object(map) = child {
                    map.values_mut().for_each(simplify);
                }
            }
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Value::Array(list) = child {
                    list.iter_mut().for_each(simplify);
                }
            }
            "items" => simplify(child),
            "additionalProperties" if child.is_object() => simplify(child),
            _ => {}
        }
    }
    // A tuple (`items: [..]` or `prefixItems`) → an array of any of its members.
    let tuple = match obj.remove("prefixItems") {
        Some(Value::Array(t)) => Some(t),
        _ => match obj.get("items") {
            Some(Value::Array(t)) => Some(t.clone()),
            _ => None,
        },
    };
    if let Some(members) = tuple {
        let mut items = serde_json::json!({ "anyOf": members });
        simplify(&mut items);
        obj.insert("items".into(), items);
    }
    obj.remove("nullable");
    if let Some(Value::String(f)) = obj.get("format")
        && NUMERIC_FORMATS.contains(&f.as_str())
    {
        obj.remove("format");
    }
    // const: X → enum: [X] (Gemini has no const).
    if let Some(c) = obj.remove("const") {
        obj.entry("type")
            .or_insert_with(|| Value::String(json_type(&c).into()));
        obj.insert("enum".into(), Value::Array(vec![c]));
    }
    // Option<T> → T: absence already means "not set", and null types confuse Gemini.
    if let Some(Value::Array(types)) = obj.get("type").cloned() {
        let non_null: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        match non_null.len() {
            0 => {
                obj.insert("type".into(), "null".into());
            }
            1 => {
                obj.insert("type".into(), non_null[0].clone());
            }
            // Several types → an anyOf with one branch per type, each keeping its keywords.
            _ if !obj.contains_key("anyOf") => {
                obj.remove("type");
                let mut branches = Vec::new();
                for t in non_null.iter().filter_map(Value::as_str) {
                    let mut b = Map::new();
                    b.insert("type".into(), t.into());
                    for k in keywords_of(t) {
                        if let Some(v) = obj.get(*k) {
                            b.insert((*k).into(), v.clone());
                        }
                    }
                    if let Some(Value::Array(e)) = obj.get("enum") {
                        let mine: Vec<Value> =
                            e.iter().filter(|v| json_type(v) == t).cloned().collect();
                        if !mine.is_empty() {
                            b.insert("enum".into(), Value::Array(mine));
                        }
                    }
                    let mut b = Value::Object(b);
                    simplify(&mut b);
                    branches.push(b);
                }
                for t in non_null.iter().filter_map(Value::as_str) {
                    for k in keywords_of(t) {
                        obj.remove(*k);
                    }
                }
                obj.remove("enum");
                obj.insert("anyOf".into(), Value::Array(branches));
            }
            _ => {
                obj.insert("type".into(), non_null[0].clone());
            }
        }
    }
    // Enums: no null member; Gemini takes strings only, other values go to the description.
    if let Some(Value::Array(values)) = obj.get("enum").cloned() {
        let values: Vec<Value> = values.into_iter().filter(|v| !v.is_null()).collect();
        if values.is_empty() {
            obj.remove("enum");
        } else if values.iter().all(Value::is_string) {
            obj.entry("type").or_insert_with(|| "string".into());
            obj.insert("enum".into(), Value::Array(values));
        } else {
            obj.remove("enum");
            let first = json_type(&values[0]);
            if values.iter().all(|v| json_type(v) == first) {
                obj.entry("type").or_insert_with(|| first.into());
            }
            let listed: Vec<String> = values.iter().map(Value::to_string).collect();
            append_description(obj, &format!("One of: {}.", listed.join(", ")));
        }
    }
    // allOf: every part holds, so the parts merge (properties and required united).
    if let Some(Value::Array(parts)) = obj.remove("allOf") {
        for part in parts {
            let Value::Object(part) = part else { continue };
            for (k, v) in part {
                match (k.as_str(), obj.get_mut(&k), v) {
                    ("properties", Some(Value::Object(have)), Value::Object(more)) => {
                        for (p, s) in more {
                            have.entry(p).or_insert(s);
                        }
                    }
                    ("required", Some(Value::Array(have)), Value::Array(more)) => {
                        for r in more {
                            if !have.contains(&r) {
                                have.push(r);
                            }
                        }
                    }
                    (_, Some(_), _) => {}
                    (_, None, v) => {
                        obj.insert(k, v);
                    }
                }
            }
        }
    }
    // oneOf → anyOf: "exactly one" is the server's business; clients take anyOf.
    if let Some(variants) = obj.remove("oneOf") {
        obj.entry("anyOf").or_insert(variants);
    }
    if let Some(Value::Array(variants)) = obj.get("anyOf").cloned() {
        let mut unique: Vec<Value> = Vec::new();
        for v in variants {
            if v.get("type").and_then(Value::as_str) != Some("null") && !unique.contains(&v) {
                unique.push(v);
            }
        }
        let variants = unique;
        obj.remove("anyOf");
        if variants.len() == 1 {
            // Option<T> spelled anyOf [T, null] → T.
            if let Some(Value::Object(inner)) = variants.into_iter().next() {
                for (k, v) in inner {
                    obj.entry(k).or_insert(v);
                }
            }
        } else if !variants.is_empty() && variants.iter().all(is_string_enum) {
            // Documented string constants (a unit enum with doc comments) → one enum.
            let mut values: Vec<Value> = Vec::new();
            for v in &variants {
                for x in v
                    .get("enum")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if !values.contains(x) {
                        values.push(x.clone());
                    }
                }
            }
            obj.insert("type".into(), "string".into());
            obj.insert("enum".into(), Value::Array(values));
        } else if !variants.is_empty() && variants.iter().all(is_object_schema) {
            // A union of objects → one object: Gemini and Copilot take no top-level
            // combinator, and agents fill one flat object best.
            for (k, v) in flatten_objects(&variants) {
                match (k.as_str(), obj.get_mut(&k)) {
                    ("description", Some(_)) => {}
                    (_, _) => {
                        obj.insert(k, v);
                    }
                }
            }
        } else if !variants.is_empty() {
            obj.insert("anyOf".into(), Value::Array(variants));
        }
    }
    // Exclusive bounds become inclusive ones (exact for integers; Gemini has no exclusive).
    for (key, bound, step) in [
        ("exclusiveMinimum", "minimum", 1),
        ("exclusiveMaximum", "maximum", -1),
    ] {
        if let Some(Value::Number(n)) = obj.remove(key)
            && !obj.contains_key(bound)
        {
            let integer = obj.get("type").and_then(Value::as_str) == Some("integer");
            let v = match n.as_i64() {
                Some(i) if integer => Value::from(i + step),
                _ => Value::Number(n),
            };
            obj.insert(bound.into(), v);
        }
    }
    // A map's value type goes to the description; Gemini has no additionalProperties.
    if let Some(Value::Object(values)) = obj.remove("additionalProperties")
        && !obj.contains_key("properties")
        && let Some(t) = values.get("type").and_then(Value::as_str)
    {
        append_description(obj, &format!("Keys map to {t} values."));
    }
    // Formats Gemini refuses become a hint in the description.
    if let Some(Value::String(f)) = obj.get("format").cloned()
        && !matches!(f.as_str(), "date-time" | "enum")
    {
        obj.remove("format");
        append_description(obj, &format!("Format: {f}."));
    }
    // Every node gets one type (Gemini refuses TYPE_UNSPECIFIED).
    if !obj.contains_key("type") && !obj.contains_key("anyOf") {
        let t = if obj.contains_key("items") {
            "array"
        } else {
            "object"
        };
        obj.insert("type".into(), t.into());
    }
    // Every array says what it holds (Copilot and OpenAI refuse arrays without items).
    if obj.get("type").and_then(Value::as_str) == Some("array") && !obj.contains_key("items") {
        let mut items = Value::Object(Map::new());
        simplify(&mut items);
        obj.insert("items".into(), items);
    }
    // Properties and required only on objects (Gemini: "only allowed for OBJECT type").
    if obj.get("type").and_then(Value::as_str) != Some("object") {
        obj.remove("properties");
        obj.remove("required");
    }
    // `required` names only defined properties (Copilot drops the others anyway).
    if let Some(Value::Array(req)) = obj.get("required").cloned() {
        let props = obj.get("properties").and_then(Value::as_object);
        let kept: Vec<Value> = req
            .into_iter()
            .filter(|r| {
                r.as_str()
                    .is_some_and(|r| props.is_some_and(|p| p.contains_key(r)))
            })
            .collect();
        if kept.is_empty() {
            obj.remove("required");
        } else {
            obj.insert("required".into(), Value::Array(kept));
        }
    }
    if let Some(Value::String(d)) = obj.get("description")
        && d.chars().count() > MAX_DESCRIPTION_CHARS
    {
        let cut: String = d.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
        let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
        let cut = format!("{cut}…");
        obj.insert("description".into(), Value::String(cut));
    }
    if obj.get("default").is_some_and(Value::is_null) {
        obj.remove("default");
    }
    // Whatever else is left (writeOnly, $schema, examples, uniqueItems, not, x-…) is
    // advisory, and unknown to Gemini's Schema: it goes.
    obj.retain(|k, _| compat::GEMINI_FIELDS.contains(&k.as_str()));
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
