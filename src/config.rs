//! Server configuration: one [`Config`] built from defaults, an optional TOML file, the
//! environment and command-line flags, in that order of increasing precedence.
//!
//! The file is strict (unknown keys are errors, so a typo never silently does nothing).
//! The Mistral API key is held in a [`SecretString`] from the moment it is read, so it
//! cannot reach a log line or a `Debug` dump by accident.
//!
//! This module is plain data at the bottom of the crate: it imports no other module.
//! Inbound token entries stay as written until [`crate::access`] resolves them into
//! grants, and the HTTP transport checks `[http.oauth]` when it builds its validator.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The base URL used when none is configured.
pub const DEFAULT_BASE_URL: &str = "https://api.mistral.ai";

/// Environment variables the server reads. Listed once so `--help`, the README and the
/// loader cannot disagree.
pub mod env {
    pub const API_KEY: &str = "MISTRAL_API_KEY";
    pub const API_KEY_FILE: &str = "MISTRAL_API_KEY_FILE";
    pub const ADMIN_API_KEY: &str = "MISTRAL_ADMIN_API_KEY";
    pub const ADMIN_API_KEY_FILE: &str = "MISTRAL_ADMIN_API_KEY_FILE";
    pub const BASE_URL: &str = "MISTRAL_BASE_URL";
    pub const CONFIG: &str = "MISTRAL_MCP_CONFIG";
    pub const ALLOWED_DIRS: &str = "MISTRAL_MCP_ALLOWED_DIRS";
    pub const HTTP_TOKEN: &str = "MISTRAL_MCP_HTTP_TOKEN";
    pub const TOKENS_FILE: &str = "MISTRAL_MCP_TOKENS_FILE";
    pub const STATE: &str = "MISTRAL_MCP_STATE";
    pub const STATE_URL: &str = "MISTRAL_MCP_STATE_URL";
}

/// Which tools `tools/list` shows. Whatever is listed, every exposed tool stays reachable
/// through `search_tools` and `call_tool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum ToolMode {
    /// The core toolsets (chat, fim, embeddings, classifiers, ocr, files, models), or the
    /// ones `--toolsets` names, plus the discovery tools: about 6,000 tokens of context.
    #[default]
    Core,
    /// Every exposed tool, plus `search_tools`: all ~285 operations, a large context.
    All,
    /// Only `search_tools`, `describe_tools` and `call_tool`: a few hundred tokens of context
    /// that still reach every operation.
    Dynamic,
}

/// The toolsets `core` mode lists when `--toolsets` names none.
pub const CORE_TOOLSETS: &[&str] = &[
    "chat",
    "fim",
    "embeddings",
    "classifiers",
    "ocr",
    "files",
    "models",
];

/// The configuration file, as written by a user. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub mistral: MistralSection,
    #[serde(default)]
    pub tools: ToolsSection,
    #[serde(default)]
    pub files: FilesSection,
    #[serde(default)]
    pub http: HttpSection,
    #[serde(default)]
    pub state: StateSection,
}

/// Where rate-limit buckets, usage counters and task records live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum StateBackend {
    /// In this process's memory: each replica counts on its own, and a restart forgets.
    #[default]
    Memory,
    /// A Redis server shared by every replica: one limit and one budget per credential.
    Redis,
}

/// `[state]` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSection {
    pub backend: Option<StateBackend>,
    /// `redis://[:password@]host:port/db` (or `rediss://`); may hold a password, so it is
    /// read from the file or the environment, never from the command line.
    pub url: Option<SecretString>,
    /// Prefix of every key written, so deployments can share one Redis.
    pub key_prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MistralSection {
    /// Prefer `api_key_file` or the environment: a key in a config file is easy to leak.
    pub api_key: Option<SecretString>,
    pub api_key_file: Option<PathBuf>,
    /// The organization's admin key, for the admin toolset only; never in the file itself.
    pub admin_api_key_file: Option<PathBuf>,
    pub base_url: Option<String>,
    pub timeout_secs: Option<u64>,
    pub connect_timeout_secs: Option<u64>,
    pub stream_idle_timeout_secs: Option<u64>,
    pub max_retries: Option<u32>,
    pub retry_initial_ms: Option<u64>,
    pub retry_max_delay_secs: Option<u64>,
    pub retry_budget_secs: Option<u64>,
    pub max_concurrent_requests: Option<usize>,
    /// Largest JSON answer read into memory for one result, in MiB.
    pub max_response_mb: Option<u64>,
    /// Largest single event accepted inside a stream, in KiB.
    pub max_stream_event_kb: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsSection {
    pub mode: Option<ToolMode>,
    pub toolsets: Option<Vec<String>>,
    pub read_only: Option<bool>,
    pub catalog: Option<PathBuf>,
    pub call_budget_secs: Option<u64>,
    /// `compact` (readable tables and key fields) or `json` (Mistral's JSON as the text).
    pub result_text: Option<ResultText>,
    /// Largest result text, in estimated tokens; a larger one is replaced by advice.
    pub max_result_tokens: Option<usize>,
    /// Longest a wait holds a plain tool call open before returning the work's last state
    /// (clients that use MCP tasks are not held at all).
    pub max_wait_secs: Option<u64>,
}

/// What the text of a tool result is. Either way `structuredContent` holds the full JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ResultText {
    /// Lists as a table of identifying columns, objects as their fields, long texts cut,
    /// each with a note of what was left out and how to get it.
    #[default]
    Compact,
    /// Mistral's JSON itself (the behaviour before compact text).
    Json,
}

/// Default of `[tools] max_wait_secs`.
pub const DEFAULT_MAX_WAIT_SECS: u64 = 50;

/// Default of `[tools] max_result_tokens`: room for a long answer, far from a context's end.
pub const DEFAULT_MAX_RESULT_TOKENS: usize = 20_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesSection {
    pub allowed_dirs: Option<Vec<PathBuf>>,
    pub max_upload_mb: Option<u64>,
    pub max_inline_kb: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    pub bind: Option<SocketAddr>,
    pub allowed_hosts: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    /// One full-access token in plain text; prefer `tokens` / `tokens_file` with hashes.
    pub bearer_token: Option<SecretString>,
    /// A TOML file of `[[tokens]]` entries (a Kubernetes or Docker secret).
    pub tokens_file: Option<PathBuf>,
    pub tokens: Option<Vec<TokenEntry>>,
    pub max_body_mb: Option<usize>,
    /// Keep MCP sessions (`Mcp-Session-Id`) in this process instead of serving statelessly.
    pub session_mode: Option<bool>,
    pub shutdown_grace_secs: Option<u64>,
    /// A connection must finish sending a request's headers within this many seconds (and
    /// its first request within as long after connecting), or it is closed.
    pub header_read_timeout_secs: Option<u64>,
    /// Open connections at once; keep it below the open-files limit (`ulimit -n`).
    pub max_connections: Option<usize>,
    /// Open connections at once from one client IP address.
    pub max_connections_per_peer: Option<usize>,
    /// OAuth 2.1 resource-server mode: accept JWT access tokens from this issuer.
    pub oauth: Option<OAuthConfig>,
}

/// One inbound credential, as written in a config or tokens file. [`crate::access`] turns
/// it into a hash and a grant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Shown in logs and metrics; never secret.
    pub name: String,
    /// `sha256:<hex>` of the token; the token itself is never stored.
    pub hash: String,
    /// Toolsets this token may use; absent means all.
    pub toolsets: Option<Vec<String>>,
    #[serde(default)]
    pub read_only: bool,
    pub rate_limit_per_minute: Option<u32>,
    /// Tokens (prompt plus completion, as Mistral reports them) per UTC day.
    pub max_tokens_per_day: Option<u64>,
    /// Tool calls that reach an operation, per UTC day.
    pub max_requests_per_day: Option<u64>,
    /// This token's own Mistral key, so each team or client spends its own.
    pub mistral_api_key_file: Option<PathBuf>,
    pub mistral_api_key: Option<SecretString>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

/// `[http.oauth]` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    /// Expected `iss`, exactly as the authorization server writes it; also advertised in the
    /// protected-resource metadata.
    pub issuer: String,
    /// This server's canonical resource URL (RFC 8707), e.g. `https://mcp.example.com/mcp`;
    /// `aud` must contain it.
    pub audience: String,
    /// Where the signing keys are; when absent, `jwks_uri` from the issuer's metadata.
    pub jwks_url: Option<String>,
    /// How old the key set may get before a background refetch (default 300).
    pub jwks_refresh_secs: Option<u64>,
    /// Clock skew tolerated on `exp` and `nbf` (default 30).
    pub leeway_secs: Option<u64>,
    /// Per subject, copied into every grant.
    pub rate_limit_per_minute: Option<u32>,
    /// Per subject and UTC day, copied into every grant, like the rate limit.
    pub max_tokens_per_day: Option<u64>,
    pub max_requests_per_day: Option<u64>,
    /// Scope name -> what a token carrying it may do. Scopes not listed grant nothing.
    #[serde(default)]
    pub scopes: BTreeMap<String, ScopeGrant>,
}

/// What one OAuth scope allows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeGrant {
    /// Toolsets the scope opens; absent or `["*"]` means all of them.
    pub toolsets: Option<Vec<String>>,
    /// Only tools that change nothing upstream.
    #[serde(default)]
    pub read_only: bool,
}

impl ScopeGrant {
    pub fn all_toolsets(&self) -> bool {
        match &self.toolsets {
            None => true,
            Some(sets) => sets.iter().any(|s| s == "*"),
        }
    }
}

/// How the Mistral client behaves: where it sends requests, how long it waits, how it retries.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub base_url: url::Url,
    pub api_key: Option<SecretString>,
    /// Admin-scoped key; without it the admin toolset is off.
    pub admin_api_key: Option<SecretString>,
    /// Total time for one attempt of a non-streaming request, body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Longest silence tolerated between two events of a stream.
    pub stream_idle_timeout: Duration,
    pub retry: RetryPolicy,
    /// Requests in flight to Mistral at once, across all callers; more wait their turn.
    pub max_concurrent_requests: usize,
    /// Largest answer body read into memory; larger ones fail with advice instead of
    /// exhausting memory.
    pub max_response_bytes: u64,
    /// Largest single event of a stream; a larger one abandons the stream.
    pub max_stream_event_bytes: usize,
}

/// Bounded exponential backoff with jitter, as Mistral's docs recommend.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
    /// No retry starts once this much time has passed since the first attempt.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            budget: Duration::from_secs(60),
        }
    }
}

/// Local files the server may read (uploads) and write (downloads).
#[derive(Debug, Clone)]
pub struct FilesConfig {
    /// Canonical directories. Empty means local paths are refused.
    pub allowed_dirs: Vec<PathBuf>,
    pub max_upload_bytes: u64,
    /// Binary downloads up to this size may be returned inline as an MCP resource.
    pub max_inline_bytes: u64,
}

/// Which tools the server exposes, and how their results read.
#[derive(Debug, Clone)]
pub struct ToolsConfig {
    pub mode: ToolMode,
    /// Empty means every toolset.
    pub toolsets: Vec<String>,
    pub read_only: bool,
    pub catalog_override: Option<PathBuf>,
    /// Longest a single tool call may take, upstream retries and waits included.
    pub call_budget: Duration,
    pub result_text: ResultText,
    /// Largest result text in estimated tokens (see `tool::compact::estimate_tokens`).
    pub max_result_tokens: usize,
    /// How long a wait holds a plain (non-task) tool call open: under the ~60 s after which
    /// several MCP clients give up on a call.
    pub max_wait: Duration,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub bind: SocketAddr,
    /// Extra Host values accepted besides loopback (for a reverse proxy or a public name).
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// `MISTRAL_MCP_HTTP_TOKEN` (or `[http] bearer_token`): one full-access token, named
    /// `default`.
    pub bearer_token: Option<SecretString>,
    /// Hashed inbound credentials from the config, then the tokens file, as written. With no
    /// bearer token either, there is no authentication (loopback only).
    pub tokens: Vec<TokenEntry>,
    pub max_body_bytes: usize,
    pub session_mode: bool,
    /// How long in-flight calls may run after SIGTERM before the process exits anyway.
    pub shutdown_grace: Duration,
    pub oauth: Option<OAuthConfig>,
    /// Slow or silent clients are closed after this long without complete request headers.
    pub header_read_timeout: Duration,
    /// At this many open connections the oldest idle one is closed to admit a new one;
    /// with none idle, new ones get 503.
    pub max_connections: usize,
    /// Connections from one IP address beyond this get 503 at once.
    pub max_connections_per_peer: usize,
}

/// Where shared state lives (see `crate::state`).
#[derive(Debug, Clone)]
pub struct StateConfig {
    pub backend: StateBackend,
    /// Set when the backend is Redis.
    pub url: Option<SecretString>,
    pub key_prefix: String,
}

/// The Redis URL used when `backend = "redis"` names none.
pub const DEFAULT_STATE_URL: &str = "redis://127.0.0.1:6379/0";

/// The resolved configuration every part of the server reads.
#[derive(Debug, Clone)]
pub struct Config {
    pub upstream: UpstreamConfig,
    pub tools: ToolsConfig,
    pub files: FilesConfig,
    pub http: HttpConfig,
    pub state: StateConfig,
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub api_key_file: Option<PathBuf>,
    pub admin_api_key_file: Option<PathBuf>,
    pub base_url: Option<String>,
    pub mode: Option<ToolMode>,
    pub toolsets: Option<Vec<String>>,
    pub read_only: bool,
    pub catalog: Option<PathBuf>,
    pub allowed_dirs: Vec<PathBuf>,
    pub timeout_secs: Option<u64>,
    pub max_retries: Option<u32>,
    pub http_bind: Option<SocketAddr>,
    pub allowed_hosts: Vec<String>,
    pub state: Option<StateBackend>,
}

/// Where to look things up; a trait-free seam so tests can load without touching the
/// process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Config {
    /// Loads the configuration from the process environment and the given overrides.
    pub fn load(overrides: &Overrides) -> anyhow::Result<Self> {
        Self::load_with(overrides, &|name| std::env::var(name).ok())
    }

    pub fn load_with(overrides: &Overrides, env: EnvLookup<'_>) -> anyhow::Result<Self> {
        let config_path = overrides
            .config_file
            .clone()
            .or_else(|| env(env::CONFIG).map(PathBuf::from));
        let file = match &config_path {
            Some(path) => parse_file(path)?,
            None => FileConfig::default(),
        };
        Self::resolve(file, overrides, env)
    }

    /// Builds the configuration from an already parsed file (`doctor` parses it itself, to
    /// report each problem on its own line).
    pub(crate) fn resolve(
        file: FileConfig,
        o: &Overrides,
        env: EnvLookup<'_>,
    ) -> anyhow::Result<Self> {
        let m = file.mistral;
        let api_key = resolve_api_key(o, &m, env)?;
        let admin_api_key = resolve_admin_api_key(o, &m, env)?;
        let base_url = o
            .base_url
            .clone()
            .or_else(|| env(env::BASE_URL))
            .or(m.base_url)
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let base_url = parse_base_url(&base_url)?;
        let defaults = RetryPolicy::default();
        let retry = RetryPolicy {
            max_retries: o
                .max_retries
                .or(m.max_retries)
                .unwrap_or(defaults.max_retries),
            initial_delay: m
                .retry_initial_ms
                .map(Duration::from_millis)
                .unwrap_or(defaults.initial_delay),
            max_delay: m
                .retry_max_delay_secs
                .map(Duration::from_secs)
                .unwrap_or(defaults.max_delay),
            budget: m
                .retry_budget_secs
                .map(Duration::from_secs)
                .unwrap_or(defaults.budget),
        };
        let upstream = UpstreamConfig {
            base_url,
            api_key,
            admin_api_key,
            timeout: Duration::from_secs(o.timeout_secs.or(m.timeout_secs).unwrap_or(300)),
            connect_timeout: Duration::from_secs(m.connect_timeout_secs.unwrap_or(10)),
            stream_idle_timeout: Duration::from_secs(m.stream_idle_timeout_secs.unwrap_or(60)),
            retry,
            max_concurrent_requests: m.max_concurrent_requests.unwrap_or(64),
            max_response_bytes: m
                .max_response_mb
                .unwrap_or(64)
                .clamp(1, 1 << 20)
                .saturating_mul(1024 * 1024),
            max_stream_event_bytes: usize::try_from(
                m.max_stream_event_kb
                    .unwrap_or(8 * 1024)
                    .clamp(1, 1 << 22)
                    .saturating_mul(1024),
            )
            .unwrap_or(usize::MAX),
        };

        let t = file.tools;
        let toolsets = o.toolsets.clone().or(t.toolsets).unwrap_or_default();
        let tools = ToolsConfig {
            mode: o.mode.or(t.mode).unwrap_or_default(),
            toolsets: toolsets.into_iter().map(|s| s.trim().to_string()).collect(),
            read_only: o.read_only || t.read_only.unwrap_or(false),
            catalog_override: o.catalog.clone().or(t.catalog),
            call_budget: Duration::from_secs(t.call_budget_secs.unwrap_or(900).max(1)),
            result_text: t.result_text.unwrap_or_default(),
            // Below a few hundred tokens even the advice that replaces a result would not fit.
            max_result_tokens: t
                .max_result_tokens
                .unwrap_or(DEFAULT_MAX_RESULT_TOKENS)
                .max(500),
            max_wait: Duration::from_secs(t.max_wait_secs.unwrap_or(DEFAULT_MAX_WAIT_SECS).max(1)),
        };

        let f = file.files;
        let mut dirs: Vec<PathBuf> = o.allowed_dirs.clone();
        if let Some(list) = env(env::ALLOWED_DIRS) {
            dirs.extend(std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()));
        }
        dirs.extend(f.allowed_dirs.unwrap_or_default());
        let allowed_dirs = dirs
            .iter()
            .map(|d| {
                d.canonicalize().with_context(|| {
                    format!(
                        "allowed directory {} does not exist or is unreadable",
                        d.display()
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let files = FilesConfig {
            allowed_dirs,
            max_upload_bytes: f.max_upload_mb.unwrap_or(512) * 1024 * 1024,
            max_inline_bytes: f.max_inline_kb.unwrap_or(256) * 1024,
        };

        let h = file.http;
        let mut allowed_hosts = h.allowed_hosts.unwrap_or_default();
        allowed_hosts.extend(o.allowed_hosts.iter().cloned());
        let bearer_token = env(env::HTTP_TOKEN)
            .filter(|t| !t.trim().is_empty())
            .map(|t| SecretString::from(t.trim().to_string()))
            .or(h.bearer_token);
        let tokens_file = env(env::TOKENS_FILE).map(PathBuf::from).or(h.tokens_file);
        let tokens = gather_tokens(h.tokens.unwrap_or_default(), tokens_file)?;
        let http = HttpConfig {
            bind: o
                .http_bind
                .or(h.bind)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            allowed_hosts,
            allowed_origins: h.allowed_origins.unwrap_or_default(),
            bearer_token,
            tokens,
            // Room for base64 documents in tool arguments.
            max_body_bytes: h.max_body_mb.unwrap_or(64).max(1) * 1024 * 1024,
            session_mode: h.session_mode.unwrap_or(false),
            shutdown_grace: Duration::from_secs(h.shutdown_grace_secs.unwrap_or(25)),
            oauth: h.oauth,
            header_read_timeout: Duration::from_secs(
                h.header_read_timeout_secs.unwrap_or(10).max(1),
            ),
            max_connections: h.max_connections.unwrap_or(512).max(1),
            max_connections_per_peer: h.max_connections_per_peer.unwrap_or(128).max(1),
        };
        let state = resolve_state(file.state, o, env)?;
        Ok(Config {
            upstream,
            tools,
            files,
            http,
            state,
        })
    }
}

/// Backend: `--state`, `MISTRAL_MCP_STATE`, `[state] backend`; a URL alone (from
/// `MISTRAL_MCP_STATE_URL` or `[state] url`) means Redis.
fn resolve_state(
    s: StateSection,
    o: &Overrides,
    env: EnvLookup<'_>,
) -> anyhow::Result<StateConfig> {
    let named = match env(env::STATE).filter(|v| !v.trim().is_empty()) {
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "memory" => Some(StateBackend::Memory),
            "redis" => Some(StateBackend::Redis),
            other => bail!("{}={other:?}: use `memory` or `redis`", env::STATE),
        },
        None => None,
    };
    let url = env(env::STATE_URL)
        .filter(|u| !u.trim().is_empty())
        .map(|u| SecretString::from(u.trim().to_string()))
        .or(s.url);
    let backend = o.state.or(named).or(s.backend).unwrap_or(match url {
        Some(_) => StateBackend::Redis,
        None => StateBackend::Memory,
    });
    let url = match backend {
        StateBackend::Memory => {
            if url.is_some() && (o.state.is_some() || named.is_some() || s.backend.is_some()) {
                bail!(
                    "a state URL is set ({} or [state] url) but the state backend is `memory`: \
                     set backend = \"redis\" to use it, or remove the URL",
                    env::STATE_URL
                );
            }
            None
        }
        StateBackend::Redis => {
            Some(url.unwrap_or_else(|| SecretString::from(DEFAULT_STATE_URL.to_string())))
        }
    };
    let key_prefix = s.key_prefix.unwrap_or_else(|| "mistral-mcp".to_string());
    if key_prefix.is_empty() || key_prefix.contains(['*', '?', '[', ']', ' ']) {
        bail!("[state] key_prefix {key_prefix:?} must be non-empty, without spaces or *?[]");
    }
    Ok(StateConfig {
        backend,
        url,
        key_prefix,
    })
}

/// The `[[http.tokens]]` entries followed by those of the tokens file, unchecked beyond
/// their shape (strict, like the config file).
fn gather_tokens(
    mut entries: Vec<TokenEntry>,
    tokens_file: Option<PathBuf>,
) -> anyhow::Result<Vec<TokenEntry>> {
    if let Some(path) = &tokens_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read tokens file {}", path.display()))?;
        let file: TokensFile = toml::from_str(&text)
            .with_context(|| format!("invalid tokens file {}", path.display()))?;
        entries.extend(file.tokens);
    }
    Ok(entries)
}

fn parse_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

/// Order: `--api-key-file`, `MISTRAL_API_KEY`, `MISTRAL_API_KEY_FILE`, then the config file.
fn resolve_api_key(
    o: &Overrides,
    m: &MistralSection,
    env: EnvLookup<'_>,
) -> anyhow::Result<Option<SecretString>> {
    if let Some(path) = &o.api_key_file {
        return read_key_file(path).map(Some);
    }
    if let Some(key) = env(env::API_KEY).filter(|k| !k.trim().is_empty()) {
        return Ok(Some(SecretString::from(key.trim().to_string())));
    }
    if let Some(path) = env(env::API_KEY_FILE) {
        return read_key_file(Path::new(&path)).map(Some);
    }
    if let Some(path) = &m.api_key_file {
        return read_key_file(path).map(Some);
    }
    Ok(m.api_key
        .as_ref()
        .filter(|k| !k.expose_secret().trim().is_empty())
        .cloned())
}

/// Order: `--admin-api-key-file`, `MISTRAL_ADMIN_API_KEY`, `MISTRAL_ADMIN_API_KEY_FILE`,
/// then `[mistral] admin_api_key_file`.
fn resolve_admin_api_key(
    o: &Overrides,
    m: &MistralSection,
    env: EnvLookup<'_>,
) -> anyhow::Result<Option<SecretString>> {
    if let Some(path) = &o.admin_api_key_file {
        return read_key_file(path).map(Some);
    }
    if let Some(key) = env(env::ADMIN_API_KEY).filter(|k| !k.trim().is_empty()) {
        return Ok(Some(SecretString::from(key.trim().to_string())));
    }
    match env(env::ADMIN_API_KEY_FILE)
        .map(PathBuf::from)
        .or(m.admin_api_key_file.clone())
    {
        Some(path) => read_key_file(&path).map(Some),
        None => Ok(None),
    }
}

/// Reads a Mistral API key from a file (the server's own, or a token's vaulted one).
pub fn read_key_file(path: &Path) -> anyhow::Result<SecretString> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read API key file {}", path.display()))?;
    let key = text.trim();
    if key.is_empty() {
        bail!("API key file {} is empty", path.display());
    }
    Ok(SecretString::from(key.to_string()))
}

fn parse_base_url(raw: &str) -> anyhow::Result<url::Url> {
    let url = url::Url::parse(raw.trim())
        .with_context(|| format!("base URL {raw:?} is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("base URL {raw:?} must start with https:// (or http:// for a local gateway)");
    }
    if url.path().trim_end_matches('/').ends_with("/v1") {
        bail!("base URL {raw:?} must not end in /v1: operation paths already carry /v1 or /v2");
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)], file: Option<&str>) -> anyhow::Result<Config> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dir = tempfile::tempdir()?;
        let mut o = Overrides::default();
        if let Some(text) = file {
            let path = dir.path().join("config.toml");
            std::fs::write(&path, text)?;
            o.config_file = Some(path);
        }
        Config::load_with(&o, &|k| vars.get(k).cloned())
    }

    #[test]
    fn http_connection_limits_have_defaults_and_can_be_set() {
        let c = load(&[], None).unwrap();
        assert_eq!(c.http.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.http.max_connections, 512);
        assert_eq!(c.http.max_connections_per_peer, 128);
        let c = load(
            &[],
            Some("[http]\nheader_read_timeout_secs = 3\nmax_connections = 900\nmax_connections_per_peer = 900\n"),
        )
        .unwrap();
        assert_eq!(c.http.header_read_timeout, Duration::from_secs(3));
        assert_eq!(c.http.max_connections, 900);
        assert_eq!(c.http.max_connections_per_peer, 900);
        assert!(load(&[], Some("[http]\nmax_conections = 5\n")).is_err());
    }

    #[test]
    fn defaults_without_anything() {
        let c = load(&[], None).unwrap();
        assert!(c.upstream.api_key.is_none());
        assert_eq!(c.upstream.base_url.as_str(), "https://api.mistral.ai/");
        assert_eq!(c.tools.mode, ToolMode::Core);
        assert!(c.files.allowed_dirs.is_empty());
        assert_eq!(c.http.bind.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn environment_wins_over_file() {
        let c = load(
            &[
                (env::API_KEY, "env-key"),
                (env::BASE_URL, "http://127.0.0.1:9"),
            ],
            Some("[mistral]\napi_key = \"file-key\"\nbase_url = \"https://api.eu.mistral.ai\"\n"),
        )
        .unwrap();
        assert_eq!(c.upstream.api_key.unwrap().expose_secret(), "env-key");
        assert_eq!(c.upstream.base_url.as_str(), "http://127.0.0.1:9/");
    }

    #[test]
    fn upstream_size_caps_have_defaults_and_are_bounded() {
        let c = load(&[], None).unwrap();
        assert_eq!(c.upstream.max_response_bytes, 64 * 1024 * 1024);
        assert_eq!(c.upstream.max_stream_event_bytes, 8 * 1024 * 1024);
        let c = load(
            &[],
            Some("[mistral]\nmax_response_mb = 0\nmax_stream_event_kb = 18446744073709551615\n"),
        )
        .unwrap();
        assert_eq!(c.upstream.max_response_bytes, 1024 * 1024);
        assert_eq!(c.upstream.max_stream_event_bytes, 4 * 1024 * 1024 * 1024);
    }

    #[test]
    fn unknown_config_keys_are_errors() {
        let err = load(&[], Some("[mistral]\napi_kye = \"x\"\n")).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("api_kye"), "{text}");
    }

    #[test]
    fn result_text_and_token_cap_have_defaults_and_are_strict() {
        let c = load(&[(env::API_KEY, "k")], None).unwrap();
        assert_eq!(c.tools.result_text, ResultText::Compact);
        assert_eq!(c.tools.max_result_tokens, DEFAULT_MAX_RESULT_TOKENS);
        let c = load(
            &[(env::API_KEY, "k")],
            Some("[tools]\nresult_text = \"json\"\nmax_result_tokens = 8000\n"),
        )
        .unwrap();
        assert_eq!(c.tools.result_text, ResultText::Json);
        assert_eq!(c.tools.max_result_tokens, 8000);
        let err = load(
            &[(env::API_KEY, "k")],
            Some("[tools]\nresult_text = \"yaml\"\n"),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("yaml"), "{err:#}");
    }

    #[test]
    fn base_url_with_v1_is_rejected() {
        let err = load(&[(env::BASE_URL, "https://api.mistral.ai/v1")], None).unwrap_err();
        assert!(format!("{err:#}").contains("/v1"));
    }

    #[test]
    fn key_never_shows_in_debug() {
        let c = load(&[(env::API_KEY, "sk-very-secret")], None).unwrap();
        assert!(!format!("{c:?}").contains("sk-very-secret"));
    }

    #[test]
    fn token_entries_from_config_then_file_stay_raw() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens.toml");
        std::fs::write(
            &tokens,
            "[[tokens]]\nname = \"ci\"\nhash = \"sha256:b\"\nread_only = true\nmistral_api_key_file = \"/k\"\n",
        )
        .unwrap();
        let path = tokens.display().to_string();
        let c = load(
            &[(env::TOKENS_FILE, path.as_str()), (env::HTTP_TOKEN, " plain ")],
            Some("[[http.tokens]]\nname = \"ops\"\nhash = \"not checked here\"\ntoolsets = [\"models\"]\nrate_limit_per_minute = 5\n"),
        )
        .unwrap();
        assert_eq!(c.http.bearer_token.unwrap().expose_secret(), "plain");
        let names: Vec<&str> = c.http.tokens.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["ops", "ci"]);
        assert_eq!(c.http.tokens[0].hash, "not checked here");
        assert_eq!(c.http.tokens[0].rate_limit_per_minute, Some(5));
        assert!(c.http.tokens[1].read_only);
        assert_eq!(
            c.http.tokens[1].mistral_api_key_file.as_deref(),
            Some(Path::new("/k"))
        );
    }

    #[test]
    fn state_backend_from_flag_env_or_file() {
        let c = load(&[], None).unwrap();
        assert_eq!(c.state.backend, StateBackend::Memory);
        assert!(c.state.url.is_none());
        assert_eq!(c.state.key_prefix, "mistral-mcp");
        // A URL alone means Redis; a named backend without one gets the local default.
        let c = load(&[(env::STATE_URL, "redis://:pw@10.0.0.5:6380/2")], None).unwrap();
        assert_eq!(c.state.backend, StateBackend::Redis);
        assert_eq!(
            c.state.url.unwrap().expose_secret(),
            "redis://:pw@10.0.0.5:6380/2"
        );
        let c = load(
            &[],
            Some("[state]\nbackend = \"redis\"\nkey_prefix = \"prod\"\n"),
        )
        .unwrap();
        assert_eq!(c.state.url.unwrap().expose_secret(), DEFAULT_STATE_URL);
        assert_eq!(c.state.key_prefix, "prod");
        let c = load(
            &[(env::STATE, "memory")],
            Some("[state]\nbackend = \"redis\"\n"),
        )
        .unwrap();
        assert_eq!(c.state.backend, StateBackend::Memory);
        let o = Overrides {
            state: Some(StateBackend::Redis),
            ..Default::default()
        };
        let c =
            Config::load_with(&o, &|k| (k == env::STATE).then(|| "memory".to_string())).unwrap();
        assert_eq!(c.state.backend, StateBackend::Redis);
        // Contradictions and typos say what to fix.
        let err = load(
            &[(env::STATE, "memory"), (env::STATE_URL, "redis://h/0")],
            None,
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("backend = \"redis\""),
            "{err:#}"
        );
        let err = load(&[(env::STATE, "etcd")], None).unwrap_err();
        assert!(format!("{err:#}").contains("memory"), "{err:#}");
        assert!(load(&[], Some("[state]\nbackend = \"etcd\"\n")).is_err());
        let err = load(&[], Some("[state]\nurl_ = \"redis://h\"\n")).unwrap_err();
        assert!(format!("{err:#}").contains("url_"), "{err:#}");
        assert!(
            !format!(
                "{:?}",
                load(&[(env::STATE_URL, "redis://:hunter2@h/0")], None).unwrap()
            )
            .contains("hunter2")
        );
    }

    #[test]
    fn unknown_token_keys_are_errors() {
        let typo = "[[http.tokens]]\nname = \"a\"\nhash = \"h\"\nread_onyl = true\n";
        assert!(format!("{:#}", load(&[], Some(typo)).unwrap_err()).contains("read_onyl"));
    }

    #[test]
    fn oauth_config_parses_strictly_from_toml() {
        let ok: OAuthConfig = toml::from_str(
            r#"
            issuer = "https://auth.example.com"
            audience = "https://mcp.example.com/mcp"
            [scopes."mcp:read"]
            toolsets = ["files"]
            read_only = true
            [scopes."mcp:all"]
            "#,
        )
        .unwrap();
        assert_eq!(ok.scopes.len(), 2);
        assert!(ok.scopes["mcp:all"].all_toolsets());
        assert!(!ok.scopes["mcp:all"].read_only);
        let typo = toml::from_str::<OAuthConfig>(
            "issuer = \"https://a.example\"\naudience = \"https://b.example\"\njwks_uri = \"x\"\n",
        );
        assert!(typo.unwrap_err().to_string().contains("jwks_uri"));
        let scope_typo = toml::from_str::<OAuthConfig>(
            "issuer = \"https://a.example\"\naudience = \"https://b.example\"\n[scopes.s]\nreadonly = true\n",
        );
        assert!(scope_typo.is_err());
    }

    #[test]
    fn key_file_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "  abc123\n").unwrap();
        let o = Overrides {
            api_key_file: Some(path),
            ..Default::default()
        };
        let c = Config::load_with(&o, &|_| None).unwrap();
        assert_eq!(c.upstream.api_key.unwrap().expose_secret(), "abc123");
    }
}
