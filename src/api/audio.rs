//! Audio: text to speech, speech to text (multipart upload of a local file, base64
//! content, a URL or an uploaded file id; plain or streamed), and custom voices.
//!
//! Audio results never go into the context as base64 text: they are written to an allowed
//! path (`save_to`) or, when small, returned as an MCP audio content block.

use base64::Engine;
use bytes::Bytes;
use rmcp::model::ContentBlock;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::localfs::{SaveTarget, decode_base64};
use crate::mistral::{FormField, RequestBody, UpstreamError, UpstreamRequest};
use crate::tool::stream::{Emit, Terminal, drive_stream, stream_error};
use crate::tool::{
    CallContext, Effect, OpEntry, OpSpec, Operation, ToolError, ToolOutput, build_request, entry,
};

pub fn entries() -> Vec<OpEntry> {
    vec![
        entry::<Speech>(),
        entry::<Transcribe>(),
        entry::<ListVoices>(),
        entry::<CreateVoice>(),
        entry::<VoiceSample>(),
    ]
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn mime_for_format(format: &str) -> &'static str {
    match format {
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "opus" => "audio/ogg",
        "pcm" => "audio/pcm",
        _ => "audio/mpeg",
    }
}

/// Reserves `save_to` before any billable or slow call is made.
async fn target(ctx: &CallContext, save_to: Option<&str>) -> Result<Option<SaveTarget>, ToolError> {
    match save_to {
        Some(path) => Ok(Some(ctx.files.reserve(path).await?)),
        None => Ok(None),
    }
}

fn saved(mut meta: Value, label: &str, mime: &str, size: u64, shown: &str) -> ToolOutput {
    meta["bytes"] = json!(size);
    meta["mime_type"] = json!(mime);
    meta["saved_to"] = json!(shown);
    ToolOutput::json(meta).with_summary(format!("Saved {label} ({size} bytes, {mime}) to {shown}."))
}

/// Saves audio to `target`, or returns it as an audio block if small enough.
async fn deliver_audio(
    ctx: &CallContext,
    target: Option<SaveTarget>,
    bytes: Bytes,
    mime: &str,
    mut meta: Value,
    label: &str,
) -> Result<ToolOutput, ToolError> {
    if let Some(target) = target {
        let shown = target.path().display().to_string();
        let size = target.write_all(bytes).await?;
        return Ok(saved(meta, label, mime, size, &shown));
    }
    let size = bytes.len();
    meta["bytes"] = json!(size);
    meta["mime_type"] = json!(mime);
    let limit = ctx.files.max_inline_bytes as usize;
    if size > limit {
        return Err(ToolError::InvalidArguments(format!(
            "the {label} is {size} bytes, more than the {limit} bytes returned inline. Pass `save_to` with a path inside the server's allowed directories"
        )));
    }
    meta["returned_as"] = json!("audio content");
    let mut out = ToolOutput::json(meta).with_summary(format!(
        "The {label} ({size} bytes, {mime}) is attached as audio."
    ));
    out.extra.push(ContentBlock::audio(b64(&bytes), mime));
    Ok(out)
}

/// Generate speech from text.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Speech {
    /// The text to speak. Inline tags such as `[emotion=happy]` steer the delivery.
    pub input: String,
    /// Text-to-speech model, for example `voxtral-mini-tts-2603` (Mistral's default when unset).
    pub model: Option<String>,
    /// A preset or custom voice id; audio_voices_list shows them.
    pub voice_id: Option<String>,
    /// A short reference recording as base64, to clone its voice for this request only.
    pub ref_audio: Option<String>,
    /// A local reference recording (inside the server's allowed directories), instead of `ref_audio`.
    #[serde(default, skip_serializing)]
    pub ref_audio_path: Option<String>,
    /// `mp3` (default), `wav`, `flac`, `opus` or `pcm`.
    pub response_format: Option<String>,
    /// Key grouping requests that share a prompt prefix, for caching.
    pub prompt_cache_key: Option<String>,
    /// Free-form metadata.
    pub metadata: Option<Map<String, Value>>,
    /// Save the audio to this local path (inside the server's allowed directories) instead of returning it. Needed for long texts.
    #[serde(default, skip_serializing)]
    pub save_to: Option<String>,
}

impl Operation for Speech {
    const SPEC: OpSpec = OpSpec::post("audio_speech", "/v1/audio/speech", Effect::Inference);

    async fn run(mut self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        if self.input.trim().is_empty() {
            return Err(ToolError::InvalidArguments(
                "`input` must contain text to speak".into(),
            ));
        }
        let target = target(&ctx, self.save_to.as_deref()).await?;
        if let Some(path) = self.ref_audio_path.take() {
            if self.ref_audio.is_some() {
                return Err(ToolError::InvalidArguments(
                    "give either `ref_audio` or `ref_audio_path`, not both".into(),
                ));
            }
            self.ref_audio = Some(b64(&ctx.files.read(&path).await?.bytes));
        }
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let value = response.json()?;
        let Some(data) = value.get("audio_data").and_then(Value::as_str) else {
            return Err(UpstreamError::Decode("speech answer has no audio_data".into()).into());
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| UpstreamError::Decode(format!("speech audio is not base64 ({e})")))?;
        let format = self.response_format.as_deref().unwrap_or("mp3");
        let meta = json!({ "format": format, "characters": self.input.chars().count() });
        deliver_audio(
            &ctx,
            target,
            Bytes::from(bytes),
            mime_for_format(format),
            meta,
            "speech",
        )
        .await
    }
}

/// Transcribe audio to text.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transcribe {
    /// Speech-to-text model (default `voxtral-mini-latest`).
    #[serde(default = "default_stt_model")]
    pub model: String,
    /// A local audio file inside the server's allowed directories.
    pub path: Option<String>,
    /// The audio as base64 (a `data:` URL is accepted); needs `file_name`.
    pub content_base64: Option<String>,
    /// File name for `content_base64` (its extension tells the format), or to rename `path`.
    pub file_name: Option<String>,
    /// A public URL of the audio.
    pub file_url: Option<String>,
    /// The id of an audio file uploaded with files_upload.
    pub file_id: Option<String>,
    /// Language of the audio as a two-letter code such as `en`; improves accuracy.
    #[schemars(regex(pattern = r"^\w{2}$"))]
    pub language: Option<String>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Label who speaks when (speaker ids in segments).
    pub diarize: Option<bool>,
    /// Words or names to favour, one token each without spaces or commas (for example product names).
    pub context_bias: Option<Vec<String>>,
    /// Timestamps to include: `segment`, `word`.
    pub timestamp_granularities: Option<Vec<String>>,
    /// Stream the transcript: text arrives as progress notifications and the full transcript is returned at the end.
    pub stream: Option<bool>,
}

fn default_stt_model() -> String {
    "voxtral-mini-latest".into()
}

impl Operation for Transcribe {
    const SPEC: OpSpec = OpSpec::post(
        "audio_transcribe",
        "/v1/audio/transcriptions",
        Effect::Inference,
    );

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let local = self.path.is_some() || self.content_base64.is_some();
        let sources = [local, self.file_url.is_some(), self.file_id.is_some()];
        if sources.iter().filter(|s| **s).count() != 1 {
            return Err(ToolError::InvalidArguments(
                "give the audio as exactly one of `path` (local file), `content_base64` with `file_name`, `file_url` or `file_id`".into(),
            ));
        }
        let mut fields = vec![("model".to_string(), FormField::Text(self.model.clone()))];
        if local {
            let file = ctx
                .load_file(
                    self.path.as_deref(),
                    self.content_base64.as_deref(),
                    self.file_name.as_deref(),
                )
                .await?;
            ctx.progress(
                0.0,
                None,
                format!("uploading {} ({} bytes)", file.file_name, file.bytes.len()),
            )
            .await;
            fields.push((
                "file".into(),
                FormField::File {
                    file_name: file.file_name,
                    mime: file.mime,
                    bytes: file.bytes,
                },
            ));
        }
        let text = |name: &str, v: String| (name.to_string(), FormField::Text(v));
        if let Some(v) = &self.file_url {
            fields.push(text("file_url", v.clone()));
        }
        if let Some(v) = &self.file_id {
            fields.push(text("file_id", v.clone()));
        }
        if let Some(v) = &self.language {
            fields.push(text("language", v.clone()));
        }
        if let Some(v) = self.temperature {
            fields.push(text("temperature", v.to_string()));
        }
        if let Some(v) = self.diarize {
            fields.push(text("diarize", v.to_string()));
        }
        // Lists go as repeated fields of the same name, the usual form encoding of arrays.
        for v in self.context_bias.iter().flatten() {
            fields.push(text("context_bias", v.clone()));
        }
        for v in self.timestamp_granularities.iter().flatten() {
            fields.push(text("timestamp_granularities", v.clone()));
        }
        let stream = self.stream.unwrap_or(false);
        if stream {
            fields.push(text("stream", "true".into()));
        }
        let spec = &Self::SPEC;
        let request = UpstreamRequest {
            method: spec.method,
            path: spec.path.to_string(),
            query: Vec::new(),
            headers: Vec::new(),
            body: RequestBody::Multipart(fields),
            auth: crate::mistral::Auth::Key,
            retry_server_errors: spec.retry_server_errors(),
        };
        let out = if stream {
            ToolOutput::json(stream_transcription(&ctx, &request, &self.model).await?)
        } else {
            ToolOutput::from_response(&ctx.send(&request).await?, &ctx)?
        };
        let summary = transcript_summary(&out.structured);
        Ok(out.with_summary(summary))
    }
}

/// Folds transcription stream events into a transcription response.
async fn stream_transcription(
    ctx: &CallContext,
    request: &UpstreamRequest,
    model: &str,
) -> Result<Value, ToolError> {
    let mut text = String::new();
    let mut language = Value::Null;
    let mut segments = Vec::new();
    let mut done: Option<Value> = None;
    let end = drive_stream(
        ctx,
        request,
        Terminal::Event("transcription.done"),
        |name, data| {
            Ok(match name {
                "transcription.text.delta" => {
                    let t = data.get("text").and_then(Value::as_str).unwrap_or("");
                    text.push_str(t);
                    Some(Emit::Text(t.to_string()))
                }
                "transcription.language" => {
                    language = data.get("audio_language").cloned().unwrap_or(Value::Null);
                    None
                }
                "transcription.segment" => {
                    let mut segment = data.clone();
                    segment["type"] = json!("transcription_segment");
                    segments.push(segment);
                    None
                }
                "transcription.done" => {
                    done = Some(data.clone());
                    None
                }
                "error" | "transcription.error" => return Err(stream_error(data)),
                _ => None,
            })
        },
    )
    .await?;
    if let Some(mut v) = done {
        if let Value::Object(o) = &mut v {
            o.remove("type");
            o.entry("segments").or_insert_with(|| json!(segments));
        }
        end.mark(&mut v);
        return Ok(v);
    }
    let mut v = json!({ "model": model, "text": text, "language": language, "segments": segments, "usage": {} });
    end.mark(&mut v);
    Ok(v)
}

/// The transcript, then segment timestamps and usage.
fn transcript_summary(v: &Value) -> String {
    let mut out = v
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    if let Some(note) = v.get("incomplete").and_then(Value::as_str) {
        out = format!("[{note}]\n{out}");
    }
    let segments = v
        .get("segments")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !segments.is_empty() {
        out.push_str("\n\nSegments:");
        for s in &segments {
            let t = |k: &str| s.get(k).and_then(Value::as_f64).unwrap_or(0.0);
            let speaker = s
                .get("speaker_id")
                .and_then(Value::as_str)
                .map(|id| format!(" {id}:"))
                .unwrap_or_default();
            let text = s.get("text").and_then(Value::as_str).unwrap_or("").trim();
            out.push_str(&format!(
                "\n[{:.1}-{:.1}]{speaker} {text}",
                t("start"),
                t("end")
            ));
        }
    }
    let mut meta = Vec::new();
    if let Some(m) = v.get("model").and_then(Value::as_str) {
        meta.push(format!("model {m}"));
    }
    if let Some(l) = v.get("language").and_then(Value::as_str) {
        meta.push(format!("language {l}"));
    }
    if let Some(s) = v
        .pointer("/usage/prompt_audio_seconds")
        .and_then(Value::as_u64)
    {
        meta.push(format!("{s}s of audio"));
    }
    if !meta.is_empty() {
        out.push_str(&format!("\n({})", meta.join(", ")));
    }
    out.trim().to_string()
}

/// List voices, preset and custom.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListVoices {
    /// Voices per page, 1 to 100 (default 10).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    /// How many voices to skip (default 0).
    pub offset: Option<u32>,
    /// `all` (default), `custom` or `preset`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

impl Operation for ListVoices {
    const SPEC: OpSpec =
        OpSpec::get("audio_voices_list", "/v1/audio/voices").query(&["limit", "offset", "type"]);

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let mut out = ToolOutput::from_response(&response, &ctx)?;
        let limit = u64::from(self.limit.unwrap_or(10));
        let offset = u64::from(self.offset.unwrap_or(0));
        let shown = out
            .structured
            .get("items")
            .and_then(Value::as_array)
            .map_or(0, Vec::len) as u64;
        let more = match out.structured.get("total").and_then(Value::as_u64) {
            Some(total) => offset + shown < total,
            None => shown >= limit,
        };
        if more
            && shown > 0
            && let Value::Object(o) = &mut out.structured
        {
            o.insert(
                "next_page".into(),
                json!({ "offset": offset + shown, "limit": limit }),
            );
        }
        Ok(out)
    }
}

/// Create a custom voice from a recording.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVoice {
    /// The voice's name.
    pub name: String,
    /// A local recording (inside the server's allowed directories) to clone.
    #[serde(default, skip_serializing)]
    pub path: Option<String>,
    /// The recording as base64, instead of `path`.
    pub sample_audio: Option<String>,
    /// The recording's file name; its extension tells the format. Defaults to the local file's name.
    pub sample_filename: Option<String>,
    /// Short identifier.
    pub slug: Option<String>,
    /// Languages the voice speaks, for example `["en", "fr"]`.
    pub languages: Option<Vec<String>>,
    pub gender: Option<String>,
    pub age: Option<u32>,
    pub tags: Option<Vec<String>>,
    /// Display colour.
    pub color: Option<String>,
    /// At most 500 characters.
    #[schemars(length(max = 500))]
    pub description: Option<String>,
    /// Retention notice period in days (default 30).
    pub retention_notice: Option<u32>,
}

impl Operation for CreateVoice {
    const SPEC: OpSpec = OpSpec::post("audio_voices_create", "/v1/audio/voices", Effect::Write);

    async fn run(mut self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let bytes: Bytes = match (self.path.take(), &self.sample_audio) {
            (Some(path), None) => {
                let file = ctx.files.read(&path).await?;
                self.sample_filename.get_or_insert(file.file_name);
                file.bytes
            }
            (None, Some(content)) => decode_base64("sample_audio", content)?,
            (Some(_), Some(_)) => {
                return Err(ToolError::InvalidArguments(
                    "give either `path` or `sample_audio`, not both".into(),
                ));
            }
            (None, None) => {
                return Err(ToolError::InvalidArguments(
                    "give the recording as `path` (a local file) or `sample_audio` (base64)".into(),
                ));
            }
        };
        self.sample_audio = Some(b64(&bytes));
        let response = ctx.send(&build_request(&Self::SPEC, &self)?).await?;
        let out = ToolOutput::from_response(&response, &ctx)?;
        let id = out
            .structured
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        Ok(out.with_summary(format!(
            "Created voice {} ({id}); use it as voice_id in audio_speech.",
            self.name
        )))
    }
}

/// Get a voice's sample recording.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoiceSample {
    /// The voice's id.
    pub voice_id: String,
    /// Save the recording to this local path (inside the server's allowed directories) instead of returning it.
    #[serde(default, skip_serializing)]
    pub save_to: Option<String>,
}

impl Operation for VoiceSample {
    const SPEC: OpSpec = OpSpec::get("audio_voices_sample", "/v1/audio/voices/{voice_id}/sample");

    async fn run(self, ctx: CallContext) -> Result<ToolOutput, ToolError> {
        let target = target(&ctx, self.save_to.as_deref()).await?;
        let request = build_request(&Self::SPEC, &self)?;
        let meta = json!({ "voice_id": self.voice_id });
        if let Some(target) = target {
            // Saved samples stream straight to disk.
            let download = ctx.client.download(&request, &ctx.cancel).await?;
            let mime = sample_mime(download.content_type.as_deref());
            let shown = target.path().display().to_string();
            let size = target.write_stream(download.body).await?;
            return Ok(saved(meta, "voice sample", &mime, size, &shown));
        }
        let response = ctx.send(&request).await?;
        let mime = sample_mime(response.content_type.as_deref());
        deliver_audio(&ctx, None, response.body, &mime, meta, "voice sample").await
    }
}

/// The audio type of a voice sample, from its content type (WAV when it is not audio).
fn sample_mime(content_type: Option<&str>) -> String {
    content_type
        .and_then(|c| c.split(';').next())
        .map(str::trim)
        .filter(|c| c.starts_with("audio/"))
        .unwrap_or("audio/wav")
        .to_string()
}
