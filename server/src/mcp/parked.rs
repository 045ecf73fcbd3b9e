//! Input-required results for 2026-07-28 clients of 2025 upstreams (SEP-2322, translated).
//!
//! A 2025 server asks for sampling, elicitation or roots with a request on the call's
//! stream and waits for the answer; a 2026-07-28 client takes no requests from servers —
//! it gets an input-required result and calls again with `inputResponses`. So a 2026-07-28
//! client's `tools/call` runs on a task of its own, and its client link here
//! ([`Relayed`]) turns each request the upstream raises into an event. The first one ends
//! the client's request with an input-required result naming what is asked and a
//! `requestState` that is a handle into [`Parked`]; the call itself stays parked, the
//! upstream still waiting. The retry carrying that handle delivers the answers and waits
//! for what comes next: the result, or the next round of requests.
//!
//! A handle is an unguessable random id, good once; a retry without answers to everything
//! asked gets the rest asked again. A call whose client never comes back is dropped (and
//! the upstream request cancelled) after [`PARK_LIMIT`], or when more than [`MAX_PARKED`]
//! calls wait.

#![expect(
    deprecated,
    reason = "sampling, roots and logging are deprecated by SEP-2577 but today's servers use them"
)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolResponse, ClientCapabilities, ClientResult, CreateMessageResult, ElicitResult,
    ErrorCode, InputRequest, InputRequests, InputRequiredResult, InputResponses, ListRootsResult,
    LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam, ServerRequest,
};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::client_link::ClientLink;
use crate::upstream::{CallLink, Downstream};

/// Every handle starts with this; a `requestState` without it is the upstream's own.
const STATE_PREFIX: &str = "mcpproxy-mrtr-";

/// Longest a call waits for its client to come back with answers.
const PARK_LIMIT: Duration = Duration::from_secs(600);

/// Most calls parked at once; the oldest go first past this.
const MAX_PARKED: usize = 1024;

/// The answer to one request of the upstream.
type Answer = oneshot::Sender<Result<ClientResult, McpError>>;

/// What a parked call says.
enum Event {
    /// The upstream asked the client something.
    Asked(ServerRequest, Answer),
    /// The call is over.
    Done(Result<CallToolResponse, McpError>),
}

/// One request the client was asked and has not answered yet.
struct Question {
    request: ServerRequest,
    answer: Answer,
}

/// A call waiting for its client's answers.
struct ParkedCall {
    /// The tool called (a retry must name the same).
    tool: String,
    events: mpsc::UnboundedReceiver<Event>,
    open: BTreeMap<String, Question>,
    next_key: usize,
    client: Arc<Relayed>,
    parked_at: Instant,
    /// Cancels the upstream call when the parked call is dropped unfinished.
    _cancel: DropGuard,
}

/// The calls of 2026-07-28 clients waiting for answers, by handle.
#[derive(Default)]
pub struct Parked {
    calls: Mutex<HashMap<String, ParkedCall>>,
}

impl Parked {
    /// Whether `state` is one of this proxy's handles (else the upstream's own).
    pub fn owns(state: Option<&String>) -> bool {
        state.is_some_and(|s| s.starts_with(STATE_PREFIX))
    }

    /// Run a 2026-07-28 client's call, made by `start` with the link it is given, or
    /// resume it when `state` is a handle of ours; its answer or the next input request.
    pub async fn call<F>(
        &self,
        tool: &str,
        state: Option<&String>,
        responses: Option<&InputResponses>,
        client: Arc<ClientLink>,
        cancel: &CancellationToken,
        start: F,
    ) -> Result<CallToolResponse, McpError>
    where
        F: FnOnce(CallLink) -> BoxFuture<'static, Result<CallToolResponse, McpError>>,
    {
        let call = match state.filter(|s| s.starts_with(STATE_PREFIX)) {
            Some(handle) => {
                let mut call = self.take(handle)?;
                if call.tool != tool {
                    let asked_for = call.tool.clone();
                    self.park(handle.clone(), call);
                    return Err(McpError::invalid_params(
                        format!("requestState belongs to a call of `{asked_for}`, not `{tool}`"),
                        Some(json!({"requestState": handle})),
                    ));
                }
                call.client.swap(client);
                call.deliver(responses)?;
                call
            }
            None => {
                let (events, receiver) = mpsc::unbounded_channel();
                let relayed = Arc::new(Relayed {
                    current: Mutex::new(client),
                    events: events.clone(),
                });
                let token = CancellationToken::new();
                let future = start(CallLink::new(relayed.clone(), token.clone()));
                tokio::spawn(async move {
                    let _ = events.send(Event::Done(future.await));
                });
                ParkedCall {
                    tool: tool.to_string(),
                    events: receiver,
                    open: BTreeMap::new(),
                    next_key: 0,
                    client: relayed,
                    parked_at: Instant::now(),
                    _cancel: token.drop_guard(),
                }
            }
        };
        self.next(call, cancel).await
    }

    /// Wait for what `call` does next: its result, or questions for the client (then it is
    /// parked under a new handle).
    async fn next(
        &self,
        mut call: ParkedCall,
        cancel: &CancellationToken,
    ) -> Result<CallToolResponse, McpError> {
        if call.open.is_empty() {
            let event = tokio::select! {
                event = call.events.recv() => event,
                // Dropping `call` cancels the upstream request.
                () = cancel.cancelled() => return Err(McpError::internal_error("cancelled by the client", None)),
            };
            match event {
                Some(Event::Done(outcome)) => return outcome,
                Some(Event::Asked(request, answer)) => call.ask(request, answer),
                None => {
                    return Err(McpError::internal_error(
                        "the call ended without a result",
                        None,
                    ));
                }
            }
            // What the upstream asked at the same time goes in the same round.
            while let Ok(event) = call.events.try_recv() {
                match event {
                    Event::Asked(request, answer) => call.ask(request, answer),
                    Event::Done(outcome) => return outcome,
                }
            }
        }
        let asked: InputRequests = call
            .open
            .iter()
            .filter_map(|(key, q)| Some((key.clone(), input_request(&q.request)?)))
            .collect();
        let handle = format!("{STATE_PREFIX}{}", uuid::Uuid::new_v4());
        self.park(handle.clone(), call);
        Ok(InputRequiredResult::new(Some(asked), Some(handle)).into())
    }

    fn park(&self, handle: String, mut call: ParkedCall) {
        call.parked_at = Instant::now();
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.retain(|_, c| c.parked_at.elapsed() < PARK_LIMIT);
        if calls.len() >= MAX_PARKED
            && let Some(oldest) = calls
                .iter()
                .min_by_key(|(_, c)| c.parked_at)
                .map(|(k, _)| k.clone())
        {
            calls.remove(&oldest);
        }
        calls.insert(handle, call);
    }

    fn take(&self, handle: &str) -> Result<ParkedCall, McpError> {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls
            .remove(handle)
            .filter(|c| c.parked_at.elapsed() < PARK_LIMIT)
            .ok_or_else(|| {
                McpError::invalid_params(
                    "requestState is unknown, used already or expired: call the tool again without it",
                    Some(json!({"requestState": handle})),
                )
            })
    }
}

impl ParkedCall {
    fn ask(&mut self, request: ServerRequest, answer: Answer) {
        self.next_key += 1;
        let key = format!("input-{}", self.next_key);
        self.open.insert(key, Question { request, answer });
    }

    /// Hand the client's answers to the upstream requests waiting for them; what is not
    /// answered stays open. A malformed answer is the client's error.
    fn deliver(&mut self, responses: Option<&InputResponses>) -> Result<(), McpError> {
        let Some(responses) = responses else {
            return Ok(());
        };
        let mut answered = Vec::new();
        for (key, question) in &self.open {
            if let Some(value) = responses.get(key) {
                answered.push((key.clone(), client_result(&question.request, value, key)?));
            }
        }
        for (key, result) in answered {
            if let Some(question) = self.open.remove(&key) {
                let _ = question.answer.send(Ok(result));
            }
        }
        Ok(())
    }
}

/// `request` as an input request of a 2026-07-28 result.
fn input_request(request: &ServerRequest) -> Option<InputRequest> {
    match request {
        ServerRequest::CreateMessageRequest(r) => Some(InputRequest::CreateMessage(r.clone())),
        ServerRequest::ElicitRequest(r) => Some(InputRequest::Elicitation(r.clone())),
        ServerRequest::ListRootsRequest(r) => Some(InputRequest::ListRoots(r.clone())),
        _ => None,
    }
}

/// The client's answer `value` (under `key`) to `request`, typed.
fn client_result(
    request: &ServerRequest,
    value: &serde_json::Value,
    key: &str,
) -> Result<ClientResult, McpError> {
    let parsed = match request {
        ServerRequest::CreateMessageRequest(_) => {
            serde_json::from_value::<CreateMessageResult>(value.clone())
                .map(|r| ClientResult::CreateMessageResult(Box::new(r)))
        }
        ServerRequest::ElicitRequest(_) => {
            serde_json::from_value::<ElicitResult>(value.clone()).map(ClientResult::ElicitResult)
        }
        ServerRequest::ListRootsRequest(_) => {
            serde_json::from_value::<ListRootsResult>(value.clone())
                .map(ClientResult::ListRootsResult)
        }
        _ => return Ok(ClientResult::empty(())),
    };
    parsed.map_err(|e| {
        McpError::invalid_params(
            format!("inputResponses.{key} is not an answer to what was asked: {e}"),
            None,
        )
    })
}

/// The client link of a parked call: progress and log messages go to the request the
/// client has open now; requests of the upstream become [`Event::Asked`].
struct Relayed {
    current: Mutex<Arc<ClientLink>>,
    events: mpsc::UnboundedSender<Event>,
}

impl Relayed {
    fn current(&self) -> Arc<ClientLink> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn swap(&self, client: Arc<ClientLink>) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = client;
    }
}

impl Downstream for Relayed {
    fn progress(&self, progress: ProgressNotificationParam) -> BoxFuture<'static, ()> {
        self.current().progress(progress)
    }

    fn log(&self, message: LoggingMessageNotificationParam) -> BoxFuture<'static, ()> {
        self.current().log(message)
    }

    fn request(
        &self,
        request: ServerRequest,
    ) -> BoxFuture<'static, Result<ClientResult, McpError>> {
        let current = self.current();
        if input_request(&request).is_none() {
            // A ping or anything else a 2026-07-28 client is not asked with a result.
            return current.request(request);
        }
        if let Some(missing) = current.missing_capability(&request) {
            return Box::pin(async move {
                Err(McpError::new(ErrorCode::METHOD_NOT_FOUND, missing, None))
            });
        }
        let (answer, answered) = oneshot::channel();
        let sent = self.events.send(Event::Asked(request, answer));
        Box::pin(async move {
            if sent.is_err() {
                return Err(McpError::internal_error("the client went away", None));
            }
            answered.await.unwrap_or_else(|_| {
                Err(McpError::internal_error(
                    "the client did not come back with an answer",
                    None,
                ))
            })
        })
    }

    fn capabilities(&self) -> Option<ClientCapabilities> {
        self.current().capabilities()
    }

    fn takes_requests(&self) -> bool {
        false
    }

    fn wants_progress(&self) -> bool {
        self.current().wants_progress()
    }

    fn can_answer(&self, request: &ServerRequest) -> bool {
        input_request(request).is_some() && self.current().missing_capability(request).is_none()
    }

    fn log_level(&self) -> Option<LoggingLevel> {
        self.current().log_level()
    }
}
