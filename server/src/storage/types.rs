//! The records the storage keeps — tool calls, MCP client sessions and tool approvals — and
//! the query/page shapes for listing them. Field names are the JSON stored on disk, so renaming
//! one is a file-format change.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How much history is kept. A zero in any field means "no limit" for that field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Newest tool calls kept (default 10,000).
    pub max_calls: usize,
    /// Tool calls older than this are dropped (default 30 days).
    pub max_age: Duration,
    /// Newest sessions kept, by start time (default 100).
    pub max_sessions: usize,
}

impl Default for Retention {
    fn default() -> Self {
        crate::config::History::default().into()
    }
}

/// The configured history limits (`history_max_*`).
impl From<crate::config::History> for Retention {
    fn from(history: crate::config::History) -> Self {
        Self {
            max_calls: history.max_calls,
            max_age: history.max_age,
            max_sessions: history.max_sessions,
        }
    }
}

/// One upstream tool call, successful or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRecord {
    /// Unique id; recording a second call with the same id replaces the first.
    pub id: String,
    /// Upstream server name.
    pub server: String,
    /// Bare tool name (without the `server:` prefix).
    pub tool: String,
    /// The arguments the tool was called with (bounded like `response`).
    #[serde(default)]
    pub arguments: serde_json::Value,
    /// The upstream result. A serialized form over 64 KiB is stored as a
    /// `{"truncated": true, "original_bytes": N, "preview": "<first 64 KiB>"}` marker object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<serde_json::Value>,
    /// The error text, when the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the call failed or the upstream reported `isError`.
    #[serde(default)]
    pub is_error: bool,
    /// Wall time of the call in milliseconds.
    #[serde(default)]
    pub duration_ms: f64,
    /// When the call started; history is ordered by this.
    pub timestamp: DateTime<Utc>,
    /// The MCP session (on `/mcp`) the call came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The MCP client's name, from `initialize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// The MCP client's version, from `initialize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
    /// The id of the call this one replays, if it is a replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_from: Option<String>,
    /// The agent token the call was made with (its name, never the secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_name: Option<String>,
    /// Tokens of the result the agent received (absent when not counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
}

/// One MCP client session on `/mcp`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The MCP session id.
    pub id: String,
    /// The client's name, from `initialize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// The client's version, from `initialize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
    /// `active` or `closed`.
    pub status: String,
    /// When the session started; listing is newest-first by this.
    pub start_time: DateTime<Utc>,
    /// The last request or recorded tool call.
    pub last_activity: DateTime<Utc>,
    /// When the session was closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
    /// Upstream tool calls recorded for the session.
    #[serde(default)]
    pub tool_call_count: u64,
    /// The agent token the session authenticated with (its name, never the secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_name: Option<String>,
    /// Tokens of every tool answer the session received (absent in older databases: 0).
    #[serde(default)]
    pub total_tokens: u64,
    /// The client declared the roots capability.
    #[serde(default)]
    pub has_roots: bool,
    /// The client declared the sampling capability.
    #[serde(default)]
    pub has_sampling: bool,
}

impl SessionRecord {
    /// A session `id` that began `at`, active, with nothing counted yet.
    pub fn active(id: String, at: DateTime<Utc>) -> Self {
        Self {
            id,
            client_name: None,
            client_version: None,
            status: session_status::ACTIVE.into(),
            start_time: at,
            last_activity: at,
            end_time: None,
            tool_call_count: 0,
            token_name: None,
            total_tokens: 0,
            has_roots: false,
            has_sampling: false,
        }
    }
}

/// Session status values.
pub mod session_status {
    /// The session is live.
    pub const ACTIVE: &str = "active";
    /// The session ended (client went away or timed out).
    pub const CLOSED: &str = "closed";
}

/// What an agent token may do, lowest first: the `call_tool_read|write|destructive` tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Read-only tools.
    Read,
    /// Tools that change something but are not destructive.
    Write,
    /// Everything, destructive tools included.
    Destructive,
}

impl Tier {
    /// Every tier, lowest first.
    pub const ALL: [Tier; 3] = [Tier::Read, Tier::Write, Tier::Destructive];

    /// The wire name (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Destructive => "destructive",
        }
    }
}

/// One agent token. The secret itself is never stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Unique name; recorded calls and sessions name the token by it.
    pub name: String,
    /// Lowercase hex SHA-256 of the secret.
    pub hash: String,
    /// The secret's first characters, to recognise it in a list.
    pub prefix: String,
    /// Servers the token may reach; `*` means all.
    pub allowed_servers: Vec<String>,
    /// The highest tier the token may use.
    pub tier: Tier,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last presented (kept to the minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked tokens are refused and kept for the record.
    #[serde(default)]
    pub revoked: bool,
}

/// Whether a pinned tool still matches what was approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    /// The tool's current description and schemas are the approved ones.
    Approved,
    /// The tool changed since it was approved; it awaits re-approval.
    Changed,
}

impl ApprovalStatus {
    /// The wire name (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Changed => "changed",
        }
    }
}

/// What a tool looked like at one point: the parts covered by its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSnapshot {
    /// The tool description.
    #[serde(default)]
    pub description: String,
    /// The input JSON Schema.
    #[serde(default)]
    pub input_schema: serde_json::Value,
    /// The output JSON Schema, if the tool declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<serde_json::Value>,
}

/// The pinning record of one tool of one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolApproval {
    /// Upstream server name.
    pub server: String,
    /// Bare tool name.
    pub tool: String,
    /// Hash of the approved version.
    pub approved_hash: String,
    /// Hash of the version last seen.
    pub current_hash: String,
    /// `approved` when both hashes match, `changed` otherwise.
    pub status: ApprovalStatus,
    /// When the approved version was approved.
    pub approved_at: DateTime<Utc>,
    /// The approved version.
    pub approved: ToolSnapshot,
    /// The version last seen.
    pub current: ToolSnapshot,
}

/// Default page size of [`CallQuery`].
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size of [`CallQuery`].
pub const MAX_LIMIT: usize = 100;

/// A page request over tool-call history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallQuery {
    /// Only calls of this MCP session.
    pub session_id: Option<String>,
    /// Only calls to this upstream server.
    pub server: Option<String>,
    /// Page size: `None` or 0 means [`DEFAULT_LIMIT`]; capped at [`MAX_LIMIT`].
    pub limit: Option<usize>,
    /// Matching calls to skip, newest first.
    pub offset: usize,
}

impl CallQuery {
    /// The page size actually used.
    pub fn effective_limit(&self) -> usize {
        match self.limit {
            None | Some(0) => DEFAULT_LIMIT,
            Some(n) => n.min(MAX_LIMIT),
        }
    }
}

/// One page of tool-call history.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPage {
    /// The calls, newest first.
    pub calls: Vec<ToolCallRecord>,
    /// All calls matching the filters (not only this page).
    pub total: usize,
    /// The page size used.
    pub limit: usize,
    /// The offset used.
    pub offset: usize,
}

#[cfg(test)]
impl ToolCallRecord {
    /// A successful call `id` of tool `t` on server `s`, now, with no payload (tests).
    pub(crate) fn bare(id: &str) -> Self {
        Self {
            id: id.into(),
            server: "s".into(),
            tool: "t".into(),
            arguments: serde_json::Value::Null,
            response: None,
            error: None,
            is_error: false,
            duration_ms: 1.0,
            timestamp: chrono::Utc::now(),
            session_id: None,
            client_name: None,
            client_version: None,
            replayed_from: None,
            token_name: None,
            tokens: None,
        }
    }
}
