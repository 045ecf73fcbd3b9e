//! The index's public data types: what goes in ([`ToolDoc`]) and what comes
//! out ([`SearchHit`]).

use serde::{Deserialize, Serialize};

/// One upstream tool as the index sees it.
///
/// Serialized with MCP's field spelling (`inputSchema`), so a tool listing
/// (plus its server name) deserializes straight into it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolDoc {
    /// The upstream server's name, as configured in mcpproxy.
    pub server: String,
    /// The tool's name, unique within its server.
    pub name: String,
    /// The tool's human-readable description; may be empty.
    #[serde(default)]
    pub description: String,
    /// The tool's JSON Schema for its arguments; any JSON value is accepted.
    #[serde(default)]
    pub input_schema: serde_json::Value,
}

/// One ranked search result; higher `score` is better.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchHit {
    /// The upstream server's name.
    pub server: String,
    /// The tool's name within that server.
    pub name: String,
    /// BM25F relevance (plus any exact-match bonus); only comparable within
    /// one result list.
    pub score: f64,
    /// The fields a query term was found in (`name`, `server`, `description`,
    /// `parameters`), in that order; an exact name match counts as `name`.
    pub matched_fields: Vec<&'static str>,
}
