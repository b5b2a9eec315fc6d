//! OCR (`POST /v1/ocr`) of a document given by URL, data URL, uploaded file id, or a local
//! path that the server uploads first.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::files;
use crate::tool::{
    CallContext, Effect, OpEntry, OpSpec, Operation, ToolError, ToolOutput, build_request, entry,
};

pub fn entries() -> Vec<OpEntry> {
    vec![entry::<RunOcr>()]
}

/// The document to read.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OcrDocument {
    /// A PDF or document at a public URL, or a `data:application/pdf;base64,…` URL.
    DocumentUrl {
        document_url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        document_name: Option<String>,
    },
    /// An image at a URL or as a `data:image/…;base64,…` URL.
    ImageUrl { image_url: String },
    /// A file already uploaded with files_upload (purpose `ocr`).
    File { file_id: String },
    /// A local file inside the server's allowed directories; the server uploads it first.
    LocalPath { path: String },
}

/// Extract text, tables and images from a document.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunOcr {
    /// OCR model (default `mistral-ocr-latest`).
    #[serde(default = "default_model")]
    pub model: String,
    pub document: OcrDocument,
    /// Pages to read, 0-based: a list such as `[0,2]` or a string such as `"0,2-4"`.
    pub pages: Option<Value>,
    /// Return extracted images as base64 (large).
    pub include_image_base64: Option<bool>,
    /// Most images to extract.
    pub image_limit: Option<u32>,
    /// Smallest image size to extract, in pixels.
    pub image_min_size: Option<u32>,
    /// Tables as `markdown` or `html`.
    pub table_format: Option<String>,
    pub extract_header: Option<bool>,
    pub extract_footer: Option<bool>,
    /// Include layout blocks (default true).
    pub include_blocks: Option<bool>,
    /// Confidence scores per `word`, `page` or `block`.
    pub confidence_scores_granularity: Option<String>,
    /// A response format (`{"type":"json_schema","json_schema":{…}}`) for annotating each bounding box.
    pub bbox_annotation_format: Option<Map<String, Value>>,
    /// A response format for annotating the whole document.
    pub document_annotation_format: Option<Map<String, Value>>,
    /// Instructions for the document annotation.
    pub document_annotation_prompt: Option<String>,
}

fn default_model() -> String {
    "mistral-ocr-latest".into()
}

impl Operation for RunOcr {
    const SPEC: OpSpec = OpSpec::post("ocr_process", "/v1/ocr", Effect::Inference);

    async fn run(mut self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let mut uploaded = None;
        if let OcrDocument::LocalPath { path } = &self.document {
            let file = ctx.files.read(path).await?;
            ctx.progress(
                0.0,
                Some(2.0),
                format!("uploading {} for OCR", file.file_name),
            )
            .await;
            let value = files::upload(&ctx, file, Some("ocr"), Vec::new()).await?;
            let Some(id) = value.get("id").and_then(Value::as_str) else {
                return Err(ToolError::Internal(
                    "file upload answered without an id".into(),
                ));
            };
            uploaded = Some(id.to_string());
            self.document = OcrDocument::File {
                file_id: id.to_string(),
            };
            ctx.progress(1.0, Some(2.0), "running OCR").await;
        }
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let mut out = ToolOutput::from_response(&response, &ctx)?;
        if let (Some(id), Value::Object(o)) = (&uploaded, &mut out.structured) {
            o.insert("uploaded_file_id".into(), Value::String(id.clone()));
        }
        let summary = summarize(&out.structured, uploaded.as_deref());
        Ok(out.with_summary(summary))
    }
}

/// Page markdown in order, then the annotation and usage.
fn summarize(v: &Value, uploaded: Option<&str>) -> String {
    let mut out = String::new();
    let pages = v
        .get("pages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for page in &pages {
        let index = page.get("index").and_then(Value::as_u64).unwrap_or(0);
        let md = page.get("markdown").and_then(Value::as_str).unwrap_or("");
        out.push_str(&format!("--- page {} ---\n{md}\n\n", index + 1));
    }
    if let Some(a) = v.get("document_annotation").and_then(Value::as_str) {
        out.push_str(&format!("--- document annotation ---\n{a}\n\n"));
    }
    let processed = v
        .pointer("/usage_info/pages_processed")
        .and_then(Value::as_u64)
        .unwrap_or(pages.len() as u64);
    let model = v.get("model").and_then(Value::as_str).unwrap_or("?");
    out.push_str(&format!("({processed} page(s) processed by {model}"));
    if let Some(id) = uploaded {
        out.push_str(&format!("; local file uploaded as file {id}"));
    }
    out.push(')');
    out
}
