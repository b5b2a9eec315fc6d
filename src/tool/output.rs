//! A tool's successful result: Mistral's JSON (always an object, for clients that need one),
//! an optional readable summary, extra content blocks, notices from Mistral's headers, and
//! `next_page` arguments for paged lists.

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Resource};
use serde_json::{Value, json};

use super::context::CallContext;
use crate::error::ToolError;
use crate::mistral::UpstreamResponse;

/// A tool's successful result.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// Readable text for the agent. When absent, the JSON itself is the text.
    pub summary: Option<String>,
    /// The JSON for `structuredContent`; always an object.
    pub structured: Value,
    /// Extra content blocks (audio, embedded resources).
    pub extra: Vec<ContentBlock>,
}

impl ToolOutput {
    pub fn json(value: Value) -> Self {
        Self {
            summary: None,
            structured: object_root(value),
            extra: Vec::new(),
        }
    }

    pub fn with_summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }

    /// For cursor-paged lists: adds `next_page` (the arguments for the next call) when Mistral
    /// returned a non-empty `next_page_token`.
    pub fn with_next_page_token(mut self, page_size: Option<u32>) -> Self {
        let token = self
            .structured
            .get("next_page_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if let (Some(token), Value::Object(o)) = (token, &mut self.structured) {
            let mut next = json!({ "page_token": token });
            if let Some(size) = page_size {
                next["page_size"] = json!(size);
            }
            o.insert("next_page".into(), next);
        }
        self
    }

    /// For page-numbered lists: adds `next_page` (the arguments for the next call) when more
    /// items remain, judged by `pagination.has_more` or `total` when Mistral sends them, else
    /// by a full page.
    pub fn with_next_page(mut self, page: u32, page_size: u32) -> Self {
        let shown = first_list_len(&self.structured) as u64;
        let has_more = self
            .structured
            .pointer("/pagination/has_more")
            .and_then(Value::as_bool);
        let total = self.structured.get("total").and_then(Value::as_u64);
        let size = u64::from(page_size);
        let more = match (has_more, total) {
            (Some(more), _) => more,
            (None, Some(total)) => (u64::from(page) + 1) * size < total,
            (None, None) => size > 0 && shown >= size,
        };
        if more && let Value::Object(o) = &mut self.structured {
            o.insert(
                "next_page".into(),
                json!({ "page": page + 1, "page_size": page_size }),
            );
        }
        self
    }

    /// For cursor-paged lists: adds `next_page` (the arguments for the next call: `param`
    /// set to the answer's non-empty `next` field, found at its top or one object down).
    pub fn with_next_cursor(mut self, param: &str, next: &str, size: Option<(&str, u32)>) -> Self {
        let cursor = next_cursor(&self.structured, next).map(str::to_string);
        if let (Some(cursor), Value::Object(o)) = (cursor, &mut self.structured) {
            let mut args = json!({ param: cursor });
            if let Some((name, size)) = size {
                args[name] = json!(size);
            }
            o.insert("next_page".into(), args);
        }
        self
    }

    /// Mistral's JSON answer, with any deprecation or rate-limit notices attached.
    pub fn from_response(
        response: &UpstreamResponse,
        ctx: &CallContext,
    ) -> Result<Self, ToolError> {
        let value = response.json().map_err(ToolError::Upstream)?;
        let mut out = Self::json(value);
        if !response.notices.is_empty() {
            let notices: JsonObject = response
                .notices
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(ctx.client.redact(v))))
                .collect();
            if let Value::Object(obj) = &mut out.structured {
                obj.insert("_mistral_headers".into(), Value::Object(notices));
            }
        }
        Ok(out)
    }

    pub fn into_result(self) -> CallToolResult {
        let (text, structured) = match self.summary {
            Some(s) => (s, Some(self.structured)),
            None => {
                let text = self.structured.to_string();
                // A large result is sent once, as text: structuredContent would repeat it,
                // doubling both the memory held and the message (no tool declares an
                // output schema, so structuredContent is optional).
                let structured =
                    (text.len() <= MAX_DUPLICATED_RESULT_BYTES).then_some(self.structured);
                (text, structured)
            }
        };
        let mut content = vec![ContentBlock::text(text)];
        content.extend(self.extra);
        let mut result = CallToolResult::success(content);
        result.structured_content = structured;
        result
    }
}

/// Results whose JSON text is larger than this are not repeated in `structuredContent`.
pub const MAX_DUPLICATED_RESULT_BYTES: usize = 1024 * 1024;

/// Length of a list answer's items: `data`, else the first array at the top or one object
/// down (`{"campaigns": [...]}`, `{"completion_events": {"results": [...]}}`).
fn first_list_len(value: &Value) -> usize {
    if let Some(items) = value.get("data").and_then(Value::as_array) {
        return items.len();
    }
    let Some(obj) = value.as_object() else {
        return 0;
    };
    obj.values()
        .find_map(Value::as_array)
        .or_else(|| {
            obj.values()
                .filter_map(Value::as_object)
                .find_map(|inner| inner.values().find_map(Value::as_array))
        })
        .map_or(0, Vec::len)
}

/// The cursor of the next page: the `field` at the top or one object down.
fn next_cursor<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    let found = |v: &'a Value| {
        v.get(field)
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
    };
    found(value).or_else(|| {
        value
            .as_object()?
            .values()
            .filter(|v| v.is_object())
            .find_map(found)
    })
}

/// Legacy MCP clients only accept object `structuredContent`; lists and scalars are wrapped.
fn object_root(value: Value) -> Value {
    match value {
        Value::Object(_) => value,
        Value::Null => json!({}),
        Value::Array(items) => json!({ "data": items }),
        other => json!({ "value": other }),
    }
}

/// The `mistral://` URI of an uploaded file's content, which `resources/read` serves.
pub fn file_content_uri(file_id: &str) -> String {
    format!("mistral://files/{file_id}/content")
}

/// A resource link to an uploaded file's content: a result names the file instead of
/// inlining it, and the client reads it when it wants it.
pub fn file_content_link(file_id: &str, name: &str, mime: Option<&str>) -> ContentBlock {
    let mut resource = Resource::new(file_content_uri(file_id), name);
    if let Some(m) = mime {
        resource = resource.with_mime_type(m);
    }
    ContentBlock::resource_link(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_cursor_is_found_by_its_name_and_handed_back_as_the_argument() {
        let out = ToolOutput::json(json!({"data": [1, 2], "nextPageToken": "t2"}))
            .with_next_cursor("pageToken", "nextPageToken", Some(("pageSize", 2)));
        assert_eq!(
            out.structured["next_page"],
            json!({"pageToken": "t2", "pageSize": 2})
        );
        let nested = ToolOutput::json(json!({"spans": {"results": [], "next_cursor": "c9"}}))
            .with_next_cursor("cursor", "next_cursor", None);
        assert_eq!(nested.structured["next_page"], json!({"cursor": "c9"}));
        let last = ToolOutput::json(json!({"data": [], "next_cursor": ""})).with_next_cursor(
            "cursor",
            "next_cursor",
            None,
        );
        assert!(last.structured.get("next_page").is_none());
    }
}
