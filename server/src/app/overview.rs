//! The proxy at a glance, as plain values: counts, addresses, the servers behind the MCP
//! endpoints, the server list and the tool counters. The app gathers them here so the wire
//! layer (`api/wire`) only converts values and never reaches into [`App`].

use std::path::PathBuf;

use super::{App, ServerView, StatusCounts};

/// A configured server as an MCP endpoint (`/mcp/servers/NAME`).
#[derive(Debug, Clone)]
pub struct EndpointServer {
    /// Server name.
    pub name: String,
    /// Whether it is enabled and not quarantined (the endpoint can answer).
    pub available: bool,
}

/// What the MCP endpoints' URLs and routing are made of.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The address clients reach the proxy at (the bound one once listening).
    pub listen_addr: String,
    /// The configured routing mode of `/mcp`.
    pub routing_mode: String,
    /// Every configured server, in configuration order.
    pub servers: Vec<EndpointServer>,
}

/// The running proxy's status (`/status`, the `status` event).
#[derive(Debug, Clone)]
pub struct StatusOverview {
    /// Counters over all servers.
    pub counts: StatusCounts,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// Whether config is loaded and every listener is up.
    pub ready: bool,
    /// The MCP endpoints.
    pub endpoints: Endpoints,
}

/// What `/info` shows: the endpoints and where to reach the proxy.
#[derive(Debug, Clone)]
pub struct InfoOverview {
    /// The MCP endpoints.
    pub endpoints: Endpoints,
    /// The API key the web UI link carries.
    pub api_key: String,
    /// The control socket, when there is one.
    pub socket_path: Option<PathBuf>,
}

/// The server list with its counters, from one look at the servers.
#[derive(Debug, Clone)]
pub struct ServerList {
    /// Every configured server's view.
    pub servers: Vec<ServerView>,
    /// Counters over them.
    pub counts: StatusCounts,
}

/// Counters over every tool of every connected server.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToolCounts {
    /// All tools.
    pub total: usize,
    /// Those whose change waits for approval.
    pub pending_approval: usize,
}

impl App {
    /// The MCP endpoints' parts.
    pub fn mcp_endpoints(&self) -> Endpoints {
        let config = self.config();
        Endpoints {
            listen_addr: self.listen_addr(),
            routing_mode: config.routing_mode.clone(),
            servers: config
                .servers
                .iter()
                .map(|s| EndpointServer {
                    name: s.name.clone(),
                    available: s.should_connect(),
                })
                .collect(),
        }
    }

    /// The running proxy's status.
    pub fn status_overview(&self) -> StatusOverview {
        StatusOverview {
            counts: self.counts(),
            uptime_secs: self.uptime_secs(),
            ready: self.is_ready(),
            endpoints: self.mcp_endpoints(),
        }
    }

    /// What `/info` shows.
    pub fn info_overview(&self) -> InfoOverview {
        let resolved = self.resolved();
        InfoOverview {
            endpoints: self.mcp_endpoints(),
            api_key: resolved.api_key.clone(),
            socket_path: resolved.socket_path.clone(),
        }
    }

    /// The server list with its counters.
    pub fn server_list(&self) -> ServerList {
        ServerList {
            counts: self.counts(),
            servers: self.servers(),
        }
    }

    /// Counters over every tool of every connected server: those waiting for approval of
    /// a change, and all.
    pub fn tool_counts(&self) -> ToolCounts {
        let mut counts = ToolCounts::default();
        for view in self.servers() {
            let Ok(tools) = self.server_tools(&view.config.name) else {
                continue;
            };
            let approvals = self.tool_approvals(&view.config.name);
            counts.total += tools.len();
            counts.pending_approval += tools
                .iter()
                .filter(|t| {
                    approvals
                        .get(t.name.as_ref())
                        .is_some_and(|a| a.status.as_str() == "changed")
                })
                .count();
        }
        counts
    }
}
