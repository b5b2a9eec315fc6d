//! Validation of upstream requests against Mistral's official OpenAPI spec.
//!
//! The spec is read from `MISTRAL_OPENAPI_SPEC` or `../shared/mistral/openapi.yaml`. Where it
//! is absent (a user's fresh clone) the callers skip loudly; CI always has it.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

pub struct Spec {
    doc: Value,
    /// Every `$defs` map of the components, merged (see [`collect_defs`]).
    defs: Map<String, Value>,
}

fn spec_paths() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match std::env::var("MISTRAL_OPENAPI_SPEC") {
        Ok(p) => vec![PathBuf::from(p)],
        Err(_) => vec![root.join("../shared/mistral/openapi.yaml")],
    }
}

fn old_spec_path() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match std::env::var("MISTRAL_OPENAPI_SPEC_2026_07_15") {
        Ok(p) => PathBuf::from(p),
        Err(_) => root.join("../shared/mistral/openapi-2026-07-15.yaml"),
    }
}

fn load(path: &PathBuf) -> Option<Spec> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: Value = serde_yaml::from_str(&text).ok()?;
    let mut defs = Map::new();
    if let Some(components) = doc.get("components") {
        collect_defs(components, &mut defs);
    }
    Some(Spec { doc, defs })
}

/// The current spec, or `None` (after a loud message) when it is not on this machine.
pub fn spec() -> Option<&'static Spec> {
    static SPEC: OnceLock<Option<Spec>> = OnceLock::new();
    SPEC.get_or_init(|| {
        let found = spec_paths().iter().find_map(load);
        if found.is_none() {
            eprintln!(
                "\n*** SKIPPED: Mistral OpenAPI spec not found (set MISTRAL_OPENAPI_SPEC or put it at ../shared/mistral/openapi.yaml); spec checks did not run ***\n"
            );
        }
        found
    })
    .as_ref()
}

/// The older spec that still describes the fine-tuning job operations.
pub fn old_spec() -> Option<&'static Spec> {
    static SPEC: OnceLock<Option<Spec>> = OnceLock::new();
    SPEC.get_or_init(|| load(&old_spec_path())).as_ref()
}

/// Whether a spec path key (possibly with a `#fragment`) matches a concrete path.
fn path_matches(template: &str, path: &str) -> bool {
    let template = template.split('#').next().unwrap_or(template);
    let a: Vec<&str> = template.trim_matches('/').split('/').collect();
    let b: Vec<&str> = path.trim_matches('/').split('/').collect();
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.starts_with('{') || x == y)
}

/// Collects every `$defs` map anywhere in `v`, so `#/$defs/…` refs resolve from the root.
pub fn collect_defs(v: &Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Object(defs)) = o.get("$defs") {
                for (k, d) in defs {
                    out.entry(k.clone()).or_insert_with(|| d.clone());
                }
            }
            o.values().for_each(|c| collect_defs(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| collect_defs(c, out)),
        _ => {}
    }
}

impl Spec {
    /// The whole document.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The `$defs` found anywhere in the components.
    pub fn defs(&self) -> &Map<String, Value> {
        &self.defs
    }

    /// The security scheme an operation names (`AdminApiKey`, ...), if it names one.
    pub fn security_scheme(&self, method: &str, path: &str) -> Option<String> {
        let (_, op) = self.operations(method, path).into_iter().next()?;
        op.pointer("/security/0")?
            .as_object()?
            .keys()
            .next()
            .cloned()
    }

    /// The operation object of a method and a path key as written in the spec.
    pub fn operation(&self, method: &str, path_template: &str) -> Option<&Value> {
        self.doc
            .get("paths")
            .and_then(|p| p.get(path_template))
            .and_then(|i| i.get(method.to_ascii_lowercase()))
    }

    /// The operation object for a method and a concrete path. With several matches (the
    /// `#stream` variants) the one whose body schema accepts `body` is preferred.
    pub fn operations(&self, method: &str, path: &str) -> Vec<(String, &Value)> {
        let method = method.to_ascii_lowercase();
        let mut out = Vec::new();
        if let Some(paths) = self.doc.get("paths").and_then(Value::as_object) {
            for (template, item) in paths {
                if path_matches(template, path)
                    && let Some(op) = item.get(&method)
                {
                    out.push((template.clone(), op));
                }
            }
        }
        // Exact (no placeholder) templates first, so /v1/files/{id}/url beats nothing odd.
        out.sort_by_key(|(t, _)| t.matches('{').count());
        out
    }

    /// Every operation: (METHOD, path key as written in the spec, first tag).
    pub fn all_operations(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for (path, item) in self
            .doc
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            for method in ["get", "post", "put", "patch", "delete"] {
                if let Some(op) = item.get(method) {
                    let tag = op
                        .pointer("/tags/0")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    out.push((method.to_ascii_uppercase(), path.clone(), tag));
                }
            }
        }
        out
    }

    pub fn has_operation(&self, method: &str, path_template: &str) -> bool {
        self.doc
            .get("paths")
            .and_then(|p| p.get(path_template))
            .and_then(|i| i.get(method.to_ascii_lowercase()))
            .is_some()
    }

    fn validator_for(&self, schema: &Value) -> jsonschema::Validator {
        self.validator_with(schema, false)
    }

    /// A validator of `schema` (refs to the components and to any `$defs` resolve), which
    /// also asserts `format`s (date-time, uuid, uri...) when `formats` is set.
    fn validator_with(&self, schema: &Value, formats: bool) -> jsonschema::Validator {
        let mut root = match schema {
            Value::Object(o) => o.clone(),
            _ => Map::new(),
        };
        let components = self.doc.get("components").cloned().unwrap_or(json!({}));
        let mut defs = Map::new();
        collect_defs(&components, &mut defs);
        collect_defs(schema, &mut defs);
        root.insert("components".into(), components);
        root.insert("$defs".into(), Value::Object(defs));
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(formats)
            .build(&Value::Object(root))
            .expect("spec schema compiles")
    }

    /// Checks a JSON request body against the operation's request schema. Returns the
    /// validation errors (empty when valid).
    pub fn check_json_body(&self, method: &str, path: &str, body: &Value) -> Result<(), String> {
        let ops = self.operations(method, path);
        if ops.is_empty() {
            return Err(format!("the spec has no operation {method} {path}"));
        }
        let mut problems = Vec::new();
        for (template, op) in &ops {
            let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else {
                problems.push(format!("{template}: no JSON request body in the spec"));
                continue;
            };
            let validator = self.validator_for(schema);
            let errors: Vec<String> = validator
                .iter_errors(body)
                .map(|e| format!("{}: {}", e.instance_path, e))
                .collect();
            if errors.is_empty() {
                return Ok(());
            }
            problems.push(format!("{template}: {}", errors.join("; ")));
        }
        Err(problems.join("\n"))
    }

    /// Checks a value against a schema of the spec (a response schema, an SSE event
    /// schema), formats included. Returns the validation errors.
    pub fn check_value(&self, schema: &Value, value: &Value) -> Result<(), String> {
        let errors: Vec<String> = self
            .validator_with(schema, true)
            .iter_errors(value)
            .map(|e| format!("at `{}`: {e}", e.instance_path))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Checks that a request with no body is one the spec declares without a required body,
    /// and that every query parameter sent is declared.
    pub fn check_params(&self, method: &str, path: &str, query: &str) -> Result<(), String> {
        let ops = self.operations(method, path);
        let Some((template, op)) = ops.first() else {
            return Err(format!("the spec has no operation {method} {path}"));
        };
        let declared: Vec<&str> = op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
            .filter_map(|p| p.get("name").and_then(Value::as_str))
            .collect();
        for pair in query.split('&').filter(|s| !s.is_empty()) {
            let name = pair.split('=').next().unwrap_or("");
            if !declared.contains(&name) {
                return Err(format!(
                    "{template}: query parameter `{name}` is not in the spec ({declared:?})"
                ));
            }
        }
        Ok(())
    }

    /// Checks multipart field names against the spec's multipart schema.
    pub fn check_multipart_fields(
        &self,
        method: &str,
        path: &str,
        fields: &[String],
    ) -> Result<(), String> {
        let ops = self.operations(method, path);
        for (template, op) in &ops {
            let Some(schema) = op.pointer("/requestBody/content/multipart~1form-data/schema")
            else {
                continue;
            };
            let schema = match schema.get("$ref").and_then(Value::as_str) {
                Some(r) => self.doc.pointer(&r.replace('#', "")).unwrap_or(schema),
                None => schema,
            };
            let props = schema.get("properties").and_then(Value::as_object);
            let unknown: Vec<&String> = fields
                .iter()
                .filter(|f| !props.is_some_and(|p| p.contains_key(f.as_str())))
                .collect();
            if unknown.is_empty() {
                let required: Vec<&str> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if let Some(missing) = required.iter().find(|r| !fields.iter().any(|f| f == *r)) {
                    return Err(format!(
                        "{template}: required multipart field `{missing}` missing"
                    ));
                }
                return Ok(());
            }
            return Err(format!(
                "{template}: multipart fields {unknown:?} are not in the spec"
            ));
        }
        Err(format!(
            "the spec has no multipart operation {method} {path}"
        ))
    }
}
