//! From the agent's arguments to an upstream request: parsing them into the typed request
//! with errors that name the field (and never echo megabytes back), then routing the typed
//! request's fields into path segments (percent-encoded, dot segments refused), query
//! parameters, headers and the body, with bounds on every part of the URL.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use rmcp::model::JsonObject;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::spec::{Body, OpSpec};
use crate::error::{ToolError, clip};
use crate::mistral::{FormField, RequestBody, UpstreamRequest};

/// Deserialises tool arguments, naming the exact field that is wrong.
///
/// serde's messages quote the offending value or key, which may be megabytes long: quoted
/// spans are cut to a short prefix and the whole message is capped.
pub fn parse_arguments<T: DeserializeOwned>(args: JsonObject) -> Result<T, ToolError> {
    serde_path_to_error::deserialize(Value::Object(args)).map_err(argument_error)
}

/// Checks tool arguments against a typed request without keeping it: for operations that
/// send their arguments as given (see `tool::generated_entry`). Plain `Deserialize` (no
/// path tracking per request type); a rejection is placed by [`located_argument_error`].
pub fn check_arguments<T: DeserializeOwned>(args: &Value) -> Result<(), serde_json::Error> {
    T::deserialize(args).map(drop)
}

/// The message of a failed [`check_arguments`]: serde's reason, with the field it concerns
/// found by walking the arguments beside the tool's input schema.
pub fn located_argument_error(
    e: &serde_json::Error,
    args: &Value,
    schema: &JsonObject,
) -> ToolError {
    let inner = e.to_string();
    let inner = inner.split(" at line ").next().unwrap_or(&inner);
    let nulls_matter = inner.starts_with("invalid type: null");
    let path = crate::schema::locate::first_mismatch(args, schema, nulls_matter)
        .map(|p| clip(&p, MAX_ECHOED_PATH));
    let inner = clip(&clip_quoted(inner, MAX_ECHOED_VALUE), MAX_ARGUMENT_MESSAGE);
    ToolError::InvalidArguments(match path {
        Some(p) if !p.is_empty() => format!("`{p}`: {inner}"),
        _ => inner,
    })
}

/// The message of a failed [`parse_arguments`], kept out of the generic function so it is
/// compiled once.
fn argument_error(e: serde_path_to_error::Error<serde_json::Error>) -> ToolError {
    let path = clip(&e.path().to_string(), MAX_ECHOED_PATH);
    let inner = e.into_inner().to_string();
    let inner = inner.split(" at line ").next().unwrap_or(&inner);
    let inner = clip(&clip_quoted(inner, MAX_ECHOED_VALUE), MAX_ARGUMENT_MESSAGE);
    ToolError::InvalidArguments(if path == "." || path.is_empty() {
        inner
    } else {
        format!("`{path}`: {inner}")
    })
}

/// How much of a value an argument error quotes back.
const MAX_ECHOED_VALUE: usize = 64;
/// How much of a field path an argument error names.
const MAX_ECHOED_PATH: usize = 256;
/// Cap on the reason in an argument error (a list of expected fields can be long).
const MAX_ARGUMENT_MESSAGE: usize = 1024;

/// Cuts every `"…"` or `` `…` `` span of `text` longer than `max` bytes to its first `max`
/// bytes: how serde quotes values and keys (`"` spans are Debug-escaped).
fn clip_quoted(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(4 * max));
    let mut rest = text;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = rest.as_bytes()[open];
        out.push_str(&rest[..=open]);
        let body = &rest[open + 1..];
        let mut escaped = false;
        let close = body.char_indices().find_map(|(i, c)| {
            let ends = c == char::from(quote) && !escaped;
            escaped = quote == b'"' && c == '\\' && !escaped;
            ends.then_some(i)
        });
        let (quoted, after) = match close {
            Some(close) => (&body[..close], &body[close..]),
            None => (body, ""),
        };
        out.push_str(&clip(quoted, max));
        // The closing quote (if any) is copied with the text after it.
        match after.char_indices().nth(1) {
            Some((next, _)) => {
                out.push_str(&after[..next]);
                rest = &after[next..];
            }
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Longest value accepted in a URL path segment: Mistral ids and model names are far shorter.
pub const MAX_PATH_VALUE: usize = 256;
/// Longest value accepted for one query parameter (a search text, a metadata filter).
pub const MAX_QUERY_VALUE: usize = 4096;
/// Longest path plus query accepted, well under what HTTP servers take.
pub const MAX_URL_LEN: usize = 8192;

/// Characters escaped in a path segment: everything that could change the path's shape.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A request struct as the fields it sends. The only generic step between a typed request
/// and the wire: everything after it ([`build_request_from`], `perform`) is compiled once
/// rather than once per operation, which keeps ~290 operations from multiplying the binary.
pub fn request_fields<T: Serialize>(request: &T) -> Result<JsonObject, ToolError> {
    fields_of(serde_json::to_value(request))
}

/// The non-generic rest of [`request_fields`]: collecting into a map sorts, and a sort inside
/// the generic function would be compiled once per request type.
pub(super) fn fields_of(value: Result<Value, serde_json::Error>) -> Result<JsonObject, ToolError> {
    match value {
        // An unset optional field means "not sent": Mistral rejects null for some fields.
        Ok(Value::Object(map)) => Ok(map.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        Ok(_) => Ok(JsonObject::new()),
        Err(e) => Err(ToolError::Internal(format!(
            "cannot serialise request: {e}"
        ))),
    }
}

/// Turns a request struct into an upstream request: `{name}` path segments and query fields
/// are taken out of the serialised struct; what remains is the JSON body.
pub fn build_request<T: Serialize>(
    spec: &OpSpec,
    request: &T,
) -> Result<UpstreamRequest, ToolError> {
    build_request_from(spec, request_fields(request)?)
}

/// [`build_request`] from the request's fields.
pub fn build_request_from(
    spec: &OpSpec,
    mut fields: JsonObject,
) -> Result<UpstreamRequest, ToolError> {
    let mut path = String::with_capacity(spec.path.len() + 32);
    let mut rest = spec.path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        path.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        let value = match fields.remove(name) {
            Some(Value::String(s)) => s,
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(ToolError::InvalidArguments(format!("`{name}` is required"))),
        };
        let value = value.trim();
        if value.is_empty() || value == "." || value == ".." {
            return Err(ToolError::InvalidArguments(format!(
                "`{name}` must be a non-empty id"
            )));
        }
        if value.len() > MAX_PATH_VALUE {
            return Err(ToolError::InvalidArguments(format!(
                "`{name}` is {} bytes long, more than the {MAX_PATH_VALUE} an id can be; pass the id itself",
                value.len()
            )));
        }
        path.extend(utf8_percent_encode(value, SEGMENT));
        rest = &rest[close + 1..];
    }
    path.push_str(rest);

    let mut query = Vec::new();
    let mut url_len = path.len();
    for &name in spec.query {
        let values = match fields.remove(name) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(v) => vec![v],
        };
        for value in values {
            let value = query_value(value);
            if value.len() > MAX_QUERY_VALUE {
                return Err(ToolError::InvalidArguments(format!(
                    "`{name}` is {} bytes long, more than the {MAX_QUERY_VALUE} a query parameter can carry; shorten it",
                    value.len()
                )));
            }
            // Counted before percent-encoding: the bound is on what the agent sent.
            url_len += name.len() + value.len() + 2;
            if url_len > MAX_URL_LEN {
                return Err(ToolError::InvalidArguments(format!(
                    "`{name}` makes the request URL longer than {MAX_URL_LEN} bytes; pass fewer or shorter values"
                )));
            }
            query.push((name.to_string(), value));
        }
    }
    let mut headers = Vec::new();
    for &(name, header) in spec.headers {
        match fields.remove(name) {
            None | Some(Value::Null) => {}
            Some(value) => headers.push((header.to_string(), query_value(value))),
        }
    }
    let body = match spec.body {
        Body::Json => RequestBody::Json(Value::Object(fields)),
        Body::Whole(name) => match fields.remove(name) {
            Some(value) => RequestBody::Json(value),
            None => RequestBody::None,
        },
        // The file part is added by the caller, which reads the file.
        Body::Multipart(_) => RequestBody::Multipart(form_fields(fields)),
        Body::None if fields.is_empty() => RequestBody::None,
        Body::None => {
            let names: Vec<&String> = fields.keys().collect();
            return Err(ToolError::Internal(format!(
                "{}: fields {names:?} have no place in the request",
                spec.id
            )));
        }
    };
    Ok(UpstreamRequest {
        method: spec.method,
        path,
        query,
        headers,
        body,
        auth: spec.auth,
        retry_server_errors: spec.retry_server_errors(),
    })
}

/// Text parts of a form: arrays repeat their field, objects go as JSON.
fn form_fields(fields: JsonObject) -> Vec<(String, FormField)> {
    let mut parts = Vec::new();
    for (name, value) in fields {
        let values = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        for value in values {
            parts.push((name.clone(), FormField::Text(query_value(value))));
        }
    }
    parts
}

fn query_value(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemars::JsonSchema;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        file_id: String,
        page: Option<u32>,
        tags: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    }

    #[test]
    fn path_query_and_body_are_routed() {
        let spec = OpSpec::patch("x", "/v1/files/{file_id}").query(&["page", "tags"]);
        let req = build_request(
            &spec,
            &Sample {
                file_id: "a/b c".into(),
                page: Some(2),
                tags: Some(vec!["t1".into(), "t2".into()]),
                name: Some("n".into()),
            },
        )
        .unwrap();
        assert_eq!(req.path, "/v1/files/a%2Fb%20c");
        assert_eq!(
            req.query,
            vec![
                ("page".into(), "2".into()),
                ("tags".into(), "t1".into()),
                ("tags".into(), "t2".into())
            ]
        );
        match req.body {
            RequestBody::Json(v) => assert_eq!(v, json!({"name": "n"})),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn dot_segments_are_refused() {
        let spec = OpSpec::get("x", "/v1/files/{file_id}").query(&["page", "tags", "name"]);
        let err = build_request(
            &spec,
            &Sample {
                file_id: "..".into(),
                page: None,
                tags: None,
                name: None,
            },
        )
        .unwrap_err();
        assert!(matches!(err, ToolError::InvalidArguments(_)));
    }

    #[test]
    fn url_values_are_bounded_and_named() {
        let spec = OpSpec::get("x", "/v1/files/{file_id}").query(&["page", "tags", "name"]);
        let long_id = Sample {
            file_id: "f".repeat(MAX_PATH_VALUE + 1),
            page: None,
            tags: None,
            name: None,
        };
        let err = build_request(&spec, &long_id).unwrap_err().to_string();
        assert!(err.contains("`file_id`") && err.len() < 300, "{err}");
        let long_tag = Sample {
            file_id: "f".into(),
            page: None,
            tags: Some(vec!["t".repeat(MAX_QUERY_VALUE + 1)]),
            name: None,
        };
        let err = build_request(&spec, &long_tag).unwrap_err().to_string();
        assert!(err.contains("`tags`") && err.len() < 300, "{err}");
        let many_tags = Sample {
            file_id: "f".into(),
            page: None,
            tags: Some(vec!["t".repeat(1000); 10]),
            name: None,
        };
        let err = build_request(&spec, &many_tags).unwrap_err().to_string();
        assert!(err.contains("`tags`"), "{err}");
    }

    #[test]
    fn argument_errors_quote_only_a_prefix_of_values() {
        let huge = "y".repeat(100_000);
        for args in [
            json!({"file_id": "x", "page": huge}),
            json!({"file_id": "x", huge.clone(): 1}),
            json!({"file_id": [huge]}),
            json!({"file_id": format!("{huge}\"`{huge}"), "page": {huge.clone(): huge}}),
        ] {
            let err = parse_arguments::<Sample>(args.as_object().unwrap().clone()).unwrap_err();
            let text = err.to_string();
            assert!(text.len() < 1500, "{} bytes", text.len());
        }
        let err = parse_arguments::<Sample>(
            json!({"file_id": "x", "page": "two"})
                .as_object()
                .unwrap()
                .clone(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"two\""), "{err}");
    }

    #[test]
    fn clip_quoted_cuts_long_spans_only() {
        assert_eq!(clip_quoted("a `bc` \"de\"", 8), "a `bc` \"de\"");
        assert_eq!(clip_quoted("x `abcdef` y", 3), "x `abc…` y");
        assert_eq!(clip_quoted(r#"s "a\"bcdef" t"#, 4), r#"s "a\"b…" t"#);
        assert_eq!(clip_quoted("open `abcdef", 2), "open `ab…");
        assert_eq!(clip_quoted("é`éé`", 2), "é`é…`");
    }

    #[test]
    fn argument_errors_name_the_field() {
        let args = json!({"file_id": "x", "page": "two"});
        let err = parse_arguments::<Sample>(args.as_object().unwrap().clone()).unwrap_err();
        assert!(err.to_string().contains("`page`"), "{err}");
        let args = json!({"file_id": "x", "pgae": 1});
        let err = parse_arguments::<Sample>(args.as_object().unwrap().clone()).unwrap_err();
        assert!(err.to_string().contains("pgae"), "{err}");
        let err = parse_arguments::<Sample>(JsonObject::new()).unwrap_err();
        assert!(err.to_string().contains("file_id"), "{err}");
    }
}
