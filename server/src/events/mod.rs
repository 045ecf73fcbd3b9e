//! The one in-process event bus: every part of the server publishes here, and `/events`
//! (SSE and WebSocket) broadcasts each event to every connected client.
//!
//! Invariants: publishing never blocks and never fails the caller; a subscriber that falls
//! behind by more than the buffer sees `Lagged` and decides for itself (the SSE stream drops
//! such a client). The wire shape (`event:` / `data:` framing) belongs to `api`, not here.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

/// Event kinds on the wire.
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

/// One event: a kind, a JSON payload and the Unix time it was published.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// The event kind, e.g. `servers.changed`.
    #[serde(skip)]
    pub kind: &'static str,
    /// Kind-specific payload.
    pub payload: serde_json::Value,
    /// Unix seconds.
    pub timestamp: i64,
}

/// Capacity of each subscriber's buffer.
const BUFFER: usize = 256;

/// A cloneable handle to the bus.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus with no subscribers yet.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(BUFFER);
        Self { sender }
    }

    /// Publish an event to every current subscriber; never blocks.
    pub fn publish(&self, kind: &'static str, payload: serde_json::Value) {
        let event = Event {
            kind,
            payload,
            timestamp: chrono::Utc::now().timestamp(),
        };
        // An error only means nobody is listening, which is fine.
        let _ = self.sender.send(Arc::new(event));
    }

    /// How many subscriptions are open.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// A new subscription that sees every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_receives_every_event() {
        let bus = EventBus::new();
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        bus.publish(kinds::SERVERS_CHANGED, serde_json::json!({"server": "x"}));
        assert_eq!(
            a.recv().await.map(|e| e.kind).ok(),
            Some(kinds::SERVERS_CHANGED)
        );
        assert_eq!(
            b.recv().await.map(|e| e.payload["server"].clone()).ok(),
            Some("x".into())
        );
    }

    #[tokio::test]
    async fn a_subscriber_that_never_reads_does_not_block_publishers() {
        let bus = EventBus::new();
        let _idle = bus.subscribe();
        let mut live = bus.subscribe();
        for i in 0..(BUFFER * 4) {
            bus.publish(kinds::SERVERS_CHANGED, serde_json::json!({ "i": i }));
            assert!(live.recv().await.is_ok());
        }
    }
}
