//! What an operation may use while it runs: the Mistral client (with the caller's key),
//! the local files it may read and write, cancellation, the progress channel back to the
//! client and the deadline of the server's per-call budget.

use std::sync::Arc;

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};
use tokio_util::sync::CancellationToken;

use crate::error::ToolError;
use crate::localfs::{LoadedFile, LocalFiles, decode_base64, mime_for};
use crate::mistral::{MistralClient, UpstreamRequest, UpstreamResponse};

/// Where progress for the current call goes: MCP progress notifications to a client that
/// asked for them, or the latest state of an MCP task, which its record shows.
#[derive(Clone)]
pub enum ProgressSink {
    Notify {
        peer: Peer<RoleServer>,
        token: ProgressToken,
    },
    /// Every update is kept (a stream's deltas add up), so the channel is unbounded; the
    /// task's runner drains it as they come.
    Task(tokio::sync::mpsc::UnboundedSender<ProgressUpdate>),
}

/// One progress report, as a task keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressUpdate {
    pub progress: f64,
    pub total: Option<f64>,
    pub message: String,
    /// The message is the next piece of a streamed answer, not a new state.
    pub delta: bool,
}

impl ProgressSink {
    pub fn new(peer: Peer<RoleServer>, token: ProgressToken) -> Self {
        Self::Notify { peer, token }
    }
}

/// What an operation may use while it runs.
#[derive(Clone)]
pub struct CallContext {
    pub client: Arc<MistralClient>,
    pub files: Arc<LocalFiles>,
    pub cancel: CancellationToken,
    pub progress: Option<ProgressSink>,
    /// When the server's per-call time budget runs out; waits end before it with the
    /// last state instead of being cut off with an error.
    pub deadline: Option<tokio::time::Instant>,
    /// The client reads resource links (MCP 2025-06-18 and later): a large artifact is
    /// named by a `mistral://` link it can read when it wants, not inlined.
    pub resource_links: bool,
    /// Longest a wait may hold this call before answering with the work's last state;
    /// `None` in an MCP task, where no request is held open.
    pub max_wait: Option<std::time::Duration>,
}

impl CallContext {
    pub async fn send(&self, request: &UpstreamRequest) -> Result<UpstreamResponse, ToolError> {
        Ok(self.client.send(request, &self.cancel).await?)
    }

    /// Sends a progress notification if the client gave a progress token. Failures are
    /// ignored: progress is advisory and must never fail the call.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: impl Into<String>) {
        self.report(progress, total, message.into(), false).await;
    }

    /// Like [`Self::progress`], for the next piece of a streamed answer: a client sees it
    /// as a progress message, a task adds it to the text so far.
    pub async fn progress_delta(&self, progress: f64, piece: String) {
        self.report(progress, None, piece, true).await;
    }

    async fn report(&self, progress: f64, total: Option<f64>, message: String, delta: bool) {
        let Some(sink) = &self.progress else { return };
        let mut message = message;
        crate::redact::scrub_string(&mut message);
        match sink {
            ProgressSink::Notify { peer, token } => {
                let mut param =
                    ProgressNotificationParam::new(token.clone(), progress).with_message(message);
                if let Some(total) = total {
                    param = param.with_total(total);
                }
                if let Err(e) = peer.notify_progress(param).await {
                    tracing::debug!(error = %e, "progress notification not delivered");
                }
            }
            ProgressSink::Task(latest) => {
                // Nobody listening means the task ended; the update has nowhere to go.
                let _ = latest.send(ProgressUpdate {
                    progress,
                    total,
                    message,
                    delta,
                });
            }
        }
    }

    /// Reads the file an agent pointed at: a local `path`, or `content_base64` with a name.
    pub async fn load_file(
        &self,
        path: Option<&str>,
        content_base64: Option<&str>,
        file_name: Option<&str>,
    ) -> Result<LoadedFile, ToolError> {
        match (path, content_base64) {
            (Some(path), None) => {
                let mut file = self.files.read(path).await?;
                if let Some(name) = file_name {
                    file.file_name = name.to_string();
                    file.mime = mime_for(name);
                }
                Ok(file)
            }
            (None, Some(content)) => {
                let Some(name) = file_name else {
                    return Err(ToolError::InvalidArguments(
                        "`file_name` is required with `content_base64` (for example \"invoice.pdf\"); Mistral uses its extension".into(),
                    ));
                };
                let bytes = decode_base64("content_base64", content)?;
                if bytes.len() as u64 > self.files.max_upload_bytes {
                    return Err(ToolError::InvalidArguments(format!(
                        "`content_base64` decodes to {} bytes, over the upload limit of {} bytes",
                        bytes.len(),
                        self.files.max_upload_bytes
                    )));
                }
                Ok(LoadedFile { file_name: name.to_string(), mime: mime_for(name), bytes })
            }
            (Some(_), Some(_)) => Err(ToolError::InvalidArguments(
                "give either `path` or `content_base64`, not both".into(),
            )),
            (None, None) => Err(ToolError::InvalidArguments(
                "give the file as `path` (a local file the server may read) or `content_base64` with `file_name`".into(),
            )),
        }
    }
}
