//! Every generated tool, called with arguments built from the spec's own request schema,
//! succeeds against the fake Mistral (which answers from the spec's response schema) and
//! sends a request the spec accepts: path, query, body and key all in their place. This is
//! the test row every generated operation gets without writing one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::harness::{self, structured, text};
use common::synth::Synth;
use common::{FakeMistral, assert_valid_upstream, route_matches, spec};
use mistral_mcp::catalog::Catalog;
use serde_json::{Map, Value};

/// Arguments for one operation: its path parameters, required query parameters and a
/// minimal body, each synthesized from the spec's schema.
fn arguments(spec: &spec::Spec, op: &Value) -> Value {
    let synth = Synth::new(spec, op);
    let mut args = Map::new();
    for param in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let place = param.get("in").and_then(Value::as_str).unwrap_or_default();
        let required = param.get("required").and_then(Value::as_bool) == Some(true);
        if place == "path" || (place == "query" && required) {
            let name = param["name"].as_str().unwrap().to_string();
            let value = match synth.value(&param["schema"]) {
                // Path values must be non-empty segments.
                Value::String(s) if s.is_empty() => Value::String("x1".into()),
                Value::Null => Value::String("x1".into()),
                v => v,
            };
            args.insert(name, value);
        }
    }
    if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
        // A name the spec requires without defining it (SharingDelete's `level`) gets a
        // string, as the generated request types it.
        let resolved = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| spec.doc().pointer(r.trim_start_matches('#')))
            .unwrap_or(schema);
        let declared = resolved.get("properties").and_then(Value::as_object);
        match synth.value(schema) {
            Value::Object(mut body) => {
                for (k, v) in body.iter_mut() {
                    if declared.is_some_and(|d| !d.contains_key(k)) {
                        *v = Value::String("x1".into());
                    }
                }
                args.extend(body);
            }
            Value::Null => {}
            other => {
                args.insert("body".into(), other);
            }
        }
    }
    Value::Object(args)
}

#[tokio::test]
async fn every_generated_tool_sends_a_spec_valid_request() {
    let Some(spec) = spec::spec() else {
        eprintln!("*** SKIPPED: the spec is needed to build the calls ***");
        return;
    };
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let catalog = Catalog::load(None).unwrap();
    let mut called = 0;
    let mut failures = Vec::new();
    for tool in catalog.tools.iter().filter(|t| t.op.generated) {
        let op_spec = tool.spec();
        let method = op_spec.method.as_str();
        // The fine-tuning job operations are only in the older spec.
        let found = [Some(spec), spec::old_spec()]
            .into_iter()
            .flatten()
            .find_map(|s| {
                let (template, op) = s.operations(method, op_spec.path).into_iter().next()?;
                Some((s, template, op))
            });
        let Some((owner, template, op)) = found else {
            failures.push(format!(
                "{}: {} is in no spec",
                tool.name,
                op_spec.operation()
            ));
            continue;
        };
        let mut args = arguments(owner, op);
        if let mistral_mcp::tool::Body::Multipart(field) = op_spec.body {
            // The agent names the file; the spec's binary field is not an argument.
            let args = args.as_object_mut().unwrap();
            args.remove(field);
            args.insert("content_base64".into(), "aGVsbG8gd29ybGQ=".into());
            args.insert("file_name".into(), "hello.txt".into());
        }
        fake.clear();
        let result = s.call(&tool.name, args.clone()).await;
        called += 1;
        if result.is_error != Some(false) {
            failures.push(format!("{} {args}: {}", tool.name, text(&result)));
            continue;
        }
        if !structured(&result).is_object() {
            failures.push(format!("{}: no structured object", tool.name));
        }
        let requests = fake.requests();
        let Some(last) = requests.last() else {
            failures.push(format!("{}: no upstream request", tool.name));
            continue;
        };
        let route = format!(
            "{method} {}",
            template.split('#').next().unwrap_or(&template)
        );
        if !route_matches(&route, &last.method, &last.path) {
            failures.push(format!("{}: sent {} for {route}", tool.name, last.route()));
        }
        for rec in &requests {
            let check = || {
                if std::ptr::eq(owner, spec) {
                    assert_valid_upstream(rec)
                } else {
                    common::assert_valid_against(rec, owner, "the 2026-07-15 spec")
                }
            };
            if let Err(e) = std::panic::catch_unwind(check) {
                let why = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{}: {why}", tool.name));
            }
        }
    }
    eprintln!("{called} generated tools called");
    assert!(called >= 200, "only {called} generated tools");
    assert!(
        failures.is_empty(),
        "{} of {called} generated tools failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Generated tools send the agent's arguments as given once their typed request accepts
/// them, so the typed request is the only gate: an unknown field, or a value of the wrong
/// type, must be refused with a message naming it, and nothing may reach Mistral.
#[tokio::test]
async fn every_generated_tool_refuses_unknown_and_mistyped_fields() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let catalog = Catalog::load(None).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for tool in catalog.tools.iter().filter(|t| t.op.generated) {
        let schema = tool.input_schema();
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut cases = vec![(
            "not_a_field_of_this_tool",
            serde_json::json!({ "not_a_field_of_this_tool": 1 }),
        )];
        // A string field given an object.
        if let Some((name, _)) = properties
            .iter()
            .find(|(_, p)| p.get("type") == Some(&Value::String("string".into())))
        {
            cases.push((
                name.as_str(),
                serde_json::json!({ name.as_str(): { "x": 1 } }),
            ));
        }
        for (field, args) in cases {
            fake.clear();
            let result = s.call(&tool.name, args.clone()).await;
            checked += 1;
            let message = text(&result);
            if result.is_error != Some(true) || !message.contains(field) {
                failures.push(format!("{} {args}: {message}", tool.name));
            }
            if !fake.requests().is_empty() {
                failures.push(format!("{} {args}: reached the upstream", tool.name));
            }
        }
    }
    assert!(checked >= 400, "only {checked} bad calls");
    assert!(
        failures.is_empty(),
        "{} bad calls were not refused:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
