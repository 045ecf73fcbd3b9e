//! The MCP surfaces the proxy serves, by path:
//!
//! - `/mcp` — what `routing_mode` says: the retrieve-tools surface (default) or every tool
//!   directly;
//! - `/mcp/call` — always the retrieve-tools surface: the built-in tools (`retrieve_tools`,
//!   `call_tool*`, …), with every upstream's resources and prompts;
//! - `/mcp/all` — every upstream tool directly, named `server__tool` (the Go original's
//!   direct mode), with the same resources and prompts;
//! - `/mcp/servers/{name}` — one upstream, transparent: its own tool, resource and prompt
//!   names, unchanged.
//!
//! Every surface is behind the same quarantine, pinning, policy and history.

/// The separator between server and tool (or prompt) names on the aggregated surfaces.
pub const NAME_SEPARATOR: &str = "__";

use crate::config::routing_mode;

/// A path under `/mcp`, as routed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum McpPath {
    /// `/mcp`.
    Default,
    /// `/mcp/call`.
    Call,
    /// `/mcp/all`.
    All,
    /// `/mcp/servers/{name}`.
    Server(String),
}

impl McpPath {
    /// The path for the decoded segments after `mcp`; `None` for any other path.
    pub fn parse(rest: &[String]) -> Option<Self> {
        match rest {
            [] => Some(Self::Default),
            [one] if one == "call" => Some(Self::Call),
            [one] if one == "all" => Some(Self::All),
            [servers, name] if servers == "servers" && !name.is_empty() => {
                Some(Self::Server(name.clone()))
            }
            _ => None,
        }
    }

    /// The surface this path serves under `routing_mode`.
    pub fn surface(&self, routing_mode: &str) -> Surface {
        match self {
            Self::Default if routing_mode == routing_mode::DIRECT => Surface::All,
            Self::Default | Self::Call => Surface::Retrieve,
            Self::All => Surface::All,
            Self::Server(name) => Surface::Server(name.clone()),
        }
    }

    /// The URL path.
    pub fn path(&self) -> String {
        match self {
            Self::Default => "/mcp".into(),
            Self::Call => "/mcp/call".into(),
            Self::All => "/mcp/all".into(),
            Self::Server(name) => format!("/mcp/servers/{name}"),
        }
    }
}

/// What a session sees.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Surface {
    /// The built-in tools; upstream resources and prompts aggregated.
    Retrieve,
    /// Every upstream tool as `server__tool`; resources and prompts aggregated.
    All,
    /// One upstream, transparent.
    Server(String),
}

impl Surface {
    /// Whether the session sees `server`'s tools, resources, prompts and messages at all.
    pub fn shows(&self, server: &str) -> bool {
        match self {
            Self::Server(name) => name == server,
            Self::Retrieve | Self::All => true,
        }
    }
}

/// `server__name` for `server`'s `name`.
pub fn joined(server: &str, name: &str) -> String {
    format!("{server}{NAME_SEPARATOR}{name}")
}

/// Split `server__name` where the part before a separator is one of `servers` (server
/// names may contain `__` themselves; the longest known server wins).
pub fn split_joined<'a>(name: &'a str, servers: &[String]) -> Option<(&'a str, &'a str)> {
    name.match_indices(NAME_SEPARATOR)
        .map(|(at, sep)| (&name[..at], &name[at + sep.len()..]))
        .filter(|(server, rest)| !rest.is_empty() && servers.iter().any(|s| s == server))
        .max_by_key(|(server, _)| server.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &[&str]) -> Vec<String> {
        path.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn paths_parse_to_surfaces() {
        assert_eq!(McpPath::parse(&segs(&[])), Some(McpPath::Default));
        assert_eq!(McpPath::parse(&segs(&["call"])), Some(McpPath::Call));
        assert_eq!(McpPath::parse(&segs(&["all"])), Some(McpPath::All));
        assert_eq!(
            McpPath::parse(&segs(&["servers", "gh"])),
            Some(McpPath::Server("gh".into()))
        );
        assert_eq!(McpPath::parse(&segs(&["servers"])), None);
        assert_eq!(McpPath::parse(&segs(&["servers", "a", "b"])), None);
        assert_eq!(McpPath::parse(&segs(&["other"])), None);
        assert_eq!(McpPath::Default.surface("direct"), Surface::All);
        assert_eq!(
            McpPath::Default.surface("retrieve_tools"),
            Surface::Retrieve
        );
        assert_eq!(McpPath::Call.surface("direct"), Surface::Retrieve);
    }

    #[test]
    fn joined_names_split_at_a_known_server() {
        let servers = vec!["gh".to_string(), "my__srv".to_string()];
        assert_eq!(split_joined("gh__search", &servers), Some(("gh", "search")));
        assert_eq!(
            split_joined("my__srv__do__it", &servers),
            Some(("my__srv", "do__it"))
        );
        assert_eq!(split_joined("nope__x", &servers), None);
        assert_eq!(split_joined("gh__", &servers), None);
        assert_eq!(joined("gh", "search"), "gh__search");
    }
}
