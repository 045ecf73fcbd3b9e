//! Arrival order for progress and log messages. rmcp hands every notification to a task
//! of its own, and tasks spawned back to back do not run in the order they were spawned
//! (tokio runs the latest one first), so two progress notifications read together reached
//! the relay in the wrong order and the earlier value was dropped as stale (a client saw
//! 1, 3 for 1, 2, 3); and an answer could go out before the tasks of the messages read
//! before it had run. [`Ordered`] wraps a session's transport and stamps each
//! `notifications/progress` and `notifications/message` as it is read, in order, with its
//! request and place among that request's messages ([`Arrival`]); the relay then delivers
//! them in that order (a stamp waits at most a moment for the ones before it), and the
//! answer waits until every message read before it went out ([`InFlight::flush`]).
//!
//! [`InFlight::flush`]: crate::upstream::relay::InFlight::flush

use std::sync::Arc;

use rmcp::{
    RoleClient,
    model::{JsonRpcMessage, ServerJsonRpcMessage, ServerNotification},
    service::{InboundStreamOrigin, RxJsonRpcMessage, TxJsonRpcMessage},
    transport::Transport,
};

use crate::upstream::relay::{Arrival, Relay};

/// A transport whose progress and log messages carry their arrival order.
pub(crate) struct Ordered<T> {
    inner: T,
    relay: Arc<Relay>,
}

impl<T> Ordered<T> {
    /// `inner`, stamping progress for the requests in `relay`.
    pub(crate) fn new(inner: T, relay: Arc<Relay>) -> Self {
        Self { inner, relay }
    }

    fn stamp(&self, message: &mut ServerJsonRpcMessage) {
        let JsonRpcMessage::Notification(notification) = message else {
            return;
        };
        match &mut notification.notification {
            ServerNotification::ProgressNotification(progress) => {
                let arrival = self.relay.progress_arrived(&progress.params.progress_token);
                insert(&mut progress.extensions, arrival);
            }
            ServerNotification::LoggingMessageNotification(log) => {
                let origin = match log.extensions.get::<InboundStreamOrigin>() {
                    Some(InboundStreamOrigin::OutboundRequest(id)) => Some(id),
                    _ => None,
                };
                let arrival = self.relay.log_arrived(origin);
                insert(&mut log.extensions, arrival);
            }
            _ => {}
        }
    }
}

fn insert(extensions: &mut rmcp::model::Extensions, arrival: Option<Arrival>) {
    if let Some(arrival) = arrival {
        extensions.insert(arrival);
    }
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for Ordered<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        let mut message = self.inner.receive().await?;
        self.stamp(&mut message);
        Some(message)
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}
