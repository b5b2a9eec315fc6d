//! The Mistral client: the one place where upstream traffic is made.
//!
//! It owns the pooled HTTP client, injects the server-side API key into each request
//! (nothing a tool caller sends can set or see it), applies timeouts, retries 429/5xx and
//! connection failures with bounded, jittered exponential backoff that honours
//! `Retry-After`, stops at once when the MCP call is cancelled, and maps every failure to
//! an [`UpstreamError`] an agent can act on.

pub mod error;
pub mod sse;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

pub use error::{ApiErrorBody, UpstreamError};

use crate::config::{RetryPolicy, UpstreamConfig};
use crate::metrics;

/// HTTP methods the Mistral API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One field of a multipart form. File contents are kept as `Bytes` so a retry can
/// rebuild the form without reading the file again.
#[derive(Debug, Clone)]
pub enum FormField {
    Text(String),
    File {
        file_name: String,
        mime: String,
        bytes: Bytes,
    },
}

#[derive(Debug, Clone)]
pub enum RequestBody {
    None,
    Json(Value),
    Multipart(Vec<(String, FormField)>),
}

/// Which key a request carries, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The API key as `Authorization: Bearer`.
    Key,
    /// The API key in an `x-api-key` header (the spec's user-context operations).
    KeyHeader,
    /// The organization's admin key. The spec says bearer and Mistral's admin docs say
    /// `x-api-key`; the key goes in both, so either reading is served.
    Admin,
}

/// A fully resolved upstream request: path parameters substituted and encoded.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Extra headers from the operation's header parameters (`Last-Event-ID`).
    pub headers: Vec<(String, String)>,
    pub body: RequestBody,
    pub auth: Auth,
    /// Whether a 5xx may be retried. False for writes that are not idempotent, where a
    /// retry after a server error could create the resource twice.
    pub retry_server_errors: bool,
}

/// A successful upstream answer.
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
    /// Headers worth surfacing to the agent (model deprecation, rate-limit state).
    pub notices: Vec<(String, String)>,
}

impl UpstreamResponse {
    pub fn json(&self) -> Result<Value, UpstreamError> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| UpstreamError::Decode(format!("expected JSON ({e})")))
    }
}

/// A successful upstream answer whose body is still arriving, chunk by chunk, each within
/// the stream idle timeout.
pub struct Download {
    pub content_type: Option<String>,
    pub body: BoxStream<'static, Result<Bytes, UpstreamError>>,
}

/// Cheap to clone: clones share the connection pool and the concurrency cap.
#[derive(Clone)]
pub struct MistralClient {
    http: reqwest::Client,
    /// Caps requests in flight to Mistral across every caller, so a burst of agents
    /// queues here instead of tripping Mistral's rate limits for the whole team.
    slots: Arc<Semaphore>,
    base_url: url::Url,
    api_key: Option<SecretString>,
    admin_api_key: Option<SecretString>,
    timeout: Duration,
    stream_idle_timeout: Duration,
    retry: RetryPolicy,
    max_response_bytes: u64,
    max_stream_event_bytes: usize,
}

impl std::fmt::Debug for MistralClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MistralClient")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl MistralClient {
    pub fn new(cfg: &UpstreamConfig) -> anyhow::Result<Self> {
        install_tls_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("mistral-mcp/", env!("CARGO_PKG_VERSION")))
            .build()?;
        for key in [&cfg.api_key, &cfg.admin_api_key].into_iter().flatten() {
            crate::redact::register(key);
        }
        Ok(Self {
            http,
            slots: Arc::new(Semaphore::new(cfg.max_concurrent_requests.max(1))),
            base_url: cfg.base_url.clone(),
            api_key: cfg.api_key.clone(),
            admin_api_key: cfg.admin_api_key.clone(),
            timeout: cfg.timeout,
            stream_idle_timeout: cfg.stream_idle_timeout,
            retry: cfg.retry.clone(),
            max_response_bytes: cfg.max_response_bytes,
            max_stream_event_bytes: cfg.max_stream_event_bytes,
        })
    }

    /// The same client spending another key: a caller's own key from the server-side vault.
    pub fn with_api_key(&self, key: SecretString) -> Self {
        crate::redact::register(&key);
        Self {
            api_key: Some(key),
            ..self.clone()
        }
    }

    pub fn has_api_key(&self) -> bool {
        self.api_key.is_some()
    }

    pub fn has_admin_api_key(&self) -> bool {
        self.admin_api_key.is_some()
    }

    pub fn stream_idle_timeout(&self) -> Duration {
        self.stream_idle_timeout
    }

    /// Largest single event a stream consumer should accept.
    pub fn max_stream_event_bytes(&self) -> usize {
        self.max_stream_event_bytes
    }

    /// Masks every key this process holds (see [`crate::redact`]) in text bound for the
    /// agent or a log.
    pub fn redact(&self, text: &str) -> String {
        crate::redact::scrub(text).into_owned()
    }

    fn url(&self, path: &str) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    fn build(
        &self,
        req: &UpstreamRequest,
        key: &SecretString,
        timeout: Option<Duration>,
    ) -> Result<reqwest::RequestBuilder, UpstreamError> {
        let secret = |text: String| {
            let mut value = HeaderValue::from_str(&text).map_err(|_| UpstreamError::NoApiKey)?;
            value.set_sensitive(true);
            Ok::<_, UpstreamError>(value)
        };
        let mut b = self
            .http
            .request(req.method.to_reqwest(), self.url(&req.path));
        if req.auth != Auth::KeyHeader {
            b = b.header(
                AUTHORIZATION,
                secret(format!("Bearer {}", key.expose_secret()))?,
            );
        }
        if req.auth != Auth::Key {
            b = b.header("x-api-key", secret(key.expose_secret().to_string())?);
        }
        for (name, value) in &req.headers {
            b = b.header(name.as_str(), value.as_str());
        }
        if let Some(t) = timeout {
            b = b.timeout(t);
        }
        if !req.query.is_empty() {
            b = b.query(&req.query);
        }
        b = match &req.body {
            RequestBody::None => b,
            RequestBody::Json(v) => b.json(v),
            RequestBody::Multipart(fields) => {
                let mut form = reqwest::multipart::Form::new();
                for (name, field) in fields {
                    form = match field {
                        FormField::Text(t) => form.text(name.clone(), t.clone()),
                        FormField::File {
                            file_name,
                            mime,
                            bytes,
                        } => {
                            let part = reqwest::multipart::Part::stream(bytes.clone())
                                .file_name(file_name.clone())
                                .mime_str(mime)
                                .map_err(|e| {
                                    UpstreamError::Decode(format!("bad mime type {mime}: {e}"))
                                })?;
                            form.part(name.clone(), part)
                        }
                    };
                }
                b.multipart(form)
            }
        };
        Ok(b)
    }

    /// Sends a request and reads the whole answer, retrying where that is safe.
    pub async fn send(
        &self,
        req: &UpstreamRequest,
        cancel: &CancellationToken,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let _slot = self.take_slot(cancel).await?;
        let response = self.execute(req, cancel, Some(self.timeout), false).await?;
        let status = response.status().as_u16();
        let content_type = content_type(response.headers());
        let notices = notices(response.headers());
        let limit = self.max_response_bytes;
        if let Some(size) = response.content_length().filter(|n| *n > limit) {
            return Err(UpstreamError::ResponseTooLarge {
                limit,
                size: Some(size),
            });
        }
        let body = tokio::select! {
            _ = cancel.cancelled() => return Err(UpstreamError::Cancelled),
            body = read_body(response, limit) => match body {
                Ok(Body::Whole(bytes)) => bytes,
                Ok(Body::Cut(_)) => return Err(UpstreamError::ResponseTooLarge { limit, size: None }),
                Err(e) => return Err(self.transport_error(e, 1)),
            },
        };
        Ok(UpstreamResponse {
            status,
            content_type,
            body,
            notices,
        })
    }

    /// Opens a streaming request. Retries happen only before the first byte arrives, so no
    /// event is ever delivered twice.
    pub async fn stream(
        &self,
        req: &UpstreamRequest,
        cancel: &CancellationToken,
    ) -> Result<BoxStream<'static, Result<Bytes, UpstreamError>>, UpstreamError> {
        Ok(self.download(req, cancel).await?.body)
    }

    /// Opens a response read piece by piece (a stream of events, or a download that goes
    /// straight to disk without being held in memory), with its content type.
    pub async fn download(
        &self,
        req: &UpstreamRequest,
        cancel: &CancellationToken,
    ) -> Result<Download, UpstreamError> {
        let slot = self.take_slot(cancel).await?;
        let response = self.execute(req, cancel, None, true).await?;
        let content_type = content_type(response.headers());
        let idle = self.stream_idle_timeout;
        // Each chunk must arrive within `idle` of the previous one; a total timeout would
        // kill long but healthy generations. The slot stays taken until the body ends.
        let body = futures::stream::unfold(
            (Box::pin(response.bytes_stream()), slot),
            move |(mut body, slot)| async move {
                match tokio::time::timeout(idle, body.next()).await {
                    Err(_) => Some((Err(UpstreamError::StreamIdle { idle }), (body, slot))),
                    Ok(None) => None,
                    Ok(Some(Ok(chunk))) => Some((Ok(chunk), (body, slot))),
                    Ok(Some(Err(e))) => Some((
                        Err(UpstreamError::Decode(format!(
                            "the response broke off: {e}"
                        ))),
                        (body, slot),
                    )),
                }
            },
        );
        Ok(Download {
            content_type,
            body: Box::pin(body),
        })
    }

    /// Waits for a free slot under the concurrency cap (or the call's cancellation).
    async fn take_slot(&self, cancel: &CancellationToken) -> Result<Slot, UpstreamError> {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                metrics::upstream_queued();
                tokio::select! {
                    _ = cancel.cancelled() => return Err(UpstreamError::Cancelled),
                    p = self.slots.clone().acquire_owned() => {
                        p.map_err(|_| UpstreamError::Cancelled)?
                    }
                }
            }
        };
        Ok(Slot {
            _permit: permit,
            _gauge: metrics::upstream_in_flight(),
        })
    }

    async fn execute(
        &self,
        req: &UpstreamRequest,
        cancel: &CancellationToken,
        timeout: Option<Duration>,
        streaming: bool,
    ) -> Result<reqwest::Response, UpstreamError> {
        let key = match req.auth {
            Auth::Admin => self
                .admin_api_key
                .as_ref()
                .ok_or(UpstreamError::NoAdminKey)?,
            Auth::Key | Auth::KeyHeader => self.api_key.as_ref().ok_or(UpstreamError::NoApiKey)?,
        };
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let builder = self.build(req, key, timeout)?;
            let send = async {
                if streaming {
                    // Streams get a deadline for the response headers instead of a total one.
                    match tokio::time::timeout(self.timeout, builder.send()).await {
                        Ok(r) => r.map_err(|e| self.transport_error(e, attempt)),
                        Err(_) => Err(UpstreamError::Timeout {
                            timeout: self.timeout,
                            attempts: attempt,
                        }),
                    }
                } else {
                    builder
                        .send()
                        .await
                        .map_err(|e| self.transport_error(e, attempt))
                }
            };
            let sent_at = Instant::now();
            let outcome = tokio::select! {
                _ = cancel.cancelled() => return Err(UpstreamError::Cancelled),
                r = send => r,
            };
            metrics::upstream_attempt(
                outcome.as_ref().ok().map(|r| r.status().as_u16()),
                sent_at.elapsed(),
            );
            let (err, server_hint) = match outcome {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = parse_retry_after(resp.headers());
                    // Only the start of an error body is worth reading.
                    let body = tokio::select! {
                        _ = cancel.cancelled() => return Err(UpstreamError::Cancelled),
                        b = read_body(resp, MAX_ERROR_BODY_BYTES) => match b {
                            Ok(Body::Whole(bytes) | Body::Cut(bytes)) => bytes,
                            Err(_) => Bytes::new(),
                        },
                    };
                    let mut parsed = ApiErrorBody::parse(&body);
                    parsed.message = parsed.message.map(|m| self.redact(&m));
                    let err = UpstreamError::Status {
                        status,
                        body: Box::new(parsed),
                        retry_after,
                        attempts: attempt,
                    };
                    let retryable = status == 429
                        || (req.retry_server_errors && matches!(status, 500 | 502 | 503 | 504));
                    if !retryable {
                        return Err(err);
                    }
                    (err, retry_after)
                }
                Err(err) => {
                    // A timed-out write may still have been processed: only retry what is safe.
                    let retryable = match &err {
                        UpstreamError::Connect { .. } => true,
                        UpstreamError::Timeout { .. } => req.retry_server_errors,
                        _ => false,
                    };
                    if !retryable {
                        return Err(err);
                    }
                    (err, None)
                }
            };
            if attempt > self.retry.max_retries {
                return Err(err);
            }
            let delay = server_hint.unwrap_or_else(|| backoff(&self.retry, attempt));
            if delay > self.retry.max_delay
                || started.elapsed().saturating_add(delay) > self.retry.budget
            {
                return Err(err);
            }
            metrics::upstream_retry();
            tracing::warn!(
                status = err.status(),
                attempt,
                delay_ms = delay.as_millis() as u64,
                path = %req.path,
                "retrying Mistral request"
            );
            tokio::select! {
                _ = cancel.cancelled() => return Err(UpstreamError::Cancelled),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    fn transport_error(&self, e: reqwest::Error, attempts: u32) -> UpstreamError {
        if e.is_timeout() {
            UpstreamError::Timeout {
                timeout: self.timeout,
                attempts,
            }
        } else if e.is_connect() || e.is_request() {
            UpstreamError::Connect {
                base_url: self.base_url.to_string(),
                reason: self.redact(&error_chain(&e)),
                attempts,
            }
        } else {
            UpstreamError::Decode(self.redact(&error_chain(&e)))
        }
    }
}

/// How much of an error body is read: enough for any message Mistral writes.
const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

/// The longest `Retry-After` taken at its word; anything longer (or absurd, like `1e20`)
/// is read as this, which is past any retry budget, so the call fails at once and tells
/// the agent to wait.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A body read up to a limit.
enum Body {
    Whole(Bytes),
    /// The first `limit` bytes; the rest was left unread.
    Cut(Bytes),
}

/// Reads a body chunk by chunk, holding at most `limit` bytes: a huge or endless answer is
/// cut off instead of exhausting memory. One buffer, sized from Content-Length when given,
/// so the body is never copied.
async fn read_body(mut response: reqwest::Response, limit: u64) -> Result<Body, reqwest::Error> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let expected = response
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let mut buf = Vec::with_capacity(expected.min(limit));
    while let Some(chunk) = response.chunk().await? {
        let room = limit - buf.len();
        if chunk.len() > room {
            buf.extend_from_slice(&chunk[..room]);
            return Ok(Body::Cut(Bytes::from(buf)));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Body::Whole(Bytes::from(buf)))
}

/// Makes ring the process's TLS crypto provider, once; every HTTPS client the server
/// builds (Mistral, the OAuth issuer) takes it from there. Harmless when one is already
/// installed (tests link a second provider through their own HTTP clients).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A held slot under the concurrency cap.
struct Slot {
    _permit: OwnedSemaphorePermit,
    _gauge: metrics::InFlight,
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}

/// `initial · 2^(attempt-1)`, capped, plus up to 50% random jitter so that many clients
/// rate-limited together do not come back together.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exp = policy
        .initial_delay
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    let capped = exp.min(policy.max_delay);
    let jitter = rand::random::<f64>() * 0.5;
    // `mul_f64` panics on overflow; a configured max_delay can be near Duration::MAX.
    Duration::try_from_secs_f64(capped.as_secs_f64() * (1.0 + jitter))
        .unwrap_or(policy.max_delay)
        .min(policy.max_delay)
}

/// `Retry-After` in seconds or as an HTTP date.
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    // The header comes from outside: clamp before converting, since `from_secs_f64`
    // panics on values too large for a Duration. NaN, negative and unparsable values are
    // ignored (the client's own backoff applies); infinity means "very long".
    if let Ok(secs) = raw.parse::<f64>() {
        if secs.is_nan() || secs < 0.0 {
            return None;
        }
        return Some(
            Duration::try_from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64()))
                .unwrap_or(MAX_RETRY_AFTER),
        );
    }
    let when = httpdate::parse_http_date(raw).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
            .min(MAX_RETRY_AFTER),
    )
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn notices(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let n = name.as_str();
            n == "x-model-deprecation-timestamp" || n.starts_with("x-ratelimit-remaining")
        })
        .filter_map(|(name, value)| {
            Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 5,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            budget: Duration::from_secs(10),
        };
        let first = backoff(&p, 1);
        assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(150));
        let third = backoff(&p, 3);
        assert!(third >= Duration::from_millis(400) && third <= Duration::from_millis(600));
        assert_eq!(backoff(&p, 30), Duration::from_secs(1));
    }

    #[test]
    fn retry_after_seconds_and_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(3)));
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let d = parse_retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(25) && d <= Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h), None);
    }

    #[test]
    fn absurd_retry_after_values_are_clamped_not_panics() {
        let mut h = HeaderMap::new();
        for raw in ["1e20", "inf", "1.8e19", "18446744073709551616", "1e308"] {
            h.insert(RETRY_AFTER, HeaderValue::from_static(raw));
            assert_eq!(parse_retry_after(&h), Some(MAX_RETRY_AFTER), "{raw}");
        }
        for raw in ["-1", "-inf", "NaN", "-1e20"] {
            h.insert(RETRY_AFTER, HeaderValue::from_static(raw));
            assert_eq!(parse_retry_after(&h), None, "{raw}");
        }
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Fri, 31 Dec 9999 23:59:59 GMT"),
        );
        assert_eq!(parse_retry_after(&h), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn backoff_with_a_huge_configured_cap_does_not_overflow() {
        let p = RetryPolicy {
            max_retries: 5,
            initial_delay: Duration::MAX,
            max_delay: Duration::MAX,
            budget: Duration::MAX,
        };
        assert_eq!(backoff(&p, 3), Duration::MAX);
    }
}
