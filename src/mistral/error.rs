//! What can go wrong upstream, and how it is told to an agent.
//!
//! Mistral answers errors in half a dozen shapes (see `notes/mistral-api.md` §3.4): a
//! documented `{message,type,param,code}`, 422 `detail[]` lists (bare or wrapped in
//! `message`), gateway `{detail:"…"}`, observability `{detail:{message,error_code}}`.
//! [`ApiErrorBody::parse`] reads all of them leniently; [`UpstreamError`]'s `Display` turns
//! the result into one actionable paragraph: what failed, Mistral's words, what to change.

use std::time::Duration;

use serde_json::Value;

/// The parts of a Mistral error body worth showing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiErrorBody {
    pub message: Option<String>,
    pub error_type: Option<String>,
    pub code: Option<String>,
    pub param: Option<String>,
    /// Field-level problems from a 422, as `location: message`.
    pub field_errors: Vec<String>,
}

impl ApiErrorBody {
    /// Reads any of the known error shapes; falls back to the raw text (cut short).
    pub fn parse(body: &[u8]) -> Self {
        let Ok(json) = serde_json::from_slice::<Value>(body) else {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            return Self {
                message: (!text.is_empty()).then(|| truncate(text, 500)),
                ..Self::default()
            };
        };
        let mut out = Self::default();
        out.absorb(&json);
        if out.message.is_none() && out.field_errors.is_empty() {
            out.message = Some(truncate(&json.to_string(), 500));
        }
        out
    }

    fn absorb(&mut self, v: &Value) {
        let Some(obj) = v.as_object() else {
            if let Some(s) = v.as_str() {
                self.message.get_or_insert_with(|| s.to_string());
            }
            return;
        };
        for key in ["message", "detail", "description", "error"] {
            match obj.get(key) {
                Some(Value::String(s)) if !s.is_empty() => {
                    self.message.get_or_insert_with(|| s.clone());
                }
                Some(Value::Array(items)) => self.absorb_detail_list(items),
                Some(nested @ Value::Object(_)) => self.absorb(nested),
                _ => {}
            }
        }
        if let Some(t) = obj.get("type").and_then(Value::as_str) {
            self.error_type.get_or_insert_with(|| t.to_string());
        }
        for key in ["code", "error_code"] {
            match obj.get(key) {
                Some(Value::String(s)) => {
                    self.code.get_or_insert_with(|| s.clone());
                }
                Some(Value::Number(n)) => {
                    self.code.get_or_insert_with(|| n.to_string());
                }
                _ => {}
            }
        }
        if let Some(p) = obj.get("param").and_then(Value::as_str) {
            self.param.get_or_insert_with(|| p.to_string());
        }
        if let Some(Value::Array(errors)) = obj.get("errors") {
            self.absorb_detail_list(errors);
        }
    }

    /// FastAPI's `[{loc:[…], msg, type}]`, and the files API's `[{message, line_number}]`.
    fn absorb_detail_list(&mut self, items: &[Value]) {
        for item in items.iter().take(10) {
            let msg = item
                .get("msg")
                .or_else(|| item.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("invalid value");
            let loc = match item.get("loc").and_then(Value::as_array) {
                Some(parts) => parts
                    .iter()
                    .filter(|p| p.as_str() != Some("body"))
                    .map(|p| match p {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("."),
                None => match item.get("line_number") {
                    Some(n) => format!("line {n}"),
                    None => String::new(),
                },
            };
            self.field_errors.push(if loc.is_empty() {
                msg.to_string()
            } else {
                format!("{loc}: {msg}")
            });
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A failed upstream call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error(
        "No Mistral API key is configured on this server, so no Mistral call can be made. \
         Set the MISTRAL_API_KEY environment variable in the MCP client's server config, \
         or start the server with --api-key-file <path> (or MISTRAL_API_KEY_FILE), \
         or set [mistral] api_key_file in the config file; then restart the server."
    )]
    NoApiKey,
    #[error(
        "This is an admin operation and needs the organization's admin API key, which this \
         server does not have. Create one in the admin console, then set \
         MISTRAL_ADMIN_API_KEY (or --admin-api-key-file, or [mistral] admin_api_key_file) \
         and restart the server."
    )]
    NoAdminKey,
    #[error("{}", describe_status(*status, body, *retry_after, *attempts))]
    Status {
        status: u16,
        body: Box<ApiErrorBody>,
        retry_after: Option<Duration>,
        attempts: u32,
    },
    #[error(
        "Mistral did not answer within {}s (after {attempts} attempt(s)). Large documents and \
         long generations can need more: raise the timeout (--timeout-secs / [mistral] \
         timeout_secs), ask for fewer pages or tokens, or use streaming.",
        timeout.as_secs()
    )]
    Timeout { timeout: Duration, attempts: u32 },
    #[error(
        "The stream from Mistral went silent for {}s and was abandoned. Try again; if it \
         keeps happening raise [mistral] stream_idle_timeout_secs.",
        idle.as_secs()
    )]
    StreamIdle { idle: Duration },
    #[error(
        "Could not reach Mistral at {base_url} after {attempts} attempt(s): {reason}. Check \
         the network and MISTRAL_BASE_URL."
    )]
    Connect {
        base_url: String,
        reason: String,
        attempts: u32,
    },
    #[error("Mistral's answer could not be read: {0}")]
    Decode(String),
    #[error("{}", describe_too_large(*limit, *size))]
    ResponseTooLarge {
        /// The configured cap, `[mistral] max_response_mb`.
        limit: u64,
        /// The size Mistral announced in Content-Length, when it did.
        size: Option<u64>,
    },
    #[error(
        "Mistral sent a stream event larger than this server accepts ({limit} bytes, \
         [mistral] max_stream_event_kb), so the stream was abandoned. Ask for a shorter \
         answer (lower max_tokens), call without streaming, or ask the operator to raise the \
         limit."
    )]
    StreamEventTooLarge { limit: usize },
    #[error("The call was cancelled by the client before Mistral answered.")]
    Cancelled,
}

impl UpstreamError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short machine-readable kind for `structuredContent`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoApiKey => "no_api_key",
            Self::NoAdminKey => "no_admin_key",
            Self::Status { status: 429, .. } => "rate_limited",
            Self::Status {
                status: 401 | 403, ..
            } => "unauthorized",
            Self::Status { status: 404, .. } => "not_found",
            Self::Status {
                status: 400 | 409 | 413 | 415 | 422,
                ..
            } => "invalid_request",
            Self::Status { .. } => "upstream_error",
            Self::Timeout { .. } | Self::StreamIdle { .. } => "timeout",
            Self::Connect { .. } => "unreachable",
            Self::Decode(_) => "bad_response",
            Self::ResponseTooLarge { .. } | Self::StreamEventTooLarge { .. } => "too_large",
            Self::Cancelled => "cancelled",
        }
    }
}

fn describe_status(
    status: u16,
    body: &ApiErrorBody,
    retry_after: Option<Duration>,
    attempts: u32,
) -> String {
    let mut out = format!("Mistral returned HTTP {status}");
    if let Some(reason) = http_reason(status) {
        out.push_str(&format!(" {reason}"));
    }
    if let Some(m) = &body.message {
        out.push_str(&format!(": {m}"));
    }
    let mut tags = Vec::new();
    if let Some(t) = &body.error_type {
        tags.push(format!("type {t}"));
    }
    if let Some(c) = &body.code {
        tags.push(format!("code {c}"));
    }
    if let Some(p) = &body.param {
        tags.push(format!("param {p}"));
    }
    if !tags.is_empty() {
        out.push_str(&format!(" ({})", tags.join(", ")));
    }
    out.push('.');
    if !body.field_errors.is_empty() {
        out.push_str(" Problems: ");
        out.push_str(&body.field_errors.join("; "));
        out.push('.');
    }
    let advice = match status {
        400 | 422 => {
            "Fix the arguments named above and call again; Mistral rejects unknown or \
             misspelled fields."
        }
        401 => {
            "The server's Mistral API key was rejected: the server operator must set a valid \
             MISTRAL_API_KEY (the key is never taken from the client)."
        }
        403 => {
            "The server's Mistral API key is not allowed to do this (plan, workspace role or \
             region); use another model or operation, or ask the operator."
        }
        404 => {
            "Check the id or model name; the matching list tool (for example files_list or \
             models_list) shows valid ones."
        }
        409 => "The resource is in a state that does not allow this; read it again first.",
        413 => "The request is too large; send a smaller document or fewer inputs.",
        429 => "Mistral is rate limiting this key; wait before calling again.",
        500..=599 => "This is a temporary Mistral-side failure; try again shortly.",
        _ => "",
    };
    if !advice.is_empty() {
        out.push(' ');
        out.push_str(advice);
    }
    if let Some(wait) = retry_after {
        out.push_str(&format!(" Retry after {}s.", wait.as_secs().max(1)));
    }
    if attempts > 1 {
        out.push_str(&format!(" ({attempts} attempts were made.)"));
    }
    out
}

fn describe_too_large(limit: u64, size: Option<u64>) -> String {
    let size = match size {
        Some(n) => format!("{n} bytes, "),
        None => String::new(),
    };
    format!(
        "Mistral's answer ({size}more than the {limit} bytes this server holds for one result, \
         [mistral] max_response_mb) was not read. Ask for less: page lists with a smaller \
         page_size, narrow the request (fewer pages, documents or inputs; no embedded images), \
         or for file contents use files_download with save_to. The operator can raise \
         [mistral] max_response_mb."
    )
}

fn http_reason(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_shape() {
        let b = ApiErrorBody::parse(
            br#"{"object":"error","message":"Invalid model: foo","type":"invalid_request_error","param":"model","code":"1500"}"#,
        );
        assert_eq!(b.message.as_deref(), Some("Invalid model: foo"));
        assert_eq!(b.error_type.as_deref(), Some("invalid_request_error"));
        assert_eq!(b.code.as_deref(), Some("1500"));
        assert_eq!(b.param.as_deref(), Some("model"));
    }

    #[test]
    fn wrapped_422_detail() {
        let b = ApiErrorBody::parse(
            br#"{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","max_completion_tokens"],"msg":"Extra inputs are not permitted","input":5}]},"type":"invalid_request_error","param":null,"code":null}"#,
        );
        assert_eq!(
            b.field_errors,
            vec!["max_completion_tokens: Extra inputs are not permitted"]
        );
        assert_eq!(b.error_type.as_deref(), Some("invalid_request_error"));
    }

    #[test]
    fn bare_detail_and_gateway_shapes() {
        let b = ApiErrorBody::parse(
            br#"{"detail":[{"loc":["body","messages",0,"role"],"msg":"bad role","type":"x"}]}"#,
        );
        assert_eq!(b.field_errors, vec!["messages.0.role: bad role"]);
        let b = ApiErrorBody::parse(br#"{"detail":"Unauthorized"}"#);
        assert_eq!(b.message.as_deref(), Some("Unauthorized"));
        let b = ApiErrorBody::parse(
            br#"{"detail":{"message":"no such dataset","error_code":"DATASET_NOT_FOUND"}}"#,
        );
        assert_eq!(b.message.as_deref(), Some("no such dataset"));
        assert_eq!(b.code.as_deref(), Some("DATASET_NOT_FOUND"));
        let b = ApiErrorBody::parse(b"<html>bad gateway</html>");
        assert_eq!(b.message.as_deref(), Some("<html>bad gateway</html>"));
    }

    #[test]
    fn rate_limit_message_is_actionable() {
        let e = UpstreamError::Status {
            status: 429,
            body: Box::new(ApiErrorBody::parse(
                br#"{"message":"Rate limit exceeded","type":"rate_limited","code":"1300"}"#,
            )),
            retry_after: Some(Duration::from_secs(7)),
            attempts: 4,
        };
        let text = e.to_string();
        assert!(text.contains("429"), "{text}");
        assert!(text.contains("Rate limit exceeded"), "{text}");
        assert!(text.contains("Retry after 7s"), "{text}");
        assert_eq!(e.kind(), "rate_limited");
    }
}
