//! MCP over stdin/stdout. stdout carries protocol messages only; logs go to stderr.

use rmcp::ServiceExt;

use crate::server::McpServer;

pub async fn serve(server: McpServer) -> anyhow::Result<()> {
    tracing::info!(
        tools = server.listed_tools().len(),
        "serving MCP over stdio"
    );
    let running = server.serve(rmcp::transport::stdio()).await?;
    tokio::select! {
        quit = running.waiting() => {
            tracing::info!(reason = ?quit?, "stdio session ended");
        }
        _ = super::shutdown_signal() => {
            tracing::info!("shutting down on signal");
        }
    }
    Ok(())
}
