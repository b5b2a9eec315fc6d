//! The fake upstream's fallback replies (`tests/common/synth.rs`) are valid: for every
//! operation of the spec (plus the fine-tuning job operations of the older file) the reply
//! synthesized from its success response is checked against that response's schema (JSON
//! bodies, and each event of a stream against the event schema, formats included). Prints
//! how many were checked (`cargo test --test fake_replies -- --nocapture`); with
//! `SHOW_REPLIES=1` it also prints every reply.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::spec::{self, Spec};
use common::{FakeMistral, Reply, synth};
use serde_json::{Value, json};

/// `Ok(what was checked)` or the problems of one reply of `op`.
fn check_reply(spec: &Spec, op: &Value, reply: &Reply) -> Result<String, String> {
    let (status, _) = synth::success(op).ok_or("the operation has no 2xx response")?;
    let content = synth::content(op);
    let schema_of = |media: &str| {
        content
            .and_then(|c| c.get(media))
            .and_then(|m| m.get("schema"))
            .cloned()
            .unwrap_or(json!({}))
    };
    match reply {
        Reply::Json {
            status: s, body, ..
        } => {
            if *s != status {
                return Err(format!("status {s}, the spec says {status}"));
            }
            if content.is_none_or(|c| !c.contains_key("application/json")) {
                return Err("a JSON reply for a response that is not JSON".into());
            }
            spec.check_value(&schema_of("application/json"), body)
                .map_err(|e| format!("{e}\nbody: {body}"))?;
            Ok("json".into())
        }
        Reply::Sse { events, .. } => {
            let schema = schema_of("text/event-stream");
            if !(2..=4).contains(&events.len()) {
                return Err(format!("{} events", events.len()));
            }
            let has_event_field = synth::Synth::new(spec, &schema)
                .event_fields(&schema)
                .iter()
                .any(|f| f == "event");
            for (i, block) in events.iter().enumerate() {
                let mut event = serde_json::Map::new();
                for line in block.lines() {
                    let (field, value) = line.split_once(": ").ok_or(format!("bad line {line}"))?;
                    match field {
                        "data" if value == "[DONE]" => {
                            if has_event_field || i + 1 != events.len() {
                                return Err("[DONE] where the stream does not end with it".into());
                            }
                        }
                        "data" => {
                            let data: Value = serde_json::from_str(value)
                                .map_err(|e| format!("data is not JSON ({e}): {value}"))?;
                            event.insert("data".into(), data);
                        }
                        "event" | "id" => {
                            event.insert(field.into(), json!(value));
                        }
                        "retry" => {
                            event.insert(field.into(), json!(value.parse::<u64>().ok()));
                        }
                        other => return Err(format!("unknown SSE field {other}")),
                    }
                }
                if !event.is_empty() {
                    spec.check_value(&schema, &Value::Object(event.clone()))
                        .map_err(|e| format!("event {i}: {e}\nevent: {block}"))?;
                }
            }
            if !has_event_field && events.last().map(String::as_str) != Some("data: [DONE]") {
                return Err("a data-only stream that does not end with [DONE]".into());
            }
            Ok(format!("sse ({} events)", events.len()))
        }
        Reply::Bytes {
            status: s,
            content_type,
            body,
        } => {
            let declared = content.is_some_and(|c| c.contains_key(content_type.as_str()));
            if *s != status || !declared || body.is_empty() {
                return Err(format!("{s} {content_type} is not the spec's answer"));
            }
            Ok(content_type.clone())
        }
        Reply::Raw {
            status: s, chunks, ..
        } => {
            if *s != status || content.is_some() || !chunks.is_empty() {
                return Err(format!(
                    "an empty {s} where the spec has content or {status}"
                ));
            }
            Ok(format!("empty {s}"))
        }
        other => Err(format!("unexpected reply {other:?}")),
    }
}

/// Every operation: (spec, METHOD, path key).
fn all_operations() -> Option<Vec<(&'static Spec, String, String)>> {
    let current = spec::spec()?;
    let mut ops: Vec<(&'static Spec, String, String)> = current
        .all_operations()
        .into_iter()
        .map(|(m, p, _)| (current, m, p))
        .collect();
    match spec::old_spec() {
        Some(old) => ops.extend(
            old.all_operations()
                .into_iter()
                .filter(|(_, p, _)| p.starts_with("/v1/fine_tuning/jobs"))
                .map(|(m, p, _)| (old, m, p)),
        ),
        None => eprintln!(
            "\n*** the 2026-07-15 spec is absent: the fine-tuning job operations are not checked ***\n"
        ),
    }
    Some(ops)
}

#[test]
fn every_operation_gets_a_synthesized_reply_its_spec_accepts() {
    let Some(ops) = all_operations() else {
        eprintln!("*** SKIPPED: synthesized replies need the spec ***");
        return;
    };
    let mut failures = Vec::new();
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    let mut replies = 0;
    for (spec, method, path) in &ops {
        let op = spec.operation(method, path).unwrap();
        let offers_json = synth::content(op).is_some_and(|c| c.contains_key("application/json"));
        // The plain reply, and the streamed one when the operation offers both.
        let modes: &[bool] = if offers_json && synth::streams(op) {
            &[false, true]
        } else {
            &[false]
        };
        for &stream in modes {
            let reply = synth::reply_for_operation(spec, op, stream);
            replies += 1;
            if std::env::var_os("SHOW_REPLIES").is_some() {
                println!("{method} {path} (stream: {stream}): {reply:?}\n");
            }
            match check_reply(spec, op, &reply) {
                Ok(kind) => {
                    let kind = kind.split(' ').next().unwrap_or("").to_string();
                    *kinds.entry(kind).or_default() += 1;
                }
                Err(e) => failures.push(format!("{method} {path} (stream: {stream}): {e}")),
            }
        }
    }
    println!(
        "\nsynthesized replies: {} operations checked ({replies} replies: {kinds:?}), {} invalid\n",
        ops.len(),
        failures.len()
    );
    assert!(
        ops.len() >= 288,
        "only {} operations in the spec",
        ops.len()
    );
    assert!(
        failures.is_empty(),
        "{} synthesized replies the spec rejects:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The fallback through HTTP: an unscripted JSON route, an unscripted stream, an
/// unscripted 204, and a route of no spec (still 404).
#[tokio::test]
async fn unscripted_routes_get_spec_replies_over_http() {
    let Some(current) = spec::spec() else {
        eprintln!("*** SKIPPED: synthesized replies need the spec ***");
        return;
    };
    let fake = FakeMistral::start().await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", fake.url)).send();

    let r = get("/v1/workflows/executions/exec-1").await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let op = current
        .operation("GET", "/v1/workflows/executions/{execution_id}")
        .unwrap();
    let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
    current.check_value(schema, &body).unwrap();

    let r = get("/v1/workflows/events/stream").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let text = r.text().await.unwrap();
    assert!(text.matches("data: ").count() >= 2, "{text}");

    let deleted = current
        .all_operations()
        .into_iter()
        .find(|(m, p, _)| {
            // Not one `default_reply` scripts.
            let scripted = [
                "agents",
                "libraries",
                "conversations",
                "audio",
                "files",
                "models",
            ]
            .iter()
            .any(|s| p.starts_with(&format!("/v1/{s}")));
            m == "DELETE"
                && !scripted
                && current
                    .operation(m, p)
                    .and_then(synth::success)
                    .is_some_and(|(s, _)| s == 204)
        })
        .map(|(_, p, _)| {
            let p = p.split('#').next().unwrap_or(&p).to_string();
            p.replace('{', "x-").replace('}', "")
        })
        .unwrap();
    let r = http
        .delete(format!("{}{deleted}", fake.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "DELETE {deleted}");
    assert!(r.bytes().await.unwrap().is_empty());

    let r = get("/v1/not-an-operation").await.unwrap();
    assert_eq!(r.status(), 404);
}
