//! MCP over Streamable HTTP at `/mcp`, with `/healthz`, `/readyz` and `/metrics` beside it.
//!
//! Stateless by default (no session ids, JSON responses; progress switches a response to
//! SSE), so any replica can answer any request. Connections are accepted by [`listener`]
//! (header-read timeout, connection caps). In front of `/mcp`, in order: a request id,
//! inbound authentication and per-credential rate limits ([`auth`]; OAuth access tokens
//! are checked by [`oauth`]), the body limit and JSON-RPC envelope checks ([`body`]), then
//! rmcp's own Host/Origin (DNS-rebinding) checks. A non-loopback bind requires
//! authentication. On SIGTERM the server stops accepting, reports not-ready, lets in-flight
//! calls finish within the grace period, then exits.

mod auth;
mod body;
mod listener;
pub mod oauth;
mod ratelimit;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::bail;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::access::{RequestId, StaticToken};
use crate::config::HttpConfig;
use crate::metrics;
use crate::server::McpServer;

pub use auth::Authenticator;
use oauth::OAuthValidator;

const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// What the health endpoints report.
#[derive(Default)]
pub struct Health {
    draining: AtomicBool,
    /// Present in OAuth mode: not ready until the issuer's signing keys are loaded.
    oauth: Option<OAuthValidator>,
    /// Reported, not gating: with Redis down only limited and budgeted calls fail, and
    /// taking every replica out of the balancer would fail all of them.
    state: crate::state::StateStore,
}

impl Health {
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }
}

/// The OAuth validator for this configuration, if OAuth is on.
pub fn oauth_validator(cfg: &HttpConfig) -> anyhow::Result<Option<OAuthValidator>> {
    let Some(oauth) = &cfg.oauth else {
        return Ok(None);
    };
    crate::mistral::install_tls_provider();
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("mistral-mcp/", env!("CARGO_PKG_VERSION")))
        .build()?;
    OAuthValidator::new(oauth.clone(), http)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("invalid [http.oauth]: {e:#}"))
}

/// The axum app: `/mcp`, `/healthz`, `/readyz`, `/metrics`.
pub fn router(
    server: McpServer,
    cfg: &HttpConfig,
    tokens: Vec<StaticToken>,
    oauth: Option<OAuthValidator>,
    health: Arc<Health>,
    mcp_cancel: CancellationToken,
) -> axum::Router {
    let mut hosts: Vec<String> = LOOPBACK_HOSTS.iter().map(|h| h.to_string()).collect();
    hosts.extend(cfg.allowed_hosts.iter().cloned());
    let mut origins = vec![
        "http://localhost:*".to_string(),
        "http://127.0.0.1:*".to_string(),
    ];
    origins.extend(cfg.allowed_origins.iter().cloned());
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(cfg.session_mode)
        .with_json_response(!cfg.session_mode)
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_max_request_body_bytes(cfg.max_body_bytes)
        .with_cancellation_token(mcp_cancel);
    if cfg.allowed_hosts.iter().any(|h| h == "*") {
        config = config.disable_allowed_hosts();
    }
    let state = server.state().clone();
    let sessions = Arc::new(LocalSessionManager::default());
    let service = StreamableHttpService::new(move || Ok(server.clone()), sessions.clone(), config);
    let mut mcp = axum::Router::new().nest_service("/mcp", service);
    if cfg.session_mode {
        mcp = mcp.layer(axum::middleware::from_fn_with_state(
            sessions,
            session::reject_unknown_session_delete,
        ));
    }
    mcp = mcp
        .layer(axum::middleware::from_fn_with_state(
            cfg.max_body_bytes,
            body::check_body,
        ))
        .layer(axum::middleware::from_fn(count_refusals));
    let authenticator = Arc::new(Authenticator::new(tokens, oauth.clone(), state.clone()));
    if authenticator.enabled() {
        mcp = mcp.layer(axum::middleware::from_fn_with_state(
            authenticator,
            auth::require_auth,
        ));
    }
    let mut app = axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz).with_state(health))
        .route("/metrics", get(metrics_page));
    if let Some(oauth) = oauth {
        // RFC 9728 puts the document at the well-known prefix plus the resource's path;
        // some clients only try the bare prefix, so serve both.
        let document = Arc::new(oauth.resource_metadata());
        let serve_document = move || {
            let document = document.clone();
            async move { axum::Json((*document).clone()) }
        };
        let path = oauth.resource_metadata_path();
        if path != METADATA_PREFIX {
            app = app.route(&path, get(serve_document.clone()));
        }
        app = app.route(METADATA_PREFIX, get(serve_document));
    }
    app.merge(mcp).layer(axum::middleware::from_fn(request_id))
}

const METADATA_PREFIX: &str = "/.well-known/oauth-protected-resource";

async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}

/// Not ready while draining, so a load balancer stops sending new work here. `state` says
/// whether the shared state store answers (`ok`, `unreachable`) or is in memory.
async fn readyz(State(health): State<Arc<Health>>) -> Response {
    let state = match health.state.kind() {
        "memory" => "memory",
        _ if health.state.ping().await.is_ok() => "ok",
        _ => "unreachable",
    };
    let not_ready = if health.draining.load(Ordering::SeqCst) {
        Some("draining")
    } else if health.oauth.as_ref().is_some_and(|o| !o.keys_loaded()) {
        Some("waiting for the OAuth issuer's signing keys")
    } else {
        None
    };
    match not_ready {
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(
                serde_json::json!({"status": "not_ready", "reason": reason, "state": state}),
            ),
        )
            .into_response(),
        None => axum::Json(serde_json::json!({"status": "ready", "state": state})).into_response(),
    }
}

async fn metrics_page() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics::render(),
    )
}

/// Counts what rmcp and the body checks refused (Host/Origin, body size, malformed
/// messages) alongside the auth layer's refusals.
async fn count_refusals(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    match response.status() {
        StatusCode::FORBIDDEN => metrics::http_rejected("forbidden"),
        StatusCode::PAYLOAD_TOO_LARGE => metrics::http_rejected("payload_too_large"),
        StatusCode::BAD_REQUEST => metrics::http_rejected("bad_request"),
        _ => {}
    }
    response
}

/// Takes the caller's `X-Request-Id` when it is a sane token, or makes one, and echoes it.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| {
            let bytes: [u8; 8] = rand::random();
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        });
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// Binds and serves until SIGTERM/Ctrl-C, then drains.
pub async fn serve(
    server: McpServer,
    cfg: &HttpConfig,
    tokens: Vec<StaticToken>,
) -> anyhow::Result<()> {
    if !cfg.bind.ip().is_loopback() && tokens.is_empty() && cfg.oauth.is_none() {
        bail!(
            "refusing to serve HTTP on non-loopback address {} without authentication: anyone who \
             reaches it could spend this server's Mistral key. Create a token with \
             `mistral-mcp token new --name <client>` and add the printed entry to the config or \
             tokens file (or set MISTRAL_MCP_HTTP_TOKEN for a single full-access token); clients \
             then send `Authorization: Bearer <token>`. Or configure [http.oauth] to accept your \
             identity provider's access tokens, or bind 127.0.0.1 behind your own proxy.",
            cfg.bind
        );
    }
    for token in &tokens {
        if let Some(sets) = &token.grant.toolsets {
            let sets: Vec<String> = sets.iter().cloned().collect();
            server
                .catalog()
                .check_toolsets(&sets)
                .map_err(|e| anyhow::anyhow!("token {:?}: {e:#}", token.grant.principal))?;
        }
    }
    let oauth = oauth_validator(cfg)?;
    if let Some(o) = &oauth {
        for grant in o.config().scopes.values() {
            if let Some(sets) = grant
                .toolsets
                .as_ref()
                .filter(|s| !s.iter().any(|t| t == "*"))
            {
                server
                    .catalog()
                    .check_toolsets(sets)
                    .map_err(|e| anyhow::anyhow!("[http.oauth.scopes]: {e:#}"))?;
            }
        }
        // Warm the key cache without blocking start-up: /readyz says when it is loaded.
        let warm = o.clone();
        tokio::spawn(async move {
            if let Err(e) = warm.refresh_keys().await {
                tracing::warn!(error = %format!("{e:#}"), "could not fetch the OAuth issuer's signing keys yet; will retry on demand");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(cfg.bind).await?;
    let addr: SocketAddr = listener.local_addr()?;
    let health = Arc::new(Health {
        draining: AtomicBool::new(false),
        oauth: oauth.clone(),
        state: server.state().clone(),
    });
    let mcp_cancel = CancellationToken::new();
    let token_count = tokens.len();
    let app = router(
        server,
        cfg,
        tokens,
        oauth,
        health.clone(),
        mcp_cancel.clone(),
    );
    tracing::info!(%addr, tokens = token_count, "serving MCP over Streamable HTTP at /mcp");
    eprintln!("mistral-mcp: listening on http://{addr}/mcp (health: http://{addr}/healthz)");
    let stopping = CancellationToken::new();
    let policy = listener::ConnectionPolicy {
        header_read_timeout: cfg.header_read_timeout,
        max_connections: cfg.max_connections,
        max_connections_per_peer: cfg.max_connections_per_peer,
    };
    let graceful = {
        let stopping = stopping.clone();
        listener::serve(listener, app, policy, async move {
            super::shutdown_signal().await;
            health.start_draining();
            tracing::info!("stopping: no new connections; finishing calls in flight");
            stopping.cancel();
        })
    };
    let grace = cfg.shutdown_grace;
    tokio::select! {
        _ = graceful => {}
        _ = async { stopping.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(grace_secs = grace.as_secs(), "calls still running after the grace period; cancelling them");
        }
    }
    mcp_cancel.cancel();
    tracing::info!("stopped");
    Ok(())
}
