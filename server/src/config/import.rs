//! Other MCP clients' configuration files, read as server entries: the map form of Claude
//! Desktop, Claude Code, Cursor and Gemini CLI (`mcpServers: {name: {…}}`), VS Code's
//! `servers` map, Codex's TOML `[mcp_servers.<name>]` tables, and mcpproxy's own array.
//!
//! Reading never fails as a whole on one bad entry: each entry becomes a server or a
//! [`Skipped`] with the reason, so a person sees what was left out and why. Whether a server
//! is new (not a duplicate) is the caller's business (`App::import_servers`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::{ServerConfig, check_server_name};

/// The clients whose files are understood.
pub const CLIENTS: [&str; 6] = [
    "claude-desktop",
    "claude-code",
    "cursor",
    "vscode",
    "codex",
    "gemini",
];

/// An entry left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The entry's name in the file.
    pub name: String,
    /// Why it was not imported.
    pub reason: String,
}

/// What a client file holds.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// The format recognised (`claude-desktop`, `vscode`, `codex`, `mcpproxy`, …).
    pub format: String,
    /// Entries that became server entries (not yet checked against the configuration).
    pub servers: Vec<ServerConfig>,
    /// Entries that could not become one.
    pub skipped: Vec<Skipped>,
}

/// Why a file could not be read as a client configuration at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Neither JSON nor TOML.
    #[error("not a JSON or TOML MCP configuration: {0}")]
    Syntax(String),
    /// Valid syntax, but no server map where any client keeps one.
    #[error(
        "no MCP servers found: expected `mcpServers` (Claude, Cursor, Gemini), `servers` (VS Code) or `[mcp_servers]` (Codex)"
    )]
    NoServers,
    /// A client name that is not known.
    #[error("unknown client {0:?}; known: {list}", list = CLIENTS.join(", "))]
    UnknownClient(String),
}

/// Where `client` keeps its MCP configuration for the user whose home is `home`.
pub fn client_path(client: &str, home: &Path) -> Result<PathBuf, ImportError> {
    let config_dir = if cfg!(target_os = "macos") {
        home.join("Library").join("Application Support")
    } else {
        home.join(".config")
    };
    Ok(match client {
        "claude-desktop" => config_dir.join("Claude").join("claude_desktop_config.json"),
        "claude-code" => home.join(".claude.json"),
        "cursor" => home.join(".cursor").join("mcp.json"),
        "vscode" => config_dir.join("Code").join("User").join("mcp.json"),
        "codex" => home.join(".codex").join("config.toml"),
        "gemini" => home.join(".gemini").join("settings.json"),
        other => return Err(ImportError::UnknownClient(other.to_string())),
    })
}

/// Read `text`, a client's configuration file, into server entries; `hint` names the client
/// when known (it only labels the result: the shape decides how it is read).
pub fn parse(text: &str, hint: Option<&str>) -> Result<Parsed, ImportError> {
    let document: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(json_error) => match toml::from_str::<toml::Table>(text) {
            Ok(table) => {
                serde_json::to_value(table).map_err(|e| ImportError::Syntax(e.to_string()))?
            }
            Err(_) => return Err(ImportError::Syntax(json_error.to_string())),
        },
    };
    let mut parsed = Parsed::default();
    let mut maps: Vec<(&str, &Map<String, Value>)> = Vec::new();
    if let Some(Value::Array(list)) = document.get("mcpServers") {
        parsed.format = "mcpproxy".into();
        for (i, entry) in list.iter().enumerate() {
            let name = entry["name"].as_str().unwrap_or_default().to_string();
            match serde_json::from_value::<ServerConfig>(entry.clone()) {
                Ok(server) => push(&mut parsed, server),
                Err(e) => parsed.skipped.push(Skipped {
                    name: if name.is_empty() {
                        format!("#{i}")
                    } else {
                        name
                    },
                    reason: format!("not a server entry: {e}"),
                }),
            }
        }
        return Ok(parsed);
    }
    if let Some(Value::Object(map)) = document.get("mcpServers") {
        maps.push(("claude-desktop", map));
    }
    if let Some(Value::Object(map)) = document.get("servers") {
        maps.push(("vscode", map));
    }
    if let Some(Value::Object(map)) = document.get("mcp_servers") {
        maps.push(("codex", map));
    }
    // Claude Code keeps servers per project too.
    if let Some(Value::Object(projects)) = document.get("projects") {
        for project in projects.values() {
            if let Some(Value::Object(map)) = project.get("mcpServers") {
                maps.push(("claude-code", map));
            }
        }
    }
    let Some((shape, _)) = maps.first() else {
        return Err(ImportError::NoServers);
    };
    parsed.format = hint.unwrap_or(shape).to_string();
    for (_, map) in maps {
        for (name, entry) in map {
            match entry_to_server(name, entry) {
                Ok(server) => push(&mut parsed, server),
                Err(reason) => parsed.skipped.push(Skipped {
                    name: name.clone(),
                    reason,
                }),
            }
        }
    }
    Ok(parsed)
}

/// Add `server` unless the file already had one by that name.
fn push(parsed: &mut Parsed, server: ServerConfig) {
    if parsed.servers.iter().any(|s| s.name == server.name) {
        parsed.skipped.push(Skipped {
            name: server.name,
            reason: "a second entry of that name in the file".into(),
        });
    } else {
        parsed.servers.push(server);
    }
}

/// A string map (`env`, `headers`); anything else is an error naming `field`.
fn strings(entry: &Value, field: &str) -> Result<BTreeMap<String, String>, String> {
    match entry.get(field) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(_) | Value::Bool(_) => Ok((k.clone(), v.to_string())),
                _ => Err(format!("`{field}.{k}` is not a string")),
            })
            .collect(),
        Some(_) => Err(format!("`{field}` is not an object")),
    }
}

fn text(entry: &Value, field: &str) -> Result<Option<String>, String> {
    match entry.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{field}` is not a string")),
    }
}

/// One map-form entry (any client) as a server entry: enabled unless the file disables it.
fn entry_to_server(name: &str, entry: &Value) -> Result<ServerConfig, String> {
    check_server_name(name).map_err(|e| e.to_string())?;
    if !entry.is_object() {
        return Err("the entry is not an object".into());
    }
    let command = text(entry, "command")?;
    let args: Vec<String> = match entry.get("args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|a| match a {
                Value::String(s) => Ok(s.clone()),
                Value::Number(_) | Value::Bool(_) => Ok(a.to_string()),
                _ => Err("`args` holds a non-string".to_string()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`args` is not an array".into()),
    };
    // Gemini's `httpUrl` is streamable HTTP; its `url` (like Claude's with type sse) SSE.
    let http_url = text(entry, "httpUrl")?;
    let url = http_url
        .clone()
        .or(text(entry, "url")?)
        .or(text(entry, "serverUrl")?);
    let kind = text(entry, "type")?.or(text(entry, "transport")?);
    let protocol = match (kind.as_deref(), &http_url) {
        (_, Some(_)) => Some("http"),
        (Some("stdio"), _) => Some("stdio"),
        (Some("http" | "streamable-http" | "streamableHttp"), _) => Some("http"),
        (Some("sse"), _) => Some("sse"),
        (Some(other), _) => return Err(format!("unknown transport type {other:?}")),
        (None, _) => None,
    };
    let mut headers = strings(entry, "headers")?;
    headers.extend(strings(entry, "http_headers")?);
    // Codex: the bearer token comes from an environment variable.
    if let Some(var) = text(entry, "bearer_token_env_var")? {
        headers.insert("Authorization".into(), format!("Bearer ${{env:{var}}}"));
    }
    if command.is_none() && url.is_none() {
        return Err("neither `command` nor `url`".into());
    }
    let disabled = entry.get("disabled") == Some(&Value::Bool(true))
        || entry.get("enabled") == Some(&Value::Bool(false));
    let server = json!({
        "name": name,
        "command": command,
        "args": args,
        "env": strings(entry, "env")?,
        "url": url,
        "headers": headers,
        "protocol": protocol,
        "working_dir": text(entry, "cwd")?,
        "enabled": !disabled,
    });
    serde_json::from_value(server).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_forms_of_every_client_are_read() {
        let claude = r#"{"mcpServers": {"fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"], "env": {"A": "1"}},
            "remote": {"type": "sse", "url": "https://x.example/sse", "headers": {"Authorization": "Bearer t"}}}}"#;
        let parsed = parse(claude, Some("claude-desktop")).expect("claude");
        assert_eq!(parsed.format, "claude-desktop");
        assert_eq!(parsed.servers.len(), 2);
        let fs = &parsed.servers[0];
        assert_eq!(
            (fs.name.as_str(), fs.command.as_deref(), fs.args.len()),
            ("fs", Some("npx"), 3)
        );
        assert!(fs.enabled);
        assert_eq!(parsed.servers[1].protocol.as_deref(), Some("sse"));

        let vscode = r#"{"inputs": [], "servers": {"gh": {"type": "http", "url": "https://api.example/mcp"}}}"#;
        let parsed = parse(vscode, None).expect("vscode");
        assert_eq!(parsed.format, "vscode");
        assert_eq!(parsed.servers[0].protocol.as_deref(), Some("http"));

        let codex = "model = \"o3\"\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\nargs = [\"--stdio\"]\n[mcp_servers.docs.env]\nKEY = \"v\"\n[mcp_servers.api]\nurl = \"https://api.example/mcp\"\nbearer_token_env_var = \"API_TOKEN\"\n";
        let parsed = parse(codex, None).expect("codex");
        assert_eq!(parsed.format, "codex");
        let api = parsed
            .servers
            .iter()
            .find(|s| s.name == "api")
            .expect("api");
        assert_eq!(api.headers["Authorization"], "Bearer ${env:API_TOKEN}");

        let gemini = r#"{"theme": "x", "mcpServers": {"g": {"httpUrl": "https://g.example/mcp", "cwd": "/w"}}}"#;
        let parsed = parse(gemini, Some("gemini")).expect("gemini");
        assert_eq!(parsed.servers[0].protocol.as_deref(), Some("http"));
    }

    #[test]
    fn bad_entries_are_skipped_with_the_reason() {
        let text = r#"{"mcpServers": {"ok": {"command": "a"}, "bad name": {"command": "b"}, "empty": {}, "odd": {"type": "carrier", "url": "x"}}}"#;
        let parsed = parse(text, None).expect("parsed");
        assert_eq!(parsed.servers.len(), 1);
        let reasons: Vec<&str> = parsed.skipped.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(reasons, ["bad name", "empty", "odd"]);
        assert!(matches!(parse("{}", None), Err(ImportError::NoServers)));
        assert!(matches!(
            parse("not [ any", None),
            Err(ImportError::Syntax(_))
        ));
    }
}
