//! The relay between upstream requests and the clients they are made for.
//!
//! A request the proxy forwards upstream carries a [`CallLink`]: the [`Downstream`] client it
//! is made for (where the upstream's progress, log messages and server→client requests
//! about it go) and the token that calls it off. While it runs, the server's [`Relay`] knows
//! it by the upstream request id and progress token, so the client handler can route what
//! the upstream sends: progress by token, a sampling/elicitation/roots request by the stream
//! it arrived on (streamable HTTP) or else to the latest request in flight (stdio has no
//! association; the spec's servers raise such requests only while serving one).
//! Messages that belong to no request in flight are [`Notice`]s for every session.

#![expect(
    deprecated,
    reason = "logging is deprecated by SEP-2577 but today's servers use it"
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::ErrorData;
use rmcp::model::{
    ClientCapabilities, ClientResult, LoggingLevel, LoggingMessageNotificationParam,
    ProgressNotificationParam, ProgressToken, RequestId, ServerRequest,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How long a progress notification with an unknown token waits for the request that
/// carries it to be registered (it can overtake the registration by a few microseconds).
const BIND_WAIT: Duration = Duration::from_secs(1);

/// The client on whose behalf an upstream request runs.
pub trait Downstream: Send + Sync {
    /// Progress of the request (the token is the upstream's; the client's replaces it).
    fn progress(&self, progress: ProgressNotificationParam) -> BoxFuture<'static, ()>;
    /// A log message the upstream sent while serving the request.
    fn log(&self, message: LoggingMessageNotificationParam) -> BoxFuture<'static, ()>;
    /// A server→client request (sampling, elicitation, roots) raised while serving it.
    fn request(
        &self,
        request: ServerRequest,
    ) -> BoxFuture<'static, Result<ClientResult, ErrorData>>;
    /// What the client declared it can do (a 2026-07-28 upstream is told per request).
    fn capabilities(&self) -> Option<ClientCapabilities>;
    /// Whether the client takes server→client requests (a 2025 session); a 2026-07-28
    /// client gets input-required results instead.
    fn takes_requests(&self) -> bool;
    /// Whether the client asked for progress.
    fn wants_progress(&self) -> bool;
    /// Whether the client declared what `request` needs.
    fn can_answer(&self, request: &ServerRequest) -> bool;
    /// The log level the client asked for (its session's, or this request's at 2026-07-28).
    fn log_level(&self) -> Option<LoggingLevel>;
    /// Whether progress or log messages about the request can reach the client at all;
    /// when not, its answer does not wait for them ([`InFlight::flush`]).
    fn listens(&self) -> bool {
        true
    }
}

/// One forwarded request's link to its client.
#[derive(Clone, Default)]
pub struct CallLink {
    /// The client, when there is one to talk to (REST calls have none).
    pub downstream: Option<Arc<dyn Downstream>>,
    /// Cancelled when the client calls the request off.
    pub cancel: CancellationToken,
}

impl CallLink {
    /// A link to `downstream`, called off by `cancel`.
    pub fn new(downstream: Arc<dyn Downstream>, cancel: CancellationToken) -> Self {
        Self {
            downstream: Some(downstream),
            cancel,
        }
    }
}

/// What an upstream said that concerns every client that can see it, not one request.
#[derive(Debug, Clone)]
pub enum Notice {
    /// `notifications/resources/list_changed`.
    ResourcesChanged {
        /// The server.
        server: String,
    },
    /// `notifications/prompts/list_changed`.
    PromptsChanged {
        /// The server.
        server: String,
    },
    /// `notifications/resources/updated`.
    ResourceUpdated {
        /// The server.
        server: String,
        /// The resource.
        uri: String,
    },
    /// `notifications/message` outside any request.
    Log {
        /// The server.
        server: String,
        /// The message.
        message: LoggingMessageNotificationParam,
    },
}

impl Notice {
    /// The server it came from.
    pub fn server(&self) -> &str {
        match self {
            Self::ResourcesChanged { server }
            | Self::PromptsChanged { server }
            | Self::ResourceUpdated { server, .. }
            | Self::Log { server, .. } => server,
        }
    }
}

/// The requests in flight on one server's connection, by upstream id and progress token.
#[derive(Default)]
pub(crate) struct Relay {
    book: Mutex<Book>,
    bound: Notify,
}

#[derive(Default)]
struct Book {
    next: u64,
    entries: HashMap<u64, Entry>,
}

struct Entry {
    id: Option<RequestId>,
    token: Option<ProgressToken>,
    downstream: Arc<dyn Downstream>,
    deliveries: Arc<Deliveries>,
}

/// Progress notifications of one request on their way to its client.
#[derive(Default)]
struct Deliveries {
    pending: AtomicUsize,
    done: Notify,
    /// The last progress value delivered; held while one is delivered, so they go out one
    /// at a time and in order.
    last: tokio::sync::Mutex<Option<f64>>,
    /// Progress notifications read so far (each one's [`ProgressOrder`] is its place).
    arrived: AtomicU64,
    /// Arrivals whose turn has come: each waits for those before it.
    turn: AtomicU64,
    /// Woken when `turn` moves.
    turned: Notify,
}

/// A progress notification's place among its request's progress, in the order the
/// transport read them (see `transport::ordered`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProgressOrder(u64);

/// How long a progress notification waits for the ones read before it (their tasks are
/// already spawned; this bounds a wait on one that never comes).
const TURN_WAIT: Duration = Duration::from_millis(500);

impl Deliveries {
    /// Wait until every progress notification read before `arrival` went out (or the wait
    /// is over).
    async fn my_turn(&self, arrival: ProgressOrder) {
        let deadline = tokio::time::Instant::now() + TURN_WAIT;
        loop {
            let turned = self.turned.notified();
            if self.turn.load(Ordering::SeqCst) >= arrival.0 {
                return;
            }
            if tokio::time::timeout_at(deadline, turned).await.is_err() {
                return;
            }
        }
    }

    /// `arrival` went out (or was dropped): the next one's turn.
    fn next_turn(&self, arrival: ProgressOrder) {
        self.turn.fetch_max(arrival.0 + 1, Ordering::SeqCst);
        self.turned.notify_waiters();
    }
}

/// How long the answer to a request waits for its progress still being delivered.
const FLUSH_WAIT: Duration = Duration::from_millis(250);

/// A request's place in the relay; dropping it ends the request's routing.
pub(crate) struct InFlight {
    relay: Arc<Relay>,
    key: u64,
    deliveries: Arc<Deliveries>,
}

impl InFlight {
    /// The request went out as `id` with progress token `token`.
    pub(crate) fn bind(&self, id: RequestId, token: Option<ProgressToken>) {
        if let Some(entry) = self.relay.book().entries.get_mut(&self.key) {
            entry.id = Some(id);
            entry.token = token;
        }
        self.relay.bound.notify_waiters();
    }

    /// The request went out where rmcp does not see it (the direct HTTP lane): bound to an
    /// id of its own, so a server request that arrives outside the call's stream (rmcp's
    /// GET stream) still finds its client, and nothing waits for a binding that never comes.
    pub(crate) fn bind_outside_rmcp(&self) {
        let id = RequestId::String(format!("mcpproxy-lane-{}", self.key).into());
        self.bind(id, None);
    }

    /// Let the progress and log messages the server sent before its answer reach the
    /// client first: rmcp
    /// hands each notification to a task of its own, which may not have run yet.
    pub(crate) async fn flush(&self) {
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        let deadline = tokio::time::Instant::now() + FLUSH_WAIT;
        loop {
            let done = self.deliveries.done.notified();
            if self.deliveries.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, done).await.is_err() {
                return;
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.relay.book().entries.remove(&self.key);
    }
}

impl Relay {
    fn book(&self) -> MutexGuard<'_, Book> {
        crate::sync::lock(&self.book)
    }

    /// A request for `downstream` is about to go out; [`InFlight::bind`] it once sent.
    pub(crate) fn register(self: &Arc<Self>, downstream: Arc<dyn Downstream>) -> InFlight {
        let mut book = self.book();
        book.next += 1;
        let key = book.next;
        let deliveries = Arc::new(Deliveries::default());
        book.entries.insert(
            key,
            Entry {
                id: None,
                token: None,
                downstream,
                deliveries: deliveries.clone(),
            },
        );
        InFlight {
            relay: self.clone(),
            key,
            deliveries,
        }
    }

    /// A progress notification with `token` was read: its place among its request's
    /// progress, when the request is known by that token yet.
    pub(crate) fn arrived(&self, token: &ProgressToken) -> Option<ProgressOrder> {
        let book = self.book();
        let entry = book
            .entries
            .values()
            .find(|e| e.token.as_ref() == Some(token))?;
        Some(ProgressOrder(
            entry.deliveries.arrived.fetch_add(1, Ordering::SeqCst),
        ))
    }

    /// Deliver `progress` to the client of the request with its token (if any is in
    /// flight), after the ones read before it when its `arrival` is known.
    pub(crate) async fn progress(
        &self,
        progress: ProgressNotificationParam,
        arrival: Option<ProgressOrder>,
    ) {
        let Some((client, deliveries)) = self.by_token(&progress.progress_token).await else {
            return;
        };
        deliveries.pending.fetch_add(1, Ordering::SeqCst);
        if let Some(arrival) = arrival {
            deliveries.my_turn(arrival).await;
        }
        {
            // rmcp handles each notification on a task of its own, so two that arrive close
            // together can reach this point in either order. Progress only ever increases
            // (the spec requires it): one overtaken by a later value is stale and dropped.
            let mut last = deliveries.last.lock().await;
            if last.is_none_or(|last| progress.progress > last) {
                *last = Some(progress.progress);
                client.progress(progress).await;
            }
        }
        if let Some(arrival) = arrival {
            deliveries.next_turn(arrival);
        }
        deliveries.pending.fetch_sub(1, Ordering::SeqCst);
        deliveries.done.notify_waiters();
    }

    /// The client of the request that went out as `id`.
    pub(crate) fn by_request(&self, id: &RequestId) -> Option<Arc<dyn Downstream>> {
        self.book()
            .entries
            .values()
            .find(|e| e.id.as_ref() == Some(id))
            .map(|e| e.downstream.clone())
    }

    /// The client of the latest request in flight that can answer `request`, else of the
    /// latest request at all (stdio says nothing about which call a request belongs to).
    pub(crate) fn latest_for(&self, request: &ServerRequest) -> Option<Arc<dyn Downstream>> {
        let book = self.book();
        let latest = |able: bool| {
            book.entries
                .iter()
                .filter(|(_, e)| !able || e.downstream.can_answer(request))
                .max_by_key(|(key, _)| **key)
                .map(|(_, e)| e.downstream.clone())
        };
        latest(true).or_else(|| latest(false))
    }

    /// Deliver a log message to the client of the request that went out as `id`, or
    /// without one (stdio has no association) to the client of the one request in flight.
    /// The message back when no request claims it.
    pub(crate) async fn log(
        &self,
        id: Option<&RequestId>,
        message: LoggingMessageNotificationParam,
    ) -> Result<(), LoggingMessageNotificationParam> {
        let found = {
            let book = self.book();
            match id {
                Some(id) => book.entries.values().find(|e| e.id.as_ref() == Some(id)),
                None => {
                    let mut entries = book.entries.values();
                    match (entries.next(), entries.next()) {
                        (Some(entry), None) => Some(entry),
                        _ => None,
                    }
                }
            }
            .map(|e| (e.downstream.clone(), e.deliveries.clone()))
        };
        let Some((client, deliveries)) = found else {
            return Err(message);
        };
        deliveries.pending.fetch_add(1, Ordering::SeqCst);
        client.log(message).await;
        deliveries.pending.fetch_sub(1, Ordering::SeqCst);
        deliveries.done.notify_waiters();
        Ok(())
    }

    /// The client of the request with progress token `token`, waiting briefly while some
    /// request is registered but not yet bound.
    async fn by_token(
        &self,
        token: &ProgressToken,
    ) -> Option<(Arc<dyn Downstream>, Arc<Deliveries>)> {
        let deadline = tokio::time::Instant::now() + BIND_WAIT;
        loop {
            let bound = self.bound.notified();
            {
                let book = self.book();
                if let Some(entry) = book
                    .entries
                    .values()
                    .find(|e| e.token.as_ref() == Some(token))
                {
                    return Some((entry.downstream.clone(), entry.deliveries.clone()));
                }
                if book.entries.values().all(|e| e.id.is_some()) {
                    return None;
                }
            }
            if tokio::time::timeout_at(deadline, bound).await.is_err() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::NumberOrString;

    struct Named(&'static str);

    impl Downstream for Named {
        fn progress(&self, _: ProgressNotificationParam) -> BoxFuture<'static, ()> {
            Box::pin(async {})
        }
        fn log(&self, _: LoggingMessageNotificationParam) -> BoxFuture<'static, ()> {
            Box::pin(async {})
        }
        fn capabilities(&self) -> Option<ClientCapabilities> {
            None
        }
        fn takes_requests(&self) -> bool {
            true
        }
        fn wants_progress(&self) -> bool {
            false
        }
        fn can_answer(&self, _: &ServerRequest) -> bool {
            self.0 != "unable"
        }
        fn log_level(&self) -> Option<LoggingLevel> {
            None
        }
        fn request(&self, _: ServerRequest) -> BoxFuture<'static, Result<ClientResult, ErrorData>> {
            let name = self.0;
            Box::pin(async move { Err(ErrorData::internal_error(name, None)) })
        }
    }

    async fn name_of(d: Option<Arc<dyn Downstream>>) -> String {
        match d {
            None => "none".into(),
            Some(d) => match d
                .request(ServerRequest::PingRequest(Default::default()))
                .await
            {
                Err(e) => e.message.to_string(),
                Ok(_) => "?".into(),
            },
        }
    }

    #[tokio::test]
    async fn requests_are_found_by_id_token_and_recency_until_dropped() {
        let relay = Arc::new(Relay::default());
        let a = relay.register(Arc::new(Named("a")));
        a.bind(
            RequestId::Number(1),
            Some(ProgressToken(NumberOrString::Number(10))),
        );
        let b = relay.register(Arc::new(Named("b")));
        b.bind(RequestId::Number(2), None);
        assert_eq!(name_of(relay.by_request(&RequestId::Number(1))).await, "a");
        let ping = ServerRequest::PingRequest(Default::default());
        assert_eq!(name_of(relay.latest_for(&ping)).await, "b");
        let unable = relay.register(Arc::new(Named("unable")));
        unable.bind(RequestId::Number(3), None);
        assert_eq!(
            name_of(relay.latest_for(&ping)).await,
            "b",
            "a later client that cannot answer is passed over"
        );
        drop(unable);
        let token = ProgressToken(NumberOrString::Number(10));
        let found = |relay: Arc<Relay>, token: ProgressToken| async move {
            relay.by_token(&token).await.map(|(client, _)| client)
        };
        assert_eq!(
            name_of(found(relay.clone(), token.clone()).await).await,
            "a"
        );
        drop(a);
        assert_eq!(
            name_of(found(relay.clone(), token.clone()).await).await,
            "none"
        );
        drop(b);
        assert_eq!(name_of(relay.latest_for(&ping)).await, "none");
    }

    #[tokio::test]
    async fn a_token_arriving_before_its_binding_waits_for_it() {
        let relay = Arc::new(Relay::default());
        let pending = relay.register(Arc::new(Named("late")));
        let token = ProgressToken(NumberOrString::String("t".into()));
        let finder = {
            let relay = relay.clone();
            let token = token.clone();
            tokio::spawn(async move {
                name_of(relay.by_token(&token).await.map(|(client, _)| client)).await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        pending.bind(RequestId::Number(5), Some(token));
        assert_eq!(finder.await.expect("join"), "late");
    }
}
