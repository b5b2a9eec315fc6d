//! Request bodies on `/mcp`, checked before rmcp sees them: a declared `Content-Length`
//! over the limit gets 413 before a byte of the body is read; a body that cannot be read
//! (a broken chunked encoding) gets 400; a body that is not one JSON-RPC 2.0 message gets
//! a JSON-RPC error carrying the request's `id` when it can be read, else `"id": null`.
//!
//! rmcp would answer these with 500 and 415 plain-text bodies that no JSON-RPC client can
//! match to its request.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::ClientJsonRpcMessage;
use serde_json::{Value, json};

/// JSON-RPC 2.0's codes for messages the server cannot take.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;

/// The middleware: buffers a POST body up to `max_body_bytes`, then hands the bytes on.
pub async fn check_body(State(max_body_bytes): State<usize>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(declared) = declared
        && declared > max_body_bytes as u64
    {
        // Answer now, but read and drop what the client is already sending (bounded):
        // closing on unread bytes resets the connection, and the client would see a
        // broken pipe instead of the 413.
        tokio::spawn(discard(req.into_body(), max_body_bytes));
        return too_large(Some(declared), max_body_bytes);
    }
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(e) if is_length_limit(&e) => return too_large(None, max_body_bytes),
        Err(e) => {
            return closing(rpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                PARSE_ERROR,
                format!(
                    "could not read the request body ({e}); send it whole, with a valid \
                     Content-Length or chunked encoding"
                ),
            ));
        }
    };
    if is_json && let Err(response) = check_envelope(&bytes) {
        return *response;
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// How long a refused body is drained before the connection is let go.
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads and drops up to `limit` bytes of a refused body, for at most [`DRAIN_FOR`].
async fn discard(body: Body, limit: usize) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut seen = 0usize;
    let _ = tokio::time::timeout(DRAIN_FOR, async {
        while seen <= limit {
            match body.frame().await {
                Some(Ok(frame)) => {
                    seen += frame.data_ref().map_or(0, |d| d.len());
                }
                _ => break,
            }
        }
    })
    .await;
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

fn too_large(declared: Option<u64>, max_body_bytes: usize) -> Response {
    let size = declared.map_or_else(
        || "the request body".to_string(),
        |n| format!("a body of {n} bytes"),
    );
    closing(rpc_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        Value::Null,
        INVALID_REQUEST,
        format!(
            "{size} is over this server's limit of {max_body_bytes} bytes; send a smaller \
             request (large documents: upload the file and pass its id) or raise \
             [http] max_body_mb"
        ),
    ))
}

/// `Ok` when rmcp can take the body as one message; otherwise the error to answer with.
fn check_envelope(bytes: &[u8]) -> Result<(), Box<Response>> {
    let typed = match serde_json::from_slice::<ClientJsonRpcMessage>(bytes) {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Box::new(rpc_error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            PARSE_ERROR,
            format!("the body is not valid JSON: {e}"),
        ))
    })?;
    let invalid = |id: Value, code: i64, message: String| {
        Box::new(rpc_error(StatusCode::BAD_REQUEST, id, code, message))
    };
    let Value::Object(message) = value else {
        return Err(invalid(
            Value::Null,
            INVALID_REQUEST,
            "send one JSON-RPC 2.0 message object per request (batches are not supported)"
                .to_string(),
        ));
    };
    // JSON-RPC 2.0: the request's id when it can be read, else null.
    let id = match message.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id.clone(),
        _ => Value::Null,
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(
            id,
            INVALID_REQUEST,
            "`jsonrpc` must be \"2.0\"".to_string(),
        ));
    }
    match message.get("method").and_then(Value::as_str) {
        Some(method) => Err(invalid(
            id,
            INVALID_PARAMS,
            format!("invalid message for `{method}`: {typed}"),
        )),
        None => Err(invalid(
            id,
            INVALID_REQUEST,
            format!("not a JSON-RPC request, notification or response: {typed}"),
        )),
    }
}

fn rpc_error(status: StatusCode, id: Value, code: i64, message: String) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

/// For answers sent before the body was read whole: what is left of it may still be on
/// the wire, so the connection cannot carry another request.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope_error(body: &str) -> Value {
        let response = check_envelope(body.as_bytes()).unwrap_err();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let bytes =
            futures::executor::block_on(axum::body::to_bytes((*response).into_body(), usize::MAX))
                .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn errors_carry_the_id_when_readable_else_null() {
        let e = envelope_error(r#"{"jsonrpc":"1.0","id":7,"method":"tools/list"}"#);
        assert_eq!(e["id"], 7);
        assert_eq!(e["error"]["code"], INVALID_REQUEST);
        let e = envelope_error(r#"{"jsonrpc":"1.0","id":{"x":1},"method":"tools/list"}"#);
        assert!(e.as_object().unwrap().contains_key("id") && e["id"].is_null());
        let e = envelope_error("{not json");
        assert_eq!(e["error"]["code"], PARSE_ERROR);
        assert!(e["id"].is_null());
        let e = envelope_error("[]");
        assert!(e["id"].is_null());
        let e = envelope_error(r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":5}"#);
        assert_eq!(e["id"], "a");
        assert_eq!(e["error"]["code"], INVALID_PARAMS);
    }

    #[test]
    fn valid_messages_pass() {
        assert!(check_envelope(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).is_ok());
        assert!(check_envelope(br#"{"jsonrpc":"2.0","id":1,"method":"x/custom"}"#).is_ok());
        assert!(
            check_envelope(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).is_ok()
        );
    }
}
