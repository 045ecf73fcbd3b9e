//! Routing a request to a ready upstream: `UpstreamManager::call_tool`, `call` and
//! `forward`. A request goes out on the server's direct HTTP lane when it can (a plain
//! 2025 `tools/call`), otherwise through rmcp on the session that fits its client (the
//! server's own, a 2026-07-28 companion, or inline 2026-07-28 on a 2025 session), with the
//! client's per-request metadata; what the server says about it goes to the client
//! (`relay`), a client's cancellation goes to the server, input-required answers are asked
//! of a client that takes requests, and a failure becomes an [`UpstreamError`] with the
//! server's secrets redacted (a lost connection is reported to the supervisor).

use std::{sync::Arc, time::Duration};

use rmcp::{
    ServiceError,
    model::RequestMetaObject,
    model::{
        CallToolRequest, CallToolRequestParams, CallToolResponse, CallToolResult,
        CancelledNotificationParam, ClientCapabilities, ClientRequest, DEFAULT_MRTR_MAX_ROUNDS,
        InputRequest, InputResponses, ProtocolVersion, ServerRequest, ServerResult,
    },
    service::PeerRequestOptions,
};
use tokio::sync::mpsc;

use super::{
    error::UpstreamError,
    manager::UpstreamManager,
    relay::{CallLink, Downstream},
    status::{Link, Shared},
    supervisor::Control,
    transport::http_lane::{HttpLane, LaneError},
};

impl UpstreamManager {
    /// Call a tool on a ready server, with a timeout; `link` is the client it is for. An
    /// answer other than a complete result (input required, a task) is an error here; see
    /// [`Self::call`] for the whole answer.
    pub async fn call_tool(
        &self,
        server: &str,
        tool: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
        timeout: Duration,
        link: &CallLink,
    ) -> Result<CallToolResult, UpstreamError> {
        let mut params = CallToolRequestParams::new(tool.to_string());
        if let Some(arguments) = arguments {
            params = params.with_arguments(arguments);
        }
        match self.call(server, params, timeout, link).await? {
            CallToolResponse::Complete(result) => Ok(result),
            _ => Err(UpstreamError::needs_a_client(server, tool)),
        }
    }

    /// `tools/call` with `params` (tool name, arguments and, for a 2026-07-28 retry, the
    /// client's input responses and request state) on a ready server, with a timeout;
    /// the server's answer as it is: complete, input required, or a task.
    pub async fn call(
        &self,
        server: &str,
        params: CallToolRequestParams,
        timeout: Duration,
        link: &CallLink,
    ) -> Result<CallToolResponse, UpstreamError> {
        let ready = self.ready(server)?;
        let tool = params.name.to_string();
        let plain = params.input_responses.is_none() && params.request_state.is_none();
        // A 2026-07-28 client of a 2025 session goes where the server answers at 2026-07-28.
        let modern_client = link
            .downstream
            .as_ref()
            .is_some_and(|c| !c.takes_requests());
        let lane = ready
            .link
            .direct
            .as_ref()
            .filter(|_| plain && !speaks_2026(&ready.link.peer))
            .filter(|_| !(modern_client && ready.link.modern.is_some()));
        let attempt = async {
            match lane {
                // The lane carries a 2025 session's call and what the server says on its
                // stream to the call's client (2026-07-28 requests need rmcp's headers).
                Some(lane) => call_direct(lane, &ready, &params, link)
                    .await
                    .map(Into::into),
                None => call_answering(&ready, params, link).await,
            }
        };
        let outcome = tokio::time::timeout(timeout, attempt).await;
        match outcome {
            Err(_) => Err(UpstreamError::Timeout {
                server: server.to_string(),
                tool,
                after: timeout,
            }),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(CallFailure::NeedsInput)) => Err(UpstreamError::needs_a_client(server, &tool)),
            Ok(Err(CallFailure::Rpc(error))) => Err(ready.failure(&tool, error)),
            Ok(Err(failure)) => Err(ready.fail(&format!("{server}:{tool}"), failure)),
        }
    }

    /// Forward `request` as it is to a ready server for the client of `link`; its result as
    /// it is. A JSON-RPC error of the server is [`UpstreamError::Refused`].
    pub async fn forward(
        &self,
        server: &str,
        request: ClientRequest,
        timeout: Duration,
        link: &CallLink,
    ) -> Result<ServerResult, UpstreamError> {
        let ready = self.ready(server)?;
        let method = request.method().to_string();
        match tokio::time::timeout(timeout, send_linked(&ready, request, link)).await {
            Err(_) => Err(UpstreamError::Transport {
                server: server.to_string(),
                message: format!("{method} timed out after {timeout:?}"),
            }),
            Ok(Ok(result)) => Ok(result),
            Ok(Err(CallFailure::Rpc(error))) => Err(UpstreamError::Refused {
                server: server.to_string(),
                method,
                error: ready.redact_error(error),
            }),
            Ok(Err(failure)) => Err(ready.fail(&method, failure)),
        }
    }
}

/// A ready server's connection, for one request.
pub(super) struct Ready {
    pub(super) shared: Arc<Shared>,
    pub(super) control: mpsc::UnboundedSender<Control>,
    pub(super) link: Link,
    pub(super) session: u64,
}

impl Ready {
    /// A tool call's JSON-RPC error, with no secret of the server in it: errors go back to
    /// the agent and into the call history.
    fn failure(&self, tool: &str, error: rmcp::ErrorData) -> UpstreamError {
        let error = self.redact_error(error);
        UpstreamError::ToolCall {
            server: self.shared.name.clone(),
            tool: tool.to_string(),
            message: error.message.into_owned(),
            code: Some(error.code.0),
            data: error.data,
        }
    }

    /// The server's error, with no secret of the server in its message or data (data that
    /// no longer parses once redacted is dropped).
    fn redact_error(&self, mut error: rmcp::ErrorData) -> rmcp::ErrorData {
        error.message = self.shared.log.redact(&error.message).into();
        error.data = error.data.take().and_then(|data| {
            let redacted = self.shared.log.redact(&data.to_string());
            serde_json::from_str(&redacted).ok()
        });
        error
    }

    /// What a failure of `method` means; a lost connection is reported to the supervisor.
    fn fail(&self, method: &str, failure: CallFailure) -> UpstreamError {
        let server = self.shared.name.clone();
        match failure {
            CallFailure::Cancelled => UpstreamError::Cancelled {
                server,
                method: method.to_string(),
            },
            CallFailure::NeedsInput => UpstreamError::Transport {
                server,
                message: format!("{method}: the server's answer is of an unexpected kind"),
            },
            CallFailure::Rpc(error) => UpstreamError::Refused {
                server,
                method: method.to_string(),
                error: self.redact_error(error),
            },
            CallFailure::Other(message) => UpstreamError::Transport {
                server,
                message: self.shared.log.redact(&format!("{method}: {message}")),
            },
            CallFailure::Lost(cause) => {
                let message = self
                    .shared
                    .log
                    .redact(&format!("connection lost during the call: {cause}"));
                let _ = self.control.send(Control::Broken {
                    session: self.session,
                    message: message.clone(),
                });
                UpstreamError::Transport { server, message }
            }
        }
    }
}

/// `tools/call` through rmcp. When the server answers input-required (2026-07-28) and the
/// client takes requests (a 2025 session), the proxy asks the client each input request,
/// as a request on the call's stream, and calls again with the answers and the server's
/// request state, for at most [`DEFAULT_MRTR_MAX_ROUNDS`] rounds; a 2026-07-28 client gets
/// the input-required result itself.
async fn call_answering(
    ready: &Ready,
    mut params: CallToolRequestParams,
    link: &CallLink,
) -> Result<CallToolResponse, CallFailure> {
    for _ in 0..DEFAULT_MRTR_MAX_ROUNDS {
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params.clone()));
        let response = response_of(send_linked(ready, request, link).await?)?;
        let (CallToolResponse::InputRequired(asked), Some(client)) = (&response, &link.downstream)
        else {
            return Ok(response);
        };
        if !client.takes_requests() {
            return Ok(response);
        }
        let mut answers = InputResponses::new();
        for (key, input) in asked.input_requests.clone().unwrap_or_default() {
            let request = match input {
                InputRequest::CreateMessage(r) => ServerRequest::CreateMessageRequest(r),
                InputRequest::Elicitation(r) => ServerRequest::ElicitRequest(r),
                InputRequest::ListRoots(r) => ServerRequest::ListRootsRequest(r),
                _ => return Ok(response),
            };
            let answer = client.request(request).await.map_err(CallFailure::Rpc)?;
            let answer = serde_json::to_value(answer)
                .map_err(|e| CallFailure::Other(format!("the client's answer: {e}")))?;
            answers.insert(key, answer);
        }
        params.input_responses = Some(answers);
        params.request_state = asked.request_state.clone();
    }
    Err(CallFailure::Other(format!(
        "the server still asked for input after {DEFAULT_MRTR_MAX_ROUNDS} rounds"
    )))
}

/// A `tools/call` answer of rmcp as the tool call's response.
fn response_of(result: ServerResult) -> Result<CallToolResponse, CallFailure> {
    match result {
        ServerResult::CallToolResult(result) => Ok(CallToolResponse::Complete(result)),
        ServerResult::InputRequiredResult(result) => Ok(CallToolResponse::InputRequired(result)),
        ServerResult::CreateTaskResult(result) => Ok(CallToolResponse::Task(result)),
        _ => Err(CallFailure::NeedsInput),
    }
}

/// Why a request to an upstream failed, whichever lane it took.
enum CallFailure {
    /// The server answered with something other than a complete result.
    NeedsInput,
    /// A JSON-RPC error from the server.
    Rpc(rmcp::ErrorData),
    /// The client called it off (and the server was told).
    Cancelled,
    /// The connection went away.
    Lost(String),
    /// Anything else.
    Other(String),
}

impl From<ServiceError> for CallFailure {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::McpError(error) => Self::Rpc(error),
            error @ (ServiceError::TransportClosed
            | ServiceError::TransportSend(_)
            | ServiceError::Cancelled { .. }) => Self::Lost(super::error::error_chain(&error)),
            error => Self::Other(super::error::error_chain(&error)),
        }
    }
}

/// Whether the server negotiated 2026-07-28 or later (per-request metadata).
fn speaks_2026(peer: &rmcp::service::Peer<rmcp::RoleClient>) -> bool {
    peer.peer_info()
        .is_some_and(|info| !super::transport::lifecycle::is_legacy(info.protocol_version.as_str()))
}

/// The per-request metadata `client`'s requests carry on `session`, if any.
///
/// - A 2026-07-28 session: the client's capabilities (the server judges each request by
///   them, not by the proxy's, which can do everything a client can) and its log level (the
///   server sends log messages only at the level a request asks for).
/// - A 2026-07-28 request on a 2025 session (inline, SEP-2575): the same and the request's
///   own revision, so the server answers it as the 2026-07-28 request it is (input-required
///   results, -32021 for a missing capability).
fn request_meta(session: &Session<'_>, client: &dyn Downstream) -> Option<RequestMetaObject> {
    let modern_session = speaks_2026(session.peer);
    if !(modern_session || session.inline) {
        return None;
    }
    let mut meta = RequestMetaObject::new();
    if session.inline {
        meta.set_protocol_version(ProtocolVersion::LATEST);
    }
    if let Some(capabilities) = client.capabilities() {
        meta.set_client_capabilities(capabilities);
    } else if session.inline {
        // The revision requires the key; a client that declared nothing can do nothing.
        meta.set_client_capabilities(ClientCapabilities::default());
    }
    if let Some(level) = client.log_level() {
        meta.set_log_level(level);
    }
    Some(meta)
}

/// The rmcp session a request goes out on, and the relay of its requests.
struct Session<'a> {
    peer: &'a rmcp::service::Peer<rmcp::RoleClient>,
    relay: &'a Arc<super::relay::Relay>,
    /// A 2026-07-28 request on a 2025 session (its revision in its `_meta`).
    inline: bool,
}

/// The session for requests of `link`'s client: the server's own, or, for a 2026-07-28
/// client of a 2025 session whose server takes 2026-07-28 requests, the way it takes them
/// ([`Modern`](super::transport::Modern)).
async fn session_for<'a>(ready: &'a Ready, link: &CallLink) -> Session<'a> {
    use super::transport::Modern;
    let own = Session {
        peer: &ready.link.peer,
        relay: &ready.shared.relay,
        inline: false,
    };
    let modern_client = link
        .downstream
        .as_ref()
        .is_some_and(|c| !c.takes_requests());
    let Some(modern) = ready.link.modern.as_deref().filter(|_| modern_client) else {
        return own;
    };
    match modern {
        Modern::Companion(companion) => match companion.get().await {
            Some(opened) => Session {
                peer: opened.peer(),
                relay: &opened.relay,
                inline: false,
            },
            None => own,
        },
        Modern::Inline(probe) => Session {
            inline: probe.accepts(own.peer, &ready.shared.log).await,
            ..own
        },
    }
}

/// Send `request` through rmcp, routing what the server says about it to `link`'s client
/// and telling the server when the client calls it off.
async fn send_linked(
    ready: &Ready,
    request: ClientRequest,
    link: &CallLink,
) -> Result<ServerResult, CallFailure> {
    let session = session_for(ready, link).await;
    let peer = session.peer;
    let in_flight = link
        .downstream
        .clone()
        .map(|client| session.relay.register(client));
    let mut options = PeerRequestOptions::no_options();
    if let Some(client) = &link.downstream {
        options.meta = request_meta(&session, client.as_ref());
    }
    let handle = peer.send_cancellable_request(request, options).await?;
    let id = handle.id.clone();
    if let Some(in_flight) = &in_flight {
        in_flight.bind(id.clone(), Some(handle.progress_token.clone()));
    }
    tokio::select! {
        answer = handle.await_response() => {
            // A client that takes neither progress nor log messages has nothing to wait for
            // (the flush yields 8 times: a cost on every plain call).
            if let Some(in_flight) = &in_flight
                && link.downstream.as_ref().is_some_and(|c| c.listens())
            {
                in_flight.flush().await;
            }
            Ok(answer?)
        }
        () = link.cancel.cancelled() => {
            let notice = CancelledNotificationParam::new(Some(id), Some("cancelled by the client".into()));
            // The connection may be gone already; the request is off either way.
            let _ = peer.notify_cancelled(notice).await;
            Err(CallFailure::Cancelled)
        }
    }
}

/// `tools/call` parameters, borrowed for the direct lane.
#[derive(serde::Serialize)]
struct LaneCallParams<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// The proxy's own `_meta` (trace context), when it has one.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<&'a rmcp::model::RequestMetaObject>,
}

/// `tools/call` on the direct lane (streamable HTTP); through rmcp when the lane cannot
/// be sure the server saw it.
async fn call_direct(
    lane: &HttpLane,
    ready: &Ready,
    params: &CallToolRequestParams,
    link: &CallLink,
) -> Result<CallToolResult, CallFailure> {
    let lane_params = LaneCallParams {
        name: &params.name,
        arguments: params.arguments.as_ref(),
        meta: params.meta.as_ref(),
    };
    // The lane relays what comes on the call's stream; what the server sends elsewhere
    // (a request on its GET stream) reaches the client through the relay.
    let in_flight = link
        .downstream
        .clone()
        .map(|client| ready.shared.relay.register(client));
    if let Some(in_flight) = &in_flight {
        in_flight.bind_outside_rmcp();
    }
    match lane
        .request(
            "tools/call",
            &lane_params,
            link.downstream.as_ref(),
            &link.cancel,
        )
        .await
    {
        Ok(result) => serde_json::from_str::<CallToolResult>(result.get()).map_err(|e| {
            // rmcp refuses a result of another type; one that asks for input, or is a
            // task, is not an answer to pass on as it is.
            #[derive(serde::Deserialize)]
            struct Kind<'a> {
                #[serde(rename = "resultType", borrow, default)]
                result_type: Option<std::borrow::Cow<'a, str>>,
            }
            let kind = serde_json::from_str::<Kind>(result.get()).ok();
            match kind.and_then(|k| k.result_type) {
                Some(t) if t != "complete" => CallFailure::NeedsInput,
                _ => CallFailure::Other(format!("the server's result is malformed: {e}")),
            }
        }),
        Err(LaneError::Rpc { code, message }) => Err(CallFailure::Rpc(rmcp::ErrorData::new(
            rmcp::model::ErrorCode(code),
            message,
            None,
        ))),
        Err(LaneError::Transport(message)) => Err(CallFailure::Lost(message)),
        Err(LaneError::Cancelled) => Err(CallFailure::Cancelled),
        Err(LaneError::Fallback) => {
            let request = ClientRequest::CallToolRequest(CallToolRequest::new(params.clone()));
            match response_of(send_linked(ready, request, link).await?)? {
                CallToolResponse::Complete(result) => Ok(result),
                _ => Err(CallFailure::NeedsInput),
            }
        }
    }
}
