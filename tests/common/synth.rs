//! Replies synthesized from the spec, for the routes `default_reply` does not script.
//!
//! The fake finds the operation whose method and path template match the request (the
//! spec's `#fragment` stripped, a `{param}` matching one segment; among the `#stream`
//! variants the one that streams when the request asked to), takes its success response
//! (the lowest 2xx) and answers with:
//! - JSON: a minimal value of the response schema ([`Synth::value`]);
//! - `text/event-stream`: two or three events of the event schema ([`Synth::sse_events`]),
//!   ending the way the stream ends (a `done` event, or `data: [DONE]` for data-only streams);
//! - another media type: a few bytes of it;
//! - no content: an empty body with the spec's status (204 mostly).
//!
//! `tests/fake_replies.rs` checks every operation's synthesized reply against the spec.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::Reply;
use super::spec::{self, Spec};

const NOW: &str = "2025-05-01T10:00:00Z";
const UUID: &str = "0196a0c1-e2d3-4f4b-9a1c-2d3e4f5a6b7c";
/// Below this depth arrays get one item; deeper they get only as many as `minItems` asks,
/// so recursive schemas (filter groups of filter groups) end.
const ITEM_DEPTH: usize = 8;
/// A `$ref` chain deeper than this gives `null` (no schema of the spec gets near it).
const MAX_DEPTH: usize = 40;
/// Strings tried, in order, against a `pattern`.
const PATTERN_CANDIDATES: &[&str] = &[
    "en",
    "0123456789abcdef0123456789abcdef",
    "0123456789abcdef",
    "string",
    "x",
    "a1",
    "0",
    "A",
];

/// The synthesized reply for an unscripted route, or `None` when no spec has the
/// operation (or no spec is on this machine): the caller then answers 404.
pub fn reply(method: &str, path: &str, body: &[u8]) -> Option<Reply> {
    let stream = wants_stream(body);
    for spec in [spec::spec(), spec::old_spec()].into_iter().flatten() {
        let ops = spec.operations(method, path);
        let Some((best, _)) = ops.first() else {
            continue;
        };
        // The most literal templates only (`/v1/agents/completions` over `/v1/agents/{id}`),
        // then the variant that streams if and only if the request asked to.
        let fewest = best.matches('{').count();
        let candidates: Vec<&Value> = ops
            .iter()
            .filter(|(t, _)| t.matches('{').count() == fewest)
            .map(|(_, op)| *op)
            .collect();
        let op = candidates
            .iter()
            .find(|op| streams(op) == stream)
            .or(candidates.first())?;
        return Some(reply_for_operation(spec, op, stream));
    }
    None
}

/// Whether a request body asks for a stream: JSON `"stream": true`, or a multipart field
/// `stream` whose value is `true`.
pub fn wants_stream(body: &[u8]) -> bool {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return v.get("stream") == Some(&json!(true));
    }
    let text = String::from_utf8_lossy(body);
    text.split("name=\"stream\"")
        .nth(1)
        .is_some_and(|rest| rest.trim_start().starts_with("true"))
}

/// The lowest 2xx status of an operation and its response object.
pub fn success(op: &Value) -> Option<(u16, &Value)> {
    op.get("responses")?
        .as_object()?
        .iter()
        .filter_map(|(code, r)| {
            let c: u16 = code.parse().ok()?;
            (200..300).contains(&c).then_some((c, r))
        })
        .min_by_key(|(c, _)| *c)
}

/// The media types of an operation's success response.
pub fn content(op: &Value) -> Option<&Map<String, Value>> {
    success(op)?
        .1
        .get("content")
        .and_then(Value::as_object)
        .filter(|c| !c.is_empty())
}

/// Whether an operation's success response is an event stream.
pub fn streams(op: &Value) -> bool {
    content(op).is_some_and(|c| c.contains_key("text/event-stream"))
}

/// The reply the fake gives for `op`: the event stream when `stream` is asked and offered,
/// else JSON, else the stream, else bytes of the first media type, else an empty body.
pub fn reply_for_operation(spec: &Spec, op: &Value, stream: bool) -> Reply {
    let Some((status, _)) = success(op) else {
        return Reply::json(200, json!({}));
    };
    let Some(content) = content(op) else {
        return Reply::Raw {
            status,
            headers: Vec::new(),
            chunks: Vec::new(),
            pause: Duration::ZERO,
            abort: false,
        };
    };
    let sse = content.get("text/event-stream");
    let schema_of = |media: &Value| media.get("schema").cloned().unwrap_or(json!({}));
    let events = |media: &Value| {
        let schema = schema_of(media);
        Reply::Sse {
            events: Synth::new(spec, &schema).sse_events(&schema),
            pause: Duration::from_millis(5),
        }
    };
    if stream && let Some(media) = sse {
        return events(media);
    }
    if let Some(media) = content.get("application/json") {
        let body = match media.get("schema") {
            Some(schema) => Synth::new(spec, schema).value(schema),
            None => json!({}),
        };
        return Reply::Json {
            status,
            body,
            headers: Vec::new(),
        };
    }
    if let Some(media) = sse {
        return events(media);
    }
    let media_type = content.keys().next().cloned().unwrap_or_default();
    Reply::Bytes {
        status,
        content_type: media_type,
        body: b"fake bytes synthesized from the spec".to_vec(),
    }
}

/// Builds values from the schemas of one response.
pub struct Synth<'a> {
    spec: &'a Spec,
    /// The `$defs` of the response schema itself (its `#/$defs/...` refs).
    local: Map<String, Value>,
}

impl<'a> Synth<'a> {
    pub fn new(spec: &'a Spec, root: &Value) -> Self {
        let mut local = Map::new();
        spec::collect_defs(root, &mut local);
        Self { spec, local }
    }

    fn resolve(&self, reference: &str) -> Option<&Value> {
        if let Some(name) = reference.strip_prefix("#/$defs/") {
            return self.local.get(name).or_else(|| self.spec.defs().get(name));
        }
        self.spec.doc().pointer(reference.strip_prefix('#')?)
    }

    /// `schema` with its `$ref` chain followed.
    fn deref<'s>(&'s self, mut schema: &'s Value) -> &'s Value {
        for _ in 0..MAX_DEPTH {
            match schema.get("$ref").and_then(Value::as_str) {
                Some(r) => match self.resolve(r) {
                    Some(target) => schema = target,
                    None => break,
                },
                None => break,
            }
        }
        schema
    }

    /// A minimal value valid against `schema`.
    pub fn value(&self, schema: &Value) -> Value {
        self.at(schema, 0)
    }

    fn at(&self, schema: &Value, depth: usize) -> Value {
        let Some(o) = schema.as_object() else {
            return json!({});
        };
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        if let Some(r) = o.get("$ref").and_then(Value::as_str) {
            return match self.resolve(r) {
                Some(target) => self.at(target, depth + 1),
                None => json!({}),
            };
        }
        if let Some(c) = o.get("const") {
            return c.clone();
        }
        if let Some(e) = o.get("enum").and_then(Value::as_array) {
            return e
                .iter()
                .find(|v| !v.is_null())
                .or(e.first())
                .cloned()
                .unwrap_or(Value::Null);
        }
        if let Some(parts) = o.get("allOf").and_then(Value::as_array) {
            return self.all_of(o, parts, depth);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = o.get(key).and_then(Value::as_array) {
                return self.one_of(o, branches, depth);
            }
        }
        match type_of(o) {
            "object" => self.object(o, depth),
            "array" => self.array(o, depth),
            "string" => string(o),
            "integer" => number(o, true),
            "number" => number(o, false),
            "boolean" => json!(false),
            "null" => Value::Null,
            _ => o.get("default").cloned().unwrap_or(json!({})),
        }
    }

    /// One object of the parts' properties and required names merged (a part's required
    /// name may be another part's property), or the value of a lone non-object part.
    fn all_of(&self, o: &Map<String, Value>, parts: &[Value], depth: usize) -> Value {
        let mut merged = Map::new();
        self.merge_into(o, &mut merged, 0);
        let objectish = |s: &Value| {
            let s = self.deref(s);
            type_of(s.as_object().unwrap_or(&Map::new())) == "object" || s.get("allOf").is_some()
        };
        match parts.iter().find(|p| !objectish(p)) {
            Some(scalar) if !merged.contains_key("properties") => self.at(scalar, depth + 1),
            _ => self.object(&merged, depth),
        }
    }

    /// Adds the properties and required names of `o` and of its `allOf` parts to `out`.
    fn merge_into(&self, o: &Map<String, Value>, out: &mut Map<String, Value>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        if let Some(props) = o.get("properties").and_then(Value::as_object) {
            let entry = out.entry("properties").or_insert_with(|| json!({}));
            if let Value::Object(m) = entry {
                for (k, v) in props {
                    m.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        if let Some(req) = o.get("required").and_then(Value::as_array) {
            let entry = out.entry("required").or_insert_with(|| json!([]));
            if let Value::Array(a) = entry {
                a.extend(
                    req.iter()
                        .filter(|r| !a.contains(r))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
            }
        }
        for part in o
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(p) = self.deref(part).as_object() {
                self.merge_into(p, out, depth + 1);
            }
        }
    }

    /// The first non-null branch, with its discriminator value set.
    fn one_of(&self, o: &Map<String, Value>, branches: &[Value], depth: usize) -> Value {
        let branch = branches
            .iter()
            .find(|b| !is_null_schema(b))
            .or(branches.first());
        match branch {
            Some(b) => self.branch(o, b, depth).1,
            None => Value::Null,
        }
    }

    /// A branch's name (its discriminator value, else its schema's name) and value.
    fn branch(&self, o: &Map<String, Value>, b: &Value, depth: usize) -> (String, Value) {
        let mut v = self.at(b, depth + 1);
        let reference = b.get("$ref").and_then(Value::as_str);
        let mut name = reference
            .and_then(|r| r.rsplit('/').next())
            .or_else(|| self.deref(b).get("title").and_then(Value::as_str))
            .unwrap_or("")
            .to_string();
        if let Some(d) = o.get("discriminator") {
            let prop = d.get("propertyName").and_then(Value::as_str).unwrap_or("");
            let key = d.get("mapping").and_then(Value::as_object).and_then(|m| {
                m.iter()
                    .find(|(_, t)| reference == t.as_str())
                    .map(|(k, _)| k.clone())
            });
            if let Value::Object(m) = &mut v {
                match key {
                    Some(k) => {
                        m.insert(prop.to_string(), json!(k));
                    }
                    None => {
                        m.entry(prop.to_string()).or_insert_with(|| json!(name));
                    }
                }
                if let Some(Value::String(k)) = m.get(prop) {
                    name = k.clone();
                }
            }
        }
        (name, v)
    }

    /// Every required property, plus the optional ones fixed by a `const` (the `object` and
    /// `type` tags real replies carry).
    fn object(&self, o: &Map<String, Value>, depth: usize) -> Value {
        let any = json!({});
        let props = o.get("properties").and_then(Value::as_object);
        let extra = o.get("additionalProperties").filter(|a| a.is_object());
        let mut out = Map::new();
        for name in o
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let schema = props.and_then(|p| p.get(name)).or(extra).unwrap_or(&any);
            out.insert(name.to_string(), self.at(schema, depth + 1));
        }
        for (name, schema) in props.into_iter().flatten() {
            if !out.contains_key(name)
                && let Some(c) = self.deref(schema).get("const")
            {
                out.insert(name.clone(), c.clone());
            }
        }
        Value::Object(out)
    }

    fn array(&self, o: &Map<String, Value>, depth: usize) -> Value {
        if let Some(prefix) = o.get("prefixItems").and_then(Value::as_array) {
            return prefix.iter().map(|s| self.at(s, depth + 1)).collect();
        }
        let min = o.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = o
            .get("maxItems")
            .and_then(Value::as_u64)
            .map_or(usize::MAX, |m| m as usize);
        let n = if depth < ITEM_DEPTH { min.max(1) } else { min }.min(max);
        let any = json!({});
        let items = o.get("items").unwrap_or(&any);
        (0..n).map(|_| self.at(items, depth + 1)).collect()
    }

    /// Two or three SSE events of an event schema (`{event, data, id}` objects, `data` often
    /// a discriminated union): a start, a middle (a delta if there is one) and a `done` event
    /// when the union has them; streams without an `event` field end with `data: [DONE]`.
    pub fn sse_events(&self, schema: &Value) -> Vec<String> {
        let envelope = self.deref(schema);
        let props = envelope.get("properties").and_then(Value::as_object);
        let data_schema = props.and_then(|p| p.get("data")).map(|d| self.deref(d));
        let event_schema = props.and_then(|p| p.get("event"));
        let mut variants: Vec<(String, Value)> = Vec::new();
        if let Some(ds) = data_schema {
            let union = ["oneOf", "anyOf"]
                .iter()
                .find_map(|k| ds.get(*k).and_then(Value::as_array));
            match (union, ds.as_object()) {
                (Some(branches), Some(o)) => {
                    for b in branches.iter().filter(|b| !is_null_schema(b)) {
                        variants.push(self.branch(o, b, 1));
                    }
                }
                _ => variants.push((String::new(), self.value(ds))),
            }
        }
        let named = |v: &(String, Value), word: &str| v.0.to_lowercase().contains(word);
        let usable: Vec<&(String, Value)> =
            variants.iter().filter(|v| !named(v, "error")).collect();
        let done = usable
            .iter()
            .find(|v| named(v, "done") || named(v, "completed"))
            .copied();
        let start = usable
            .iter()
            .find(|v| named(v, "start"))
            .or(usable.iter().find(|v| Some(**v) != done))
            .copied();
        let rest = |v: &&&(String, Value)| Some(**v) != start && Some(**v) != done;
        let middle = usable
            .iter()
            .filter(rest)
            .find(|v| named(v, "delta"))
            .or(usable.iter().find(rest))
            .copied();
        let mut chosen: Vec<&(String, Value)> =
            [start, middle, done].into_iter().flatten().collect();
        if chosen.is_empty() {
            chosen.extend(variants.first());
        }
        while chosen.len() == 1 {
            chosen.push(chosen[0]);
        }
        let mut events: Vec<String> = chosen
            .into_iter()
            .map(|(_, data)| {
                let mut lines = Vec::new();
                if let Some(es) = event_schema {
                    let tag = data
                        .get("type")
                        .and_then(Value::as_str)
                        .filter(|t| self.names_event(es, t))
                        .map(str::to_string);
                    let name = tag.unwrap_or_else(|| match self.value(es) {
                        Value::String(s) => s,
                        v => v.to_string(),
                    });
                    lines.push(format!("event: {name}"));
                }
                lines.push(format!("data: {data}"));
                lines.join("\n")
            })
            .collect();
        if event_schema.is_none() {
            events.push("data: [DONE]".to_string());
        }
        events
    }

    /// The fields of an event schema (`event`, `data`, `id`...).
    pub fn event_fields(&self, schema: &Value) -> Vec<String> {
        self.deref(schema)
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether the `event` field's schema accepts `name`.
    fn names_event(&self, schema: &Value, name: &str) -> bool {
        let s = self.deref(schema);
        match s.get("enum").and_then(Value::as_array) {
            Some(e) => e.iter().any(|v| v == name),
            None => s.get("const").is_none_or(|c| c == name),
        }
    }
}

fn type_of(o: &Map<String, Value>) -> &str {
    match o.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if o.contains_key("properties") || o.contains_key("required") => "object",
        _ if o.contains_key("items") || o.contains_key("prefixItems") => "array",
        _ => "",
    }
}

fn is_null_schema(s: &Value) -> bool {
    s.get("type").and_then(Value::as_str) == Some("null")
}

fn string(o: &Map<String, Value>) -> Value {
    let mut s = match o.get("format").and_then(Value::as_str) {
        Some("date-time") => NOW.to_string(),
        Some("date") => "2025-05-01".to_string(),
        Some("time") => "10:00:00Z".to_string(),
        Some("uuid") => UUID.to_string(),
        Some("uri" | "url" | "uri-reference" | "iri") => "https://example.com/fake".to_string(),
        Some("email") => "user@example.com".to_string(),
        Some("duration") => "PT1S".to_string(),
        Some("byte") => "ZmFrZQ==".to_string(),
        Some("ipv4") => "127.0.0.1".to_string(),
        _ => "string".to_string(),
    };
    if let Some(p) = o.get("pattern") {
        let schema = json!({"pattern": p});
        if let Some(c) = PATTERN_CANDIDATES
            .iter()
            .find(|c| jsonschema::is_valid(&schema, &json!(c)))
        {
            s = c.to_string();
        }
    }
    if let Some(min) = o.get("minLength").and_then(Value::as_u64) {
        while (s.chars().count() as u64) < min {
            s.push('x');
        }
    }
    if let Some(max) = o.get("maxLength").and_then(Value::as_u64) {
        s = s.chars().take(max as usize).collect();
    }
    json!(s)
}

/// The minimum (or just above an exclusive one), else 0, kept under the maximum.
fn number(o: &Map<String, Value>, integer: bool) -> Value {
    let get = |k: &str| o.get(k).and_then(Value::as_f64);
    let step = if integer { 1.0 } else { 0.5 };
    let mut v = get("minimum").unwrap_or(0.0);
    if let Some(x) = get("exclusiveMinimum") {
        v = v.max(x + step);
    }
    if let Some(x) = get("maximum") {
        v = v.min(x);
    }
    if let Some(x) = get("exclusiveMaximum")
        && v >= x
    {
        v = x - step;
    }
    if integer || v.fract() == 0.0 {
        json!(v.ceil() as i64)
    } else {
        json!(v)
    }
}
