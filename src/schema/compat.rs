//! What each client layer accepts in a tool's input schema, checked one client at a time.
//!
//! A tool reaches a model through several hands: the MCP client (VS Code / Copilot, Gemini
//! CLI, Claude, Cursor, …) and the model provider's function-calling API behind it (Gemini,
//! OpenAI, Anthropic). Each has its own rules; a schema that breaks one of them costs the
//! user the tool, or the whole server. Every checker here takes a tool's name and input
//! schema and returns every [`Violation`] with a JSON pointer into the schema, so a test can
//! say which tool breaks which client where.
//!
//! Each rule carries its source beside it. Where a client's documentation is silent the
//! comment says so, and the rule is either left out or backed by the error the client is
//! observed to return (named by the issue that shows it).

use rmcp::model::JsonObject;
use serde_json::{Map, Value};

/// One rule a schema breaks for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the input schema (`""` is the root, `#name` the tool name).
    pub path: String,
    /// Short rule id, stable for tests (`gemini.unknown-field`, `vscode.array-items`, …).
    pub rule: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{} at {}: {}", self.rule, path, self.detail)
    }
}

/// The client layers the checkers cover, in the order reports print them.
pub const CLIENTS: &[&str] = &["gemini", "openai", "anthropic", "vscode"];

/// Runs the checker of `client` (one of [`CLIENTS`]).
pub fn check(client: &str, name: &str, schema: &JsonObject) -> Vec<Violation> {
    match client {
        "gemini" => gemini(name, schema),
        "openai" => openai(name, schema),
        "anthropic" => anthropic(name, schema),
        "vscode" => vscode(name, schema),
        _ => vec![v("", "unknown-client", format!("no checker for {client}"))],
    }
}

fn v(path: &str, rule: &'static str, detail: impl Into<String>) -> Violation {
    Violation {
        path: path.to_string(),
        rule,
        detail: detail.into(),
    }
}

// ---------------------------------------------------------------------------------------
// Walking a schema
// ---------------------------------------------------------------------------------------

/// Escapes one JSON-pointer segment.
fn seg(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Calls `f(path, node)` on every subschema of `node` (itself included), following every
/// keyword whose value is a schema, a list of schemas or a map of schemas. Property maps
/// are walked as maps, so a property called `format` is never taken for the keyword.
fn walk(node: &Value, path: &str, f: &mut dyn FnMut(&str, &Value)) {
    f(path, node);
    let Value::Object(obj) = node else { return };
    for (key, child) in obj {
        let here = format!("{path}/{}", seg(key));
        match key.as_str() {
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                if let Value::Object(map) = child {
                    for (k, s) in map {
                        walk(s, &format!("{here}/{}", seg(k)), f);
                    }
                }
            }
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Value::Array(list) = child {
                    for (i, s) in list.iter().enumerate() {
                        walk(s, &format!("{here}/{i}"), f);
                    }
                }
            }
            "items" => match child {
                Value::Array(list) => {
                    for (i, s) in list.iter().enumerate() {
                        walk(s, &format!("{here}/{i}"), f);
                    }
                }
                _ => walk(child, &here, f),
            },
            "additionalProperties"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contains"
            | "propertyNames"
            | "unevaluatedItems"
            | "unevaluatedProperties"
            | "additionalItems" => walk(child, &here, f),
            _ => {}
        }
    }
}

/// The type names a node declares (`type: "x"` or `type: [..]`).
fn types_of(obj: &Map<String, Value>) -> Vec<&str> {
    match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn name_matches(name: &str, first: impl Fn(char) -> bool, rest: impl Fn(char) -> bool) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(first) && chars.all(rest)
}

const JSON_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "null",
];

/// Structural validity against the JSON Schema meta-schema, for the keywords whose shape
/// matters to parsers: subschemas are objects or booleans, `type` names JSON types,
/// `properties` is a map, `required` and `enum` are arrays. `items_array_ok` is false for
/// draft 2020-12, where `items` holds one schema (tuples moved to `prefixItems`).
fn meta_shape(schema: &Value, rule: &'static str, items_array_ok: bool) -> Vec<Violation> {
    let mut out = Vec::new();
    walk(schema, "", &mut |path, node| {
        let obj = match node {
            Value::Object(o) => o,
            Value::Bool(_) => return,
            other => {
                out.push(v(
                    path,
                    rule,
                    format!("a schema must be an object or a boolean, not {other}"),
                ));
                return;
            }
        };
        match obj.get("type") {
            None => {}
            Some(Value::String(t)) if JSON_TYPES.contains(&t.as_str()) => {}
            Some(Value::Array(ts))
                if !ts.is_empty()
                    && ts
                        .iter()
                        .all(|t| t.as_str().is_some_and(|t| JSON_TYPES.contains(&t))) => {}
            Some(other) => out.push(v(path, rule, format!("`type` {other} is not a JSON type"))),
        }
        if let Some(p) = obj.get("properties")
            && !p.is_object()
        {
            out.push(v(path, rule, "`properties` must be an object"));
        }
        if let Some(r) = obj.get("required")
            && !r.as_array().is_some_and(|r| r.iter().all(Value::is_string))
        {
            out.push(v(path, rule, "`required` must be an array of strings"));
        }
        if let Some(e) = obj.get("enum")
            && !e.is_array()
        {
            out.push(v(path, rule, "`enum` must be an array"));
        }
        if let Some(Value::Array(_)) = obj.get("items")
            && !items_array_ok
        {
            out.push(v(
                path,
                rule,
                "`items` as an array is not draft 2020-12 (use prefixItems)",
            ));
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(list) = obj.get(key)
                && list.as_array().is_none_or(|l| l.is_empty())
            {
                out.push(v(path, rule, format!("`{key}` must be a non-empty array")));
            }
        }
    });
    out
}

fn root_is_object(schema: &JsonObject, rule: &'static str) -> Option<Violation> {
    (schema.get("type").and_then(Value::as_str) != Some("object"))
        .then(|| v("", rule, "the root must be `type: \"object\"`"))
}

/// Every node declaring type `array` without `items`.
fn arrays_without_items(schema: &Value, rule: &'static str) -> Vec<Violation> {
    let mut out = Vec::new();
    walk(schema, "", &mut |path, node| {
        if let Value::Object(obj) = node
            && types_of(obj).contains(&"array")
            && !obj.contains_key("items")
        {
            out.push(v(path, rule, "an array schema must have `items`"));
        }
    });
    out
}

// ---------------------------------------------------------------------------------------
// Gemini
// ---------------------------------------------------------------------------------------

/// The fields of Gemini's `Schema` message, "a select subset of an OpenAPI 3.0 schema
/// object" (Gemini API reference, `Schema`; listed in full by the Google Gen AI JS SDK,
/// googleapis.github.io/js-genai `interface Schema`). The API parses the declaration as a
/// protobuf message, so any other key is rejected: `Invalid JSON payload received. Unknown
/// name "const" | "additionalProperties" | "$schema" … Cannot find field` (reported in
/// zed-industries/zed#44875, nanbingxyz/5ire#42, router-for-me/CLIProxyAPI#97).
pub const GEMINI_FIELDS: &[&str] = &[
    "anyOf",
    "default",
    "description",
    "enum",
    "example",
    "format",
    "items",
    "maxItems",
    "maxLength",
    "maxProperties",
    "maximum",
    "minItems",
    "minLength",
    "minProperties",
    "minimum",
    "nullable",
    "pattern",
    "properties",
    "propertyOrdering",
    "required",
    "title",
    "type",
];

/// Gemini's `Type` enum (Vertex AI REST reference, `Schema.type` / `Type`: STRING, NUMBER,
/// INTEGER, BOOLEAN, ARRAY, OBJECT, NULL). Clients send JSON Schema's lower-case names and
/// upper-case them; both spellings are accepted here.
const GEMINI_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "null",
];

/// Gemini function declarations (`FunctionDeclaration.parameters`, the OpenAPI-3.0 subset).
/// Newer Gemini models also take full JSON Schema through `parametersJsonSchema`; this
/// checks the subset, which every Gemini model and every client path accepts.
pub fn gemini(name: &str, schema: &JsonObject) -> Vec<Violation> {
    let mut out = Vec::new();
    // Vertex AI REST reference, FunctionDeclaration.name: "Must start with a letter or an
    // underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots and dashes, with a
    // maximum length of 64." (The Gemini API reference also allows colons.)
    if name.len() > 64
        || !name_matches(
            name,
            |c| c.is_ascii_alphabetic() || c == '_',
            |c| c.is_ascii_alphanumeric() || "_.:-".contains(c),
        )
    {
        out.push(v("#name", "gemini.name", format!("`{name}`")));
    }
    // FunctionDeclaration.parameters "Reflects the Open API 3.03 Parameter Object … Example:
    // type: OBJECT properties: …" (Vertex AI REST reference, FunctionDeclaration).
    out.extend(root_is_object(schema, "gemini.root-object"));
    // Same page: "Parameter names must start with a letter or an underscore and must only
    // contain chars a-z, A-Z, 0-9, or underscores with a maximum length of 64."
    if let Some(Value::Object(props)) = schema.get("properties") {
        for key in props.keys() {
            if key.len() > 64
                || !name_matches(
                    key,
                    |c| c.is_ascii_alphabetic() || c == '_',
                    |c| c.is_ascii_alphanumeric() || c == '_',
                )
            {
                out.push(v(
                    &format!("/properties/{}", seg(key)),
                    "gemini.parameter-name",
                    format!("`{key}`"),
                ));
            }
        }
    }
    let root = Value::Object(schema.clone());
    walk(&root, "", &mut |path, node| {
        let obj = match node {
            Value::Object(o) => o,
            // Schema is a message: `true` / `false` have no representation.
            other => {
                out.push(v(
                    path,
                    "gemini.schema-object",
                    format!("a schema must be an object, not {other}"),
                ));
                return;
            }
        };
        for key in obj.keys() {
            if !GEMINI_FIELDS.contains(&key.as_str()) {
                out.push(v(
                    path,
                    "gemini.unknown-field",
                    format!("`{key}` is not a field of Gemini's Schema"),
                ));
            }
        }
        // Schema.type is one `Type` enum value, not a list (Gemini API reference, Schema).
        match obj.get("type") {
            Some(Value::String(t)) if GEMINI_TYPES.contains(&t.to_ascii_lowercase().as_str()) => {}
            Some(other) => out.push(v(
                path,
                "gemini.type",
                format!("`type` must be one type name, not {other}"),
            )),
            // A node without a type is sent as TYPE_UNSPECIFIED and refused: `Invalid value
            // at '…parameters.properties[7].value.type' (…v1beta.Type), ""` (zereight/
            // gitlab-mcp#166). The docs are silent on whether an `anyOf` node needs its own
            // type; its branches carry theirs, so such a node is accepted here.
            None if obj.contains_key("anyOf") => {}
            None => out.push(v(path, "gemini.type", "every schema needs a `type`")),
        }
        let lower: Vec<String> = types_of(obj)
            .iter()
            .map(|t| t.to_ascii_lowercase())
            .collect();
        let is = |t: &str| lower.iter().any(|l| l == t);
        // Schema.enum is `string[]` (Gemini API reference, Schema.enum; Vertex AI: "Possible
        // values of the element of primitive type with enum format").
        if let Some(values) = obj.get("enum")
            && !values
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string))
        {
            out.push(v(
                path,
                "gemini.enum",
                "`enum` must be a non-empty list of strings",
            ));
        }
        // Schema.format: NUMBER "float", "double"; INTEGER "int32", "int64" (Gemini API
        // Python reference, Schema.format_); STRING: "When using the Gemini Developer API …
        // this must be either 'enum' or 'date-time', otherwise requests will fail" (Firebase
        // AI Logic JS reference, SchemaShared.format).
        if let Some(format) = obj.get("format") {
            let ok = match format.as_str() {
                Some("enum" | "date-time") => is("string") || obj.contains_key("enum"),
                Some("float" | "double") => is("number"),
                Some("int32" | "int64") => is("integer"),
                _ => false,
            };
            if !ok {
                out.push(v(
                    path,
                    "gemini.format",
                    format!("format {format} is not one Gemini accepts for this type"),
                ));
            }
        }
        // OpenAPI 3.0.3, Schema Object: "items MUST be present if the type is array."
        if is("array") && !obj.contains_key("items") {
            out.push(v(
                path,
                "gemini.array-items",
                "an array schema must have `items`",
            ));
        }
        // Schema.items is one Schema (no tuples: OpenAPI 3.0 has none).
        if let Some(Value::Array(_)) = obj.get("items") {
            out.push(v(
                path,
                "gemini.items",
                "`items` must be one schema, not a list",
            ));
        }
        // "SCHEMA FIELDS FOR TYPE OBJECT": properties / required belong to objects
        // (Vertex AI REST reference, Schema.properties). Sent on another type, Gemini answers
        // `properties: only allowed for OBJECT type` (anomalyco/opencode#43495).
        if (obj.contains_key("properties") || obj.contains_key("required")) && !is("object") {
            out.push(v(
                path,
                "gemini.object-fields",
                "`properties` / `required` on a schema whose type is not object",
            ));
        }
    });
    out
}

// ---------------------------------------------------------------------------------------
// OpenAI
// ---------------------------------------------------------------------------------------

/// OpenAI function calling, non-strict (`tools[].function.parameters`, Chat Completions and
/// Responses). The API reference only says "The parameters the functions accepts, described
/// as a JSON Schema object"; the rules below are what it is observed to refuse with
/// `invalid_function_parameters`. Strict mode needs more: see [`openai_strict_gaps`].
pub fn openai(name: &str, schema: &JsonObject) -> Vec<Violation> {
    let mut out = Vec::new();
    // API reference, FunctionDefinition.name: "Must be a-z, A-Z, 0-9, or contain
    // underscores and dashes, with a maximum length of 64."
    if name.len() > 64
        || !name_matches(
            name,
            |c| c.is_ascii_alphanumeric() || "_-".contains(c),
            |c| c.is_ascii_alphanumeric() || "_-".contains(c),
        )
    {
        out.push(v("#name", "openai.name", format!("`{name}`")));
    }
    // "To describe a function that accepts no parameters, provide the value {"type":
    // "object", "properties": {}}" (API reference, FunctionDefinition.parameters). Refused
    // otherwise: `In context=(), object schema missing properties` (github/github-mcp-server
    // #1548).
    out.extend(root_is_object(schema, "openai.root-object"));
    if !schema.get("properties").is_some_and(Value::is_object) {
        out.push(v(
            "",
            "openai.root-properties",
            "the root object needs `properties`",
        ));
    }
    let root = Value::Object(schema.clone());
    // `Invalid schema for function 'x': [] is not of type 'object', 'boolean'`
    // (FoundationAgents/OpenManus#1162): the parameters are checked against a meta-schema.
    out.extend(meta_shape(&root, "openai.meta-schema", true));
    // `Invalid schema for function 'x': In context=('properties', 'paths'), array schema
    // missing items.` (sigoden/aichat#1049, mark3labs/mcphost#35, PrefectHQ/fastmcp#2464).
    out.extend(arrays_without_items(&root, "openai.array-items"));
    out
}

/// What OpenAI strict mode (`strict: true`, Structured Outputs) would still need. Advisory:
/// this server does not ask clients for strict mode, and the rules force every optional
/// argument to become a required nullable one. From the Structured Outputs guide,
/// "Supported schemas": every object sets `additionalProperties: false`; every property is
/// listed in `required`; the root is an object, not `anyOf`; and each schema has a `type`
/// (`schema must have a 'type' key`, apexive/odoo-llm#212).
pub fn openai_strict_gaps(schema: &JsonObject) -> Vec<Violation> {
    let mut out = Vec::new();
    if schema.contains_key("anyOf") {
        out.push(v(
            "",
            "openai-strict.root-anyof",
            "the root must not be anyOf",
        ));
    }
    walk(&Value::Object(schema.clone()), "", &mut |path, node| {
        let Value::Object(obj) = node else { return };
        if obj.get("type").is_none() && !obj.contains_key("anyOf") && !obj.contains_key("$ref") {
            out.push(v(path, "openai-strict.type", "schema has no `type`"));
        }
        if !types_of(obj).contains(&"object") {
            return;
        }
        if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
            out.push(v(
                path,
                "openai-strict.additional-properties",
                "objects need `additionalProperties: false`",
            ));
        }
        let props: Vec<&String> = obj
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().collect())
            .unwrap_or_default();
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for p in props {
            if !required.contains(&p.as_str()) {
                out.push(v(
                    path,
                    "openai-strict.required",
                    format!("`{p}` must be required (nullable when optional)"),
                ));
            }
        }
    });
    out
}

// ---------------------------------------------------------------------------------------
// Anthropic
// ---------------------------------------------------------------------------------------

/// Anthropic tool use (`tools[].input_schema`, Messages API).
pub fn anthropic(name: &str, schema: &JsonObject) -> Vec<Violation> {
    let mut out = Vec::new();
    // Claude docs, "Define tools": name "Must match the regex ^[a-zA-Z0-9_-]{1,64}$."
    if name.len() > 64
        || !name_matches(
            name,
            |c| c.is_ascii_alphanumeric() || "_-".contains(c),
            |c| c.is_ascii_alphanumeric() || "_-".contains(c),
        )
    {
        out.push(v("#name", "anthropic.name", format!("`{name}`")));
    }
    // Anthropic Python SDK, ToolParam.input_schema: "[JSON schema](https://json-schema.org/
    // draft/2020-12) for this tool's input", typed `type: Required[Literal["object"]]`.
    out.extend(root_is_object(schema, "anthropic.root-object"));
    // Draft 2020-12 throughout (same source). The docs list no keyword restrictions beyond
    // that; the full meta-schema check runs in tests/schema_compat.rs.
    out.extend(meta_shape(
        &Value::Object(schema.clone()),
        "anthropic.meta-schema",
        false,
    ));
    out
}

// ---------------------------------------------------------------------------------------
// VS Code / GitHub Copilot
// ---------------------------------------------------------------------------------------

/// VS Code's tool-id prefix `mcp_<server>_` is at most this long (microsoft/vscode,
/// src/vs/workbench/contrib/mcp/common/mcpTypes.ts, `McpToolName.MaxPrefixLen = 18`); the
/// id is cut to `McpToolName.MaxLength = 64`. Names up to 46 characters are never cut.
pub const VSCODE_UNCUT_NAME_LEN: usize = 64 - 18;

/// VS Code (MCP tools in chat) and the Copilot Chat extension, which validate every tool the
/// server lists before a model sees it.
pub fn vscode(name: &str, schema: &JsonObject) -> Vec<Violation> {
    let mut out = Vec::new();
    // microsoft/vscode mcpServer.ts, `_normalizeTool`: `toolInvalidCharRe = /[^a-z0-9_-]/gi`
    // ("Tools names may only contain [a-z0-9_-]"; others are replaced by `_`, which can
    // collide). McpToolName.MaxLength = 64 (mcpTypes.ts).
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    {
        out.push(v("#name", "vscode.name", format!("`{name}`")));
    }
    let root = Value::Object(schema.clone());
    // mcpServer.ts `_normalizeTool`: the input schema is validated against
    // https://json-schema.org/draft-07/schema and a tool with diagnostics is dropped ("Tool
    // `x` has invalid JSON parameters"). Copilot Chat compiles the same draft-07 meta-schema
    // (vscode-copilot-chat, src/extension/tools/common/toolSchemaNormalizer.ts).
    out.extend(meta_shape(&root, "vscode.draft-07", true));
    // toolSchemaNormalizer.ts: `throw new Error('tool parameters array type must have
    // items')` for any array node: the whole request fails ("Failed to validate tool …").
    out.extend(arrays_without_items(&root, "vscode.array-items"));
    // toolSchemaNormalizer.ts, fnRules: a parameters schema whose type is not object is
    // replaced by `{type: 'object', properties: {}}` (the tool loses its arguments); a
    // missing `properties` is added.
    out.extend(root_is_object(schema, "vscode.root-object"));
    // toolSchemaNormalizer.ts: `oneOf`, `anyOf`, `allOf`, `not`, `if`, `then`, `else` at the
    // top level are deleted ("validated this fails both for claude and 4o"), which changes
    // what the tool accepts.
    for key in ["oneOf", "anyOf", "allOf", "not", "if", "then", "else"] {
        if schema.contains_key(key) {
            out.push(v(
                "",
                "vscode.top-level-combinator",
                format!("top-level `{key}` is deleted by Copilot"),
            ));
        }
    }
    walk(&root, "", &mut |path, node| {
        let Value::Object(obj) = node else { return };
        // toolSchemaNormalizer.ts: `required` names missing from `properties` are removed
        // ("object has required property 'x' that is not defined").
        if let (Some(Value::Object(props)), Some(Value::Array(req))) =
            (obj.get("properties"), obj.get("required"))
        {
            for r in req.iter().filter_map(Value::as_str) {
                if !props.contains_key(r) {
                    out.push(v(
                        path,
                        "vscode.required-undefined",
                        format!("required `{r}` is not a property"),
                    ));
                }
            }
        }
        // toolSchemaNormalizer.ts: for gpt-4 family models descriptions longer than 1024
        // characters are truncated (`gpt4oMaxStringLength`).
        if let Some(Value::String(d)) = obj.get("description")
            && d.chars().count() > 1024
        {
            out.push(v(
                path,
                "vscode.description-length",
                format!(
                    "description of {} characters is cut to 1024",
                    d.chars().count()
                ),
            ));
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> JsonObject {
        v.as_object().cloned().unwrap_or_default()
    }

    fn rules(vs: &[Violation]) -> Vec<&'static str> {
        vs.iter().map(|v| v.rule).collect()
    }

    #[test]
    fn a_plain_schema_passes_everywhere() {
        let s = obj(json!({
            "type": "object",
            "properties": {
                "model": {"type": "string", "description": "Model id."},
                "n": {"type": "integer", "minimum": 1},
                "tags": {"type": "array", "items": {"type": "string"}},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "input": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
            },
            "required": ["model"]
        }));
        for client in CLIENTS {
            assert_eq!(check(client, "chat_complete", &s), vec![], "{client}");
        }
    }

    #[test]
    fn each_checker_catches_its_clients_rules() {
        let s = obj(json!({
            "type": "object",
            "properties": {
                "kind": {"const": "x"},
                "list": {"type": "array"},
                "maybe": {"type": ["string", "null"]},
                "free": true,
                "n": {"type": "integer", "enum": [1, 2]}
            },
            "required": ["ghost"],
            "additionalProperties": false,
            "oneOf": [{"required": ["kind"]}]
        }));
        let g = rules(&gemini("ok", &s));
        for r in [
            "gemini.unknown-field",
            "gemini.array-items",
            "gemini.type",
            "gemini.schema-object",
            "gemini.enum",
        ] {
            assert!(g.contains(&r), "{r} missing from {g:?}");
        }
        let g = gemini("ok", &s);
        assert!(
            g.iter()
                .any(|v| v.path == "/properties/kind" && v.detail.contains("const"))
        );
        assert_eq!(rules(&openai("ok", &s)), ["openai.array-items"]);
        assert_eq!(rules(&anthropic("ok", &s)), Vec::<&str>::new());
        let c = rules(&vscode("ok", &s));
        for r in [
            "vscode.array-items",
            "vscode.top-level-combinator",
            "vscode.required-undefined",
        ] {
            assert!(c.contains(&r), "{r} missing from {c:?}");
        }
        assert!(!openai_strict_gaps(&s).is_empty());
    }

    #[test]
    fn names_and_roots() {
        let bad_root = obj(json!({"type": "string"}));
        for client in CLIENTS {
            let vs = check(client, "has space", &bad_root);
            assert!(vs.iter().any(|v| v.path == "#name"), "{client}: {vs:?}");
            assert!(vs.iter().any(|v| v.path.is_empty()), "{client}: {vs:?}");
        }
        // Gemini names start with a letter or underscore; the others take a digit.
        let s = obj(json!({"type": "object", "properties": {}}));
        assert!(!gemini("1tool", &s).is_empty());
        assert!(openai("1tool", &s).is_empty());
        // Anthropic follows draft 2020-12: tuple `items` is not a schema there.
        let tuple = obj(json!({"type": "object", "properties": {
            "p": {"type": "array", "items": [{"type": "string"}]}}}));
        assert_eq!(rules(&anthropic("t", &tuple)), ["anthropic.meta-schema"]);
        assert!(vscode("t", &tuple).is_empty());
    }

    #[test]
    fn property_names_are_not_keywords() {
        // A property called `format` or `const` is a name, not a keyword.
        let s = obj(json!({"type": "object", "properties": {
            "format": {"type": "string"}, "const": {"type": "integer"}}}));
        for client in CLIENTS {
            assert_eq!(check(client, "t", &s), vec![], "{client}");
        }
    }
}
