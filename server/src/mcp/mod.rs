//! The proxy's own MCP server at `/mcp` (streamable HTTP, on the same port as the API): the
//! built-in tools agents use — `retrieve_tools`, `call_tool` and its read/write/destructive
//! variants, `describe_tool`, `upstream_servers`, `quarantine_security`, `read_cache` — with
//! the Go original's names and argument names. Results are JSON text content; failures are
//! tool results with `isError`, naming the server and the cause, never protocol errors.
//!
//! Transport, sessions (`Mcp-Session-Id`), the GET stream and DELETE come from rmcp's
//! `StreamableHttpService`; Host and Origin are validated against DNS rebinding.

mod builtin;
mod handler;
mod manage;
mod search;
mod truncate;

use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::app::App;

pub use handler::ProxyMcp;
pub use truncate::{ResponseCache, Truncated};

/// The `/mcp` service.
pub type McpService = StreamableHttpService<ProxyMcp, LocalSessionManager>;

/// Build the `/mcp` service. `listen` is the proxy's TCP address; its host joins the
/// loopback names as an allowed `Host`, and only loopback browser origins are accepted.
pub fn service(
    app: Arc<App>,
    cache: Arc<ResponseCache>,
    listen: &str,
    shutdown: CancellationToken,
) -> McpService {
    let mut config = StreamableHttpServerConfig::default();
    config.cancellation_token = shutdown;
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1", "[::1]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some((host, _)) = listen.rsplit_once(':')
        && !host.is_empty()
        && host != "0.0.0.0"
        && host != "[::]"
    {
        hosts.push(host.to_string());
    }
    config.allowed_hosts = hosts;
    config.allowed_origins = [
        "http://localhost:*",
        "http://127.0.0.1:*",
        "http://[::1]:*",
        "https://localhost:*",
        "https://127.0.0.1:*",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    StreamableHttpService::new(
        move || Ok(ProxyMcp::new(app.clone(), cache.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}
