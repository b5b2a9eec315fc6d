//! Libraries (document collections for retrieval), their documents and who may access them.
//!
//! Uploaded documents are processed (OCR, chunking, indexing) asynchronously;
//! libraries_documents_wait follows that processing. Extracted text can be long, so it is
//! returned inline only up to the server's inline limit and can be saved to a file instead.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::tool::wait::{self, Backoff, Observation, Outcome, str_field};
use crate::tool::{
    CallContext, Effect, OpEntry, OpSpec, Operation, ToolError, ToolOutput, build_request, entry,
    send_page,
};

pub fn entries() -> Vec<OpEntry> {
    vec![
        entry::<CreateLibrary>(),
        entry::<ListLibraries>(),
        entry::<ListDocuments>(),
        entry::<GetDocument>(),
        entry::<DeleteDocument>(),
        entry::<DocumentStatus>(),
        entry::<DocumentTextContent>(),
        entry::<DocumentSignedUrl>(),
        entry::<DocumentExtractedTextSignedUrl>(),
        entry::<ReprocessDocument>(),
        entry::<WaitDocument>(),
    ]
}

/// Sends a request whose success has no body worth showing (often 204) and says what
/// happened instead.
async fn acknowledged<T: Operation>(
    op: &T,
    ctx: &CallContext,
    summary: String,
) -> Result<ToolOutput, ToolError> {
    let response = ctx.send(&build_request(&T::SPEC, op)?).await?;
    let out = ToolOutput::from_response(&response, ctx)?;
    Ok(out.with_summary(summary))
}

/// Sends a request that answers with a bare URL string and names the value.
async fn signed_url<T: Operation>(op: &T, ctx: &CallContext) -> Result<ToolOutput, ToolError> {
    let response = ctx.send(&build_request(&T::SPEC, op)?).await?;
    let value = response.json()?;
    let Some(url) = value.as_str() else {
        return ToolOutput::from_response(&response, ctx);
    };
    Ok(
        ToolOutput::json(json!({ "url": url })).with_summary(format!(
            "{url}\n(Anyone with this link can read it; it expires after about 30 minutes.)"
        )),
    )
}

/// Create a library.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLibrary {
    /// The library's name.
    pub name: String,
    /// What the library holds; helps agents decide when to search it.
    pub description: Option<String>,
    /// `Workspace` (shared with the workspace; the default for API keys) or `User` (private; needs a key allowed to create private libraries).
    pub owner_type: Option<String>,
}

impl Operation for CreateLibrary {
    const SPEC: OpSpec = OpSpec::post("libraries_create", "/v1/libraries", Effect::Write);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let out = ToolOutput::from_response(&response, &ctx)?;
        let id = str_field(&out.structured, "id").to_string();
        Ok(out.with_summary(format!(
            "Created library {} ({id}). Add documents with libraries_documents_upload {{\"library_id\": \"{id}\", \"path\": \"…\"}}.",
            self.name
        )))
    }
}

/// List libraries, one page at a time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListLibraries {
    /// Libraries per page, 1 to 100 (default 100).
    #[schemars(range(min = 1, max = 100))]
    pub page_size: Option<u32>,
    /// `next_page_token` of the previous page, to get the next one.
    pub page_token: Option<String>,
    /// Case-insensitive search on library names.
    pub search: Option<String>,
}

impl Operation for ListLibraries {
    const SPEC: OpSpec = OpSpec::get("libraries_list", "/v1/libraries").query(&[
        "page_size",
        "page_token",
        "search",
    ]);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        Ok(ToolOutput::from_response(&response, &ctx)?.with_next_page_token(self.page_size))
    }
}

/// List a library's documents, one page at a time.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListDocuments {
    /// The library's id.
    pub library_id: String,
    /// Search document names.
    pub search: Option<String>,
    /// Page number, from 0.
    pub page: Option<u32>,
    /// Documents per page, 1 to 100 (default 100).
    #[schemars(range(min = 1, max = 100))]
    pub page_size: Option<u32>,
    /// Field to sort by (default `created_at`).
    pub sort_by: Option<String>,
    /// `desc` (default) or `asc`.
    pub sort_order: Option<String>,
}

impl Operation for ListDocuments {
    const SPEC: OpSpec = OpSpec::get(
        "libraries_documents_list",
        "/v1/libraries/{library_id}/documents",
    )
    .query(&["search", "page", "page_size", "sort_by", "sort_order"]);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        send_page(&Self::SPEC, &self, self.page, self.page_size, &ctx).await
    }
}

/// A document of a library.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    /// The library's id.
    pub library_id: String,
    /// The document's id (a UUID), as returned by libraries_documents_upload or _list.
    pub document_id: String,
}

macro_rules! document_op {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub DocumentRef);
    };
}

document_op!(GetDocument, "Get a document's metadata.");
document_op!(DeleteDocument, "Delete a document.");
document_op!(DocumentStatus, "Get a document's processing status.");
document_op!(DocumentSignedUrl, "Get a signed URL of a document.");
document_op!(
    DocumentExtractedTextSignedUrl,
    "Get a signed URL of a document's extracted text."
);
document_op!(ReprocessDocument, "Process a document again.");

impl Operation for GetDocument {
    const SPEC: OpSpec = OpSpec::get(
        "libraries_documents_get",
        "/v1/libraries/{library_id}/documents/{document_id}",
    );
}

impl Operation for DeleteDocument {
    const SPEC: OpSpec = OpSpec::delete(
        "libraries_documents_delete",
        "/v1/libraries/{library_id}/documents/{document_id}",
    );

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let summary = format!(
            "Deleted document {} from library {} and its search index.",
            self.0.document_id, self.0.library_id
        );
        acknowledged(&self, &ctx, summary).await
    }
}

impl Operation for DocumentStatus {
    const SPEC: OpSpec = OpSpec::get(
        "libraries_documents_status",
        "/v1/libraries/{library_id}/documents/{document_id}/status",
    );
}

impl Operation for DocumentSignedUrl {
    const SPEC: OpSpec = OpSpec::get(
        "libraries_documents_signed_url",
        "/v1/libraries/{library_id}/documents/{document_id}/signed-url",
    );

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        signed_url(&self, &ctx).await
    }
}

impl Operation for DocumentExtractedTextSignedUrl {
    const SPEC: OpSpec = OpSpec::get(
        "libraries_documents_extracted_text_signed_url",
        "/v1/libraries/{library_id}/documents/{document_id}/extracted-text-signed-url",
    );

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        signed_url(&self, &ctx).await
    }
}

impl Operation for ReprocessDocument {
    const SPEC: OpSpec = OpSpec::post(
        "libraries_documents_reprocess",
        "/v1/libraries/{library_id}/documents/{document_id}/reprocess",
        Effect::Write,
    )
    .no_body();

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let summary = format!(
            "Document {} is queued for processing again (billed again). Follow it with libraries_documents_wait.",
            self.0.document_id
        );
        acknowledged(&self, &ctx, summary).await
    }
}

/// Get the text extracted from a document.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentTextContent {
    /// The library's id.
    pub library_id: String,
    /// The document's id.
    pub document_id: String,
    /// First page to return (paged documents such as PDFs).
    pub page_start: Option<u32>,
    /// Last page to return.
    pub page_end: Option<u32>,
    /// Save the text to this local path (inside the server's allowed directories) instead of returning it. Use for long documents.
    #[serde(default, skip_serializing)]
    pub save_to: Option<String>,
}

impl Operation for DocumentTextContent {
    const SPEC: OpSpec = OpSpec::get(
        "libraries_documents_text_content",
        "/v1/libraries/{library_id}/documents/{document_id}/text_content",
    )
    .query(&["page_start", "page_end"]);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let target = match &self.save_to {
            Some(path) => Some(ctx.files.reserve(path).await?),
            None => None,
        };
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let value = response.json()?;
        let text = value.get("text").and_then(Value::as_str).unwrap_or("");
        let size = text.len();
        let mut meta = json!({
            "library_id": self.library_id,
            "document_id": self.document_id,
            "bytes": size,
        });
        if let Some(target) = target {
            let shown = target.path().display().to_string();
            target
                .write_all(bytes::Bytes::copy_from_slice(text.as_bytes()))
                .await?;
            meta["saved_to"] = json!(shown);
            return Ok(ToolOutput::json(meta)
                .with_summary(format!("Saved {size} bytes of text to {shown}.")));
        }
        let limit = ctx.files.max_inline_bytes as usize;
        if size <= limit {
            meta["truncated"] = json!(false);
            return Ok(ToolOutput::json(meta).with_summary(text.to_string()));
        }
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        meta["truncated"] = json!(true);
        meta["bytes_shown"] = json!(cut);
        Ok(ToolOutput::json(meta).with_summary(format!(
            "{}\n\n[Truncated: {cut} of {size} bytes shown. Ask for fewer pages with page_start/page_end, or pass save_to to write the whole text to a file.]",
            &text[..cut]
        )))
    }
}

/// Wait for a document to be processed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitDocument {
    /// The library's id.
    pub library_id: String,
    /// The document's id.
    pub document_id: String,
    /// Longest time to wait, in seconds (at most 3600). A plain call is answered within the server's max_wait_secs (default 50); an MCP task waits as long as asked (default 3600). When the wait ends, the current state is returned and processing continues.
    #[serde(default, skip_serializing)]
    #[schemars(range(min = 1, max = 3600))]
    pub timeout_secs: Option<u64>,
}

impl Operation for WaitDocument {
    // Polls the document itself: it carries the status and is the useful final answer.
    const SPEC: OpSpec = OpSpec::get(
        "libraries_documents_wait",
        "/v1/libraries/{library_id}/documents/{document_id}",
    );

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let timeout = wait::timeout_from(&ctx, self.timeout_secs)?;
        let request = build_request(&Self::SPEC, &self)?;
        let outcome = wait::poll(&ctx, &request, timeout, Backoff::default(), observe).await?;
        let summary = summarize(&outcome, timeout.as_secs());
        Ok(ToolOutput::json(outcome.into_value()).with_summary(summary))
    }
}

const DOCUMENT_TERMINAL: &[&str] = &["done", "error", "noop", "missing_content", "self_managed"];

fn process_status(doc: &Value) -> &str {
    doc.get("process_status")
        .or_else(|| doc.get("processing_status"))
        .and_then(Value::as_str)
        .unwrap_or("?")
}

fn observe(doc: &Value) -> Observation {
    let status = process_status(doc);
    let terminal = DOCUMENT_TERMINAL.contains(&status);
    let stage = if terminal {
        2.0
    } else if status == "in_progress" {
        1.0
    } else {
        0.0
    };
    Observation {
        terminal,
        progress: stage,
        total: Some(2.0),
        message: format!("{}: {status}", str_field(doc, "name")),
    }
}

fn summarize(outcome: &Outcome, waited_secs: u64) -> String {
    let doc = outcome.value();
    let status = process_status(doc);
    let library = str_field(doc, "library_id");
    let id = str_field(doc, "id");
    let mut line = format!("Document {} ({id}) is {status}", str_field(doc, "name"));
    if let Some(pages) = doc.get("number_of_pages").and_then(Value::as_u64) {
        line.push_str(&format!(", {pages} pages"));
    }
    line.push('.');
    let mut lines = vec![line];
    if !outcome.finished() {
        lines.push(format!(
            "It is still being processed after {waited_secs}s of waiting. Call libraries_documents_wait again to keep waiting."
        ));
    } else if status == "done" {
        lines.push(format!(
            "It is searchable now. Read its text with libraries_documents_text_content {{\"library_id\": \"{library}\", \"document_id\": \"{id}\"}}."
        ));
    } else if status == "error" {
        lines.push(format!(
            "Processing failed. Try libraries_documents_reprocess {{\"library_id\": \"{library}\", \"document_id\": \"{id}\"}}, or check the file."
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_states_read_as_stages() {
        let doc =
            json!({"id": "d", "library_id": "l", "name": "a.pdf", "process_status": "in_progress"});
        let o = observe(&doc);
        assert!(!o.terminal);
        assert_eq!(o.progress, 1.0);
        let done = json!({"id": "d", "library_id": "l", "name": "a.pdf", "process_status": "done", "number_of_pages": 3});
        assert!(observe(&done).terminal);
        let text = summarize(&Outcome::Finished(done), 1);
        assert!(
            text.contains("3 pages") && text.contains("libraries_documents_text_content"),
            "{text}"
        );
    }

    #[test]
    fn unshare_sends_its_fields_as_a_body() {
        use crate::api::generated::libraries::LibrariesAccessesUnshare as Unshare;
        use crate::mistral::RequestBody;
        let op = Unshare {
            library_id: "l".into(),
            share_with_uuid: "u".into(),
            share_with_type: "User".into(),
            level: None,
        };
        let req = build_request(&Unshare::SPEC, &op).unwrap();
        assert_eq!(req.path, "/v1/libraries/l/share");
        match req.body {
            RequestBody::Json(v) => {
                assert_eq!(
                    v,
                    json!({"share_with_uuid": "u", "share_with_type": "User"})
                )
            }
            other => panic!("unexpected body {other:?}"),
        }
    }
}
