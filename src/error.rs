//! Why a tool call failed. Every [`ToolError`] becomes a tool result with `isError: true`, an
//! actionable message (capped, and never a dump of what the agent sent) and a structured
//! `error` with its kind, HTTP status and retry delay when known. A leaf: operations, local
//! files and the server all report through it.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::json;

use crate::mistral::UpstreamError;

/// Cap on any tool error message.
const MAX_ERROR_MESSAGE: usize = 2048;

/// At most `max` bytes of `text`, cut at a character boundary and marked with `…` when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Why a tool call failed. Every variant becomes a tool result with `isError: true`.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error(
        "Invalid arguments: {0}. Check the tool's input schema (describe_tools shows it) and call again."
    )]
    InvalidArguments(String),
    #[error("{0}")]
    Upstream(#[from] UpstreamError),
    #[error("{0}")]
    LocalFile(String),
    #[error("{0}")]
    NotAllowed(String),
    /// The call ran past the server's per-call time budget.
    #[error("{0}")]
    OverBudget(String),
    /// The caller's daily token or request budget is spent.
    #[error("{0}")]
    OverDailyBudget(String),
    /// A check that must not be skipped (a daily budget) could not reach the state store.
    #[error("{0}")]
    StateUnavailable(String),
    #[error("Internal error in mistral-mcp: {0}. This is a bug; please report it.")]
    Internal(String),
}

impl ToolError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidArguments(_) => "invalid_arguments",
            Self::Upstream(e) => e.kind(),
            Self::LocalFile(_) => "local_file",
            Self::NotAllowed(_) => "not_allowed",
            Self::OverBudget(_) => "over_budget",
            Self::OverDailyBudget(_) => "over_daily_budget",
            Self::StateUnavailable(_) => "state_unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn into_result(self) -> CallToolResult {
        // Messages can quote what the agent sent (a path, an id); an error is never a dump.
        let message = clip(&self.to_string(), MAX_ERROR_MESSAGE);
        let mut error = json!({ "kind": self.kind(), "message": message });
        if let Self::Upstream(e) = &self {
            if let Some(status) = e.status() {
                error["status"] = json!(status);
            }
            if let Some(wait) = e.retry_after() {
                error["retry_after_secs"] = json!(wait.as_secs().max(1));
            }
        }
        let mut result = CallToolResult::error(vec![ContentBlock::text(message)]);
        result.structured_content = Some(json!({ "error": error }));
        result
    }
}

impl From<crate::state::Refusal> for ToolError {
    fn from(r: crate::state::Refusal) -> Self {
        match r {
            crate::state::Refusal::OverBudget(m) => Self::OverDailyBudget(m),
            crate::state::Refusal::Unavailable(m) => Self::StateUnavailable(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_capped() {
        let err = ToolError::LocalFile(format!("Cannot read {}: no such file", "p".repeat(10_000)));
        let result = err.into_result();
        let text = &result.content[0].as_text().unwrap().text;
        assert!(text.len() <= MAX_ERROR_MESSAGE + 3, "{}", text.len());
        let message = result.structured_content.unwrap()["error"]["message"].clone();
        assert_eq!(message.as_str(), Some(text.as_str()));
    }
}
