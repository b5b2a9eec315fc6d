//! Every tool's input schema, proven against each client layer: Gemini function
//! declarations, OpenAI function calling, Anthropic tool use and VS Code / Copilot (rules
//! and sources in `src/schema/compat.rs`). Prints a per-client table and fails on any
//! violation. Then hard synthetic schemas, of the kinds generated request types produce,
//! go through the transform to show it brings them inside every client's rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};

use mistral_mcp::catalog::Catalog;
use mistral_mcp::config::{Config, Overrides, ToolMode};
use mistral_mcp::schema::compat::{self, CLIENTS, VSCODE_UNCUT_NAME_LEN, Violation};
use mistral_mcp::schema::{input_schema, portable_schema};
use mistral_mcp::server::McpServer;
use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// The four checkers plus the full meta-schema each client validates against: draft-07 for
/// VS Code (mcpServer.ts validates with https://json-schema.org/draft-07/schema), draft
/// 2020-12 for Anthropic (input_schema is "JSON schema (draft 2020-12)").
fn violations(client: &str, name: &str, schema: &JsonObject) -> Vec<Violation> {
    let mut out = compat::check(client, name, schema);
    let value = Value::Object(schema.clone());
    let meta = match client {
        "vscode" => Some(jsonschema::draft7::meta::validate(&value)),
        "anthropic" => Some(jsonschema::draft202012::meta::validate(&value)),
        _ => None,
    };
    if let Some(Err(e)) = meta {
        out.push(Violation {
            path: e.instance_path.to_string(),
            rule: "meta-schema",
            detail: e.to_string(),
        });
    }
    out
}

/// Every tool of the catalog (enabled or not) and the discovery tools of dynamic mode.
fn all_tools() -> Vec<(String, JsonObject)> {
    let catalog = Catalog::load(None).unwrap();
    let mut tools: Vec<(String, JsonObject)> = catalog
        .tools
        .iter()
        .map(|t| (t.name.clone(), (*t.input_schema()).clone()))
        .collect();
    let o = Overrides {
        mode: Some(ToolMode::Dynamic),
        ..Default::default()
    };
    let config = Config::load_with(&o, &|_| None).unwrap();
    let server = McpServer::new(&config, catalog).unwrap();
    for t in server.listed_tools() {
        if !tools.iter().any(|(n, _)| n == t.name.as_ref()) {
            tools.push((t.name.to_string(), (*t.input_schema).clone()));
        }
    }
    tools
}

#[test]
fn every_tool_schema_passes_every_client() {
    let tools = all_tools();
    assert!(tools.len() > 20, "{} tools", tools.len());
    let mut failures: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut table = String::from("client     pass  fail\n");
    for client in CLIENTS {
        let mut pass = 0;
        for (name, schema) in &tools {
            let vs = violations(client, name, schema);
            if vs.is_empty() {
                pass += 1;
            } else {
                failures
                    .entry(client)
                    .or_default()
                    .extend(vs.iter().map(|v| format!("{name}: {v}")));
            }
        }
        let fail = tools.len() - pass;
        table.push_str(&format!("{client:<10} {pass:>4}  {fail:>4}\n"));
    }
    // Advisory: OpenAI strict mode is not asked for; count who would already qualify.
    let strict = tools
        .iter()
        .filter(|(_, s)| compat::openai_strict_gaps(s).is_empty())
        .count();
    table.push_str(&format!(
        "(openai strict, advisory: {strict} of {} would qualify)\n",
        tools.len()
    ));
    println!("{} tools\n{table}", tools.len());

    // VS Code cuts `mcp_<server>_<tool>` to 64 characters, the prefix up to 18: longer
    // names must still differ within their first 46 characters.
    let mut cut: HashMap<String, &str> = HashMap::new();
    for (name, _) in &tools {
        let key: String = name.chars().take(VSCODE_UNCUT_NAME_LEN).collect();
        if let Some(other) = cut.insert(key, name) {
            failures.entry("vscode").or_default().push(format!(
                "{name} and {other} collide once VS Code cuts tool ids"
            ));
        }
    }
    let report: Vec<String> = failures
        .iter()
        .flat_map(|(c, v)| v.iter().map(move |l| format!("[{c}] {l}")))
        .collect();
    assert!(report.is_empty(), "{table}\n{}", report.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Synthetic schemas through the transform
// ---------------------------------------------------------------------------------------

fn assert_portable(label: &str, schema: &JsonObject) {
    for client in CLIENTS {
        let vs = violations(client, label, schema);
        assert!(
            vs.is_empty(),
            "{label} fails {client}:\n{}\n{}",
            vs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
            serde_json::to_string_pretty(schema).unwrap()
        );
    }
}

/// The transform only loosens: what the original schema accepted, the new one accepts.
fn assert_still_accepts(label: &str, original: &Value, portable: &JsonObject, samples: &[Value]) {
    let before = jsonschema::draft202012::new(original).unwrap();
    let after = jsonschema::draft7::new(&Value::Object(portable.clone())).unwrap();
    for s in samples {
        assert!(
            before.is_valid(s),
            "{label}: sample {s} invalid for the original"
        );
        let errors: Vec<String> = after.iter_errors(s).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{label}: {s} now rejected: {errors:?}");
    }
}

/// A schema as an OpenAPI-driven generator would write it: a union of objects told apart by
/// `const` discriminators (the shape of OpenAPI `oneOf` + `discriminator`).
#[test]
fn union_of_objects_with_const_discriminators() {
    let original = json!({
        "type": "object",
        "properties": {
            "source": {
                "description": "Where the document comes from.",
                "oneOf": [
                    {
                        "type": "object",
                        "description": "A public URL.",
                        "properties": {
                            "type": {"const": "document_url"},
                            "document_url": {"type": "string", "format": "uri"}
                        },
                        "required": ["type", "document_url"],
                        "additionalProperties": false
                    },
                    {
                        "type": "object",
                        "description": "An uploaded file.",
                        "properties": {
                            "type": {"type": "string", "const": "file"},
                            "file_id": {"type": "string", "format": "uuid"}
                        },
                        "required": ["type", "file_id"],
                        "additionalProperties": false
                    }
                ],
                "discriminator": {"propertyName": "type"}
            }
        },
        "required": ["source"]
    });
    let s = portable_schema(original.clone());
    assert_portable("union_of_objects", &s);
    let source = &s["properties"]["source"];
    assert_eq!(source["type"], "object");
    assert_eq!(
        source["properties"]["type"]["enum"],
        json!(["document_url", "file"])
    );
    assert_eq!(source["required"], json!(["type"]));
    let note = source["properties"]["type"]["description"]
        .as_str()
        .unwrap();
    assert!(
        note.contains("`file`: An uploaded file (needs `file_id`)"),
        "{note}"
    );
    assert!(
        source["properties"]["file_id"]["description"]
            .as_str()
            .unwrap()
            .contains("uuid")
    );
    assert_still_accepts(
        "union_of_objects",
        &original,
        &s,
        &[
            json!({"source": {"type": "file", "file_id": "3b5c2a4e-0000-4000-8000-000000000000"}}),
            json!({"source": {"type": "document_url", "document_url": "https://x.test/a.pdf"}}),
        ],
    );
}

/// The same union at the root of a tool's input (a request body that is itself a oneOf).
#[test]
fn root_union_is_flattened() {
    let original = json!({
        "oneOf": [
            {"type": "object", "properties": {"kind": {"const": "a"}, "x": {"type": "integer"}},
             "required": ["kind", "x"]},
            {"type": "object", "properties": {"kind": {"const": "b"}, "y": {"type": "string"}},
             "required": ["kind"]}
        ]
    });
    let s = portable_schema(original.clone());
    assert_portable("root_union", &s);
    assert!(!s.contains_key("oneOf") && !s.contains_key("anyOf"));
    assert_eq!(s["required"], json!(["kind"]));
    assert_still_accepts(
        "root_union",
        &original,
        &s,
        &[json!({"kind": "a", "x": 1}), json!({"kind": "b"})],
    );
}

/// Nullable enums, every way they are spelled (OpenAPI 3.1 type list, 3.0 `nullable`,
/// anyOf with null, an enum holding null), plus an integer enum.
#[test]
fn nullable_enums() {
    let original = json!({
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"], "enum": ["low", "high", null]},
            "b": {"type": "string", "enum": ["x", "y"], "nullable": true},
            "c": {"anyOf": [{"type": "string", "enum": ["on", "off"]}, {"type": "null"}],
                  "default": null},
            "d": {"type": "integer", "enum": [1, 2, 4]},
            "e": {"oneOf": [{"const": "one", "description": "The first."},
                            {"const": "two", "description": "The second."}]}
        }
    });
    let s = portable_schema(original.clone());
    assert_portable("nullable_enums", &s);
    let p = &s["properties"];
    assert_eq!(p["a"], json!({"type": "string", "enum": ["low", "high"]}));
    assert_eq!(p["b"], json!({"type": "string", "enum": ["x", "y"]}));
    assert_eq!(p["c"], json!({"type": "string", "enum": ["on", "off"]}));
    assert_eq!(p["d"]["type"], "integer");
    assert!(p["d"]["description"].as_str().unwrap().contains("1, 2, 4"));
    assert_eq!(p["e"]["enum"], json!(["one", "two"]));
    // Null is not sent: an absent argument already means "not set".
    assert_still_accepts(
        "nullable_enums",
        &original,
        &s,
        &[json!({"a": "low", "b": "y", "c": "off", "d": 4, "e": "two"})],
    );
}

/// Free-form values: `true`, `{}`, maps of anything, a map of strings, and an object
/// nested inside one.
#[test]
fn nested_free_form_objects() {
    let original = json!({
        "type": "object",
        "properties": {
            "anything": true,
            "also": {},
            "metadata": {"type": "object", "additionalProperties": true},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "config": {
                "type": "object",
                "properties": {
                    "schema": {"description": "A JSON Schema.", "additionalProperties": true},
                    "extra": {"type": "object", "properties": {"deep": {}}}
                },
                "additionalProperties": false
            },
            "list": {"type": "array"}
        }
    });
    let s = portable_schema(original.clone());
    assert_portable("free_form", &s);
    let p = &s["properties"];
    for key in ["anything", "also", "metadata", "labels"] {
        assert_eq!(p[key]["type"], "object", "{key}");
    }
    assert!(
        p["labels"]["description"]
            .as_str()
            .unwrap()
            .contains("string values")
    );
    assert_eq!(
        p["config"]["properties"]["extra"]["properties"]["deep"]["type"],
        "object"
    );
    assert_eq!(p["list"]["items"]["type"], "object");
    assert_still_accepts(
        "free_form",
        &original,
        &s,
        &[json!({
            "anything": {"k": 1}, "metadata": {"a": [1]}, "labels": {"k": "v"},
            "config": {"schema": {"type": "object"}, "extra": {"deep": {"x": null}}},
            "list": [{"a": 1}]
        })],
    );
}

/// Arrays of unions: of mixed scalars, of objects, of a multi-type list, and a tuple.
#[test]
fn arrays_of_unions() {
    let original = json!({
        "type": "object",
        "properties": {
            "stop": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "messages": {
                "type": "array",
                "items": {
                    "oneOf": [
                        {"type": "object", "properties": {"role": {"const": "user"},
                            "content": {"type": ["string", "array"], "items": {"type": "object"}}},
                         "required": ["role", "content"]},
                        {"type": "object", "properties": {"role": {"const": "tool"},
                            "tool_call_id": {"type": "string"}, "content": {"type": "string"}},
                         "required": ["role", "tool_call_id"]}
                    ]
                }
            },
            "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}]},
            "bounds": {"allOf": [{"type": "object", "properties": {"lo": {"type": "number",
                "exclusiveMinimum": 0}}, "required": ["lo"]},
                {"properties": {"hi": {"type": "integer", "exclusiveMaximum": 10}}}]}
        }
    });
    let s = portable_schema(original.clone());
    assert_portable("array_of_unions", &s);
    let p = &s["properties"];
    assert_eq!(p["stop"]["items"]["anyOf"].as_array().unwrap().len(), 2);
    let msg = &p["messages"]["items"];
    assert_eq!(msg["type"], "object");
    assert_eq!(msg["properties"]["role"]["enum"], json!(["user", "tool"]));
    let content = &msg["properties"]["content"]["anyOf"];
    assert_eq!(content[1]["type"], "array");
    assert_eq!(content[1]["items"]["type"], "object");
    assert_eq!(p["point"]["items"]["type"], "number");
    assert_eq!(p["bounds"]["required"], json!(["lo"]));
    assert_eq!(p["bounds"]["properties"]["hi"]["maximum"], 9);
    assert_still_accepts(
        "array_of_unions",
        &original,
        &s,
        &[json!({
            "stop": ["x", 3],
            "messages": [{"role": "user", "content": [{"type": "text"}]},
                         {"role": "tool", "tool_call_id": "t1", "content": "ok"}],
            "point": [1.5, 2.0],
            "bounds": {"lo": 0.5, "hi": 9}
        })],
    );
}

// The same shapes as Rust request types, through schemars like every op's input.

#[derive(Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(dead_code)]
enum Source {
    /// A public URL.
    DocumentUrl { document_url: String },
    /// An uploaded file.
    File { file_id: String },
}

#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Content {
    Text(String),
    Chunks(Vec<serde_json::Value>),
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Level {
    Low,
    High,
}

/// A recursive type: schemars cannot inline it and leaves a reference.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Node {
    name: String,
    children: Vec<Node>,
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Generated {
    source: Source,
    content: Vec<Content>,
    level: Option<Level>,
    arguments: serde_json::Value,
    metadata: Option<HashMap<String, serde_json::Value>>,
    labels: BTreeMap<String, String>,
    pair: Option<(u32, String)>,
    tree: Option<Node>,
    ratio: Option<f64>,
}

#[test]
fn schemars_output_of_generated_shapes_is_portable() {
    let s = input_schema::<Generated>();
    assert_portable("generated", &s);
    let p = &s["properties"];
    assert_eq!(
        p["source"]["properties"]["type"]["enum"],
        json!(["document_url", "file"])
    );
    assert_eq!(
        p["level"],
        json!({"type": "string", "enum": ["low", "high"]})
    );
    assert_eq!(p["arguments"]["type"], "object");
    assert_eq!(p["tree"]["properties"]["children"]["type"], "array");
    let text = serde_json::to_string(&s).unwrap();
    assert!(
        !text.contains("$ref") && !text.contains("definitions"),
        "{text}"
    );
}
