//! The MCP server: what `tools/list` shows and how `tools/call` runs.
//!
//! [`McpServer`] is cheap to clone (one `Arc`), so the stateless HTTP transport can build
//! one per request. Everything a call needs (the filtered tool set, the listing, the
//! search index) is computed once at start-up; a call does a map lookup, parses its
//! arguments into the typed request and runs it.
//!
//! Two error channels: a bad argument or a failed upstream call is a tool result with
//! `isError` and an actionable message; an unknown tool name is a JSON-RPC error.

mod meta;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use tokio_util::sync::CancellationToken;

use crate::catalog::{Catalog, ToolDef};
use crate::config::{Config, ToolMode};
use crate::localfs::LocalFiles;
use crate::mistral::MistralClient;
use crate::ops::{CallContext, ProgressSink, ToolError};
use crate::search::{SearchDoc, SearchIndex};

pub use meta::{META_CALL, META_DESCRIBE, META_SEARCH};

struct Shared {
    catalog: Catalog,
    /// Indexes into `catalog.tools` of the tools this server exposes (enabled, in the
    /// chosen toolsets, read-only if asked).
    exposed: HashMap<String, usize>,
    listed: Arc<Vec<Tool>>,
    meta_tools: Vec<Tool>,
    search: SearchIndex,
    mode: ToolMode,
    read_only: bool,
    client: Arc<MistralClient>,
    files: Arc<LocalFiles>,
}

/// The mistral-mcp MCP server.
#[derive(Clone)]
pub struct McpServer {
    shared: Arc<Shared>,
}

impl McpServer {
    pub fn new(config: &Config, catalog: Catalog) -> anyhow::Result<Self> {
        catalog.check_toolsets(&config.tools.toolsets)?;
        let client = Arc::new(MistralClient::new(&config.upstream)?);
        let files = Arc::new(LocalFiles::new(&config.files));
        let wanted = &config.tools.toolsets;
        let read_only = config.tools.read_only;
        let mut exposed = HashMap::new();
        let mut docs = Vec::new();
        for (i, t) in catalog.tools.iter().enumerate() {
            let in_toolset = wanted.is_empty() || wanted.contains(&t.toolset);
            if t.enabled && in_toolset && (!read_only || t.spec().read_only()) {
                exposed.insert(t.name.clone(), i);
                docs.push(search_doc(t));
            }
        }
        let search = SearchIndex::build(&docs);
        let meta_tools = meta::tools(config.tools.mode);
        let mut listed: Vec<Tool> = match config.tools.mode {
            ToolMode::All => catalog
                .tools
                .iter()
                .filter(|t| exposed.contains_key(&t.name))
                .map(ToolDef::to_tool)
                .collect(),
            ToolMode::Dynamic => Vec::new(),
        };
        listed.extend(meta_tools.iter().cloned());
        Ok(Self {
            shared: Arc::new(Shared {
                catalog,
                exposed,
                listed: Arc::new(listed),
                meta_tools,
                search,
                mode: config.tools.mode,
                read_only,
                client,
                files,
            }),
        })
    }

    /// The tools `tools/list` returns.
    pub fn listed_tools(&self) -> &[Tool] {
        &self.shared.listed
    }

    pub fn catalog(&self) -> &Catalog {
        &self.shared.catalog
    }

    pub fn search_index(&self) -> &SearchIndex {
        &self.shared.search
    }

    /// A tool this server will run, by name.
    pub fn exposed_tool(&self, name: &str) -> Option<&ToolDef> {
        self.shared
            .exposed
            .get(name)
            .and_then(|&i| self.shared.catalog.tools.get(i))
    }

    /// A call context with no MCP peer: for the `call` subcommand and tests.
    pub fn detached_context(&self, cancel: CancellationToken) -> CallContext {
        CallContext {
            client: self.shared.client.clone(),
            files: self.shared.files.clone(),
            cancel,
            progress: None,
        }
    }

    /// Runs a tool by name. `None` when no such tool is exposed.
    pub async fn call(
        &self,
        name: &str,
        args: JsonObject,
        ctx: CallContext,
    ) -> Option<CallToolResult> {
        if let Some(result) = self.call_meta(name, &args, &ctx).await {
            return Some(result);
        }
        let tool = self.exposed_tool(name)?;
        Some(self.run_tool(tool, args, ctx).await)
    }

    async fn run_tool(&self, tool: &ToolDef, args: JsonObject, ctx: CallContext) -> CallToolResult {
        let started = Instant::now();
        let outcome = tool.op.invoke(args, ctx).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(output) => {
                tracing::info!(tool = %tool.name, elapsed_ms, outcome = "ok", "tool call");
                output.into_result()
            }
            Err(err) => {
                tracing::info!(tool = %tool.name, elapsed_ms, outcome = err.kind(), "tool call failed");
                redact_result(err, &self.shared.client)
            }
        }
    }
}

/// Error text passes through the client's redaction before it reaches the agent.
fn redact_result(err: ToolError, client: &MistralClient) -> CallToolResult {
    let mut result = err.into_result();
    for block in &mut result.content {
        if let Some(text) = block.as_text() {
            let clean = client.redact(&text.text);
            if clean != text.text {
                *block = rmcp::model::ContentBlock::text(clean);
            }
        }
    }
    result
}

fn search_doc(t: &ToolDef) -> SearchDoc {
    SearchDoc {
        name: t.name.clone(),
        title: t.title.clone(),
        description: t.description.clone(),
        keywords: t.keywords.clone(),
        toolset: t.toolset.clone(),
        method: t.spec().method.as_str().to_string(),
        path: t.spec().path.to_string(),
    }
}

const INSTRUCTIONS_ALL: &str = "Tools for the Mistral AI API: chat, code completion, embeddings, moderation, OCR, files, models, \
agents and conversations, batch and fine-tuning jobs, document libraries, audio. Long jobs have *_wait tools that report progress. \
Not sure which tool fits? Call search_tools with what you want to do.";
const INSTRUCTIONS_DYNAMIC: &str = "Tools for the Mistral AI API, reached through three tools: search_tools finds the tool for a task, \
describe_tools shows its input schema, call_tool runs it.";

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let instructions = match self.shared.mode {
            ToolMode::All => INSTRUCTIONS_ALL,
            ToolMode::Dynamic => INSTRUCTIONS_DYNAMIC,
        };
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "mistral-mcp",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(instructions)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(
            (*self.shared.listed).clone(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        if let Some(t) = self.shared.meta_tools.iter().find(|t| t.name == name) {
            return Some(t.clone());
        }
        self.exposed_tool(name).map(ToolDef::to_tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let progress = context
            .meta
            .get_progress_token()
            .map(|token| ProgressSink::new(context.peer.clone(), token));
        let ctx = CallContext {
            client: self.shared.client.clone(),
            files: self.shared.files.clone(),
            cancel: context.ct.clone(),
            progress,
        };
        let name = request.name.as_ref();
        let args = request.arguments.unwrap_or_default();
        match self.call(name, args, ctx).await {
            Some(result) => Ok(result.into()),
            None => Err(self.unknown_tool(name)),
        }
    }
}

impl McpServer {
    fn unknown_tool(&self, name: &str) -> McpError {
        let why = if self.shared.catalog.get(name).is_some() {
            if self.shared.read_only {
                "it is disabled on this server (read-only mode or toolset filter)"
            } else {
                "it is disabled on this server"
            }
        } else {
            "no tool has that name"
        };
        let suggestions: Vec<String> = self
            .shared
            .search
            .search(name, 3)
            .into_iter()
            .map(|h| h.name)
            .collect();
        let hint = if suggestions.is_empty() {
            "Call tools/list or search_tools to find tools.".to_string()
        } else {
            format!("Did you mean: {}?", suggestions.join(", "))
        };
        McpError::invalid_params(format!("unknown tool `{name}`: {why}. {hint}"), None)
    }
}
