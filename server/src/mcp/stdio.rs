//! MCP over the process's own stdin/stdout, for agents that spawn the proxy as a stdio
//! server (`listen` of `""` or `":0"`, as in the Go original, or `serve --stdio`). The
//! connection is one session, named `stdio-<random>`, served by the same [`ProxyMcp`]
//! handler and [`Builtins`] dispatcher as `/mcp`; it ends when the agent closes stdin.
//!
//! Nothing but MCP may reach stdout in this mode: logs go to stderr.

use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::service::QuitReason;
use tokio_util::sync::CancellationToken;

use super::catalog::Catalog;
use super::dispatch::Builtins;
use super::handler::ProxyMcp;
use super::sessions::Sessions;
use super::surface::McpPath;
use super::truncate::ResponseCache;
use crate::app::App;

/// Why the stdio session could not be served.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    /// The MCP handshake on stdin/stdout failed (the peer closed, or spoke something else).
    #[error("MCP handshake on stdin/stdout failed: {0}")]
    Handshake(String),
    /// The session task failed.
    #[error("the stdio session failed: {0}")]
    Session(String),
}

/// Serve one MCP session on stdin/stdout until the peer closes it or `shutdown` fires.
pub async fn serve_stdio(
    app: Arc<App>,
    cache: Arc<ResponseCache>,
    shutdown: CancellationToken,
) -> Result<(), StdioError> {
    let builtins = Arc::new(Builtins::new(app.clone(), cache));
    let id = format!("stdio-{}", hex::encode(rand::random::<[u8; 8]>()));
    let surface = McpPath::Default.surface(&app.settings().routing_mode);
    let catalog = Arc::new(Catalog::new(app.clone(), Arc::default()));
    let sessions = Arc::new(Sessions::default());
    let handler = ProxyMcp::new(app, builtins, catalog, sessions, Arc::default(), surface)
        .with_session_id(id);
    let running = tokio::select! {
        served = handler.serve(rmcp::transport::io::stdio_pipes()) => {
            served.map_err(|e| StdioError::Handshake(e.to_string()))?
        }
        _ = shutdown.cancelled() => return Ok(()),
    };
    // On shutdown the running service is dropped, which cancels it and drops the handler
    // (closing the session).
    let ended = tokio::select! {
        ended = running.waiting() => ended,
        _ = shutdown.cancelled() => return Ok(()),
    };
    match ended {
        Ok(QuitReason::JoinError(e)) => Err(StdioError::Session(e.to_string())),
        Ok(_) => Ok(()),
        Err(e) => Err(StdioError::Session(e.to_string())),
    }
}
