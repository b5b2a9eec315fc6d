//! The MCP server: what `tools/list` shows and how `tools/call` runs.
//!
//! [`McpServer`] is cheap to clone (one `Arc`), so the stateless HTTP transport can build
//! one per request. Everything a call needs (the filtered tool set, the listing, the
//! search index) is computed once at start-up; a call does a map lookup, parses its
//! arguments into the typed request and runs it.
//!
//! Two error channels: a bad argument or a failed upstream call is a tool result with
//! `isError` and an actionable message; an unknown tool name is a JSON-RPC error.

mod artifacts;
mod complete;
mod meta;
mod prompts;
mod resources;
mod tasks;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams,
    CompleteRequestParams, CompleteResult, GetPromptRequestParams, GetPromptResponse,
    GetTaskParams, GetTaskResult, Implementation, JsonObject, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig, Tool,
    UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use tokio_util::sync::CancellationToken;

use crate::access::{Grant, RequestId};
use crate::catalog::{Catalog, ToolDef};
use crate::config::{CORE_TOOLSETS, Config, ResultText, ToolMode};
use crate::localfs::LocalFiles;
use crate::mistral::MistralClient;
use crate::search::{SearchDoc, SearchIndex, Weights};
use crate::state::StateStore;
use crate::tool::compact::{self, ResultPolicy};
use crate::tool::{CallContext, ProgressSink, ToolError, ToolOutput, select};

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
    call_budget: Duration,
    max_wait: Duration,
    result_text: ResultText,
    max_result_tokens: usize,
    client: Arc<MistralClient>,
    files: Arc<LocalFiles>,
    completions: complete::CompletionCache,
    runners: tasks::LocalRunners,
    state: StateStore,
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
        // Admin tools exist only for a server given the organization's admin key.
        let admin = client.has_admin_api_key();
        let mut exposed = HashMap::new();
        let mut docs = Vec::new();
        for (i, t) in catalog.tools.iter().enumerate() {
            let in_toolset = wanted.is_empty() || wanted.contains(&t.toolset);
            let keyed = admin || t.toolset != ADMIN_TOOLSET;
            if t.enabled && in_toolset && keyed && (!read_only || t.spec().read_only()) {
                exposed.insert(t.name.clone(), i);
                docs.push(search_doc(t));
            }
        }
        let search =
            SearchIndex::build(&docs).with_more_examples(crate::catalog::embedded_examples);
        let meta_tools = meta::tools(config.tools.mode);
        let listed_toolset = |toolset: &str| match config.tools.mode {
            ToolMode::All => true,
            ToolMode::Core if wanted.is_empty() => CORE_TOOLSETS.contains(&toolset),
            ToolMode::Core => true,
            ToolMode::Dynamic => false,
        };
        let mut listed: Vec<Tool> = catalog
            .tools
            .iter()
            .filter(|t| exposed.contains_key(&t.name) && listed_toolset(&t.toolset))
            .map(ToolDef::to_tool)
            .collect();
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
                call_budget: config.tools.call_budget,
                max_wait: config.tools.max_wait,
                result_text: config.tools.result_text,
                max_result_tokens: config.tools.max_result_tokens,
                client,
                files,
                completions: complete::CompletionCache::default(),
                runners: tasks::LocalRunners::default(),
                state: StateStore::open(&config.state)?,
            }),
        })
    }

    /// Rate limits, usage, budgets and task records (see [`crate::state`]).
    pub fn state(&self) -> &StateStore {
        &self.shared.state
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

    /// A search index over the same tools, mixing its signals by `weights` (for measuring
    /// each signal alone).
    pub fn search_index_with(&self, weights: Weights) -> SearchIndex {
        let docs: Vec<SearchDoc> = self
            .shared
            .catalog
            .tools
            .iter()
            .filter(|t| self.exposed_tool(&t.name).is_some())
            .map(search_doc)
            .collect();
        SearchIndex::build(&docs)
            .with_more_examples(crate::catalog::embedded_examples)
            .with_weights(weights)
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
            deadline: None,
            resource_links: false,
            max_wait: Some(self.shared.max_wait),
        }
    }

    /// Runs a tool by name for a local caller (stdio, the command line). `None` when no
    /// such tool is exposed.
    pub async fn call(
        &self,
        name: &str,
        args: JsonObject,
        ctx: CallContext,
    ) -> Option<CallToolResult> {
        self.call_as(name, args, ctx, &Caller::default()).await
    }

    async fn call_as(
        &self,
        name: &str,
        args: JsonObject,
        ctx: CallContext,
        caller: &Caller,
    ) -> Option<CallToolResult> {
        if let Some(result) = self.call_meta(name, &args, &ctx, caller).await {
            return Some(result);
        }
        let tool = self.exposed_tool(name)?;
        Some(self.run_tool(tool, args, ctx, caller).await)
    }

    /// Runs an operation tool for a `tools/call`: [`Self::execute`], with a failure as an
    /// `isError` result.
    async fn run_tool(
        &self,
        tool: &ToolDef,
        args: JsonObject,
        ctx: CallContext,
        caller: &Caller,
    ) -> CallToolResult {
        let mut result = self
            .execute(tool, args, ctx, caller)
            .await
            .unwrap_or_else(ToolError::into_result);
        // Every byte of a result may come from upstream: the one exit is scrubbed whole.
        crate::redact::scrub_result(&mut result);
        result
    }

    /// The one path every operation call takes, from `tools/call`, resources and
    /// completions alike: the caller's grant, their Mistral key, the time budget, the log
    /// line and the metrics. The result is not yet scrubbed.
    pub(crate) async fn execute(
        &self,
        tool: &ToolDef,
        args: JsonObject,
        ctx: CallContext,
        caller: &Caller,
    ) -> Result<CallToolResult, ToolError> {
        self.execute_within(tool, args, ctx, caller, self.shared.call_budget)
            .await
    }

    /// [`Self::execute`] with a time budget of its own (an MCP task's, longer than a
    /// call's).
    pub(crate) async fn execute_within(
        &self,
        tool: &ToolDef,
        mut args: JsonObject,
        mut ctx: CallContext,
        caller: &Caller,
        budget: Duration,
    ) -> Result<CallToolResult, ToolError> {
        let started = Instant::now();
        // `select` is ours, not the operation's: taken out before its arguments are parsed.
        let taken = if tool.takes_select() {
            select::take(&mut args)
        } else {
            Ok(None)
        };
        let (selection, bad_select) = match taken {
            Ok(s) => (s, None),
            Err(e) => (None, Some(e)),
        };
        let _in_flight = crate::metrics::call_in_flight();
        let principal = caller.grant.as_ref().map(|g| g.principal.clone());
        let request_id = caller.request_id.clone();
        if let Some(key) = caller
            .grant
            .as_ref()
            .and_then(|g| g.mistral_api_key.clone())
        {
            ctx.client = Arc::new(ctx.client.with_api_key(key));
        }
        let refusal = caller.grant.as_ref().and_then(|g| g.refusal(tool));
        // Daily budgets: checked (and the request counted) only for calls that would run.
        let bad_select = match (&refusal, bad_select) {
            (None, None) => crate::state::admit(
                &self.shared.state,
                principal.as_deref().unwrap_or("local"),
                caller.grant.as_ref().map(|g| &g.budget),
            )
            .await
            .err()
            .map(ToolError::from),
            (_, e) => e,
        };
        let outcome = match (refusal, bad_select) {
            (Some(why), _) => Err(ToolError::NotAllowed(why)),
            (None, Some(e)) => Err(e),
            (None, None) => {
                // `checked_add`: a huge configured budget means no deadline, not a panic.
                ctx.deadline = tokio::time::Instant::now().checked_add(budget);
                let template_args = tool.summary.is_some().then(|| args.clone());
                let links = ctx.resource_links;
                match tokio::time::timeout(budget, tool.op.invoke(args, ctx)).await {
                    Ok(Ok(mut output)) => {
                        if output.summary.is_none()
                            && let Some(args) = &template_args
                        {
                            output.summary = tool.summarize(&output.structured, args);
                        }
                        if links {
                            add_file_links(&mut output, &tool.file_links);
                            if !tool.blob_links.is_empty() {
                                let who = principal.as_deref().unwrap_or("local");
                                self.link_blobs(&mut output, &tool.blob_links, who).await;
                            }
                        }
                        Ok(output)
                    }
                    Ok(outcome) => outcome,
                    Err(_) => Err(ToolError::OverBudget(format!(
                        "`{}` ran past this server's time budget of {} s per call and was stopped. \
                         Long jobs keep running on Mistral: check them with the matching get or *_wait tool \
                         (with a shorter timeout_secs), or ask the operator to raise tools.call_budget_secs.",
                        tool.name,
                        budget.as_secs()
                    ))),
                }
            }
        };
        let policy = ResultPolicy {
            mode: self.shared.result_text,
            max_tokens: self.shared.max_result_tokens,
            columns: &tool.columns,
            group_by: tool.group_by.as_deref(),
            narrowing: &tool.narrowing,
            read_only: tool.spec().read_only(),
        };
        if let Ok(o) = &outcome {
            crate::state::record(
                &self.shared.state,
                principal.as_deref().unwrap_or("local"),
                &o.structured,
            )
            .await;
        }
        let outcome = outcome.and_then(|o| compact::finish(o, selection.as_deref(), &policy));
        let elapsed = started.elapsed();
        let elapsed_ms = elapsed.as_millis() as u64;
        let kind = match &outcome {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        };
        crate::metrics::tool_call(&tool.name, kind, elapsed);
        let principal = principal.as_deref().unwrap_or("local");
        let request_id = request_id.as_deref().unwrap_or("-");
        match &outcome {
            Ok(_) => {
                tracing::info!(tool = %tool.name, elapsed_ms, outcome = kind, principal, request_id, "tool call");
            }
            Err(_) => {
                tracing::info!(tool = %tool.name, elapsed_ms, outcome = kind, principal, request_id, "tool call failed");
            }
        }
        outcome
    }
}

/// Who is calling: what the caller may do and spend, and the request id for the logs. Kept
/// beside the [`CallContext`], not in it: operations never need to know.
#[derive(Default, Clone)]
pub struct Caller {
    /// `None` on stdio and the command line.
    pub grant: Option<Arc<Grant>>,
    pub request_id: Option<String>,
}

/// The grant and request id the HTTP layer attached to the request that carried this MCP
/// message. Both `None` on stdio.
fn caller(context: &RequestContext<RoleServer>) -> Caller {
    let parts = context.extensions.get::<axum::http::request::Parts>();
    Caller {
        grant: parts.and_then(|p| p.extensions.get::<Arc<Grant>>().cloned()),
        request_id: parts
            .and_then(|p| p.extensions.get::<RequestId>())
            .map(|r| r.0.clone()),
    }
}

/// A resource link beside the result for each named field that holds a file id.
fn add_file_links(output: &mut ToolOutput, fields: &[String]) {
    for field in fields {
        if let Some(id) = output.structured.get(field).and_then(|v| v.as_str()) {
            let link = crate::tool::file_content_link(id, &format!("{field} {id}"), None);
            output.extra.push(link);
        }
    }
}

fn search_doc(t: &ToolDef) -> SearchDoc {
    SearchDoc {
        id: t.spec().id.to_string(),
        name: t.name.clone(),
        title: t.title.clone(),
        description: t.description.clone(),
        keywords: t.keywords.clone(),
        toolset: t.toolset.clone(),
        method: t.spec().method.as_str().to_string(),
        path: t.spec().path.to_string(),
        examples: t.examples.clone(),
    }
}

/// How long a client may reuse `tools/list`, in ms.
const TOOLS_TTL_MS: u64 = 300_000;

/// The toolset that needs the organization's admin key.
const ADMIN_TOOLSET: &str = "admin";

const INSTRUCTIONS_CORE: &str = "Tools for the Mistral AI API. Listed: chat, code completion, embeddings, moderation, OCR, files and models. \
Everything else (agents, conversations, audio, batch and fine-tuning jobs, libraries, connectors, prompts, skills, RAG, workflows, \
observability, your user) is reached with search_tools (describe the task in plain words), then describe_tools and call_tool.";
const INSTRUCTIONS_ALL: &str = "Tools for the Mistral AI API: chat, code completion, embeddings, moderation, OCR, files, models, \
agents and conversations, batch and fine-tuning jobs, document libraries, audio. Long jobs have *_wait tools that report progress. \
Not sure which tool fits? Call search_tools with what you want to do.";
const INSTRUCTIONS_DYNAMIC: &str = "Tools for the Mistral AI API, reached through three tools: search_tools finds the tool for a task, \
describe_tools shows its input schema, call_tool runs it.";

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let instructions = match self.shared.mode {
            ToolMode::Core => INSTRUCTIONS_CORE,
            ToolMode::All => INSTRUCTIONS_ALL,
            ToolMode::Dynamic => INSTRUCTIONS_DYNAMIC,
        };
        let capabilities = ServerCapabilities::builder()
            .enable_completions()
            .enable_prompts()
            .enable_resources()
            .enable_tools()
            .enable_tasks()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                "mistral-mcp",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(instructions)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools = match caller(&context).grant {
            // A narrowed credential sees only what it may call.
            Some(g) if g.read_only || g.toolsets.is_some() => self
                .shared
                .listed
                .iter()
                .filter(|t| self.exposed_tool(&t.name).is_none_or(|d| g.allows(d)))
                .cloned()
                .collect(),
            _ => (*self.shared.listed).clone(),
        };
        // The list changes only with the server's configuration and the caller's grant.
        Ok(ListToolsResult::with_all_items(tools)
            .with_ttl_ms(TOOLS_TTL_MS)
            .with_cache_scope(CacheScope::Private))
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        self.get_task_for(
            &request.task_id,
            self.context_for(&context),
            &caller(&context),
        )
        .await
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.cancel_task_for(
            &request.task_id,
            self.context_for(&context),
            &caller(&context),
        )
        .await
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        // Known tasks never ask for input; an unknown one is reported as such.
        self.get_task_for(
            &request.task_id,
            self.context_for(&context),
            &caller(&context),
        )
        .await?;
        Err(McpError::invalid_params(
            "this server's tasks never wait for input: there is nothing to update",
            Some(serde_json::json!({ "taskId": request.task_id })),
        ))
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let cursor = request.as_ref().and_then(|r| r.cursor.as_deref());
        self.list_resources_for(cursor, self.context_for(&context), &caller(&context))
            .await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(self.resource_templates_for(&caller(&context)))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        self.read_resource_for(&request.uri, self.context_for(&context), &caller(&context))
            .await
            .map(Into::into)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(self.list_prompts_for(&caller(&context)))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let arguments: HashMap<String, String> = request
            .arguments
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect();
        self.get_prompt_for(&request.name, &arguments, &caller(&context))
            .map(Into::into)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        Ok(self
            .complete_for(&request, self.context_for(&context), &caller(&context))
            .await)
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
        let mut ctx = self.context_for(&context);
        ctx.progress = context
            .meta
            .get_progress_token()
            .map(|token| ProgressSink::new(context.peer.clone(), token));
        let name = request.name.as_ref();
        let args = request.arguments.unwrap_or_default();
        // A long call from a client that declared MCP tasks (for the session, or in this
        // request's `_meta`) answers with a task at once.
        if context
            .client_capabilities()
            .is_some_and(|c| c.supports_tasks())
            && let Some((tool, tool_args)) = self.task_target(name, &args)
        {
            ctx.progress = None;
            return self
                .start_task(tool, tool_args, ctx, caller(&context))
                .await
                .map(Into::into);
        }
        match self.call_as(name, args, ctx, &caller(&context)).await {
            Some(result) => Ok(result.into()),
            None => Err(self.unknown_tool(name)),
        }
    }
}

impl McpServer {
    /// A call context for one MCP request: its cancellation, no progress.
    fn context_for(&self, context: &RequestContext<RoleServer>) -> CallContext {
        CallContext {
            client: self.shared.client.clone(),
            files: self.shared.files.clone(),
            cancel: context.ct.clone(),
            progress: None,
            deadline: None,
            resource_links: context
                .protocol_version()
                .is_some_and(|v| v >= rmcp::model::ProtocolVersion::V_2025_06_18),
            max_wait: Some(self.shared.max_wait),
        }
    }

    fn unknown_tool(&self, name: &str) -> McpError {
        McpError::invalid_params(self.unavailable(name), None)
    }

    /// Why a tool name cannot be called here, and what to call instead: one message for
    /// `tools/call` and `call_tool` alike.
    pub(crate) fn unavailable(&self, name: &str) -> String {
        let tool = self.shared.catalog.get(name);
        let why = if tool.is_some_and(|t| t.toolset == ADMIN_TOOLSET)
            && !self.shared.client.has_admin_api_key()
        {
            "it is an admin tool, and admin tools are off until the server has the organization's \
             admin API key (set MISTRAL_ADMIN_API_KEY, --admin-api-key-file or [mistral] \
             admin_api_key_file, then restart it)"
        } else if tool.is_some() {
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
        // The name is the client's: quote a prefix, never megabytes.
        let name = crate::tool::clip(name, 128);
        format!("unknown tool `{name}`: {why}. {hint}")
    }
}
