//! The one in-process event bus: every part of the server publishes here, and `/events`
//! (SSE and WebSocket) broadcasts each event to every connected client.
//!
//! Invariants: publishing never blocks and never fails the caller; a subscriber that falls
//! behind by more than the buffer sees `Lagged` and decides for itself (`/events` tells such a
//! client to resync). What an event carries and how it serializes is [`Event`], one variant
//! per wire kind; the `event:` / `data:` framing belongs to `api`, not here.

use std::sync::Arc;

use tokio::sync::broadcast;

mod event;

pub use event::{Event, FieldError, Published, ServerChange, kinds};

/// Capacity of each subscriber's buffer.
const BUFFER: usize = 256;

/// A cloneable handle to the bus.
#[derive(Clone)]
pub struct EventBus {
    /// Every event.
    sender: broadcast::Sender<Arc<Published>>,
    /// Every event but records ([`Event::is_record`]): what the proxy's own followers need.
    changes: broadcast::Sender<Arc<Published>>,
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
        let (changes, _) = broadcast::channel(BUFFER);
        Self { sender, changes }
    }

    /// Publish an event to every current subscriber; never blocks.
    pub fn publish(&self, event: Event) {
        let event = Published {
            event,
            timestamp: chrono::Utc::now().timestamp(),
        };
        let event = Arc::new(event);
        // An error only means nobody is listening, which is fine.
        if !event.event.is_record() {
            let _ = self.changes.send(event.clone());
        }
        let _ = self.sender.send(event);
    }

    /// How many subscriptions are open (of both kinds).
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count() + self.changes.receiver_count()
    }

    /// A new subscription that sees every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.sender.subscribe()
    }

    /// A new subscription that sees every event published from now on except records (a
    /// recorded tool call, a recorded action): for followers of what the proxy serves, which
    /// a busy proxy would otherwise wake once per call each (every `/mcp` session has one).
    pub fn subscribe_changes(&self) -> broadcast::Receiver<Arc<Published>> {
        self.changes.subscribe()
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
        bus.publish(Event::ServersChanged(ServerChange::Added {
            server: "x".into(),
        }));
        assert_eq!(
            a.recv().await.map(|e| e.kind()).ok(),
            Some(kinds::SERVERS_CHANGED)
        );
        assert_eq!(
            b.recv()
                .await
                .map(|e| e.event.payload()["server"].clone())
                .ok(),
            Some("x".into())
        );
    }

    #[tokio::test]
    async fn a_change_follower_sees_changes_and_no_records() {
        let bus = EventBus::new();
        let mut all = bus.subscribe();
        let mut changes = bus.subscribe_changes();
        assert_eq!(bus.subscribers(), 2);
        bus.publish(Event::ToolCallRecorded {
            id: "c1".into(),
            server_name: "s".into(),
            tool_name: "t".into(),
            is_error: false,
            duration_ms: 1.0,
            timestamp: "2026-11-30T00:00:00Z".into(),
        });
        bus.publish(Event::ServersChanged(ServerChange::Added {
            server: "x".into(),
        }));
        assert_eq!(
            all.recv().await.map(|e| e.kind()).ok(),
            Some(kinds::TOOL_CALL_RECORDED)
        );
        assert_eq!(
            all.recv().await.map(|e| e.kind()).ok(),
            Some(kinds::SERVERS_CHANGED)
        );
        assert_eq!(
            changes.recv().await.map(|e| e.kind()).ok(),
            Some(kinds::SERVERS_CHANGED)
        );
        assert!(changes.try_recv().is_err(), "the record never reached it");
    }

    #[tokio::test]
    async fn a_subscriber_that_never_reads_does_not_block_publishers() {
        let bus = EventBus::new();
        let _idle = bus.subscribe();
        let mut live = bus.subscribe();
        for i in 0..(BUFFER * 4) {
            bus.publish(Event::ServersChanged(ServerChange::RestartAll { count: i }));
            assert!(live.recv().await.is_ok());
        }
    }
}
