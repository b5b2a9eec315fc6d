//! MCP resources: Mistral's models and the account's files as things a user or agent can
//! attach and read (`mistral://models`, `mistral://models/{model_id}`,
//! `mistral://files/{file_id}` and `mistral://files/{file_id}/content`).
//!
//! A resource read is a tool call underneath (models_list, models_retrieve, files_retrieve,
//! files_download) through [`McpServer::execute`], so the caller's grant, their Mistral key,
//! the time budget, metrics and redaction apply exactly as they do to `tools/call`, and a
//! resource exists only where its tool is exposed. The text is the tool's result text
//! (compact by default, JSON with `[tools] result_text = "json"`).

use rmcp::ErrorData as McpError;
use rmcp::model::{
    CacheScope, CallToolResult, ContentBlock, JsonObject, ListResourceTemplatesResult,
    ListResourcesResult, MetaObject, Resource, ResourceContents, ResourceTemplate,
};
use serde_json::{Value, json};

use super::{Caller, McpServer};
use crate::config::ResultText;
use crate::tool::{CallContext, ToolError};

pub const MODELS_URI: &str = "mistral://models";
const MODEL_PREFIX: &str = "mistral://models/";
const FILE_PREFIX: &str = "mistral://files/";
const CONTENT_SUFFIX: &str = "/content";

/// Files listed per `resources/list` page (one upstream page of files_list).
const FILES_PER_PAGE: u64 = 100;

/// How long a client may reuse a listing or a read, in ms. Everything here is the caller's
/// own account (their key, their grant), so caches are private.
const LIST_TTL_MS: u64 = 30_000;
const MODELS_TTL_MS: u64 = 60_000;
const TEMPLATES_TTL_MS: u64 = 300_000;

/// What a `mistral://` URI names.
#[derive(Debug, PartialEq)]
enum Target<'a> {
    Models,
    Model(&'a str),
    File(&'a str),
    FileContent(&'a str),
    /// A large part of an earlier result (see `artifacts`).
    Artifact(&'a str),
}

fn parse_uri(uri: &str) -> Option<Target<'_>> {
    if uri == MODELS_URI {
        return Some(Target::Models);
    }
    let id_ok = |id: &str| !id.is_empty() && !id.contains('/') && !id.contains(['?', '#']);
    if let Some(id) = uri.strip_prefix(MODEL_PREFIX) {
        // Fine-tuned model ids hold colons, never slashes.
        return id_ok(id).then_some(Target::Model(id));
    }
    if let Some(id) = uri.strip_prefix(super::artifacts::ARTIFACT_PREFIX) {
        return id_ok(id).then_some(Target::Artifact(id));
    }
    let rest = uri.strip_prefix(FILE_PREFIX)?;
    match rest.strip_suffix(CONTENT_SUFFIX) {
        Some(id) if id_ok(id) => Some(Target::FileContent(id)),
        Some(_) => None,
        None => id_ok(rest).then_some(Target::File(rest)),
    }
}

/// The JSON-RPC error for a URI that names nothing (SEP-2164: invalid params, with the uri).
fn not_found(uri: &str, why: &str) -> McpError {
    McpError::invalid_params(
        format!("Resource not found: {}. {why}", crate::tool::clip(uri, 200)),
        Some(json!({ "uri": uri })),
    )
}

fn upstream_failure(uri: &str, err: &ToolError) -> McpError {
    McpError::internal_error(
        format!("Reading {} failed: {err}", crate::tool::clip(uri, 200)),
        Some(json!({ "uri": uri, "kind": err.kind() })),
    )
}

fn is_not_found(err: &ToolError) -> bool {
    matches!(err, ToolError::Upstream(e) if e.status() == Some(404))
}

fn first_text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .unwrap_or_default()
}

fn args(pairs: &[(&str, Value)]) -> JsonObject {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

impl McpServer {
    /// Whether this caller may run the tool that backs a resource.
    fn resource_tool_allowed(&self, name: &str, caller: &Caller) -> bool {
        self.exposed_tool(name)
            .is_some_and(|t| caller.grant.as_ref().is_none_or(|g| g.allows(t)))
    }

    /// Runs a backing tool; `None` when it is not exposed to this caller.
    async fn run_backing(
        &self,
        name: &str,
        arguments: JsonObject,
        ctx: CallContext,
        caller: &Caller,
    ) -> Option<Result<CallToolResult, ToolError>> {
        if !self.resource_tool_allowed(name, caller) {
            return None;
        }
        let tool = self.exposed_tool(name)?;
        // A resource read returns the bytes themselves, never a link back to itself.
        let ctx = CallContext {
            resource_links: false,
            ..ctx
        };
        let outcome = self.execute(tool, arguments, ctx, caller).await;
        Some(outcome.map(|mut result| {
            crate::redact::scrub_result(&mut result);
            result
        }))
    }

    fn text_mime(&self) -> &'static str {
        match self.shared.result_text {
            ResultText::Compact => "text/plain",
            ResultText::Json => "application/json",
        }
    }

    pub(super) async fn list_resources_for(
        &self,
        cursor: Option<&str>,
        ctx: CallContext,
        caller: &Caller,
    ) -> Result<ListResourcesResult, McpError> {
        let page: u64 = match cursor {
            None => 0,
            Some(c) => c.parse().map_err(|_| {
                McpError::invalid_params(
                    "invalid cursor: pass back the nextCursor of the previous resources/list",
                    None,
                )
            })?,
        };
        let mut resources = Vec::new();
        if page == 0 && self.resource_tool_allowed("models_list", caller) {
            resources.push(
                Resource::new(MODELS_URI, "models")
                    .with_title("Mistral models")
                    .with_description(
                        "Every model this key can use, with its capabilities and context length.",
                    )
                    .with_mime_type(self.text_mime()),
            );
        }
        let mut next_cursor = None;
        let mut warning = None;
        let listing = self
            .run_backing(
                "files_list",
                args(&[("page", json!(page)), ("page_size", json!(FILES_PER_PAGE))]),
                ctx,
                caller,
            )
            .await;
        match listing {
            None => {}
            Some(Ok(result)) if result.is_error != Some(true) => {
                let data = result
                    .structured_content
                    .as_ref()
                    .and_then(|v| v.get("data"))
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for file in &data {
                    if let Some(resource) = file_resource(file) {
                        resources.push(resource);
                    }
                }
                if data.len() as u64 >= FILES_PER_PAGE {
                    next_cursor = Some((page + 1).to_string());
                }
            }
            Some(Ok(result)) => warning = Some(first_text(&result)),
            Some(Err(e)) if page > 0 => return Err(upstream_failure("mistral://files", &e)),
            // The first page still lists the models: an unreachable Mistral must not turn a
            // client's resource menu into an error. The warning says what is missing.
            Some(Err(e)) => warning = Some(e.to_string()),
        }
        let mut result = ListResourcesResult::with_all_items(resources)
            .with_ttl_ms(LIST_TTL_MS)
            .with_cache_scope(CacheScope::Private);
        result.next_cursor = next_cursor;
        if let Some(w) = warning {
            tracing::warn!(warning = %w, "resources/list: the account's files could not be listed");
            let mut meta = MetaObject::new();
            meta.insert(
                "io.github.mistral-mcp/warning".into(),
                json!(format!("Files are missing from this list: {w}")),
            );
            result.meta = Some(meta);
        }
        Ok(result)
    }

    pub(super) fn resource_templates_for(&self, caller: &Caller) -> ListResourceTemplatesResult {
        let mut templates = Vec::new();
        if self.resource_tool_allowed("models_retrieve", caller) {
            templates.push(
                ResourceTemplate::new("mistral://models/{model_id}", "model")
                    .with_title("A Mistral model")
                    .with_description("One model's card: capabilities, context length, aliases.")
                    .with_mime_type(self.text_mime()),
            );
        }
        if self.resource_tool_allowed("files_retrieve", caller) {
            templates.push(
                ResourceTemplate::new("mistral://files/{file_id}", "file")
                    .with_title("An uploaded file")
                    .with_description(
                        "A file's metadata, followed by its content when it is text and small enough.",
                    ),
            );
        }
        if self.resource_tool_allowed("files_download", caller) {
            templates.push(
                ResourceTemplate::new("mistral://files/{file_id}/content", "file content")
                    .with_title("An uploaded file's content")
                    .with_description(
                        "The file's bytes: text as text, anything else as a base64 blob, up to the server's inline limit.",
                    ),
            );
        }
        ListResourceTemplatesResult::with_all_items(templates)
            .with_ttl_ms(TEMPLATES_TTL_MS)
            .with_cache_scope(CacheScope::Private)
    }

    pub(super) async fn read_resource_for(
        &self,
        uri: &str,
        ctx: CallContext,
        caller: &Caller,
    ) -> Result<rmcp::model::ReadResourceResult, McpError> {
        let target = parse_uri(uri).ok_or_else(|| {
            not_found(
                uri,
                "This server serves mistral://models, mistral://models/{model_id}, \
                 mistral://files/{file_id}, mistral://files/{file_id}/content and the \
                 mistral://artifacts/{id} that results link to.",
            )
        })?;
        let (tool, arguments, ttl) = match target {
            Target::Artifact(id) => {
                let contents = self.read_artifact(uri, id, caller).await?;
                return Ok(rmcp::model::ReadResourceResult::new(vec![contents])
                    .with_ttl_ms(0)
                    .with_cache_scope(CacheScope::Private));
            }
            Target::Models => ("models_list", JsonObject::new(), MODELS_TTL_MS),
            Target::Model(id) => (
                "models_retrieve",
                args(&[("model_id", json!(id))]),
                MODELS_TTL_MS,
            ),
            Target::File(id) => ("files_retrieve", args(&[("file_id", json!(id))]), 0),
            Target::FileContent(id) => ("files_download", args(&[("file_id", json!(id))]), 0),
        };
        let unreachable = || {
            not_found(
                uri,
                &format!("Its tool `{tool}` is not available to this caller on this server."),
            )
        };
        let result = match self.run_backing(tool, arguments, ctx.clone(), caller).await {
            None => return Err(unreachable()),
            Some(Err(e)) if is_not_found(&e) => {
                return Err(not_found(uri, "Mistral has no such object."));
            }
            Some(Err(e)) => return Err(upstream_failure(uri, &e)),
            Some(Ok(r)) => r,
        };
        let mut contents = vec![];
        match target {
            Target::FileContent(_) => contents.extend(content_of_download(uri, &result)),
            _ => contents.push(
                ResourceContents::text(first_text(&result), uri).with_mime_type(self.text_mime()),
            ),
        }
        // A file's metadata is followed by its content when it is text and within the limit.
        if let Target::File(id) = target
            && let Some(text) = self.small_text_content(id, &result, ctx, caller).await
        {
            contents.push(text);
        }
        Ok(rmcp::model::ReadResourceResult::new(contents)
            .with_ttl_ms(ttl)
            .with_cache_scope(CacheScope::Private))
    }

    /// The content of a file read as `mistral://files/{id}`: only when it is text-like by
    /// name and within the inline limit (the metadata tells both before any download).
    async fn small_text_content(
        &self,
        id: &str,
        metadata: &CallToolResult,
        ctx: CallContext,
        caller: &Caller,
    ) -> Option<ResourceContents> {
        let meta = metadata.structured_content.as_ref()?;
        let bytes = meta
            .get("size_bytes")
            .or_else(|| meta.get("bytes"))?
            .as_u64()?;
        let name = meta.get("filename").and_then(Value::as_str).unwrap_or("");
        if bytes > ctx.files.max_inline_bytes || !text_like(name) {
            return None;
        }
        let download = self
            .run_backing(
                "files_download",
                args(&[("file_id", json!(id))]),
                ctx,
                caller,
            )
            .await?
            .ok()?;
        let uri = format!("{FILE_PREFIX}{id}{CONTENT_SUFFIX}");
        content_of_download(&uri, &download)
            .into_iter()
            .find(|c| matches!(c, ResourceContents::TextResourceContents { .. }))
    }
}

/// Extensions of files worth reading as text.
fn text_like(name: &str) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    matches!(
        ext.as_deref(),
        Some(
            "txt"
                | "md"
                | "markdown"
                | "json"
                | "jsonl"
                | "csv"
                | "tsv"
                | "yaml"
                | "yml"
                | "xml"
                | "html"
                | "log"
        )
    )
}

/// A files_download result as resource contents: text, or the embedded blob it carries.
fn content_of_download(uri: &str, result: &CallToolResult) -> Vec<ResourceContents> {
    let structured = result.structured_content.as_ref();
    let mime = structured
        .and_then(|v| v.get("content_type"))
        .and_then(Value::as_str)
        .unwrap_or("application/octet-stream")
        .to_string();
    let is_text = structured
        .and_then(|v| v.get("encoding"))
        .and_then(Value::as_str)
        == Some("utf-8");
    if is_text {
        return vec![ResourceContents::text(first_text(result), uri).with_mime_type(mime)];
    }
    result
        .content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::Resource(r) => Some(match &r.resource {
                ResourceContents::BlobResourceContents {
                    blob, mime_type, ..
                } => ResourceContents::blob(blob.clone(), uri)
                    .with_mime_type(mime_type.clone().unwrap_or_else(|| mime.clone())),
                other => other.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// One file of a files_list page as a resource.
fn file_resource(file: &Value) -> Option<Resource> {
    let id = file.get("id")?.as_str()?;
    let name = file
        .get("filename")
        .and_then(Value::as_str)
        .unwrap_or(id)
        .to_string();
    let mut description = vec![];
    if let Some(p) = file.get("purpose").and_then(Value::as_str) {
        description.push(format!("purpose {p}"));
    }
    if let Some(n) = file.get("num_lines").and_then(Value::as_u64) {
        description.push(format!("{n} lines"));
    }
    let mut resource = Resource::new(format!("{FILE_PREFIX}{id}"), name).with_description(format!(
        "Uploaded file {id}{}",
        {
            if description.is_empty() {
                String::new()
            } else {
                format!(" ({})", description.join(", "))
            }
        }
    ));
    if let Some(bytes) = file
        .get("size_bytes")
        .or_else(|| file.get("bytes"))
        .and_then(Value::as_u64)
    {
        resource = resource.with_size(bytes);
    }
    if let Some(m) = file.get("mimetype").and_then(Value::as_str) {
        resource = resource.with_mime_type(m);
    }
    Some(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_into_what_they_name() {
        assert_eq!(parse_uri("mistral://models"), Some(Target::Models));
        assert_eq!(
            parse_uri("mistral://models/ft:open-mistral-7b:abc"),
            Some(Target::Model("ft:open-mistral-7b:abc"))
        );
        assert_eq!(parse_uri("mistral://files/f1"), Some(Target::File("f1")));
        assert_eq!(
            parse_uri("mistral://files/f1/content"),
            Some(Target::FileContent("f1"))
        );
        for bad in [
            "mistral://models/",
            "mistral://files/",
            "mistral://files//content",
            "mistral://files/a/b",
            "mistral://models/a?x=1",
            "test://nonexistent",
            "",
        ] {
            assert_eq!(parse_uri(bad), None, "{bad}");
        }
    }

    #[test]
    fn text_files_are_told_by_extension() {
        assert!(text_like("train.JSONL"));
        assert!(!text_like("scan.pdf"));
        assert!(!text_like("README"));
    }
}
