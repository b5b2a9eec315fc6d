//! MCP over Streamable HTTP at `/mcp`, plus `GET /healthz`.
//!
//! Stateless by default (no session ids, JSON responses; progress switches a response to
//! SSE), so any replica can answer any request. rmcp's DNS-rebinding protection checks the
//! Host header (loopback names plus `--allowed-host` values) and the Origin header when a
//! browser sends one. A non-loopback bind requires a bearer token.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::bail;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use crate::config::HttpConfig;
use crate::server::McpServer;

/// Room for base64 documents in tool arguments.
const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024 * 1024;

const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The axum app: `/mcp` and `/healthz`.
pub fn router(server: McpServer, cfg: &HttpConfig, shutdown: CancellationToken) -> axum::Router {
    let mut hosts: Vec<String> = LOOPBACK_HOSTS.iter().map(|h| h.to_string()).collect();
    hosts.extend(cfg.allowed_hosts.iter().cloned());
    let mut origins = vec![
        "http://localhost:*".to_string(),
        "http://127.0.0.1:*".to_string(),
    ];
    origins.extend(cfg.allowed_origins.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_max_request_body_bytes(MAX_REQUEST_BODY_BYTES)
        .with_cancellation_token(shutdown.child_token());
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let mut mcp = axum::Router::new().nest_service("/mcp", service);
    if let Some(token) = &cfg.bearer_token {
        mcp = mcp.layer(axum::middleware::from_fn_with_state(
            Arc::new(token.clone()),
            require_bearer,
        ));
    }
    axum::Router::new()
        .route("/healthz", get(healthz))
        .merge(mcp)
}

async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}

async fn require_bearer(
    State(token): State<Arc<SecretString>>,
    req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(presented.as_bytes(), token.expose_secret().as_bytes()) {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "missing or wrong bearer token",
        )
            .into_response()
    }
}

/// Compares without an early exit, so timing does not reveal how much of a token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// Binds and serves until a shutdown signal.
pub async fn serve(server: McpServer, cfg: &HttpConfig) -> anyhow::Result<()> {
    if !cfg.bind.ip().is_loopback() && cfg.bearer_token.is_none() {
        bail!(
            "refusing to serve HTTP on non-loopback address {} without authentication: anyone who \
             reaches it could spend this server's Mistral key. Set MISTRAL_MCP_HTTP_TOKEN (clients \
             then send `Authorization: Bearer <token>`), or bind 127.0.0.1 behind your own proxy.",
            cfg.bind
        );
    }
    let listener = tokio::net::TcpListener::bind(cfg.bind).await?;
    let addr: SocketAddr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let app = router(server, cfg, shutdown.clone());
    tracing::info!(%addr, "serving MCP over Streamable HTTP at /mcp");
    eprintln!("mistral-mcp: listening on http://{addr}/mcp (health: http://{addr}/healthz)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            super::shutdown_signal().await;
            tracing::info!("shutting down on signal");
            shutdown.cancel();
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
