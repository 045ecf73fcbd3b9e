//! Arrival order for progress. rmcp hands every notification to a task of its own, and
//! tasks spawned back to back do not run in the order they were spawned (tokio runs the
//! latest one first), so two progress notifications read together reached the relay in the
//! wrong order and the earlier value was dropped as stale (a client saw 1, 3 for 1, 2, 3).
//! [`Ordered`] wraps a session's transport and stamps each `notifications/progress` as it is
//! read, in order, with its place among its request's progress ([`Relay::arrived`]); the
//! relay then delivers them in that order (a stamp waits at most a moment for the ones
//! before it).

use std::sync::Arc;

use rmcp::{
    RoleClient,
    model::{JsonRpcMessage, ServerJsonRpcMessage, ServerNotification},
    service::{RxJsonRpcMessage, TxJsonRpcMessage},
    transport::Transport,
};

use crate::upstream::relay::Relay;

/// A transport whose progress notifications carry their arrival order.
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
        if let JsonRpcMessage::Notification(notification) = message
            && let ServerNotification::ProgressNotification(progress) =
                &mut notification.notification
            && let Some(arrival) = self.relay.arrived(&progress.params.progress_token)
        {
            progress.extensions.insert(arrival);
        }
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
