//! Session-mode checks rmcp leaves out: a DELETE naming a session this process does not
//! hold gets 404, as the Streamable HTTP spec says for unknown or ended sessions, so a
//! client knows to start over instead of believing it ended something.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

const SESSION_HEADER: &str = "mcp-session-id";

pub async fn reject_unknown_session_delete(
    State(sessions): State<Arc<LocalSessionManager>>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::DELETE {
        return next.run(req).await;
    }
    let Some(id) = req
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| Arc::<str>::from(v.to_string()))
    else {
        return next.run(req).await;
    };
    match sessions.has_session(&id).await {
        Ok(true) => next.run(req).await,
        Ok(false) => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({
                "error": "session_not_found",
                "error_description": "no such session here (it ended or never existed); \
                                      start a new one with `initialize`",
            })),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
