//! Configuration: the `mcp_config.json` format, its defaults, validation, masking and
//! resolution. A leaf module: it knows nothing of servers at run time.
//!
//! Two stages, as in ripgrep's flags: [`Config`] mirrors the file field for field (serde
//! with the Go original's defaults), keeping every key it does not know in `extra` so a
//! user's file never loses data; [`Resolved`] is what the process runs with (absolute data
//! dir, socket path, API key and where it came from), and [`Settings`] the document's values
//! typed (durations parsed, limits as numbers, Docker isolation with its defaults), resolved
//! once per change. Only `load.rs` touches disk and only
//! `env.rs` reads environment variables.

pub mod connect;
mod connection;
mod duration;
mod env;
mod exposure;
pub mod import;
mod isolation;
mod listen;
mod load;
mod mask;
mod name;
mod origin;
mod redact;
mod settings;
mod telemetry;
mod unmask;
mod validate;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use connection::ConnectionSettings;
pub use duration::{format_go_duration, parse_go_duration};
pub use env::EnvOverrides;
pub use exposure::{Exposure, MIN_API_KEY_CHARS, exposures};
pub use isolation::{DockerIsolation, IsolationOverrides};
pub use listen::{InvalidListen, Listen};
pub use load::{
    ApiKeySource, CliOverrides, ConfigError, ConfigStore, LoadedConfig, Resolved, SOCKET_FILE,
    default_config_path, resolve, resolve_data_dir, resolve_socket_path,
};
pub use mask::{MASK, mask_args, mask_config, mask_server, mask_url};
pub use name::{NameError, SERVER_NAME_PATTERN, check_server_name, escaped};
pub use origin::{OriginError, WebOrigin, normalize_host};
pub use redact::{Redactor, mask_parse_error, redact};
pub use settings::{
    Admission, DEFAULT_CALL_TOOL_TIMEOUT, DEFAULT_HISTORY_MAX_AGE, DEFAULT_HISTORY_MAX_CALLS,
    DEFAULT_HISTORY_MAX_SESSIONS, DEFAULT_TOOL_RESPONSE_LIMIT, DEFAULT_TOOLS_LIMIT, History,
    Settings,
};
pub use telemetry::{DEFAULT_OTEL_SERVICE_NAME, OtelConfig};
pub use unmask::unmask;
pub use validate::{Problem, validate};

/// The default TCP listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Whether `listen` asks for stdio MCP mode: `""` or `":0"`, as in the Go original.
pub fn is_stdio_listen(listen: &str) -> bool {
    Listen::parse(listen) == Ok(Listen::Stdio)
}

/// `routing_mode` values: what `/mcp` serves.
pub mod routing_mode {
    /// The retrieve-tools surface (as `/mcp/call`), the default.
    pub const RETRIEVE_TOOLS: &str = "retrieve_tools";
    /// Every upstream tool directly (as `/mcp/all`).
    pub const DIRECT: &str = "direct";
    /// Every value.
    pub const ALL: [&str; 2] = [RETRIEVE_TOOLS, DIRECT];
}

fn default_routing_mode() -> String {
    routing_mode::RETRIEVE_TOOLS.to_string()
}

fn default_listen() -> String {
    DEFAULT_LISTEN.to_string()
}
fn yes() -> bool {
    true
}
fn default_top_k() -> i64 {
    settings::DEFAULT_TOP_K as i64
}
fn default_tools_limit() -> i64 {
    DEFAULT_TOOLS_LIMIT as i64
}
fn default_tool_response_limit() -> i64 {
    DEFAULT_TOOL_RESPONSE_LIMIT as i64
}
fn default_history_max_calls() -> i64 {
    DEFAULT_HISTORY_MAX_CALLS as i64
}
fn default_history_max_age() -> String {
    settings::written(DEFAULT_HISTORY_MAX_AGE)
}
fn default_history_max_sessions() -> i64 {
    DEFAULT_HISTORY_MAX_SESSIONS as i64
}
fn default_call_tool_timeout() -> String {
    settings::written(DEFAULT_CALL_TOOL_TIMEOUT)
}

/// Default `http_header_timeout`: a client gets this long to send a request's headers.
pub const DEFAULT_HTTP_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Default `http_first_byte_timeout`: a new connection may stay silent this long. Longer than
/// the header timeout, so a client that connects ahead (a pool, a busy machine) is not cut.
pub const DEFAULT_HTTP_FIRST_BYTE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Default `max_connections` per listener: well above 200 MCP sessions + 100 event streams.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

fn default_http_header_timeout() -> String {
    format_go_duration(DEFAULT_HTTP_HEADER_TIMEOUT)
}
fn default_http_first_byte_timeout() -> String {
    format_go_duration(DEFAULT_HTTP_FIRST_BYTE_TIMEOUT)
}
fn default_max_connections() -> i64 {
    DEFAULT_MAX_CONNECTIONS as i64
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// TCP listen address (`127.0.0.1:8080`).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Data directory; empty means `~/.mcpproxy`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data_dir: String,
    /// The REST API key; generated and saved when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Serve the API on a unix socket too.
    #[serde(default = "yes")]
    pub enable_socket: bool,
    /// Socket override, `unix:///abs/path.sock` (the Go original's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tray_endpoint: Option<String>,
    /// Upstream servers.
    #[serde(rename = "mcpServers", default)]
    pub servers: Vec<ServerConfig>,
    /// Kept for compatibility (validated 1..=100).
    #[serde(default = "default_top_k")]
    pub top_k: i64,
    /// Default number of tools `retrieve_tools` returns (1..=1000).
    #[serde(default = "default_tools_limit")]
    pub tools_limit: i64,
    /// Tool responses longer than this many characters are truncated and cached; 0 = never.
    #[serde(default = "default_tool_response_limit")]
    pub tool_response_limit: i64,
    /// What `/mcp` serves: `retrieve_tools` (the built-in tools, as `/mcp/call`) or
    /// `direct` (every upstream tool as `server__tool`, as `/mcp/all`).
    #[serde(default = "default_routing_mode")]
    pub routing_mode: String,
    /// Timeout of an upstream tool call, Go duration syntax (`"2m"`, `"30s"`).
    #[serde(default = "default_call_tool_timeout")]
    pub call_tool_timeout: String,
    /// Environment given to stdio servers.
    #[serde(default)]
    pub environment: EnvironmentConfig,
    /// Logging settings.
    #[serde(default)]
    pub logging: LoggingConfig,
    /// Docker isolation of stdio servers.
    #[serde(default)]
    pub docker_isolation: DockerIsolationConfig,
    /// Refuse `/mcp` requests that present neither the API key nor an agent token (the Go
    /// original's key; default false: local agents need no setup).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_mcp_auth: bool,
    /// Only `list` operations for agents.
    #[serde(default)]
    pub read_only_mode: bool,
    /// Hide the management tools from agents.
    #[serde(default)]
    pub disable_management: bool,
    /// Agents may add servers (they start quarantined).
    #[serde(default = "yes")]
    pub allow_server_add: bool,
    /// Agents may remove servers.
    #[serde(default = "yes")]
    pub allow_server_remove: bool,
    /// Tool-call history kept: at most this many calls (0 = no count limit).
    #[serde(default = "default_history_max_calls")]
    pub history_max_calls: i64,
    /// Tool-call history kept: calls younger than this Go duration (`"720h"`; `"0"` = no age limit).
    #[serde(default = "default_history_max_age")]
    pub history_max_age: String,
    /// MCP sessions kept (newest first).
    #[serde(default = "default_history_max_sessions")]
    pub history_max_sessions: i64,
    /// Browser origins (`scheme://host[:port]`) allowed to call the API and `/mcp` from
    /// another origin; empty (the default) means same-origin only. No wildcards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cors_allowed_origins: Vec<String>,
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open (Go duration, `"10s"`).
    #[serde(default = "default_http_header_timeout")]
    pub http_header_timeout: String,
    /// How long a new connection may send nothing before it is closed (Go duration, `"60s"`).
    #[serde(default = "default_http_first_byte_timeout")]
    pub http_first_byte_timeout: String,
    /// Concurrent connections per listener (TCP port, unix socket); more get a 503 and are
    /// closed.
    #[serde(default = "default_max_connections")]
    pub max_connections: i64,
    /// A second listener, `host:port`, that serves only `GET /metrics` without the API key
    /// (for a Prometheus scrape job that should not hold the key). Absent: `/metrics` is
    /// served on `listen` only, behind the key. Read at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<String>,
    /// OpenTelemetry trace export (off when absent and `OTEL_EXPORTER_OTLP_ENDPOINT` is unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otel: Option<OtelConfig>,
    /// Keys this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Config {
    fn default() -> Self {
        serde_json::from_value(Value::Object(Map::new()))
            .expect("an empty object deserializes with defaults")
    }
}

/// One upstream server (`mcpServers[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// Unique name; tools are addressed as `name:tool`.
    #[serde(default)]
    pub name: String,
    /// URL for http, streamable-http and sse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// stdio, http, sse, streamable-http or auto (empty = auto).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Which MCP lifecycle opens the session (see `upstream::transport::lifecycle`): `auto`
    /// (empty; `initialize` first, `server/discover` when refused; a server that last spoke
    /// 2026-07-28 the other way round), `initialize-first` (always that order),
    /// `discover-first`, `initialize` (2025 only) or `discover` (2026 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake: Option<String>,
    /// Command for stdio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Arguments for stdio.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment for stdio (values may hold `${env:X}` / `${keyring:x}` references).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// HTTP headers for http and sse.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Working directory for stdio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Absent means false, as in the Go original.
    #[serde(default)]
    pub enabled: bool,
    /// Quarantined servers are never connected.
    #[serde(default)]
    pub quarantined: bool,
    /// When the server was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    /// When the server was last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
    /// Per-server Docker isolation overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Value>,
    /// OAuth settings; present means the server expects OAuth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<Value>,
    /// Keys this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The transport a server uses, resolved from `protocol`, `command` and `url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A child process speaking MCP on stdin/stdout.
    Stdio,
    /// Streamable HTTP (`http` and `streamable-http`).
    StreamableHttp,
    /// The legacy HTTP+SSE transport.
    Sse,
    /// `auto` with a URL: streamable HTTP, falling back to SSE.
    HttpAuto,
}

/// The protocol values the file accepts.
pub const PROTOCOLS: [&str; 5] = ["stdio", "http", "sse", "streamable-http", "auto"];

/// The `handshake` values the file accepts.
pub const HANDSHAKES: [&str; 5] = [
    "auto",
    "initialize-first",
    "discover-first",
    "initialize",
    "discover",
];

impl ServerConfig {
    /// The protocol as written, or `auto`.
    pub fn protocol_name(&self) -> &str {
        match self.protocol.as_deref() {
            None | Some("") => "auto",
            Some(p) => p,
        }
    }

    /// The handshake as written, or `auto`.
    pub fn handshake_name(&self) -> &str {
        match self.handshake.as_deref() {
            None | Some("") => "auto",
            Some(h) => h,
        }
    }

    /// The transport to use.
    pub fn transport(&self) -> Transport {
        match self.protocol_name() {
            "stdio" => Transport::Stdio,
            "http" | "streamable-http" => Transport::StreamableHttp,
            "sse" => Transport::Sse,
            _ if self.command.as_deref().is_some_and(|c| !c.is_empty()) => Transport::Stdio,
            _ if self.url.as_deref().is_some_and(|u| !u.is_empty()) => Transport::HttpAuto,
            _ => Transport::Stdio,
        }
    }

    /// Whether the proxy should hold a connection to this server.
    pub fn should_connect(&self) -> bool {
        Admission::of(self).should_connect()
    }

    /// Whether two configurations need different connections (command, args, env, url,
    /// headers, protocol or working dir changed); admin flags and timestamps do not count.
    pub fn connection_differs(&self, other: &ServerConfig) -> bool {
        ConnectionSettings::of(self) != ConnectionSettings::of(other)
    }
}

/// Environment of stdio servers: safe inherited variables + allow-list + custom variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentConfig {
    /// Inherit the allow-listed variables of the proxy's own environment.
    #[serde(default = "yes")]
    pub inherit_system_safe: bool,
    /// Names (or `PREFIX_*` patterns) that may be inherited.
    #[serde(default = "default_allowed_system_vars")]
    pub allowed_system_vars: Vec<String>,
    /// Extra variables for every server.
    #[serde(default)]
    pub custom_vars: BTreeMap<String, String>,
    /// Add common tool directories to a minimal PATH.
    #[serde(default)]
    pub enhance_path: bool,
    /// Keys this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_allowed_system_vars() -> Vec<String> {
    [
        "PATH", "HOME", "TMPDIR", "TEMP", "TMP", "SHELL", "TERM", "LANG", "USER", "USERNAME",
        "XDG_*", "LC_*",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Default for EnvironmentConfig {
    fn default() -> Self {
        serde_json::from_value(Value::Object(Map::new()))
            .expect("an empty object deserializes with defaults")
    }
}

impl EnvironmentConfig {
    /// Whether `name` may be inherited from the proxy's environment.
    pub fn allows(&self, name: &str) -> bool {
        self.inherit_system_safe
            && self
                .allowed_system_vars
                .iter()
                .any(|pattern| match pattern.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => pattern == name,
                })
    }
}

fn default_log_level() -> String {
    "info".to_string()
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggingConfig {
    /// trace, debug, info, warn or error.
    #[serde(default = "default_log_level")]
    pub level: String,
    /// Directory of per-server logs; default `<data_dir>/logs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<String>,
    /// Keys this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        serde_json::from_value(Value::Object(Map::new()))
            .expect("an empty object deserializes with defaults")
    }
}

/// Docker isolation of stdio servers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DockerIsolationConfig {
    /// Run stdio servers inside `docker run`.
    #[serde(default)]
    pub enabled: bool,
    /// Keys this version does not know (images, limits, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
