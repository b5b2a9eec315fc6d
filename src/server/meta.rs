//! The discovery tools: `search_tools` (always listed), and in dynamic mode
//! `describe_tools` and `call_tool`, which together reach every operation while costing
//! the agent only three small tool definitions of context.

use std::sync::Arc;

use rmcp::model::{CallToolResult, JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Caller, McpServer};
use crate::catalog::ToolDef;
use crate::config::ToolMode;
use crate::tool::{CallContext, ToolError, ToolOutput, clip, parse_arguments};

pub const META_SEARCH: &str = "search_tools";
pub const META_DESCRIBE: &str = "describe_tools";
pub const META_CALL: &str = "call_tool";

/// How many of the best search hits carry their input schema.
const SCHEMAS_IN_SEARCH: usize = 2;
/// The second hit's score, as a share of the first's, from which the two are a close call.
/// On the blind dev intents, the first was right for 53% of such queries against 89% overall.
const CLOSE_CALL: f32 = 0.8;
/// How many related tools a hit names.
const MAX_RELATED: usize = 4;

/// Find the Mistral tool for a task.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// What you want to do, in plain words, e.g. "run OCR on an invoice PDF".
    pub query: String,
    /// How many results (default 5, at most 20).
    pub limit: Option<u32>,
    /// Only tools of this toolset, e.g. `files`.
    pub toolset: Option<String>,
}

/// Show full definitions of tools.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeArgs {
    /// Tool names, as returned by search_tools.
    pub names: Vec<String>,
}

/// Run a tool by name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallArgs {
    /// The tool to run, as returned by search_tools.
    pub name: String,
    /// The tool's arguments, matching the input schema describe_tools shows.
    #[serde(default)]
    pub arguments: JsonObject,
}

fn read_only_tool(name: &str, title: &str, description: &str, schema: JsonObject) -> Tool {
    Tool::new(name.to_string(), description.to_string(), Arc::new(schema))
        .with_title(title.to_string())
        .with_annotations(
            ToolAnnotations::new()
                .read_only(true)
                .destructive(false)
                .idempotent(true)
                .open_world(false),
        )
}

/// The discovery tools listed in `mode`.
pub fn tools(mode: ToolMode) -> Vec<Tool> {
    let search = read_only_tool(
        META_SEARCH,
        "Search tools",
        match mode {
            ToolMode::All => {
                "Find the right Mistral tool for a task described in plain words. Returns ranked tool names with what each does."
            }
            ToolMode::Core | ToolMode::Dynamic => {
                "Find the Mistral tool for a task described in plain words (chat, OCR, embeddings, files, agents, batch, libraries, audio…). Returns ranked tool names; then describe_tools and call_tool."
            }
        },
        crate::schema::input_schema::<SearchArgs>(),
    );
    match mode {
        ToolMode::All => vec![search],
        ToolMode::Core | ToolMode::Dynamic => vec![
            search,
            read_only_tool(
                META_DESCRIBE,
                "Describe tools",
                "Show the description, annotations and input schema of tools by name, before calling them with call_tool.",
                crate::schema::input_schema::<DescribeArgs>(),
            ),
            Tool::new(
                META_CALL,
                "Run a Mistral tool by name with its arguments; returns that tool's result.",
                Arc::new(crate::schema::input_schema::<CallArgs>()),
            )
            .with_title("Call a tool")
            .with_annotations(
                ToolAnnotations::new()
                    .read_only(false)
                    .destructive(true)
                    .idempotent(false)
                    .open_world(true),
            ),
        ],
    }
}

impl McpServer {
    /// Runs a discovery tool; `None` if `name` is not one.
    pub(super) async fn call_meta(
        &self,
        name: &str,
        args: &JsonObject,
        ctx: &CallContext,
        caller: &Caller,
    ) -> Option<CallToolResult> {
        let result = match name {
            META_SEARCH => {
                parse_arguments::<SearchArgs>(args.clone()).map(|a| self.search_tools(a, caller))
            }
            META_DESCRIBE => {
                parse_arguments::<DescribeArgs>(args.clone()).map(|a| self.describe_tools(a))
            }
            META_CALL => match parse_arguments::<CallArgs>(args.clone()) {
                Ok(a) => return Some(Box::pin(self.call_by_name(a, ctx.clone(), caller)).await),
                Err(e) => Err(e),
            },
            _ => return None,
        };
        Some(match result {
            Ok(out) => out.into_result(),
            Err(e) => e.into_result(),
        })
    }

    fn search_tools(&self, args: SearchArgs, caller: &Caller) -> ToolOutput {
        let limit = args.limit.unwrap_or(5).clamp(1, 20) as usize;
        let allowed = |name: &str| {
            self.exposed_tool(name).is_some_and(|t| {
                args.toolset.as_ref().is_none_or(|ts| &t.toolset == ts)
                    && caller.grant.as_ref().is_none_or(|g| g.allows(t))
            })
        };
        let hits = self
            .search_index()
            .search_filtered(&args.query, limit, allowed);
        let mut lines = Vec::new();
        let mut results = Vec::new();
        let mut mentioned = std::collections::HashSet::new();
        for (rank, hit) in hits.iter().enumerate() {
            let Some(tool) = self.exposed_tool(&hit.name) else {
                continue;
            };
            let use_when = tool
                .description
                .split(". ")
                .next()
                .unwrap_or(&tool.description)
                .trim_end_matches('.');
            let siblings = self.siblings(tool, &allowed);
            let listed = self.is_listed(&tool.name);
            // The text names each related tool once, and none that is a hit itself.
            let unseen: Vec<String> = siblings
                .iter()
                .filter(|(name, _)| {
                    !hits.iter().any(|h| &h.name == name) && mentioned.insert(name.clone())
                })
                .map(|(name, title)| format!("{name} ({title})"))
                .collect();
            lines.push(format!(
                "{}. {} ({}): {use_when}.{}",
                rank + 1,
                tool.name,
                hit.operation,
                if unseen.is_empty() {
                    String::new()
                } else {
                    format!(" Related: {}.", unseen.join(", "))
                }
            ));
            let mut result = json!({
                "name": tool.name,
                "title": tool.title,
                "use_when": use_when,
                "operation": hit.operation,
                "toolset": tool.toolset,
                "read_only": tool.spec().read_only(),
                "score": hit.score,
                "matched": hit.matched,
                "related": siblings
                    .iter()
                    .map(|(name, title)| json!({ "name": name, "title": title }))
                    .collect::<Vec<_>>(),
            });
            // The best hits carry their input schema, so an agent can call without a
            // describe_tools round trip; listed tools' schemas the client has already.
            if rank < SCHEMAS_IN_SEARCH && !listed {
                result["inputSchema"] = Value::Object((*tool.input_schema()).clone());
            }
            results.push(result);
        }
        let close = match (hits.first(), hits.get(1)) {
            (Some(a), Some(b)) => b.score >= CLOSE_CALL * a.score,
            _ => false,
        };
        let next = match self.shared.mode {
            ToolMode::Core | ToolMode::Dynamic => {
                "Listed tools can be called directly; the others with call_tool (the first results' input schemas are in the structured result; describe_tools shows any other)."
            }
            ToolMode::All => "Call the chosen tool directly.",
        };
        let text = if lines.is_empty() {
            format!(
                "No tool matches {:?}. Try other words, or browse a toolset with the `toolset` argument: {}.",
                clip(&args.query, 128),
                self.toolset_names().join(", ")
            )
        } else if close {
            format!(
                "{}\nThe first two are a close call: read both before choosing (a more specific request, or `toolset`, separates them).\n{next}",
                lines.join("\n")
            )
        } else {
            format!("{}\n{next}", lines.join("\n"))
        };
        let query = clip(&args.query, 128);
        ToolOutput::json(json!({ "query": query, "close_call": close, "results": results }))
            .with_summary(text)
    }

    /// The other tools on the same resource as `tool` (`files_list` for `files_delete`), that
    /// the caller may use, with their titles: what a hit is told apart from.
    fn siblings(&self, tool: &ToolDef, allowed: &impl Fn(&str) -> bool) -> Vec<(String, String)> {
        let resource = |id: &str| {
            id.rsplit_once('_')
                .map_or(id.to_string(), |(r, _)| r.to_string())
        };
        let own = resource(tool.spec().id);
        self.catalog()
            .tools
            .iter()
            .filter(|t| t.name != tool.name && resource(t.spec().id) == own && allowed(&t.name))
            .take(MAX_RELATED)
            .map(|t| (t.name.clone(), t.title.clone()))
            .collect()
    }

    pub(super) fn is_listed(&self, name: &str) -> bool {
        self.listed_tools().iter().any(|t| t.name == name)
    }

    /// The toolsets this server exposes, for a search that found nothing.
    fn toolset_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .catalog()
            .tools
            .iter()
            .filter(|t| self.exposed_tool(&t.name).is_some())
            .map(|t| t.toolset.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn describe_tools(&self, args: DescribeArgs) -> ToolOutput {
        let mut tools = Vec::new();
        let mut unknown = Vec::new();
        for name in &args.names {
            match self.exposed_tool(name) {
                Some(t) => tools.push(json!({
                    "name": t.name,
                    "title": t.title,
                    "description": t.description,
                    "operation": t.spec().operation(),
                    "toolset": t.toolset,
                    "annotations": t.annotations(),
                    "inputSchema": Value::Object((*t.input_schema()).clone()),
                })),
                None => unknown.push(clip(name, 128)),
            }
        }
        let mut out = json!({ "tools": tools });
        if !unknown.is_empty() {
            out["unknown"] = json!(unknown);
            out["hint"] = json!("Use search_tools to find tool names.");
        }
        ToolOutput::json(out)
    }

    async fn call_by_name(
        &self,
        args: CallArgs,
        ctx: CallContext,
        caller: &Caller,
    ) -> CallToolResult {
        if [META_SEARCH, META_DESCRIBE, META_CALL].contains(&args.name.as_str()) {
            return ToolError::InvalidArguments(format!(
                "`{}` is a discovery tool; call it directly",
                args.name
            ))
            .into_result();
        }
        match self.exposed_tool(&args.name) {
            Some(tool) => self.run_tool(tool, args.arguments, ctx, caller).await,
            None => {
                ToolError::InvalidArguments(format!("`name`: {}", self.unavailable(&args.name)))
                    .into_result()
            }
        }
    }
}
