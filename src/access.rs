//! Who is calling and what they may do: the [`Grant`] an HTTP authentication layer
//! attaches to each request (from a static token or an OAuth access token), and the one
//! check every tool call passes through.
//!
//! stdio has no grant: the person who launched the binary owns it, so everything the
//! server exposes is allowed and the server's own Mistral key is used.

use std::collections::BTreeSet;

use secrecy::SecretString;

use crate::catalog::ToolDef;

/// What one authenticated caller may do. Cheap to clone behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The static token's name or the JWT subject: for logs and metrics, never a secret.
    pub principal: String,
    /// Toolsets this caller may use; `None` means every toolset the server exposes.
    pub toolsets: Option<BTreeSet<String>>,
    /// Only tools that change nothing upstream.
    pub read_only: bool,
    /// This caller's own Mistral key (the server-side vault); `None` uses the server's key.
    pub mistral_api_key: Option<SecretString>,
    /// Requests per minute this caller may make to `/mcp`; `None` means unlimited.
    pub rate_limit_per_minute: Option<u32>,
}

impl Grant {
    /// A grant that allows everything, for callers that authenticated with a
    /// full-access credential.
    pub fn full(principal: impl Into<String>) -> Self {
        Self {
            principal: principal.into(),
            toolsets: None,
            read_only: false,
            mistral_api_key: None,
            rate_limit_per_minute: None,
        }
    }

    /// Whether this caller may run `tool`.
    pub fn allows(&self, tool: &ToolDef) -> bool {
        self.toolsets
            .as_ref()
            .is_none_or(|sets| sets.contains(&tool.toolset))
            && (!self.read_only || tool.spec().read_only())
    }

    /// Why this caller may not run `tool`, or `None` when it may.
    pub fn refusal(&self, tool: &ToolDef) -> Option<String> {
        if let Some(sets) = &self.toolsets
            && !sets.contains(&tool.toolset)
        {
            let allowed: Vec<&str> = sets.iter().map(String::as_str).collect();
            return Some(format!(
                "`{}` is in toolset `{}`, which the credential `{}` may not use (allowed: {}). \
                 Ask the server operator to widen the credential, or use a tool from an allowed toolset.",
                tool.name,
                tool.toolset,
                self.principal,
                allowed.join(", ")
            ));
        }
        if self.read_only && !tool.spec().read_only() {
            return Some(format!(
                "`{}` changes data on Mistral, and the credential `{}` is read-only. \
                 Use a read-only tool, or ask the server operator for a credential that may write.",
                tool.name, self.principal
            ));
        }
        None
    }
}

/// The id of one HTTP request (the caller's `X-Request-Id` or a generated one), carried
/// into tool-call log lines so a call can be traced through a proxy.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);
