//! MCP server registries (the Go original's `registries` config section): listed from the
//! configuration, searched through each registry's `servers_url` speaking the official MCP
//! Registry API (`GET …/v0/servers?search=&limit=`, answers `{servers: [{server: {…}}]}`).
//! A listed server becomes a server entry to add (quarantined: a registry is a stranger's
//! word on what to run).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::App;

/// How long a registry may take to answer.
const REGISTRY_TIMEOUT: Duration = Duration::from_secs(10);

/// Results asked of a registry when no limit is given, and the most asked.
pub const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

/// One registry from the config's `registries`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registry {
    /// Its id (`GET /api/v1/registries/{id}/servers`).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// What it is.
    #[serde(default)]
    pub description: String,
    /// Its web page.
    #[serde(default)]
    pub url: String,
    /// Where its servers are listed (the MCP Registry API's `/v0/servers`).
    #[serde(default)]
    pub servers_url: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The API it speaks (`mcp/v0`).
    #[serde(default)]
    pub protocol: String,
    /// How many servers it lists, as the config says (a number or a text).
    #[serde(default)]
    pub count: Option<Value>,
}

/// A server a registry lists, converted to what mcpproxy would run.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryServer {
    /// The registry's name for it (e.g. `io.github.owner/server`).
    pub id: String,
    /// A configuration name derived from it (the part after the last `/`).
    pub name: String,
    /// What it does.
    pub description: String,
    /// Its version.
    pub version: Option<String>,
    /// A remote endpoint, when it offers one.
    pub url: Option<String>,
    /// The remote's transport (`http` or `sse`).
    pub protocol: Option<String>,
    /// The command that runs its package, when it has one.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Vec<String>,
}

/// Why a registry could not be searched.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No registry by that id.
    #[error("registry not found: {0}")]
    NotFound(String),
    /// The registry has no `servers_url`.
    #[error("registry {0} has no servers_url to search")]
    NoServersUrl(String),
    /// The registry did not answer as the MCP Registry API does.
    #[error("registry {id} is unavailable: {reason}")]
    Unavailable {
        /// The registry.
        id: String,
        /// What went wrong.
        reason: String,
    },
}

impl App {
    /// The config's registries (entries that are not registries are left out).
    pub fn registries(&self) -> Vec<Registry> {
        self.config()
            .extra
            .get("registries")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|r| serde_json::from_value(r.clone()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Search registry `id` for `query` (and `tag`), at most `limit` servers.
    pub async fn search_registry(
        &self,
        id: &str,
        query: Option<&str>,
        tag: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<RegistryServer>, RegistryError> {
        let registry = self
            .registries()
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| RegistryError::NotFound(id.to_string()))?;
        if registry.servers_url.is_empty() {
            return Err(RegistryError::NoServersUrl(id.to_string()));
        }
        let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let unavailable = |reason: String| RegistryError::Unavailable {
            id: id.to_string(),
            reason,
        };
        let mut params = vec![("limit", limit.to_string())];
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            params.push(("search", q.to_string()));
        }
        let client = reqwest::Client::builder()
            .timeout(REGISTRY_TIMEOUT)
            .build()
            .map_err(|e| unavailable(e.to_string()))?;
        let response = client
            .get(&registry.servers_url)
            .query(&params)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("HTTP {}", response.status())));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| unavailable(format!("not JSON: {e}")))?;
        let listed = body
            .get("servers")
            .and_then(Value::as_array)
            .ok_or_else(|| unavailable("no `servers` list in the answer".into()))?;
        // The query and tag are applied here too: a registry may ignore `search`.
        let wanted = |s: &RegistryServer, item: &Value| {
            let q_ok = query.is_none_or(|q| {
                let q = q.to_lowercase();
                s.id.to_lowercase().contains(&q) || s.description.to_lowercase().contains(&q)
            });
            let tag_ok = tag.is_none_or(|t| {
                item.pointer("/server/tags")
                    .or_else(|| item.get("tags"))
                    .or_else(|| item.pointer("/_meta/tags"))
                    .and_then(Value::as_array)
                    .is_some_and(|tags| tags.iter().any(|x| x.as_str() == Some(t)))
            });
            q_ok && tag_ok
        };
        Ok(listed
            .iter()
            .filter_map(|item| {
                let raw = item.get("server").unwrap_or(item);
                let server = convert(raw)?;
                wanted(&server, item).then_some(server)
            })
            .take(limit)
            .collect())
    }
}

/// A registry entry (`server` of the MCP Registry API) as something to run.
fn convert(server: &Value) -> Option<RegistryServer> {
    let id = server.get("name")?.as_str()?.to_string();
    let name = id.rsplit('/').next().unwrap_or(&id).to_string();
    let text = |key: &str| server.get(key).and_then(Value::as_str).map(str::to_string);
    let remote = server
        .get("remotes")
        .and_then(Value::as_array)
        .and_then(|r| r.first());
    let (url, protocol) = match remote {
        Some(r) => (
            r.get("url").and_then(Value::as_str).map(str::to_string),
            r.get("type").and_then(Value::as_str).map(|t| match t {
                "sse" => "sse".to_string(),
                _ => "http".to_string(),
            }),
        ),
        None => (None, None),
    };
    let package = server
        .get("packages")
        .and_then(Value::as_array)
        .and_then(|p| p.first());
    let (command, args) = match package.map(|p| {
        (
            p.get("registryType")
                .or_else(|| p.get("registry_type"))
                .and_then(Value::as_str)
                .unwrap_or(""),
            p.get("identifier")
                .or_else(|| p.get("name"))
                .and_then(Value::as_str)
                .unwrap_or(""),
        )
    }) {
        Some(("npm", pkg)) if !pkg.is_empty() => {
            (Some("npx".into()), vec!["-y".into(), pkg.into()])
        }
        Some(("pypi", pkg)) if !pkg.is_empty() => (Some("uvx".into()), vec![pkg.into()]),
        Some(("oci", image)) if !image.is_empty() => (
            Some("docker".into()),
            vec!["run".into(), "-i".into(), "--rm".into(), image.into()],
        ),
        _ => (None, Vec::new()),
    };
    Some(RegistryServer {
        id,
        name,
        description: text("description").unwrap_or_default(),
        version: text("version"),
        url,
        protocol,
        command,
        args,
    })
}

impl RegistryServer {
    /// The server entry adding it would create: quarantined, for a person to review.
    pub fn to_config(&self) -> Option<crate::config::ServerConfig> {
        if self.command.is_none() && self.url.is_none() {
            return None;
        }
        serde_json::from_value(json!({
            "name": self.name,
            "command": self.command,
            "args": self.args,
            "url": if self.command.is_none() { self.url.clone() } else { None },
            "protocol": if self.command.is_none() { self.protocol.clone() } else { None },
            "enabled": true,
            "quarantined": true,
        }))
        .ok()
    }
}
