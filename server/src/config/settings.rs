//! [`Settings`]: the values the running proxy reads, parsed and defaulted, resolved from the
//! configuration document once per change — at load and in `App::change_config`'s swap — so
//! a call reads one snapshot of typed values instead of the document's strings (no `"2m"`
//! re-parsed per call, no default written at the reader).
//!
//! Each default is written once, here or beside its field in `mod.rs`: the document's serde
//! default writes the constant's text ([`written`]), and the resolver falls back to the same
//! constant when a value does not parse. The listen address and data directory are not here:
//! they take environment and flag overrides and live in [`super::Resolved`].

use std::collections::HashMap;
use std::time::Duration;

use super::{Config, DockerIsolation, ServerConfig, format_go_duration, parse_go_duration};

/// Default `call_tool_timeout`: how long an upstream call may take.
pub const DEFAULT_CALL_TOOL_TIMEOUT: Duration = Duration::from_secs(120);
/// Default `tools_limit`: tools `retrieve_tools` returns when not asked for a number.
pub const DEFAULT_TOOLS_LIMIT: usize = 15;
/// Default `tool_response_limit` in characters.
pub const DEFAULT_TOOL_RESPONSE_LIMIT: usize = 20_000;
/// Default `history_max_calls`.
pub const DEFAULT_HISTORY_MAX_CALLS: usize = 10_000;
/// Default `history_max_age`: 30 days.
pub const DEFAULT_HISTORY_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Default `history_max_sessions`.
pub const DEFAULT_HISTORY_MAX_SESSIONS: usize = 100;
/// Default `top_k`.
pub const DEFAULT_TOP_K: usize = 5;

/// A default duration as the file writes it: Go syntax without zero tails (`2m`, `720h`).
pub fn written(duration: Duration) -> String {
    let text = format_go_duration(duration);
    let text = match text.strip_suffix("m0s") {
        Some(head) => format!("{head}m"),
        None => text,
    };
    match text.strip_suffix("h0m") {
        Some(head) => format!("{head}h"),
        None => text,
    }
}

/// Whether a configured server may be called: the two facts a call's admission reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// `enabled`.
    pub enabled: bool,
    /// `quarantined`.
    pub quarantined: bool,
}

impl Admission {
    /// The admission of `server`.
    pub fn of(server: &ServerConfig) -> Self {
        Self {
            enabled: server.enabled,
            quarantined: server.quarantined,
        }
    }

    /// Whether the proxy holds a connection to the server (enabled and not quarantined).
    pub fn should_connect(&self) -> bool {
        self.enabled && !self.quarantined
    }
}

/// How much tool-call history and how many sessions to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    /// Newest calls kept (`history_max_calls`; 0 = no count limit).
    pub max_calls: usize,
    /// Calls younger than this are kept (`history_max_age`; zero = no age limit).
    pub max_age: Duration,
    /// Newest sessions kept (`history_max_sessions`).
    pub max_sessions: usize,
}

impl Default for History {
    fn default() -> Self {
        Self {
            max_calls: DEFAULT_HISTORY_MAX_CALLS,
            max_age: DEFAULT_HISTORY_MAX_AGE,
            max_sessions: DEFAULT_HISTORY_MAX_SESSIONS,
        }
    }
}

/// The running settings, typed. Cheap to share: `App` holds one `Arc<Settings>` per
/// configuration and swaps it with the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `routing_mode`: what `/mcp` serves.
    pub routing_mode: String,
    /// `call_tool_timeout`.
    pub call_tool_timeout: Duration,
    /// `tools_limit`.
    pub tools_limit: usize,
    /// `tool_response_limit` in characters; 0 = never truncate.
    pub tool_response_limit: usize,
    /// `require_mcp_auth`.
    pub require_mcp_auth: bool,
    /// `read_only_mode`: agents may only list.
    pub read_only_mode: bool,
    /// `disable_management`: the management tools are hidden.
    pub disable_management: bool,
    /// `allow_server_add`.
    pub allow_server_add: bool,
    /// `allow_server_remove`.
    pub allow_server_remove: bool,
    /// `http_header_timeout` (read at start).
    pub http_header_timeout: Duration,
    /// `http_first_byte_timeout` (read at start).
    pub http_first_byte_timeout: Duration,
    /// `max_connections` per listener (read at start).
    pub max_connections: usize,
    /// `metrics_listen`, as written (read at start; validation checks it).
    pub metrics_listen: Option<String>,
    /// `history_max_*` (read at start).
    pub history: History,
    /// `docker_isolation`, with its defaults.
    pub docker: DockerIsolation,
    /// Every configured server's admission, by name.
    pub servers: HashMap<String, Admission>,
}

impl Default for Settings {
    fn default() -> Self {
        Self::resolve(&Config::default())
    }
}

impl Settings {
    /// The settings of `config`; a value that does not parse or is out of range is its
    /// default (validation refuses such a document before it is saved).
    pub fn resolve(config: &Config) -> Self {
        let count = |n: i64, default: usize| usize::try_from(n).unwrap_or(default);
        Self {
            routing_mode: config.routing_mode.clone(),
            call_tool_timeout: parse_go_duration(&config.call_tool_timeout)
                .unwrap_or(DEFAULT_CALL_TOOL_TIMEOUT),
            tools_limit: count(config.tools_limit, DEFAULT_TOOLS_LIMIT),
            tool_response_limit: count(config.tool_response_limit, 0),
            require_mcp_auth: config.require_mcp_auth,
            read_only_mode: config.read_only_mode,
            disable_management: config.disable_management,
            allow_server_add: config.allow_server_add,
            allow_server_remove: config.allow_server_remove,
            http_header_timeout: positive_or(
                &config.http_header_timeout,
                super::DEFAULT_HTTP_HEADER_TIMEOUT,
            ),
            http_first_byte_timeout: positive_or(
                &config.http_first_byte_timeout,
                super::DEFAULT_HTTP_FIRST_BYTE_TIMEOUT,
            ),
            max_connections: usize::try_from(config.max_connections)
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or(super::DEFAULT_MAX_CONNECTIONS),
            metrics_listen: config.metrics_listen.clone(),
            history: History {
                max_calls: count(config.history_max_calls, DEFAULT_HISTORY_MAX_CALLS),
                max_age: parse_go_duration(&config.history_max_age)
                    .unwrap_or(DEFAULT_HISTORY_MAX_AGE),
                max_sessions: count(config.history_max_sessions, DEFAULT_HISTORY_MAX_SESSIONS),
            },
            docker: DockerIsolation::of(&config.docker_isolation),
            servers: admissions(config),
        }
    }

    /// Whether a server named `name` is configured.
    pub fn has_server(&self, name: &str) -> bool {
        self.servers.contains_key(name)
    }
}

/// Every server's admission by name; the first of a name wins (as a lookup by name finds it).
fn admissions(config: &Config) -> HashMap<String, Admission> {
    let mut out = HashMap::with_capacity(config.servers.len());
    for s in &config.servers {
        out.entry(s.name.clone()).or_insert(Admission::of(s));
    }
    out
}

/// A positive Go duration, or `default`.
fn positive_or(text: &str, default: Duration) -> Duration {
    parse_go_duration(text)
        .filter(|d| !d.is_zero())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_are_written_as_the_file_always_wrote_them() {
        assert_eq!(written(DEFAULT_CALL_TOOL_TIMEOUT), "2m");
        assert_eq!(written(DEFAULT_HISTORY_MAX_AGE), "720h");
        assert_eq!(written(Duration::from_secs(10)), "10s");
        assert_eq!(written(Duration::from_secs(90)), "1m30s");
        let config = Config::default();
        assert_eq!(config.call_tool_timeout, "2m");
        assert_eq!(config.history_max_age, "720h");
        assert_eq!(config.tools_limit, 15);
        assert_eq!(config.tool_response_limit, 20_000);
        assert_eq!(config.top_k, 5);
    }

    #[test]
    fn the_default_document_resolves_to_the_constants() {
        let s = Settings::default();
        assert_eq!(s.call_tool_timeout, DEFAULT_CALL_TOOL_TIMEOUT);
        assert_eq!(s.tools_limit, DEFAULT_TOOLS_LIMIT);
        assert_eq!(s.tool_response_limit, DEFAULT_TOOL_RESPONSE_LIMIT);
        assert_eq!(s.history, History::default());
        assert_eq!(
            s.http_header_timeout,
            super::super::DEFAULT_HTTP_HEADER_TIMEOUT
        );
        assert_eq!(s.max_connections, super::super::DEFAULT_MAX_CONNECTIONS);
        assert_eq!(s.routing_mode, super::super::routing_mode::RETRIEVE_TOOLS);
        assert!(!s.require_mcp_auth && !s.disable_management && !s.read_only_mode);
        assert!(s.allow_server_add && s.allow_server_remove);
        assert!(!s.docker.enabled);
        assert!(s.servers.is_empty());
    }

    #[test]
    fn values_are_parsed_once_and_bad_ones_fall_back() {
        let config: Config = serde_json::from_value(json!({
            "call_tool_timeout": "30s", "tools_limit": 7, "tool_response_limit": 0,
            "history_max_age": "0", "history_max_calls": -1, "max_connections": 0,
            "http_header_timeout": "0s", "http_first_byte_timeout": "soon",
            "require_mcp_auth": true, "disable_management": true,
            "docker_isolation": {"enabled": true, "memory_limit": "1g"},
            "mcpServers": [
                {"name": "a", "command": "x", "enabled": true},
                {"name": "q", "url": "http://127.0.0.1:1/mcp", "enabled": true, "quarantined": true}
            ]
        }))
        .expect("config");
        let s = Settings::resolve(&config);
        assert_eq!(s.call_tool_timeout, Duration::from_secs(30));
        assert_eq!(s.tools_limit, 7);
        assert_eq!(s.tool_response_limit, 0);
        assert_eq!(s.history.max_age, Duration::ZERO);
        assert_eq!(s.history.max_calls, DEFAULT_HISTORY_MAX_CALLS);
        assert_eq!(s.max_connections, super::super::DEFAULT_MAX_CONNECTIONS);
        assert_eq!(
            s.http_header_timeout,
            super::super::DEFAULT_HTTP_HEADER_TIMEOUT
        );
        assert_eq!(
            s.http_first_byte_timeout,
            super::super::DEFAULT_HTTP_FIRST_BYTE_TIMEOUT
        );
        assert!(s.require_mcp_auth && s.disable_management);
        assert!(s.docker.enabled);
        assert_eq!(s.docker.memory_limit, "1g");
        assert_eq!(
            s.servers.get("q"),
            Some(&Admission {
                enabled: true,
                quarantined: true
            })
        );
        assert!(s.has_server("a") && !s.has_server("b"));
        let broken: Config =
            serde_json::from_value(json!({"call_tool_timeout": "later"})).expect("config");
        assert_eq!(
            Settings::resolve(&broken).call_tool_timeout,
            DEFAULT_CALL_TOOL_TIMEOUT
        );
    }
}
