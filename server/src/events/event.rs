//! The wire events: one variant per event kind, its fields the payload. A publisher builds a
//! variant (it cannot misspell a kind or forget a field); [`Event::kind`] names it on the wire
//! and [`Published::data`] serializes it — the one place both happen, for SSE and WebSocket.
//!
//! Adding an event: a constant in [`kinds`], a variant here (a struct variant whose fields
//! are the payload, or a newtype over a `#[serde(tag = …)]` enum when one kind has several
//! shapes, as `servers.changed` has), its arm in [`Event::kind`], and a publish site
//! `bus.publish(Event::…)`.

use std::path::PathBuf;

use serde::Serialize;

/// Event kinds on the wire (the SSE `event:` line, the WebSocket message's `type`).
pub mod kinds {
    /// A server's configuration or connection state changed.
    pub const SERVERS_CHANGED: &str = "servers.changed";
    /// The running configuration was replaced (apply or hot reload).
    pub const CONFIG_RELOADED: &str = "config.reloaded";
    /// The configuration file was written.
    pub const CONFIG_SAVED: &str = "config.saved";
    /// The configuration file on disk changed but is invalid; the running config is kept.
    pub const CONFIG_INVALID: &str = "config.invalid";
    /// The tool index was updated.
    pub const TOOLS_INDEXED: &str = "tools.indexed";
    /// A stored secret was created, changed or deleted.
    pub const SECRETS_CHANGED: &str = "secrets.changed";
    /// A pinned tool's description or schema changed and awaits approval.
    pub const TOOLS_CHANGED: &str = "tools.changed";
    /// A server's OAuth state changed (login started, signed in, refresh failed, logout).
    pub const AUTH_CHANGED: &str = "auth.changed";
    /// A tool call was recorded in the history (id, server, tool, outcome; no arguments).
    pub const TOOL_CALL_RECORDED: &str = "tool_call.recorded";
    /// A management action was recorded in the activity log (the record, with its actor).
    pub const ACTIVITY: &str = "activity";
}

/// One event of the bus; serialized, a variant is its payload.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Event {
    /// `servers.changed`: a server's configuration or connection state changed.
    ServersChanged(ServerChange),
    /// `config.reloaded`: the running configuration was replaced.
    ConfigReloaded {
        /// The configuration file.
        path: PathBuf,
        /// Top-level fields that changed.
        changed_fields: Vec<String>,
        /// `apply` (REST), `reload` (the file changed), …
        source: &'static str,
    },
    /// `config.saved`: the configuration file was written.
    ConfigSaved {
        /// The configuration file.
        path: PathBuf,
    },
    /// `config.invalid`: the file on disk is invalid; the running configuration is kept.
    ConfigInvalid {
        /// The configuration file.
        path: PathBuf,
        /// Why it does not load.
        error: String,
        /// Field problems, when it parsed but did not validate.
        errors: Vec<FieldError>,
    },
    /// `tools.indexed`: a server's tools were (re)indexed.
    ToolsIndexed {
        /// The server.
        server: String,
        /// Its tools now in the index.
        tool_count: usize,
        /// Tools in the whole index.
        total: usize,
    },
    /// `secrets.changed`: a stored secret was created, changed or deleted.
    SecretsChanged {
        /// `store` or `delete`.
        operation: String,
        /// The secret.
        secret_name: String,
    },
    /// `tools.changed`: tools are blocked until a person approves them.
    ToolsChanged {
        /// The server.
        server: String,
        /// The blocked tools.
        tools: Vec<String>,
        /// Why they are blocked.
        reason: &'static str,
    },
    /// `auth.changed`: a server's OAuth state changed.
    AuthChanged {
        /// The server.
        server: String,
        /// The new state, e.g. `authenticated`.
        state: &'static str,
        /// Why it failed, if it did.
        last_error: Option<String>,
    },
    /// `tool_call.recorded`: a call was recorded (no arguments, no result).
    ToolCallRecorded {
        /// The record's id.
        id: String,
        /// The server called.
        server_name: String,
        /// The tool called.
        tool_name: String,
        /// Whether it failed.
        is_error: bool,
        /// How long it took.
        duration_ms: f64,
        /// When it started, RFC 3339.
        timestamp: String,
    },
    /// `activity`: a management action was recorded in the activity log (the record, with
    /// who did it).
    Activity(Box<crate::storage::ActivityRecord>),
}

/// A field problem of an invalid configuration file.
#[derive(Debug, Clone, Serialize)]
pub struct FieldError {
    /// The field, e.g. `mcpServers[1].url`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// What changed about servers (`servers.changed`), tagged by `reason` on the wire.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ServerChange {
    /// Enabled or disabled.
    EnableToggle {
        /// The server.
        server: String,
        /// Its new setting.
        enabled: bool,
    },
    /// Quarantined or approved.
    QuarantineToggle {
        /// The server.
        server: String,
        /// Its new setting.
        quarantined: bool,
    },
    /// Every server enabled or disabled.
    BulkEnableToggle {
        /// The new setting.
        enabled: bool,
        /// Servers changed.
        count: usize,
    },
    /// Reconnected on request.
    Restart {
        /// The server.
        server: String,
    },
    /// Every server reconnected on request.
    RestartAll {
        /// Servers reconnected.
        count: usize,
    },
    /// Added.
    Added {
        /// The server.
        server: String,
    },
    /// Removed.
    Removed {
        /// The server.
        server: String,
    },
    /// Its settings changed.
    Updated {
        /// The server.
        server: String,
        /// The connection settings that changed (a person's edit).
        #[serde(skip_serializing_if = "Option::is_none")]
        changed: Option<Vec<&'static str>>,
    },
    /// A secret it references changed.
    Secrets {
        /// The server.
        server: String,
    },
    /// Tools approved by a person.
    ToolsApproved {
        /// The server.
        server: String,
        /// The tools approved.
        tools: Vec<String>,
    },
    /// Servers imported from another client's file.
    Imported {
        /// The format the file was read as.
        format: String,
        /// The servers imported.
        servers: Vec<String>,
    },
    /// The configuration's server list changed on apply or reload.
    #[serde(rename = "config hot-reload")]
    ConfigHotReload {
        /// Top-level fields that changed.
        changed_fields: Vec<String>,
    },
    /// The connection state changed.
    StateChanged {
        /// The server.
        server: String,
        /// The new state, e.g. `ready`.
        state: &'static str,
        /// Tools offered.
        tool_count: usize,
        /// The last failure, if any.
        last_error: Option<String>,
    },
    /// The server's tool list was refreshed.
    ToolsChanged {
        /// The server.
        server: String,
        /// Tools offered.
        tool_count: usize,
    },
    /// The server's OAuth state changed.
    Auth {
        /// The server.
        server: String,
        /// The new state.
        auth: &'static str,
    },
}

impl ServerChange {
    /// The one server it is about; `None` when it is about several or all.
    pub fn server(&self) -> Option<&str> {
        match self {
            Self::EnableToggle { server, .. }
            | Self::QuarantineToggle { server, .. }
            | Self::Restart { server }
            | Self::Added { server }
            | Self::Removed { server }
            | Self::Updated { server, .. }
            | Self::Secrets { server }
            | Self::ToolsApproved { server, .. }
            | Self::StateChanged { server, .. }
            | Self::ToolsChanged { server, .. }
            | Self::Auth { server, .. } => Some(server),
            Self::BulkEnableToggle { .. }
            | Self::RestartAll { .. }
            | Self::Imported { .. }
            | Self::ConfigHotReload { .. } => None,
        }
    }
}

impl Event {
    /// The kind on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ServersChanged(_) => kinds::SERVERS_CHANGED,
            Self::ConfigReloaded { .. } => kinds::CONFIG_RELOADED,
            Self::ConfigSaved { .. } => kinds::CONFIG_SAVED,
            Self::ConfigInvalid { .. } => kinds::CONFIG_INVALID,
            Self::ToolsIndexed { .. } => kinds::TOOLS_INDEXED,
            Self::SecretsChanged { .. } => kinds::SECRETS_CHANGED,
            Self::ToolsChanged { .. } => kinds::TOOLS_CHANGED,
            Self::AuthChanged { .. } => kinds::AUTH_CHANGED,
            Self::ToolCallRecorded { .. } => kinds::TOOL_CALL_RECORDED,
            Self::Activity(_) => kinds::ACTIVITY,
        }
    }

    /// Whether this is a record of something done (a tool call, a management action) rather
    /// than a change of what the proxy serves. Records come once per call, so only those who
    /// show them (`/events`) subscribe to them; see [`super::EventBus::subscribe_changes`].
    pub fn is_record(&self) -> bool {
        match self {
            Self::ToolCallRecorded { .. } | Self::Activity(_) => true,
            Self::ServersChanged(_)
            | Self::ConfigReloaded { .. }
            | Self::ConfigSaved { .. }
            | Self::ConfigInvalid { .. }
            | Self::ToolsIndexed { .. }
            | Self::SecretsChanged { .. }
            | Self::ToolsChanged { .. }
            | Self::AuthChanged { .. } => false,
        }
    }

    /// The payload as JSON.
    pub fn payload(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// An event as the bus carries it: when it was published.
#[derive(Debug, Clone)]
pub struct Published {
    /// The event.
    pub event: Event,
    /// Unix seconds.
    pub timestamp: i64,
}

impl Published {
    /// The kind on the wire.
    pub fn kind(&self) -> &'static str {
        self.event.kind()
    }

    /// What SSE sends as `data:` and WebSocket as `data`: `{"payload": …, "timestamp": …}`.
    pub fn data(&self) -> serde_json::Value {
        serde_json::json!({ "payload": self.event.payload(), "timestamp": self.timestamp })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_change_is_tagged_by_its_reason_as_before() {
        let e = Event::ServersChanged(ServerChange::ConfigHotReload {
            changed_fields: vec!["mcpServers".into()],
        });
        assert_eq!(e.kind(), "servers.changed");
        assert_eq!(
            e.payload(),
            serde_json::json!({"reason": "config hot-reload", "changed_fields": ["mcpServers"]})
        );
        let e = Event::ServersChanged(ServerChange::Updated {
            server: "a".into(),
            changed: None,
        });
        assert_eq!(
            e.payload(),
            serde_json::json!({"reason": "updated", "server": "a"})
        );
        let e = Event::ServersChanged(ServerChange::StateChanged {
            server: "a".into(),
            state: "ready",
            tool_count: 2,
            last_error: None,
        });
        assert_eq!(
            e.payload(),
            serde_json::json!({"reason": "state_changed", "server": "a", "state": "ready", "tool_count": 2, "last_error": null})
        );
    }

    #[test]
    fn the_wire_data_wraps_the_payload_with_its_time() {
        let published = Published {
            event: Event::ConfigSaved {
                path: "/tmp/c.json".into(),
            },
            timestamp: 7,
        };
        assert_eq!(published.kind(), "config.saved");
        assert_eq!(
            published.data(),
            serde_json::json!({"payload": {"path": "/tmp/c.json"}, "timestamp": 7})
        );
    }
}
