//! Files: upload (local path or base64), list, inspect, delete, download, signed URLs.
//!
//! Downloads never pour megabytes into the agent's context: small text comes back inline,
//! small binaries as an embedded MCP resource, anything larger must be saved to a path.

use base64::Engine;
use rmcp::model::{ContentBlock, ResourceContents};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::localfs::LoadedFile;
use crate::mistral::{FormField, RequestBody, UpstreamRequest};
use crate::tool::{
    CallContext, OpEntry, OpSpec, Operation, ToolError, ToolOutput, build_request, entry,
    file_content_link, file_content_uri, send_page,
};

pub fn entries() -> Vec<OpEntry> {
    vec![entry::<ListFiles>(), entry::<DownloadFile>()]
}

/// Uploads a file to `POST /v1/files` and returns Mistral's file object.
pub async fn upload(
    ctx: &CallContext,
    file: LoadedFile,
    purpose: Option<&str>,
    extra: Vec<(String, FormField)>,
) -> Result<Value, ToolError> {
    let spec = &super::generated::files::FilesUpload::SPEC;
    let mut fields = vec![(
        "file".to_string(),
        FormField::File {
            file_name: file.file_name,
            mime: file.mime,
            bytes: file.bytes,
        },
    )];
    if let Some(p) = purpose {
        fields.push(("purpose".into(), FormField::Text(p.to_string())));
    }
    fields.extend(extra);
    let request = UpstreamRequest {
        method: spec.method,
        path: spec.path.to_string(),
        query: Vec::new(),
        headers: Vec::new(),
        body: RequestBody::Multipart(fields),
        auth: crate::mistral::Auth::Key,
        retry_server_errors: spec.retry_server_errors(),
    };
    let response = ctx.send(&request).await?;
    Ok(response.json()?)
}

/// List uploaded files, newest first, one page at a time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListFiles {
    /// Page number, from 0.
    pub page: Option<u32>,
    /// Files per page (default 100).
    pub page_size: Option<u32>,
    /// Include the total count.
    pub include_total: Option<bool>,
    /// Filter by sample type, for example `pretrain`, `instruct`, `batch_request`, `batch_result`, `batch_error`.
    pub sample_type: Option<Vec<String>>,
    /// Filter by source: `upload`, `repository`, `mistral`.
    pub source: Option<Vec<String>>,
    /// Search file names.
    pub search: Option<String>,
    /// Filter by purpose: `fine-tune`, `batch`, `ocr`, `audio`.
    pub purpose: Option<String>,
    /// Filter by MIME type.
    pub mimetypes: Option<Vec<String>>,
}

impl Operation for ListFiles {
    const SPEC: OpSpec = OpSpec::get("files_list", "/v1/files").query(&[
        "page",
        "page_size",
        "include_total",
        "sample_type",
        "source",
        "search",
        "purpose",
        "mimetypes",
    ]);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        send_page(&Self::SPEC, &self, self.page, self.page_size, &ctx).await
    }
}

/// Download a file's content.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadFile {
    /// The file's id.
    pub file_id: String,
    /// Save the content to this local path (inside the server's allowed directories) instead of returning it. Needed for large files.
    #[serde(default, skip_serializing)]
    pub save_to: Option<String>,
}

impl Operation for DownloadFile {
    const SPEC: OpSpec = OpSpec::get("files_download", "/v1/files/{file_id}/content");

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        if let Some(path) = &self.save_to {
            // Reserve the destination before spending a download on it, then stream to it.
            let target = ctx.files.reserve(path).await?;
            let request = build_request(&Self::SPEC, &self)?;
            let download = ctx.client.download(&request, &ctx.cancel).await?;
            let content_type = download
                .content_type
                .unwrap_or_else(|| "application/octet-stream".into());
            let shown = target.path().display().to_string();
            let size = target.write_stream(download.body).await?;
            let meta = json!({
                "file_id": self.file_id, "bytes": size, "content_type": content_type,
                "saved_to": shown,
            });
            return Ok(
                ToolOutput::json(meta).with_summary(format!("Saved {size} bytes to {shown}."))
            );
        }
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let bytes = response.body;
        let content_type = response
            .content_type
            .unwrap_or_else(|| "application/octet-stream".into());
        let size = bytes.len();
        let mut meta =
            json!({ "file_id": self.file_id, "bytes": size, "content_type": content_type });
        let limit = ctx.files.max_inline_bytes as usize;
        if size > limit {
            return Err(ToolError::InvalidArguments(format!(
                "file {} is {size} bytes, more than the {limit} bytes returned inline. Pass `save_to` with a path inside the server's allowed directories, or get a link with files_signed_url",
                self.file_id
            )));
        }
        match std::str::from_utf8(&bytes) {
            Ok(text) => {
                meta["encoding"] = json!("utf-8");
                Ok(ToolOutput::json(meta).with_summary(text.to_string()))
            }
            Err(_) if ctx.resource_links => {
                let uri = file_content_uri(&self.file_id);
                meta["returned_as"] = json!("resource link");
                meta["uri"] = json!(uri);
                let mut out = ToolOutput::json(meta).with_summary(format!(
                    "File {} ({size} bytes, {content_type}) is binary: read the linked resource {uri} to get its bytes.",
                    self.file_id
                ));
                out.extra.push(file_content_link(
                    &self.file_id,
                    &self.file_id,
                    Some(&content_type),
                ));
                Ok(out)
            }
            Err(_) => {
                let blob = base64::engine::general_purpose::STANDARD.encode(&bytes);
                let resource = ResourceContents::BlobResourceContents {
                    uri: file_content_uri(&self.file_id),
                    mime_type: Some(content_type.clone()),
                    blob,
                    meta: None,
                };
                meta["returned_as"] = json!("embedded resource");
                let mut out = ToolOutput::json(meta).with_summary(format!(
                    "File {} ({size} bytes, {content_type}) is attached as a resource.",
                    self.file_id
                ));
                out.extra.push(ContentBlock::resource(resource));
                Ok(out)
            }
        }
    }
}
