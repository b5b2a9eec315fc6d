//! MCP over stdin/stdout. stdout carries protocol messages only; logs go to stderr.
//!
//! Lines are framed by [`super::json_lines`], which keeps stray messages away from rmcp's
//! handshake; should the handshake still fail (an `initialize` refused), it is started again
//! on the same streams instead of ending the process.

use rmcp::ServiceExt;
use rmcp::service::ServerInitializeError;
use tokio::io::{AsyncRead, AsyncWrite};

use super::json_lines::JsonLines;
use crate::server::McpServer;

pub async fn serve(server: McpServer) -> anyhow::Result<()> {
    tracing::info!(
        tools = server.listed_tools().len(),
        "serving MCP over stdio"
    );
    let (stdin, stdout) = rmcp::transport::stdio();
    tokio::select! {
        ended = serve_on(server, stdin, stdout) => ended,
        _ = super::shutdown_signal() => {
            tracing::info!("shutting down on signal");
            Ok(())
        }
    }
}

/// Serves one MCP session over any pair of byte streams, as stdio does (tests use pipes).
pub async fn serve_on<R, W>(server: McpServer, read: R, write: W) -> anyhow::Result<()>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let lines = JsonLines::new(read, write);
    let ended = run_session(server, &lines).await;
    lines.finish().await;
    ended
}

async fn run_session(server: McpServer, lines: &JsonLines) -> anyhow::Result<()> {
    let running = loop {
        match server.clone().serve(lines.transport()).await {
            Ok(running) => break running,
            Err(ServerInitializeError::ConnectionClosed(_) | ServerInitializeError::Cancelled) => {
                tracing::info!("stdio closed before initialize");
                return Ok(());
            }
            Err(e @ ServerInitializeError::TransportError { .. }) => return Err(e.into()),
            // The message itself is not logged: it may be megabytes.
            Err(ServerInitializeError::ExpectedInitializeRequest(_)) => {
                lines.mark_no_session();
                tracing::debug!("ignored a notification or response sent before initialize");
            }
            Err(e) => {
                lines.mark_no_session();
                tracing::warn!(error = %e, "initialize failed; waiting for another");
            }
        }
    };
    let quit = running.waiting().await?;
    tracing::info!(reason = ?quit, "stdio session ended");
    Ok(())
}
