//! Tags `status` and `info`: the running proxy's counts, addresses and MCP endpoints.

use mcpproxy_api::types;

use super::count;
use crate::app::{Endpoints, InfoOverview, StatusOverview};
use crate::mcp::McpPath;

/// The MCP endpoints, as URLs on the address a browser or agent can reach.
pub fn mcp_endpoints(endpoints: &Endpoints) -> types::McpEndpoints {
    let base = format!("http://{}", display_listen(&endpoints.listen_addr));
    let url = |path: &McpPath| format!("{base}{}", path.path());
    types::McpEndpoints {
        routing_mode: endpoints.routing_mode.clone(),
        default: url(&McpPath::Default),
        call: url(&McpPath::Call),
        all: url(&McpPath::All),
        servers: endpoints
            .servers
            .iter()
            .map(|s| types::McpServerEndpoint {
                name: s.name.clone(),
                url: url(&McpPath::Server(s.name.clone())),
                available: s.available,
            })
            .collect(),
    }
}

/// `GET /api/v1/status`.
pub fn status(overview: &StatusOverview, version: &str) -> types::StatusResponse {
    let counts = &overview.counts;
    types::StatusResponse {
        success: true,
        status: "running".into(),
        version: version.into(),
        uptime: overview.uptime_secs,
        servers: types::StatusServerCounts {
            total: count(counts.total),
            connected: count(counts.connected),
            quarantined: count(counts.quarantined),
        },
        tools: types::StatusToolCounts {
            total: count(counts.tools),
        },
        data: types::StatusData {
            running: true,
            listen_addr: overview.endpoints.listen_addr.clone(),
            phase: if overview.ready {
                "Running"
            } else {
                "Initializing"
            }
            .into(),
            timestamp: chrono::Utc::now().timestamp(),
            upstream_stats: types::UpstreamStats {
                total_servers: count(counts.total),
                connected_servers: count(counts.connected),
                connecting_servers: count(counts.connecting),
                quarantined_servers: count(counts.quarantined),
                total_tools: count(counts.tools),
            },
        },
        mcp: mcp_endpoints(&overview.endpoints),
    }
}

/// The address a browser can reach: `0.0.0.0`/`::`/empty hosts become `127.0.0.1`.
pub fn display_listen(listen: &str) -> String {
    match listen.rsplit_once(':') {
        Some(("" | "0.0.0.0" | "[::]" | "::", port)) => format!("127.0.0.1:{port}"),
        _ => listen.to_string(),
    }
}

/// The web UI URL printed at start and returned by `/info`.
pub fn web_ui_url(listen: &str, api_key: &str) -> String {
    format!("http://{}/ui/?apikey={api_key}", display_listen(listen))
}

/// `GET /api/v1/info`.
pub fn info(overview: &InfoOverview, version: &str) -> types::InfoResponse {
    let bound = &overview.endpoints.listen_addr;
    let listen = display_listen(bound);
    types::InfoResponse {
        success: true,
        data: types::InfoData {
            version: version.into(),
            web_ui_url: web_ui_url(bound, &overview.api_key),
            listen_addr: listen.clone(),
            endpoints: types::InfoEndpoints {
                http: listen,
                socket: overview
                    .socket_path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                mcp: mcp_endpoints(&overview.endpoints),
            },
            update: None,
        },
    }
}
