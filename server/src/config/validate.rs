//! Validation of a whole configuration: every problem at once, with the field it concerns,
//! following the Go original's rules and messages (plus a few it lacked, marked below).

use std::collections::HashSet;
use std::path::Path;

use super::{Config, HANDSHAKES, PROTOCOLS, Transport, WebOrigin, parse_go_duration};

/// One problem: the JSON path of the field and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// e.g. `mcpServers[0].name`.
    pub field: String,
    /// e.g. `server name is required`.
    pub message: String,
}

impl Problem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every problem of `config`; empty when it is valid.
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Err(e) = super::Listen::parse(&config.listen) {
        problems.push(Problem::new("listen", e.to_string()));
    }
    if let Some(metrics) = &config.metrics_listen
        && !matches!(super::Listen::parse(metrics), Ok(super::Listen::Tcp { .. }))
    {
        problems.push(Problem::new(
            "metrics_listen",
            format!("invalid metrics listen address: {metrics:?} (expected host:port, e.g. 127.0.0.1:9464)"),
        ));
    }
    if !(1..=100).contains(&config.top_k) {
        problems.push(Problem::new("top_k", "must be between 1 and 100"));
    }
    if !(1..=1000).contains(&config.tools_limit) {
        problems.push(Problem::new("tools_limit", "must be between 1 and 1000"));
    }
    if config.tool_response_limit < 0 {
        problems.push(Problem::new("tool_response_limit", "cannot be negative"));
    }
    positive_duration(
        &mut problems,
        "call_tool_timeout",
        &config.call_tool_timeout,
    );
    if !super::routing_mode::ALL.contains(&config.routing_mode.as_str()) {
        problems.push(Problem::new(
            "routing_mode",
            format!(
                "must be one of {} (got {:?})",
                super::routing_mode::ALL.join(", "),
                config.routing_mode
            ),
        ));
    }
    if config.history_max_calls < 0 {
        problems.push(Problem::new("history_max_calls", "cannot be negative"));
    }
    if parse_go_duration(&config.history_max_age).is_none() {
        problems.push(Problem::new(
            "history_max_age",
            "must be a duration such as \"720h\" (or \"0\" for no limit)",
        ));
    }
    if config.history_max_sessions < 1 {
        problems.push(Problem::new("history_max_sessions", "must be at least 1"));
    }
    for (i, origin) in config.cors_allowed_origins.iter().enumerate() {
        if let Err(e) = WebOrigin::parse(origin) {
            problems.push(Problem::new(
                format!("cors_allowed_origins[{i}]"),
                format!("invalid origin {origin:?}: {e}"),
            ));
        }
    }
    positive_duration(
        &mut problems,
        "http_header_timeout",
        &config.http_header_timeout,
    );
    positive_duration(
        &mut problems,
        "http_first_byte_timeout",
        &config.http_first_byte_timeout,
    );
    if config.max_connections < 1 {
        problems.push(Problem::new("max_connections", "must be at least 1"));
    }
    if !config.data_dir.is_empty() && !Path::new(&config.data_dir).is_dir() {
        problems.push(Problem::new(
            "data_dir",
            format!("directory does not exist: {}", config.data_dir),
        ));
    }
    if !["trace", "debug", "info", "warn", "error"].contains(&config.logging.level.as_str()) {
        problems.push(Problem::new(
            "logging.level",
            format!(
                "invalid log level: {} (must be trace, debug, info, warn, or error)",
                config.logging.level
            ),
        ));
    }
    let mut names = HashSet::new();
    for (i, server) in config.servers.iter().enumerate() {
        let field = |name: &str| format!("mcpServers[{i}].{name}");
        // Stricter than the Go original (see `name.rs`): `:` would break `server:tool`
        // routing, `/` the REST paths, control characters terminals and logs.
        if let Err(e) = super::check_server_name(&server.name) {
            problems.push(Problem::new(field("name"), e.to_string()));
        } else if !names.insert(server.name.as_str()) {
            problems.push(Problem::new(
                field("name"),
                format!("duplicate server name: {}", server.name),
            ));
        }
        let protocol = server.protocol_name();
        if !PROTOCOLS.contains(&protocol) {
            problems.push(Problem::new(
                field("protocol"),
                format!("invalid protocol: {protocol} (must be stdio, http, sse, streamable-http, or auto)"),
            ));
            continue;
        }
        let handshake = server.handshake_name();
        if !HANDSHAKES.contains(&handshake) {
            problems.push(Problem::new(
                field("handshake"),
                format!("invalid handshake: {handshake} (must be auto, initialize-first, discover-first, initialize, or discover)"),
            ));
        }
        let has_command = server
            .command
            .as_deref()
            .is_some_and(|c| !c.trim().is_empty());
        let has_url = server.url.as_deref().is_some_and(|u| !u.trim().is_empty());
        match server.transport() {
            Transport::Stdio if !has_command => problems.push(Problem::new(
                field("command"),
                "command is required for stdio protocol",
            )),
            Transport::StreamableHttp | Transport::Sse if !has_url => problems.push(Problem::new(
                field("url"),
                format!("url is required for {protocol} protocol"),
            )),
            _ => {}
        }
        if has_url {
            let url = server.url.as_deref().unwrap_or_default();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push(Problem::new(
                    field("url"),
                    format!(
                        "url must start with http:// or https://: {}",
                        super::mask_url(url)
                    ),
                ));
            }
        }
        if let Some(dir) = server.working_dir.as_deref().filter(|d| !d.is_empty())
            && !Path::new(dir).is_dir()
        {
            problems.push(Problem::new(
                field("working_dir"),
                format!("directory does not exist: {dir}"),
            ));
        }
    }
    problems
}

fn positive_duration(problems: &mut Vec<Problem>, field: &str, value: &str) {
    match parse_go_duration(value) {
        Some(d) if !d.is_zero() => {}
        _ => problems.push(Problem::new(field, "must be a positive duration")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerConfig;

    fn server(json: serde_json::Value) -> ServerConfig {
        serde_json::from_value(json).expect("server config")
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(validate(&Config::default()), vec![]);
    }

    #[test]
    fn reports_every_problem_with_its_field() {
        let mut config = Config {
            top_k: 0,
            tools_limit: 5000,
            tool_response_limit: -1,
            ..Config::default()
        };
        config.call_tool_timeout = "soon".into();
        config.listen = "nonsense".into();
        config.cors_allowed_origins = vec!["http://ok.example:3000".into(), "*".into()];
        config.http_header_timeout = "0".into();
        config.http_first_byte_timeout = "soon".into();
        config.max_connections = 0;
        config.servers = vec![
            server(serde_json::json!({"name": "", "command": "x"})),
            server(serde_json::json!({"name": "a", "protocol": "carrier-pigeon"})),
            server(serde_json::json!({"name": "a", "protocol": "stdio"})),
            server(serde_json::json!({"name": "b", "protocol": "http"})),
            server(
                serde_json::json!({"name": "c:d", "command": "x", "working_dir": "/does/not/exist"}),
            ),
        ];
        let fields: Vec<String> = validate(&config).into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "listen",
                "top_k",
                "tools_limit",
                "tool_response_limit",
                "call_tool_timeout",
                "cors_allowed_origins[1]",
                "http_header_timeout",
                "http_first_byte_timeout",
                "max_connections",
                "mcpServers[0].name",
                "mcpServers[1].protocol",
                "mcpServers[2].name",
                "mcpServers[2].command",
                "mcpServers[3].url",
                "mcpServers[4].name",
                "mcpServers[4].working_dir",
            ]
        );
    }

    #[test]
    fn empty_listen_and_port_zero_mean_stdio_and_are_valid() {
        for stdio in ["", ":0", " :0 "] {
            assert!(crate::config::is_stdio_listen(stdio), "{stdio:?}");
            let config = Config {
                listen: stdio.into(),
                ..Config::default()
            };
            assert_eq!(validate(&config), vec![], "{stdio:?}");
        }
        for tcp in ["127.0.0.1:0", "0.0.0.0:0", "127.0.0.1:8080", ":8080"] {
            assert!(!crate::config::is_stdio_listen(tcp), "{tcp}");
        }
        let bad = Config {
            listen: "8080".into(),
            ..Config::default()
        };
        assert_eq!(validate(&bad)[0].field, "listen");
    }

    #[test]
    fn metrics_listen_must_be_host_and_port() {
        for bad in ["not an address", ":0", ""] {
            let config = Config {
                metrics_listen: Some(bad.into()),
                ..Config::default()
            };
            let problems = validate(&config);
            assert!(
                problems.iter().any(|p| p.field == "metrics_listen"),
                "{bad:?}: {problems:?}"
            );
        }
        let good = Config {
            metrics_listen: Some("127.0.0.1:9464".into()),
            ..Config::default()
        };
        assert!(validate(&good).is_empty(), "{:?}", validate(&good));
    }
}
