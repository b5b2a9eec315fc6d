//! `mistral-mcp doctor`: checks an installation the way the server would see it and says,
//! one line per check, what is wrong and how to fix it.
//!
//! This module owns the checks and their wording: the configuration file and which source
//! the API key comes from (never the key itself: at most its length and last 4
//! characters), whether the key works (`GET /v1/models` through the ordinary
//! [`MistralClient`], with a short timeout and no retries, so auth and error mapping stay in
//! one place), the proxy in the environment, whether the state store answers (Redis, one
//! PING), the allowed directories, and the MCP client config files that should start this
//! binary. Each check is a plain function returning [`Finding`]s; [`CHECKS`] lists them in
//! the order they are shown. Doctor never changes anything, except a probe file created and
//! removed at once to test that an allowed directory is writable.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, DEFAULT_BASE_URL, FileConfig, Overrides, env};
use crate::mistral::error::UpstreamError;
use crate::mistral::{Method, MistralClient, RequestBody, UpstreamRequest};

/// How long the key check waits for Mistral: long enough for a slow network, short enough
/// that a blackholed connection does not look like a hang.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Where new keys are made.
const KEYS_URL: &str = "https://console.mistral.ai/api-keys";

/// The verdict of one check. Printed as plain ASCII so every console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, but something deserves attention.
    Warn,
    /// Broken: doctor exits non-zero.
    Fail,
    /// Not applicable here (nothing configured, client not installed).
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub status: Status,
    pub summary: String,
    /// What to do, spelled out; present on every failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    fn new(check: &'static str, status: Status, summary: impl Into<String>) -> Self {
        Self {
            check,
            status,
            summary: summary.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// A check: sync ones read the context; the network one is async.
pub enum Check {
    Sync(fn(&Context) -> Vec<Finding>),
    Async(for<'a> fn(&'a Context) -> BoxFuture<'a, Vec<Finding>>),
}

/// Every check, in the order shown.
pub const CHECKS: &[Check] = &[
    Check::Sync(check_config),
    Check::Sync(check_key_source),
    Check::Sync(check_proxy),
    Check::Async(check_key_works),
    Check::Async(check_state),
    Check::Sync(check_allowed_dirs),
    Check::Sync(check_clients),
];

/// Where the API key comes from, in the order `config::resolve_api_key` tries them.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    Flag(PathBuf),
    Env,
    EnvFile(PathBuf),
    ConfigFile(PathBuf),
    ConfigKey,
}

impl KeySource {
    fn describe(&self, config: Option<&Path>) -> String {
        let cfg = config.map(|p| p.display().to_string()).unwrap_or_default();
        match self {
            KeySource::Flag(p) => format!("--api-key-file {}", p.display()),
            KeySource::Env => env::API_KEY.to_string(),
            KeySource::EnvFile(p) => format!("{}={}", env::API_KEY_FILE, p.display()),
            KeySource::ConfigFile(p) => {
                format!("[mistral] api_key_file = {} in {cfg}", p.display())
            }
            KeySource::ConfigKey => format!("[mistral] api_key in {cfg}"),
        }
    }

    /// How to put a new key where this source reads it.
    fn how_to_replace(&self) -> String {
        match self {
            KeySource::Flag(p) | KeySource::EnvFile(p) | KeySource::ConfigFile(p) => {
                format!("write the new key into {}", p.display())
            }
            KeySource::Env => format!(
                "set {} to the new key where the server is started (the \"env\" block of the \
                 MCP client's server entry, or your shell)",
                env::API_KEY
            ),
            KeySource::ConfigKey => {
                "replace [mistral] api_key in the config file (better: move it to a file named by \
                 api_key_file)"
                    .to_string()
            }
        }
    }
}

/// Everything the checks read, gathered once. The environment is a snapshot so tests can
/// supply their own.
pub struct Context {
    pub overrides: Overrides,
    pub env: HashMap<String, String>,
    pub home: Option<PathBuf>,
    pub timeout: Duration,
    config_path: Option<(PathBuf, &'static str)>,
    /// Whether the file (if any) was read and parsed, or why not.
    file: Result<(), String>,
    /// The configuration as the server would build it, allowed directories left out (they
    /// get their own check instead of failing everything).
    config: Result<Config, String>,
    key_source: Option<KeySource>,
    shadowed_sources: Vec<KeySource>,
    allowed_dirs: Vec<(PathBuf, &'static str)>,
}

impl Context {
    pub fn new(overrides: Overrides, env: HashMap<String, String>) -> Self {
        let home = env
            .get("HOME")
            .or_else(|| env.get("USERPROFILE"))
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        let config_path = overrides
            .config_file
            .clone()
            .map(|p| (p, "--config"))
            .or_else(|| {
                env.get(env::CONFIG)
                    .map(|p| (PathBuf::from(p), env::CONFIG))
            });
        let mut file = match &config_path {
            None => Ok(None),
            Some((path, _)) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                .and_then(|text| {
                    toml::from_str::<FileConfig>(&text)
                        .map_err(|e| format!("{} is invalid: {e}", path.display()))
                })
                .map(Some),
        };
        let lookup = |k: &str| env.get(k).cloned();

        let mut allowed_dirs: Vec<(PathBuf, &'static str)> = overrides
            .allowed_dirs
            .iter()
            .map(|d| (d.clone(), "--allow-dir"))
            .collect();
        if let Some(list) = lookup(env::ALLOWED_DIRS) {
            allowed_dirs.extend(
                std::env::split_paths(&list)
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(|p| (p, env::ALLOWED_DIRS)),
            );
        }
        if let Ok(Some(f)) = &mut file {
            allowed_dirs.extend(
                f.files
                    .allowed_dirs
                    .take()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| (p, "[files] allowed_dirs")),
            );
        }

        let mut sources = Vec::new();
        if let Some(p) = &overrides.api_key_file {
            sources.push(KeySource::Flag(p.clone()));
        }
        if lookup(env::API_KEY).is_some_and(|k| !k.trim().is_empty()) {
            sources.push(KeySource::Env);
        }
        if let Some(p) = lookup(env::API_KEY_FILE) {
            sources.push(KeySource::EnvFile(PathBuf::from(p)));
        }
        if let Ok(Some(f)) = &file {
            if let Some(p) = &f.mistral.api_key_file {
                sources.push(KeySource::ConfigFile(p.clone()));
            }
            if f.mistral
                .api_key
                .as_ref()
                .is_some_and(|k| !k.expose_secret().trim().is_empty())
            {
                sources.push(KeySource::ConfigKey);
            }
        }
        let mut sources = sources.into_iter();
        let key_source = sources.next();
        let shadowed_sources = sources.collect();

        // The directories were taken out above: the server's own loader fails on the first
        // missing one, which would hide every other finding.
        let mut o = overrides.clone();
        o.allowed_dirs.clear();
        let no_dirs = |k: &str| (k != env::ALLOWED_DIRS).then(|| lookup(k)).flatten();
        let file_status = file.as_ref().map(|_| ()).map_err(Clone::clone);
        let config = match file {
            Ok(parsed) => Config::resolve(parsed.unwrap_or_default(), &o, &no_dirs)
                .and_then(|c| crate::access::static_tokens(&c.http).map(|_| c))
                .map_err(|e| format!("{e:#}")),
            Err(_) => Err("the config file did not load".to_string()),
        };
        Self {
            overrides,
            env,
            home,
            timeout: CHECK_TIMEOUT,
            config_path,
            file: file_status,
            config,
            key_source,
            shadowed_sources,
            allowed_dirs,
        }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn config_file(&self) -> Option<&Path> {
        self.config_path.as_ref().map(|(p, _)| p.as_path())
    }

    fn base_url(&self) -> Option<&url::Url> {
        self.config.as_ref().ok().map(|c| &c.upstream.base_url)
    }
}

/// Runs every check and prints the report; exit code 1 if any check failed.
pub async fn run(overrides: Overrides, as_json: bool) -> anyhow::Result<(String, ExitCode)> {
    let ctx = Context::new(overrides, std::env::vars().collect());
    let findings = run_checks(&ctx).await;
    let failed = findings.iter().any(|f| f.status == Status::Fail);
    let text = if as_json {
        serde_json::to_string_pretty(&json!({
            "version": env!("CARGO_PKG_VERSION"),
            "ok": !failed,
            "checks": findings,
        }))?
    } else {
        render(&findings)
    };
    Ok((
        text,
        if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        },
    ))
}

pub async fn run_checks(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for check in CHECKS {
        match check {
            Check::Sync(f) => out.extend(f(ctx)),
            Check::Async(f) => out.extend(f(ctx).await),
        }
    }
    out
}

/// The report for people: `status  check  summary`, the fix indented below.
pub fn render(findings: &[Finding]) -> String {
    let mut lines = vec![format!("mistral-mcp doctor {}", env!("CARGO_PKG_VERSION"))];
    for f in findings {
        lines.push(format!(
            "{:<5} {:<12} {}",
            f.status.label(),
            f.check,
            f.summary
        ));
        if let Some(fix) = &f.fix {
            lines.push(format!("{:<19}fix: {fix}", ""));
        }
    }
    let failed = findings.iter().filter(|f| f.status == Status::Fail).count();
    lines.push(String::new());
    lines.push(if failed == 0 {
        "No problems found.".to_string()
    } else {
        format!(
            "{failed} problem(s) found: fix the FAIL lines above, then run `mistral-mcp doctor` again."
        )
    });
    lines.join("\n")
}

fn check_config(ctx: &Context) -> Vec<Finding> {
    const C: &str = "config";
    let mut out = Vec::new();
    match (&ctx.config_path, &ctx.file) {
        (None, _) => out.push(Finding::new(
            C,
            Status::Ok,
            format!(
                "no config file (neither --config nor {} is set): flags and environment only",
                env::CONFIG
            ),
        )),
        (Some((path, from)), Ok(_)) => out.push(Finding::new(
            C,
            Status::Ok,
            format!("loaded {} (named by {from}); it parses", path.display()),
        )),
        (Some((path, from)), Err(why)) => {
            out.push(Finding::new(C, Status::Fail, why.clone()).fix(format!(
                "fix {} (unknown keys are errors, so a typo never silently does nothing), or \
                 stop naming it in {from}; the server refuses to start until then",
                path.display()
            )))
        }
    }
    if ctx.file.is_ok()
        && let Err(why) = &ctx.config
    {
        out.push(
            Finding::new(
                C,
                Status::Fail,
                format!("the server would not start: {why}"),
            )
            .fix("correct the setting named above (flag, environment variable or config file)"),
        );
    }
    out
}

fn check_key_source(ctx: &Context) -> Vec<Finding> {
    const C: &str = "api key";
    let Some(source) = &ctx.key_source else {
        return vec![
            Finding::new(C, Status::Fail, "no Mistral API key is configured").fix(format!(
                "get a key at {KEYS_URL}, then set {} in the MCP client's server entry (its \
                 \"env\" block), or pass --api-key-file FILE, or set {}",
                env::API_KEY,
                env::API_KEY_FILE
            )),
        ];
    };
    let mut summary = format!("from {}", source.describe(ctx.config_file()));
    if let Ok(c) = &ctx.config
        && let Some(key) = &c.upstream.api_key
    {
        let key = key.expose_secret();
        let chars: Vec<char> = key.chars().collect();
        // The tail identifies the key in the console; on a short key it would give too much away.
        if chars.len() >= 16 {
            let tail: String = chars[chars.len() - 4..].iter().collect();
            summary.push_str(&format!(" ({} chars, ends ...{tail})", chars.len()));
        } else {
            summary.push_str(&format!(" ({} chars)", chars.len()));
        }
    }
    if !ctx.shadowed_sources.is_empty() {
        let others: Vec<String> = ctx
            .shadowed_sources
            .iter()
            .map(|s| s.describe(ctx.config_file()))
            .collect();
        summary.push_str(&format!("; also set but not used: {}", others.join(", ")));
    }
    vec![Finding::new(C, Status::Ok, summary)]
}

/// Proxy variables reqwest honours, in its order, for a URL scheme.
fn proxy_vars(scheme: &str) -> &'static [&'static str] {
    if scheme == "https" {
        &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    }
}

/// A proxy URL without its user name and password.
fn mask_proxy(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("***");
            let _ = u.set_password(None);
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparseable)".to_string(),
    }
}

/// Whether `NO_PROXY` exempts a host (names and suffixes; `*` for all).
fn no_proxy_matches(no_proxy: &str, host: &str) -> bool {
    no_proxy
        .split(',')
        .map(|e| e.trim().trim_start_matches('.'))
        .filter(|e| !e.is_empty())
        .any(|e| e == "*" || host == e || host.ends_with(&format!(".{e}")))
}

fn check_proxy(ctx: &Context) -> Vec<Finding> {
    const C: &str = "proxy";
    let Some(base) = ctx.base_url() else {
        return Vec::new();
    };
    let host = base.host_str().unwrap_or_default();
    let proxy = proxy_vars(base.scheme())
        .iter()
        .find_map(|v| ctx.var(v).map(|val| (*v, val)));
    let no_proxy = ctx.var("NO_PROXY").or_else(|| ctx.var("no_proxy"));
    let summary = match (proxy, no_proxy) {
        (None, _) => format!("none in the environment: {host} is reached directly"),
        (Some((var, _)), Some(np)) if no_proxy_matches(np, host) => {
            format!("{var} is set, but NO_PROXY exempts {host}: it is reached directly")
        }
        (Some((var, url)), _) => format!(
            "{var} is set: requests to {host} go through {}",
            mask_proxy(url)
        ),
    };
    vec![Finding::new(C, Status::Ok, summary)]
}

fn check_state(ctx: &Context) -> BoxFuture<'_, Vec<Finding>> {
    Box::pin(state_works(ctx))
}

/// Where rate limits, usage and budgets live; with Redis, one PING.
async fn state_works(ctx: &Context) -> Vec<Finding> {
    const C: &str = "state";
    let Ok(config) = &ctx.config else {
        return vec![Finding::new(
            C,
            Status::Skip,
            "the configuration did not load",
        )];
    };
    let store = match crate::state::StateStore::open(&config.state) {
        Ok(s) => s,
        Err(e) => {
            return vec![Finding::new(C, Status::Fail, format!("{e:#}")).fix(
                "set [state] url or MISTRAL_MCP_STATE_URL to redis://[:password@]host:port/db",
            )];
        }
    };
    if store.kind() == "memory" {
        return vec![Finding::new(
            C,
            Status::Ok,
            "in memory: rate limits, usage and budgets are counted per process (one replica)",
        )];
    }
    match store.ping().await {
        Ok(()) => vec![Finding::new(
            C,
            Status::Ok,
            format!(
                "Redis at {} answers: replicas share limits and budgets",
                store.describe()
            ),
        )],
        Err(e) => vec![
            Finding::new(
                C,
                Status::Fail,
                format!("{} does not answer: {e}", store.describe()),
            )
            .fix(
                "start Redis or fix [state] url / MISTRAL_MCP_STATE_URL; until it answers, \
                 requests from credentials with a rate limit get 503 and budgeted calls fail",
            ),
        ],
    }
}

fn check_key_works(ctx: &Context) -> BoxFuture<'_, Vec<Finding>> {
    Box::pin(key_works(ctx))
}

async fn key_works(ctx: &Context) -> Vec<Finding> {
    const C: &str = "endpoint";
    let Ok(config) = &ctx.config else {
        return vec![Finding::new(
            C,
            Status::Skip,
            "not tried: the configuration did not load (see above)",
        )];
    };
    let base = config.upstream.base_url.as_str().trim_end_matches('/');
    if config.upstream.api_key.is_none() {
        return vec![Finding::new(
            C,
            Status::Skip,
            format!("not tried: no key to send to {base}"),
        )];
    }
    let mut upstream = config.upstream.clone();
    upstream.timeout = ctx.timeout;
    upstream.connect_timeout = upstream.connect_timeout.min(ctx.timeout);
    upstream.retry.max_retries = 0;
    let client = match MistralClient::new(&upstream) {
        Ok(c) => c,
        Err(e) => {
            return vec![
                Finding::new(
                    C,
                    Status::Fail,
                    format!("cannot build an HTTP client: {e:#}"),
                )
                .fix("this is a bug or a broken TLS setup; please report it"),
            ];
        }
    };
    let req = UpstreamRequest {
        method: Method::Get,
        path: "/v1/models".to_string(),
        query: Vec::new(),
        headers: Vec::new(),
        body: RequestBody::None,
        auth: crate::mistral::Auth::Key,
        retry_server_errors: false,
    };
    let started = Instant::now();
    let result = client.send(&req, &CancellationToken::new()).await;
    let ms = started.elapsed().as_millis();
    let source = ctx
        .key_source
        .as_ref()
        .map(|s| s.describe(ctx.config_file()))
        .unwrap_or_default();
    let finding = match result {
        Ok(resp) => {
            let models = resp
                .json()
                .ok()
                .and_then(|v| v.get("data").and_then(Value::as_array).map(Vec::len));
            let listed = models.map_or("answered".to_string(), |n| format!("listed {n} models"));
            Finding::new(
                C,
                Status::Ok,
                format!("{base} accepted the key: GET /v1/models {listed} in {ms} ms"),
            )
        }
        Err(e) => describe_failure(ctx, base, &source, &e),
    };
    vec![finding]
}

fn describe_failure(ctx: &Context, base: &str, source: &str, e: &UpstreamError) -> Finding {
    const C: &str = "endpoint";
    let replace = ctx
        .key_source
        .as_ref()
        .map(KeySource::how_to_replace)
        .unwrap_or_default();
    match e {
        UpstreamError::Status {
            status: status @ (401 | 403),
            ..
        } => {
            let other_endpoint = if base == DEFAULT_BASE_URL {
                "If your key was issued for another Mistral endpoint (a regional one such as \
                 https://api.eu.mistral.ai, or a private deployment), it may only be valid \
                 there: set MISTRAL_BASE_URL to that endpoint instead."
                    .to_string()
            } else {
                format!(
                    "Note the key is checked against {base}, not the default {DEFAULT_BASE_URL}: \
                     a key made for one endpoint may be refused by the other, so make sure the \
                     key and MISTRAL_BASE_URL (or --base-url, [mistral] base_url) belong together."
                )
            };
            Finding::new(
                C,
                Status::Fail,
                format!("{base} rejected the key from {source} (HTTP {status}): wrong, expired or revoked"),
            )
            .fix(format!(
                "create a key at {KEYS_URL} and {replace}. {other_endpoint}"
            ))
        }
        UpstreamError::Status { status: 429, .. } => Finding::new(
            C,
            Status::Warn,
            format!("{base} accepted the key but is rate-limiting it (HTTP 429)"),
        ),
        UpstreamError::Status { status: 404, .. } => Finding::new(
            C,
            Status::Fail,
            format!("{base} has no /v1/models (HTTP 404): it does not look like the Mistral API"),
        )
        .fix(format!(
            "set MISTRAL_BASE_URL (or --base-url, [mistral] base_url) to {DEFAULT_BASE_URL} or \
             your gateway's root URL, without /v1"
        )),
        UpstreamError::Status { status, .. } => Finding::new(
            C,
            Status::Fail,
            format!("{base} answered HTTP {status} to GET /v1/models"),
        )
        .fix(
            "Mistral may be having trouble (https://status.mistral.ai); try again in a few minutes",
        ),
        UpstreamError::Connect { reason, .. } => {
            let (what, fix) = classify_network(reason);
            let via = proxy_in_use(ctx, base).map_or(String::new(), |p| {
                format!(" The request went through the proxy {p}: check it too.")
            });
            Finding::new(
                C,
                Status::Fail,
                format!("network error: cannot reach {base}: {what} ({reason})"),
            )
            .fix(format!("{fix}{via}"))
        }
        UpstreamError::Timeout { .. } => Finding::new(
            C,
            Status::Fail,
            format!(
                "network error: {base} did not answer within {}s",
                ctx.timeout.as_secs()
            ),
        )
        .fix("check the network, a firewall or proxy that drops traffic, and MISTRAL_BASE_URL"),
        other => Finding::new(C, Status::Fail, format!("GET /v1/models failed: {other}"))
            .fix("check MISTRAL_BASE_URL points at the Mistral API"),
    }
}

/// A name for a connection failure and what usually fixes it, from reqwest's error chain.
fn classify_network(reason: &str) -> (&'static str, &'static str) {
    let r = reason.to_ascii_lowercase();
    if r.contains("dns") || r.contains("lookup") || r.contains("resolve") {
        (
            "the host name does not resolve (DNS)",
            "check the host name in MISTRAL_BASE_URL and that this machine has DNS and internet access",
        )
    } else if r.contains("refused") {
        (
            "connection refused",
            "nothing listens at that address: check MISTRAL_BASE_URL (or --base-url, [mistral] base_url) and that a local gateway, if you use one, is running",
        )
    } else if r.contains("certificate") || r.contains("tls") || r.contains("handshake") {
        (
            "the TLS handshake failed",
            "a proxy or firewall may be intercepting HTTPS, or the clock is wrong; check the URL uses the right scheme",
        )
    } else {
        (
            "connection failed",
            "check the network, firewall and MISTRAL_BASE_URL",
        )
    }
}

fn proxy_in_use(ctx: &Context, base: &str) -> Option<String> {
    let url = url::Url::parse(base).ok()?;
    let host = url.host_str()?;
    let np = ctx.var("NO_PROXY").or_else(|| ctx.var("no_proxy"));
    if np.is_some_and(|np| no_proxy_matches(np, host)) {
        return None;
    }
    proxy_vars(url.scheme())
        .iter()
        .find_map(|v| ctx.var(v))
        .map(mask_proxy)
}

fn check_allowed_dirs(ctx: &Context) -> Vec<Finding> {
    const C: &str = "allowed dir";
    if ctx.allowed_dirs.is_empty() {
        return vec![Finding::new(
            C,
            Status::Skip,
            format!(
                "none configured: tools refuse local file paths (add --allow-dir DIR or {} to \
                 let them read and write files)",
                env::ALLOWED_DIRS
            ),
        )];
    }
    ctx.allowed_dirs
        .iter()
        .map(|(dir, from)| check_dir(dir, from))
        .collect()
}

fn check_dir(dir: &Path, from: &str) -> Finding {
    const C: &str = "allowed dir";
    let shown = dir.display();
    let remove = format!("or remove it from {from}");
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Finding::new(
                C,
                Status::Fail,
                format!("{shown} (from {from}) does not exist; the server refuses to start"),
            )
            .fix(format!("create it (mkdir -p \"{shown}\") {remove}"));
        }
        Err(e) => {
            return Finding::new(C, Status::Fail, format!("{shown} (from {from}): {e}"))
                .fix(format!("fix its permissions {remove}"));
        }
        Ok(m) if !m.is_dir() => {
            return Finding::new(
                C,
                Status::Fail,
                format!("{shown} (from {from}) is a file, not a directory"),
            )
            .fix(format!("name the directory that holds it {remove}"));
        }
        Ok(_) => {}
    }
    if let Err(e) = std::fs::read_dir(dir) {
        return Finding::new(C, Status::Fail, format!("{shown} is not readable: {e}")).fix(
            format!("give the user running mistral-mcp read access {remove}"),
        );
    }
    let probe = dir.join(format!(".mistral-mcp-doctor-{}", std::process::id()));
    let writable = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map(|_| std::fs::remove_file(&probe));
    match writable {
        Ok(_) => Finding::new(C, Status::Ok, format!("{shown} is readable and writable")),
        Err(e) => Finding::new(
            C,
            Status::Warn,
            format!(
                "{shown} is readable but not writable ({e}): uploads work, downloads into it fail"
            ),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// MCP client config files: the same table `install` writes to.
// ---------------------------------------------------------------------------------------

/// How a client's config file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    /// JSON, with comments and trailing commas tolerated (VS Code writes JSONC).
    Json,
    Toml,
}

/// A known MCP client and where its config file lives on this OS.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub name: &'static str,
    pub path: PathBuf,
    pub format: ConfigFormat,
}

/// The user-level config file of every client `install` knows, for this OS.
pub fn client_configs(home: &Path, env: &HashMap<String, String>) -> Vec<ClientConfig> {
    use crate::install::clients::{CLIENTS, Platform, Shape};
    let var = |k: &str| env.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let platform = Platform {
        home: Some(home.to_path_buf()),
        appdata: var("APPDATA"),
        xdg_config_home: var("XDG_CONFIG_HOME").filter(|p| p.is_absolute()),
        ..Platform::current()
    };
    CLIENTS
        .iter()
        .filter_map(|client| {
            Some(ClientConfig {
                name: client.cli_name,
                path: client.config_path(&platform).ok()?,
                format: match client.shape {
                    Shape::VibeToml => ConfigFormat::Toml,
                    _ => ConfigFormat::Json,
                },
            })
        })
        .collect()
}

fn check_clients(ctx: &Context) -> Vec<Finding> {
    const C: &str = "client";
    let Some(home) = &ctx.home else {
        return vec![Finding::new(
            C,
            Status::Skip,
            "HOME is not set: cannot find client config files",
        )];
    };
    client_configs(home, &ctx.env)
        .iter()
        .map(|client| check_client(ctx, client))
        .collect()
}

fn check_client(ctx: &Context, client: &ClientConfig) -> Finding {
    const C: &str = "client";
    let name = client.name;
    let path = client.path.display();
    let text = match std::fs::read_to_string(&client.path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Finding::new(C, Status::Skip, format!("{name}: no config at {path}"));
        }
        Err(e) => {
            return Finding::new(C, Status::Warn, format!("{name}: cannot read {path}: {e}"));
        }
        Ok(t) => t,
    };
    let parsed = match client.format {
        ConfigFormat::Json => {
            serde_json::from_str::<Value>(&relax_json(&text)).map_err(|e| e.to_string())
        }
        ConfigFormat::Toml => toml::from_str::<toml::Value>(&text)
            .map_err(|e| e.to_string())
            .and_then(|v| serde_json::to_value(v).map_err(|e| e.to_string())),
    };
    let value = match parsed {
        Ok(v) => v,
        Err(e) => {
            return Finding::new(
                C,
                Status::Warn,
                format!("{name}: {path} does not parse ({e}); the client may fail to read it too"),
            );
        }
    };
    let mut entries = Vec::new();
    find_entries(&value, "", &mut entries);
    let Some(Entry {
        name: entry,
        command,
        ..
    }) = entries.iter().find(|e| runs_mistral_mcp(&e.command))
    else {
        // `docker run ... mistral-mcp`, `npx ...`: the launcher is the client's business.
        if let Some(e) = entries
            .iter()
            .find(|e| e.args.iter().any(|a| a.contains("mistral-mcp")))
        {
            return Finding::new(
                C,
                Status::Ok,
                format!(
                    "{name}: entry \"{}\" starts mistral-mcp through {} (not checked further)",
                    e.name, e.command
                ),
            );
        }
        return Finding::new(
            C,
            Status::Skip,
            format!("{name}: {path} has no entry that runs mistral-mcp"),
        );
    };
    match locate(ctx, command) {
        Some(found) if found == Path::new(command) => Finding::new(
            C,
            Status::Ok,
            format!("{name}: entry \"{entry}\" runs {command}, which exists"),
        ),
        Some(found) => Finding::new(
            C,
            Status::Ok,
            format!(
                "{name}: entry \"{entry}\" runs {command}, found on PATH at {} (an absolute path \
                 is safer: apps started from a desktop may see a shorter PATH)",
                found.display()
            ),
        ),
        None => {
            let this = std::env::current_exe()
                .map(|p| format!(" (this binary is {})", p.display()))
                .unwrap_or_default();
            Finding::new(
                C,
                Status::Fail,
                format!("{name}: entry \"{entry}\" in {path} runs {command}, which does not exist"),
            )
            .fix(format!(
                "set that entry's \"command\" to the full path of mistral-mcp{this}, then \
                 restart {name}"
            ))
        }
    }
}

fn runs_mistral_mcp(command: &str) -> bool {
    let file = command.rsplit(['/', '\\']).next().unwrap_or(command);
    file.eq_ignore_ascii_case("mistral-mcp") || file.eq_ignore_ascii_case("mistral-mcp.exe")
}

/// An MCP server entry in a client config: its name, command and arguments.
#[derive(Debug)]
struct Entry {
    name: String,
    command: String,
    args: Vec<String>,
}

/// Every object with a string `command`, named by its key or its `name` field.
fn find_entries(v: &Value, key: &str, out: &mut Vec<Entry>) {
    match v {
        Value::Object(map) => {
            if let Some(cmd) = map.get("command").and_then(Value::as_str) {
                out.push(Entry {
                    name: map
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or(key)
                        .to_string(),
                    command: cmd.to_string(),
                    args: map
                        .get("args")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(String::from)
                                .collect()
                        })
                        .unwrap_or_default(),
                });
            }
            for (k, child) in map {
                find_entries(child, k, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| find_entries(i, key, out)),
        _ => {}
    }
}

/// Where a command resolves: itself when it is a path, else the first match on PATH.
fn locate(ctx: &Context, command: &str) -> Option<PathBuf> {
    let as_path = Path::new(command);
    if as_path.components().count() > 1 || as_path.is_absolute() {
        return as_path.is_file().then(|| as_path.to_path_buf());
    }
    let path = ctx.var("PATH")?;
    std::env::split_paths(path).find_map(|dir| {
        [command.to_string(), format!("{command}.exe")]
            .iter()
            .map(|c| dir.join(c))
            .find(|p| p.is_file())
    })
}

/// JSON with `//` and `/* */` comments and trailing commas (JSONC) made plain.
fn relax_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            (',', _) => {
                // A comma followed only by whitespace and a closing bracket is dropped.
                let rest: String = chars.clone().take_while(|n| n.is_whitespace()).collect();
                let next = chars.clone().nth(rest.chars().count());
                if !matches!(next, Some('}' | ']')) {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// For every source, doctor names the one whose key the server's loader actually uses.
    #[test]
    fn key_source_matches_the_loader() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let flag = file("flag-key", "from-flag");
        let envf = file("env-key", "from-env-file");
        let cfgf = file("cfg-key", "from-config-file");
        let cfg = file(
            "c.toml",
            &format!(
                "[mistral]\napi_key = \"from-config\"\napi_key_file = {:?}\n",
                cfgf.display().to_string()
            ),
        );
        let only_key = file("k.toml", "[mistral]\napi_key = \"from-config\"\n");
        let envf_s = envf.display().to_string();
        let cases: Vec<(Overrides, HashMap<String, String>, &str)> = vec![
            (
                Overrides {
                    api_key_file: Some(flag.clone()),
                    config_file: Some(cfg.clone()),
                    ..Default::default()
                },
                env(&[("MISTRAL_API_KEY", "from-env")]),
                "from-flag",
            ),
            (
                Overrides {
                    config_file: Some(cfg.clone()),
                    ..Default::default()
                },
                env(&[
                    ("MISTRAL_API_KEY", "from-env"),
                    ("MISTRAL_API_KEY_FILE", &envf_s),
                ]),
                "from-env",
            ),
            (
                Overrides {
                    config_file: Some(cfg.clone()),
                    ..Default::default()
                },
                env(&[("MISTRAL_API_KEY", " "), ("MISTRAL_API_KEY_FILE", &envf_s)]),
                "from-env-file",
            ),
            (
                Overrides {
                    config_file: Some(cfg.clone()),
                    ..Default::default()
                },
                env(&[]),
                "from-config-file",
            ),
            (
                Overrides {
                    config_file: Some(only_key.clone()),
                    ..Default::default()
                },
                env(&[]),
                "from-config",
            ),
        ];
        for (o, e, want) in cases {
            let ctx = Context::new(o, e);
            let key = ctx
                .config
                .as_ref()
                .unwrap()
                .upstream
                .api_key
                .as_ref()
                .unwrap()
                .expose_secret()
                .to_string();
            assert_eq!(key, want);
            let expected = match want {
                "from-flag" => KeySource::Flag(flag.clone()),
                "from-env" => KeySource::Env,
                "from-env-file" => KeySource::EnvFile(envf.clone()),
                "from-config-file" => KeySource::ConfigFile(cfgf.clone()),
                _ => KeySource::ConfigKey,
            };
            assert_eq!(ctx.key_source, Some(expected), "{want}");
        }
    }

    #[test]
    fn jsonc_is_relaxed() {
        let text = "{\n // c\n \"a\": \"x//y\", /* b */ \"l\": [1,2,],\n}";
        let v: Value = serde_json::from_str(&relax_json(text)).unwrap();
        assert_eq!(v["a"], "x//y");
        assert_eq!(v["l"], json!([1, 2]));
    }

    #[test]
    fn entries_are_found_in_every_shape() {
        let v = json!({"mcpServers": {"mistral": {"command": "/opt/bin/mistral-mcp"}},
                       "projects": {"/p": {"mcpServers": {"m2": {"command": "C:\\x\\mistral-mcp.exe"}}}},
                       "mcp_servers": [{"name": "m3", "command": "npx"}]});
        let mut out = Vec::new();
        find_entries(&v, "", &mut out);
        let hits: Vec<&str> = out
            .iter()
            .filter(|e| runs_mistral_mcp(&e.command))
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(hits.len(), 2, "{out:?}");
        assert!(out.iter().any(|e| e.name == "m3" && e.command == "npx"));
    }

    #[test]
    fn proxy_credentials_are_masked_and_no_proxy_matches_suffixes() {
        assert_eq!(
            mask_proxy("http://user:pw@proxy:3128"),
            "http://***@proxy:3128/"
        );
        assert!(no_proxy_matches("localhost, .mistral.ai", "api.mistral.ai"));
        assert!(!no_proxy_matches("example.com", "api.mistral.ai"));
    }
}
