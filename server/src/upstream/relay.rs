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
    /// Progress read for a token no request is bound to yet, while some request is not
    /// bound yet: how many, by token (the request that binds the token takes the count).
    early: HashMap<ProgressToken, u64>,
}

impl Book {
    /// The entry a log message about `origin` (the request whose stream it came on) is
    /// for: that request's, or without one (stdio has no association) the one request in
    /// flight.
    fn for_log(&self, origin: Option<&RequestId>) -> Option<(u64, &Entry)> {
        match origin {
            Some(id) => self
                .entries
                .iter()
                .find(|(_, e)| e.id.as_ref() == Some(id))
                .map(|(key, e)| (*key, e)),
            None => {
                let mut entries = self.entries.iter();
                match (entries.next(), entries.next()) {
                    (Some((key, entry)), None) => Some((*key, entry)),
                    _ => None,
                }
            }
        }
    }

    /// Whether every request in flight has gone out (no binding is awaited).
    fn all_bound(&self) -> bool {
        self.entries.values().all(|e| e.id.is_some())
    }

    /// Forget early progress once no request can claim it.
    fn settle_early(&mut self) {
        if !self.early.is_empty() && self.all_bound() {
            self.early.clear();
        }
    }
}

struct Entry {
    id: Option<RequestId>,
    token: Option<ProgressToken>,
    downstream: Arc<dyn Downstream>,
    deliveries: Arc<Deliveries>,
}

/// A request's client and the deliveries on their way to it.
type Handles = (Arc<dyn Downstream>, Arc<Deliveries>);

impl Entry {
    fn handles(&self) -> Handles {
        (self.downstream.clone(), self.deliveries.clone())
    }

    /// A message about this entry (relay key `key`) was read: its place, the next one.
    fn arrival(&self, key: u64) -> Arrival {
        Arrival {
            key: Some(key),
            place: self.deliveries.arrived.fetch_add(1, Ordering::SeqCst),
        }
    }
}

/// The progress and log messages of one request on their way to its client.
#[derive(Default)]
struct Deliveries {
    /// Messages being delivered now.
    pending: AtomicUsize,
    /// Woken when a delivery ends.
    done: Notify,
    /// The last progress value delivered; held while one is delivered, so they go out one
    /// at a time and in order.
    last: tokio::sync::Mutex<Option<f64>>,
    /// Messages read so far (each one's [`Arrival`] place).
    arrived: AtomicU64,
    /// Arrivals whose turn has come: each waits for those before it.
    turn: AtomicU64,
    /// Woken when `turn` moves.
    turned: Notify,
}

/// Where a progress or log message belongs, stamped as the transport reads it (see
/// `transport::ordered`): its request, and its place among that request's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arrival {
    /// The request's relay key; none for progress read before its token was bound (found
    /// by token once it is).
    key: Option<u64>,
    place: u64,
}

/// One message being delivered; dropped when it went out (or was dropped): the next
/// one's turn.
struct Turn {
    deliveries: Arc<Deliveries>,
    place: Option<u64>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let deliveries = &self.deliveries;
        if let Some(place) = self.place {
            deliveries.turn.fetch_max(place + 1, Ordering::SeqCst);
            deliveries.turned.notify_waiters();
        }
        deliveries.pending.fetch_sub(1, Ordering::SeqCst);
        deliveries.done.notify_waiters();
    }
}

/// How long a message waits for the ones read before it (their tasks are already
/// spawned; this bounds a wait on one that never comes).
const TURN_WAIT: Duration = Duration::from_millis(500);

impl Deliveries {
    /// Wait until every message read before `place` went out (or the wait is over).
    async fn my_turn(&self, place: u64) {
        let deadline = tokio::time::Instant::now() + TURN_WAIT;
        loop {
            let turned = self.turned.notified();
            if self.turn.load(Ordering::SeqCst) >= place {
                return;
            }
            if tokio::time::timeout_at(deadline, turned).await.is_err() {
                return;
            }
        }
    }

    /// Start delivering one message: counted as pending, and in its turn when its
    /// `place` is known. Dropping the [`Turn`] ends the delivery.
    async fn start(self: Arc<Self>, place: Option<u64>) -> Turn {
        self.pending.fetch_add(1, Ordering::SeqCst);
        let turn = Turn {
            deliveries: self,
            place,
        };
        if let Some(place) = place {
            turn.deliveries.my_turn(place).await;
        }
        turn
    }

    /// Whether every message read so far went out and none is going out now.
    fn settled(&self) -> bool {
        self.pending.load(Ordering::SeqCst) == 0
            && self.turn.load(Ordering::SeqCst) >= self.arrived.load(Ordering::SeqCst)
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
        {
            let mut book = self.relay.book();
            let early = token.as_ref().and_then(|t| book.early.remove(t));
            if let Some(entry) = book.entries.get_mut(&self.key) {
                // Progress read before this binding took the first places.
                entry
                    .deliveries
                    .arrived
                    .fetch_add(early.unwrap_or(0), Ordering::SeqCst);
                entry.id = Some(id);
                entry.token = token;
            }
            book.settle_early();
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
    /// client first: rmcp hands each notification to a task of its own, which may not
    /// have run yet. Every message stamped as read (all of them, but for a rare log
    /// message that overtook its request's binding) is waited for; the yields give an
    /// unstamped one its chance.
    pub(crate) async fn flush(&self) {
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        let deadline = tokio::time::Instant::now() + FLUSH_WAIT;
        loop {
            let done = self.deliveries.done.notified();
            if self.deliveries.settled() {
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
        let mut book = self.relay.book();
        book.entries.remove(&self.key);
        book.settle_early();
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

    /// A progress notification with `token` was read: its request and place, when some
    /// request is or may yet be bound to the token.
    pub(crate) fn progress_arrived(&self, token: &ProgressToken) -> Option<Arrival> {
        let mut book = self.book();
        if let Some((key, entry)) = book
            .entries
            .iter()
            .find(|(_, e)| e.token.as_ref() == Some(token))
        {
            return Some(entry.arrival(*key));
        }
        if book.all_bound() {
            return None;
        }
        let early = book.early.entry(token.clone()).or_default();
        let place = *early;
        *early += 1;
        Some(Arrival { key: None, place })
    }

    /// A log message about `origin` was read: its request and place, when it has one.
    pub(crate) fn log_arrived(&self, origin: Option<&RequestId>) -> Option<Arrival> {
        let book = self.book();
        let (key, entry) = book.for_log(origin)?;
        Some(entry.arrival(key))
    }

    /// The client and deliveries of the request with relay key `key`.
    fn by_key(&self, key: u64) -> Option<Handles> {
        self.book().entries.get(&key).map(Entry::handles)
    }

    /// Deliver `progress` to the client of the request with its token (if any is in
    /// flight), after the messages read before it when its `arrival` is known.
    pub(crate) async fn progress(
        &self,
        progress: ProgressNotificationParam,
        arrival: Option<Arrival>,
    ) {
        let found = match arrival.and_then(|a| a.key) {
            Some(key) => self.by_key(key),
            None => self.by_token(&progress.progress_token).await,
        };
        let Some((client, deliveries)) = found else {
            return;
        };
        let _turn = deliveries.clone().start(arrival.map(|a| a.place)).await;
        // Progress only ever increases (the spec requires it): one overtaken by a later
        // value (an unstamped one, or one whose turn never came) is stale and dropped.
        let mut last = deliveries.last.lock().await;
        if last.is_none_or(|last| progress.progress > last) {
            *last = Some(progress.progress);
            client.progress(progress).await;
        }
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

    /// Deliver a log message to the client of its request (`arrival`'s when stamped, else
    /// [`Book::for_log`]'s), after the messages read before it. The message back when no
    /// request claims it.
    pub(crate) async fn log(
        &self,
        origin: Option<&RequestId>,
        message: LoggingMessageNotificationParam,
        arrival: Option<Arrival>,
    ) -> Result<(), LoggingMessageNotificationParam> {
        let found = match arrival.and_then(|a| a.key) {
            Some(key) => self.by_key(key),
            None => self.book().for_log(origin).map(|(_, e)| e.handles()),
        };
        let Some((client, deliveries)) = found else {
            return Err(message);
        };
        let _turn = deliveries.start(arrival.map(|a| a.place)).await;
        client.log(message).await;
        Ok(())
    }

    /// The client of the request with progress token `token`, waiting briefly while some
    /// request is registered but not yet bound.
    async fn by_token(&self, token: &ProgressToken) -> Option<Handles> {
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
                    return Some(entry.handles());
                }
                if book.all_bound() {
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

    /// A client known by its name, which writes down the progress and log messages that
    /// reach it.
    struct Named(&'static str, Mutex<Vec<String>>);

    fn named(name: &'static str) -> Arc<Named> {
        Arc::new(Named(name, Mutex::default()))
    }

    impl Named {
        fn seen(&self) -> Vec<String> {
            crate::sync::lock(&self.1).clone()
        }
    }

    impl Downstream for Named {
        fn progress(&self, progress: ProgressNotificationParam) -> BoxFuture<'static, ()> {
            crate::sync::lock(&self.1).push(format!("progress {}", progress.progress));
            Box::pin(async {})
        }
        fn log(&self, message: LoggingMessageNotificationParam) -> BoxFuture<'static, ()> {
            crate::sync::lock(&self.1).push(format!("log {}", message.data));
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
        let a = relay.register(named("a"));
        a.bind(
            RequestId::Number(1),
            Some(ProgressToken(NumberOrString::Number(10))),
        );
        let b = relay.register(named("b"));
        b.bind(RequestId::Number(2), None);
        assert_eq!(name_of(relay.by_request(&RequestId::Number(1))).await, "a");
        let ping = ServerRequest::PingRequest(Default::default());
        assert_eq!(name_of(relay.latest_for(&ping)).await, "b");
        let unable = relay.register(named("unable"));
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
        let pending = relay.register(named("late"));
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

    fn progress_of(token: &ProgressToken, value: f64) -> ProgressNotificationParam {
        ProgressNotificationParam::new(token.clone(), value)
    }

    fn log_of(text: &str) -> LoggingMessageNotificationParam {
        LoggingMessageNotificationParam::new(LoggingLevel::Info, text.into())
    }

    /// A message read before the answer is delivered before the answer goes, even when
    /// its task has not started by the time the answer arrives (on a busy machine a task
    /// rmcp spawned can wait longer than any number of yields).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_answer_waits_for_every_message_read_before_it() {
        let relay = Arc::new(Relay::default());
        let client = named("recorder");
        let token = ProgressToken(NumberOrString::Number(1));
        let in_flight = relay.register(client.clone());
        in_flight.bind(RequestId::Number(1), Some(token.clone()));
        let progress = relay.progress_arrived(&token);
        let log = relay.log_arrived(None);
        // Each on a task of its own, as rmcp runs them: the later one starts first.
        let late_log = {
            let relay = relay.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                relay.log(None, log_of("late"), log).await.expect("claimed");
            })
        };
        let late_progress = {
            let relay = relay.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(60)).await;
                relay.progress(progress_of(&token, 1.0), progress).await;
            })
        };
        in_flight.flush().await;
        assert_eq!(
            client.seen(),
            ["progress 1", "log \"late\""],
            "both went out before the flush ended, in the order they were read"
        );
        late_log.await.expect("join");
        late_progress.await.expect("join");
    }

    /// Progress read before its request was bound takes the first places: delivered in
    /// read order, whatever order their tasks run in.
    #[tokio::test]
    async fn progress_read_before_the_binding_keeps_its_place() {
        let relay = Arc::new(Relay::default());
        let client = named("recorder");
        let token = ProgressToken(NumberOrString::String("early".into()));
        let in_flight = relay.register(client.clone());
        let first = relay.progress_arrived(&token);
        assert_eq!(
            first,
            Some(Arrival {
                key: None,
                place: 0
            })
        );
        in_flight.bind(RequestId::Number(7), Some(token.clone()));
        let second = relay.progress_arrived(&token);
        assert_eq!(second.map(|a| a.place), Some(1));
        let overtaking = {
            let relay = relay.clone();
            let token = token.clone();
            tokio::spawn(async move { relay.progress(progress_of(&token, 2.0), second).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(client.seen().is_empty(), "the second waits for the first");
        relay.progress(progress_of(&token, 1.0), first).await;
        overtaking.await.expect("join");
        assert_eq!(client.seen(), ["progress 1", "progress 2"]);
        in_flight.flush().await;
        assert!(crate::sync::lock(&relay.book).early.is_empty());
    }

    /// Progress for a token no request takes is forgotten once every request is bound.
    #[tokio::test]
    async fn early_progress_nobody_claims_is_forgotten() {
        let relay = Arc::new(Relay::default());
        let in_flight = relay.register(named("stray"));
        let stray = ProgressToken(NumberOrString::Number(99));
        assert!(relay.progress_arrived(&stray).is_some());
        in_flight.bind(RequestId::Number(1), None);
        assert!(crate::sync::lock(&relay.book).early.is_empty());
        assert_eq!(
            relay.progress_arrived(&stray),
            None,
            "nobody can claim it now"
        );
    }
}
