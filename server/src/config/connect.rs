//! Connecting another MCP client to the proxy (`mcpproxy connect CLIENT`,
//! `POST /api/v1/connect/{client}`): one `mcpproxy` entry in that client's own file, pointing
//! at the proxy's `/mcp` — shown first (preview), written with a backup, and undone by putting
//! the backup back, so after an undo the file is byte-identical to what it was (or gone again,
//! if connecting created it).
//!
//! JSON files are rewritten whole (pretty-printed; keys may be reordered — the backup keeps the
//! original bytes); Codex's TOML gets a `[mcp_servers.mcpproxy]` table appended, the rest of
//! the file untouched.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::import::{ImportError, client_path};

/// The entry's name in the client's file.
pub const ENTRY: &str = "mcpproxy";

/// What connecting a client does (or did).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectPlan {
    /// The client.
    pub client: String,
    /// Its configuration file.
    pub path: PathBuf,
    /// Whether the file exists now.
    pub exists: bool,
    /// Whether the file already has the proxy's entry.
    pub connected: bool,
    /// The entry written (as it appears in the file's format).
    pub entry: String,
    /// The whole file after connecting.
    pub after: String,
    /// Where the original is kept while connected.
    pub backup: PathBuf,
}

/// Why connecting or undoing failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Not a client we know.
    #[error(transparent)]
    Client(#[from] ImportError),
    /// The client's file is not in its format.
    #[error("{path} is not valid {format}: {message}; fix it first (nothing was changed)")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// JSON or TOML.
        format: &'static str,
        /// The parser's message.
        message: String,
    },
    /// Nothing to undo.
    #[error("{0} was not connected by mcpproxy (no backup); nothing to undo")]
    NothingToUndo(PathBuf),
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ConnectError + '_ {
    move |source| ConnectError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The backup of `path` (the original bytes while connected).
fn backup_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".mcpproxy-backup");
    PathBuf::from(name)
}

/// The marker saying connecting created `path` (undo removes it).
fn created_marker(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".mcpproxy-created");
    PathBuf::from(name)
}

/// What connecting `client` (under `home`) to the proxy's `mcp_url` would write.
pub fn plan(client: &str, home: &Path, mcp_url: &str) -> Result<ConnectPlan, ConnectError> {
    let path = client_path(client, home)?;
    let current = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(&path)(e)),
    };
    let (entry, after, connected) = match client {
        "codex" => codex(&path, current.as_deref(), mcp_url)?,
        _ => json_client(client, &path, current.as_deref(), mcp_url)?,
    };
    Ok(ConnectPlan {
        client: client.to_string(),
        exists: current.is_some(),
        connected,
        entry,
        after,
        backup: backup_of(&path),
        path,
    })
}

/// The proxy's entry for a JSON client, and the key its servers live under.
fn json_entry(client: &str, mcp_url: &str) -> (&'static str, Value) {
    match client {
        "vscode" => ("servers", json!({"type": "http", "url": mcp_url})),
        "claude-code" => ("mcpServers", json!({"type": "http", "url": mcp_url})),
        "gemini" => ("mcpServers", json!({"httpUrl": mcp_url})),
        // Claude Desktop runs only stdio servers: a bridge to the HTTP endpoint.
        "claude-desktop" => (
            "mcpServers",
            json!({"command": "npx", "args": ["-y", "mcp-remote", mcp_url]}),
        ),
        _ => ("mcpServers", json!({"url": mcp_url})),
    }
}

fn json_client(
    client: &str,
    path: &Path,
    current: Option<&str>,
    mcp_url: &str,
) -> Result<(String, String, bool), ConnectError> {
    let mut document: Value = match current.map(str::trim).filter(|t| !t.is_empty()) {
        None => json!({}),
        Some(text) => serde_json::from_str(text).map_err(|e| ConnectError::Unreadable {
            path: path.to_path_buf(),
            format: "JSON",
            message: e.to_string(),
        })?,
    };
    let (key, entry) = json_entry(client, mcp_url);
    let unreadable = |message: &str| ConnectError::Unreadable {
        path: path.to_path_buf(),
        format: "JSON",
        message: message.to_string(),
    };
    let root = document
        .as_object_mut()
        .ok_or_else(|| unreadable("the document is not an object"))?;
    let servers = root
        .entry(key)
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| unreadable(&format!("`{key}` is not an object")))?;
    let connected = servers.get(ENTRY) == Some(&entry);
    servers.insert(ENTRY.to_string(), entry.clone());
    let mut after = serde_json::to_string_pretty(&document).unwrap_or_default();
    after.push('\n');
    let shown = serde_json::to_string_pretty(&json!({ ENTRY: entry })).unwrap_or_default();
    Ok((shown, after, connected))
}

fn codex(
    path: &Path,
    current: Option<&str>,
    mcp_url: &str,
) -> Result<(String, String, bool), ConnectError> {
    let text = current.unwrap_or("");
    let table: toml::Table = toml::from_str(text).map_err(|e| ConnectError::Unreadable {
        path: path.to_path_buf(),
        format: "TOML",
        message: e.to_string(),
    })?;
    let existing = table
        .get("mcp_servers")
        .and_then(|s| s.get(ENTRY))
        .and_then(|e| e.get("url"))
        .and_then(|u| u.as_str());
    let entry = format!(
        "[mcp_servers.{ENTRY}]\nurl = {}\n",
        toml::Value::String(mcp_url.to_string())
    );
    if existing == Some(mcp_url) {
        return Ok((entry, text.to_string(), true));
    }
    if existing.is_some() {
        return Err(ConnectError::Unreadable {
            path: path.to_path_buf(),
            format: "TOML",
            message: format!(
                "it has a [mcp_servers.{ENTRY}] table with another URL; edit or remove it first"
            ),
        });
    }
    let mut after = text.to_string();
    if !after.is_empty() && !after.ends_with('\n') {
        after.push('\n');
    }
    if !after.is_empty() {
        after.push('\n');
    }
    after.push_str(&entry);
    Ok((entry, after, false))
}

/// Write `plan`: the original is kept as the backup first (an earlier backup — the file
/// before the first connect — is kept as it is). Nothing is written when already connected.
pub fn apply(plan: &ConnectPlan) -> Result<(), ConnectError> {
    if plan.connected {
        return Ok(());
    }
    let path = &plan.path;
    let marker = created_marker(path);
    if !plan.backup.exists() && !marker.exists() {
        if plan.exists {
            std::fs::copy(path, &plan.backup).map_err(io(&plan.backup))?;
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
            }
            std::fs::write(&marker, b"").map_err(io(&marker))?;
        }
    }
    crate::os::write_atomic(path, plan.after.as_bytes()).map_err(io(path))
}

/// Undo connecting `client`: the backup goes back (byte for byte), or the file connecting
/// created is removed. Returns the file.
pub fn undo(client: &str, home: &Path) -> Result<PathBuf, ConnectError> {
    let path = client_path(client, home)?;
    let backup = backup_of(&path);
    let marker = created_marker(&path);
    if backup.exists() {
        std::fs::rename(&backup, &path).map_err(io(&path))?;
    } else if marker.exists() {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&path)(e)),
        }
        std::fs::remove_file(&marker).map_err(io(&marker))?;
    } else {
        return Err(ConnectError::NothingToUndo(path));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:8080/mcp";

    #[test]
    fn connect_then_undo_is_byte_identical() {
        let home = tempfile::tempdir().expect("home");
        let original = "{\n  \"zeta\": 1,   \"mcpServers\": {\"fs\": {\"command\": \"npx\"}}\n}";
        let path = home.path().join(".cursor").join("mcp.json");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
        std::fs::write(&path, original).expect("write");
        let planned = plan("cursor", home.path(), URL).expect("plan");
        assert!(planned.exists && !planned.connected);
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            original,
            "a plan writes nothing"
        );
        apply(&planned).expect("apply");
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(written["mcpServers"]["mcpproxy"]["url"], URL);
        assert_eq!(written["mcpServers"]["fs"]["command"], "npx");
        assert!(plan("cursor", home.path(), URL).expect("again").connected);
        undo("cursor", home.path()).expect("undo");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), original);
        assert!(matches!(
            undo("cursor", home.path()),
            Err(ConnectError::NothingToUndo(_))
        ));
    }

    #[test]
    fn a_created_file_is_removed_by_undo_and_codex_is_appended() {
        let home = tempfile::tempdir().expect("home");
        let plan_vs = plan("vscode", home.path(), URL).expect("plan");
        assert!(!plan_vs.exists);
        apply(&plan_vs).expect("apply");
        assert!(plan_vs.path.exists());
        undo("vscode", home.path()).expect("undo");
        assert!(!plan_vs.path.exists());

        let codex = home.path().join(".codex").join("config.toml");
        std::fs::create_dir_all(codex.parent().expect("dir")).expect("dir");
        let original = "model = \"o3\" # mine\n";
        std::fs::write(&codex, original).expect("write");
        let p = plan("codex", home.path(), URL).expect("plan");
        assert!(p.after.starts_with(original) && p.after.contains("[mcp_servers.mcpproxy]"));
        apply(&p).expect("apply");
        undo("codex", home.path()).expect("undo");
        assert_eq!(std::fs::read_to_string(&codex).expect("read"), original);
    }
}
