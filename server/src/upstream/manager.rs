//! `UpstreamManager`: the registry of configured servers and the one public face of the
//! upstream layer — reconcile with the config (`apply`), read status and tools, restart,
//! route tool calls to live clients, read logs, and shut everything down.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use rmcp::{
    ServiceError,
    model::RequestMetaObject,
    model::{
        CallToolRequest, CallToolRequestParams, CallToolResponse, CallToolResult,
        CancelledNotificationParam, ClientCapabilities, ClientRequest, DEFAULT_MRTR_MAX_ROUNDS,
        InputRequest, InputResponses, ProtocolVersion, ServerCapabilities, ServerRequest,
        ServerResult, Tool,
    },
    service::PeerRequestOptions,
};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    error::UpstreamError,
    log_feed::LogFeed,
    logs::{self, LogRead, LogStart, ServerLog},
    relay::{CallLink, Downstream, Notice},
    status::{Desired, Link, Shared, UpstreamSnapshot},
    supervisor::{CONNECT_TIMEOUT, Control, LIST_TIMEOUT, Supervisor},
    transport::http_lane::{HttpLane, LaneError},
};
use crate::{
    config::{DockerIsolationConfig, EnvironmentConfig, ServerConfig},
    events::EventBus,
};

/// Notices kept for a session that is slow to take them.
const NOTICE_BACKLOG: usize = 256;

/// Longest `shutdown` waits for every supervisor to finish.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(15);

/// Whether a server's Docker isolation changes between two settings: it is turned on or off,
/// or the global settings change while it is isolated.
fn isolation_differs(
    old: &ServerConfig,
    old_docker: &DockerIsolationConfig,
    new: &ServerConfig,
    new_docker: &DockerIsolationConfig,
) -> bool {
    let (was, is) = (
        crate::docker::should_isolate(old, old_docker),
        crate::docker::should_isolate(new, new_docker),
    );
    was != is || (is && old_docker != new_docker)
}

/// Manages the connections to every upstream server. Cheap to clone.
#[derive(Clone)]
pub struct UpstreamManager {
    inner: Arc<Inner>,
}

struct Inner {
    bus: EventBus,
    /// Every server's log lines, live, for the clients that follow them.
    log_feed: LogFeed,
    /// Notices of every server, for the MCP sessions.
    notices: broadcast::Sender<Notice>,
    log_dir: PathBuf,
    logger: slog::Logger,
    servers: Mutex<BTreeMap<String, Entry>>,
    /// Supervisors of removed servers that may still be stopping, by name.
    removed: Mutex<BTreeMap<String, tokio::task::JoinHandle<()>>>,
    /// Parent of every supervisor's token.
    root: CancellationToken,
    tracker: TaskTracker,
    /// The OAuth client HTTP transports get their bearer tokens from.
    auth: std::sync::OnceLock<Arc<dyn crate::oauth::AuthProvider>>,
}

/// One configured server.
struct Entry {
    config: ServerConfig,
    /// The Docker isolation settings it was last started or restarted with.
    docker: DockerIsolationConfig,
    shared: Arc<Shared>,
    runner: Option<Runner>,
    /// A supervisor of this server that is still stopping.
    stopping: Option<tokio::task::JoinHandle<()>>,
}

/// A running supervisor.
struct Runner {
    control: mpsc::UnboundedSender<Control>,
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl UpstreamManager {
    /// A manager with no servers. Per-server logs go to `log_dir/server-<name>.log`.
    pub fn new(bus: EventBus, log_dir: PathBuf, logger: slog::Logger) -> Self {
        let inner = Inner {
            bus,
            log_feed: LogFeed::default(),
            notices: broadcast::channel(NOTICE_BACKLOG).0,
            log_dir,
            logger,
            servers: Mutex::new(BTreeMap::new()),
            removed: Mutex::new(BTreeMap::new()),
            root: CancellationToken::new(),
            tracker: TaskTracker::new(),
            auth: std::sync::OnceLock::new(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Give HTTP transports their OAuth bearer tokens from `provider` (set once, before
    /// the first `apply`).
    pub fn set_auth(&self, provider: Arc<dyn crate::oauth::AuthProvider>) {
        let _ = self.inner.auth.set(provider);
    }

    /// The live feed of every server's log lines (`/events?logs=`).
    pub fn log_feed(&self) -> &LogFeed {
        &self.inner.log_feed
    }

    fn servers(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        crate::sync::lock(&self.inner.servers)
    }

    /// Reconcile with the desired config without blocking (must run inside a Tokio runtime):
    /// start servers that should connect (enabled and not quarantined) and are not running,
    /// stop those removed, disabled or quarantined, restart only those whose
    /// `ServerConfig::connection_differs`, and leave the rest alone.
    pub fn apply(&self, servers: &[ServerConfig], environment: &EnvironmentConfig) {
        self.apply_with(servers, environment, &DockerIsolationConfig::default());
    }

    /// [`apply`](Self::apply) with Docker isolation settings: stdio servers that
    /// `docker::should_isolate` run inside `docker run`, and a server whose isolation changes
    /// (on/off, or the settings while isolated) restarts.
    pub fn apply_with(
        &self,
        servers: &[ServerConfig],
        environment: &EnvironmentConfig,
        docker: &DockerIsolationConfig,
    ) {
        if self.inner.root.is_cancelled() {
            return;
        }
        let mut map = self.servers();
        let wanted: std::collections::BTreeSet<&str> =
            servers.iter().map(|s| s.name.as_str()).collect();
        let removed: Vec<String> = map
            .keys()
            .filter(|name| !wanted.contains(name.as_str()))
            .cloned()
            .collect();
        {
            let mut stopping = crate::sync::lock(&self.inner.removed);
            stopping.retain(|_, handle| !handle.is_finished());
            for name in removed {
                if let Some(mut entry) = map.remove(&name) {
                    let handle = match entry.runner.take() {
                        Some(runner) => {
                            runner.cancel.cancel();
                            Some(runner.handle)
                        }
                        None => entry.stopping.take(),
                    };
                    // A removed server's logs go with it, once its supervisor has stopped
                    // writing them.
                    let log_dir = self.inner.log_dir.clone();
                    let logger = self.inner.logger.clone();
                    let server = name.clone();
                    let cleanup = tokio::spawn(async move {
                        if let Some(handle) = handle {
                            let _ = handle.await;
                        }
                        if let Err(e) = logs::remove_logs(&log_dir, &server) {
                            slog::warn!(logger, "cannot remove the logs of a removed server"; "server" => &server, "error" => %e);
                        }
                    });
                    stopping.insert(name, cleanup);
                }
            }
        }
        for config in servers {
            let entry = map.entry(config.name.clone()).or_insert_with(|| Entry {
                config: config.clone(),
                docker: docker.clone(),
                shared: Arc::new(Shared::new(
                    config.clone(),
                    environment.clone(),
                    self.inner.bus.clone(),
                    self.inner.notices.clone(),
                    ServerLog::open(
                        logs::log_path(&self.inner.log_dir, &config.name),
                        self.inner.logger.clone(),
                    )
                    .feeding(self.inner.log_feed.clone(), &config.name),
                    self.inner
                        .logger
                        .new(slog::o!("server" => config.name.clone())),
                )),
                runner: None,
                stopping: crate::sync::lock(&self.inner.removed).remove(&config.name),
            });
            let reconnect = entry.config.connection_differs(config)
                || isolation_differs(&entry.config, &entry.docker, config, docker);
            entry.config = config.clone();
            entry.docker = docker.clone();
            entry.shared.set_desired(Desired {
                config: config.clone(),
                env: environment.clone(),
                docker: docker.clone(),
                auth: self.inner.auth.get().cloned(),
            });
            match (config.should_connect(), entry.runner.as_ref()) {
                (true, None) => self.start(entry),
                (true, Some(runner)) if reconnect => {
                    let _ = runner.control.send(Control::Restart(None));
                }
                (false, Some(_)) => {
                    if let Some(runner) = entry.runner.take() {
                        runner.cancel.cancel();
                        entry.stopping = Some(runner.handle);
                    }
                }
                _ => {}
            }
        }
    }

    /// Spawn the supervisor of `entry`.
    fn start(&self, entry: &mut Entry) {
        let (control, receiver) = mpsc::unbounded_channel();
        let cancel = self.inner.root.child_token();
        let supervisor = Supervisor {
            shared: entry.shared.clone(),
            control: receiver,
            cancel: cancel.clone(),
        };
        let previous = entry.stopping.take();
        let handle = self.inner.tracker.spawn(supervisor.run(previous));
        entry.runner = Some(Runner {
            control,
            cancel,
            handle,
        });
    }

    /// The status of one configured server.
    pub fn snapshot(&self, name: &str) -> Option<UpstreamSnapshot> {
        self.servers().get(name).map(|e| e.shared.snapshot())
    }

    /// The status of every configured server, by name.
    pub fn snapshots(&self) -> Vec<UpstreamSnapshot> {
        self.servers()
            .values()
            .map(|e| e.shared.snapshot())
            .collect()
    }

    /// The last discovered tool list of a server (annotations and output schemas included).
    pub fn tools(&self, name: &str) -> Option<Vec<Tool>> {
        self.servers()
            .get(name)
            .map(|e| e.shared.tools().as_ref().clone())
    }

    /// Tear down and reconnect one server now, resetting its backoff (also after an auth
    /// failure). Waits for the first attempt's outcome, at most the connect timeout.
    pub async fn restart(&self, name: &str) -> Result<(), UpstreamError> {
        let stopped = || {
            // The supervisor ended before the restart finished: the proxy is shutting down,
            // or the server itself was stopped (disabled, quarantined, removed) meanwhile.
            if self.inner.root.is_cancelled() {
                UpstreamError::ShuttingDown {
                    server: name.to_string(),
                }
            } else {
                UpstreamError::Disabled {
                    server: name.to_string(),
                }
            }
        };
        let (waiter, outcome) = oneshot::channel();
        {
            let map = self.servers();
            let entry = map.get(name).ok_or_else(|| UpstreamError::NotFound {
                server: name.to_string(),
            })?;
            let runner = entry
                .runner
                .as_ref()
                .ok_or_else(|| UpstreamError::Disabled {
                    server: name.to_string(),
                })?;
            runner
                .control
                .send(Control::Restart(Some(waiter)))
                .map_err(|_| stopped())?;
        }
        match tokio::time::timeout(CONNECT_TIMEOUT + LIST_TIMEOUT, outcome).await {
            Ok(Ok(Err(UpstreamError::ShuttingDown { .. })) | Err(_)) => Err(stopped()),
            Ok(Ok(result)) => result,
            // Still connecting: the attempt goes on in the background.
            Err(_) => Ok(()),
        }
    }

    /// Restart every running server, in parallel; one result per server.
    pub async fn reconnect_all(&self) -> Vec<(String, Result<(), UpstreamError>)> {
        let names: Vec<String> = self
            .servers()
            .iter()
            .filter(|(_, e)| e.runner.is_some())
            .map(|(n, _)| n.clone())
            .collect();
        let restarts = names.iter().map(|name| self.restart(name));
        let results = futures::future::join_all(restarts).await;
        names.into_iter().zip(results).collect()
    }

    /// The live connection of a running, ready server.
    fn ready(&self, server: &str) -> Result<Ready, UpstreamError> {
        let (shared, control) = {
            let map = self.servers();
            let entry = map.get(server).ok_or_else(|| UpstreamError::NotFound {
                server: server.to_string(),
            })?;
            let runner = entry
                .runner
                .as_ref()
                .ok_or_else(|| UpstreamError::Disabled {
                    server: server.to_string(),
                })?;
            (entry.shared.clone(), runner.control.clone())
        };
        let (link, session) = shared
            .ready_peer()
            .map_err(|state| UpstreamError::NotConnected {
                server: server.to_string(),
                state,
            })?;
        Ok(Ready {
            shared,
            control,
            link,
            session,
        })
    }

    /// What a ready server said it can do in its handshake.
    pub fn capabilities(&self, server: &str) -> Option<ServerCapabilities> {
        let ready = self.ready(server).ok()?;
        let info = ready.link.peer.peer_info()?;
        Some(info.capabilities.clone())
    }

    /// The notices of every server (list changes, resource updates, log messages outside
    /// any request).
    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        self.inner.notices.subscribe()
    }

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
        let method = format!("{server}:{tool}");
        match outcome {
            Err(_) => Err(UpstreamError::Timeout {
                server: server.to_string(),
                tool,
                after: timeout,
            }),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(CallFailure::NeedsInput)) => Err(UpstreamError::needs_a_client(server, &tool)),
            Ok(Err(CallFailure::Rpc(error))) => Err(ready.failure(&tool, error)),
            Ok(Err(failure)) => Err(ready.fail(&method, failure)),
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

    /// At most `n` lines of a server's log from `start`, oldest first, with where to go on.
    pub fn logs(&self, name: &str, start: LogStart, n: usize) -> Result<LogRead, UpstreamError> {
        if !self.servers().contains_key(name) {
            return Err(UpstreamError::NotFound {
                server: name.to_string(),
            });
        }
        let path = logs::log_path(&self.inner.log_dir, name);
        logs::read(&path, start, n).map_err(|e| UpstreamError::Log {
            server: name.to_string(),
            message: e.to_string(),
        })
    }

    /// Stop every server: close sessions, terminate every child process group and wait for
    /// all of it (bounded). Later `apply` calls do nothing.
    pub async fn shutdown(&self) {
        self.inner.root.cancel();
        {
            let mut map = self.servers();
            for entry in map.values_mut() {
                if let Some(runner) = entry.runner.take() {
                    runner.cancel.cancel();
                }
            }
        }
        self.inner.tracker.close();
        if tokio::time::timeout(SHUTDOWN_WAIT, self.inner.tracker.wait())
            .await
            .is_err()
        {
            slog::warn!(self.inner.logger, "upstream shutdown timed out"; "after" => ?SHUTDOWN_WAIT);
        }
    }
}

/// A ready server's connection, for one request.
struct Ready {
    shared: Arc<Shared>,
    control: mpsc::UnboundedSender<Control>,
    link: Link,
    session: u64,
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
        Ok(result) => {
            let complete = result
                .get("resultType")
                .and_then(serde_json::Value::as_str)
                .is_none_or(|t| t == "complete");
            if !complete {
                return Err(CallFailure::NeedsInput);
            }
            serde_json::from_value(result)
                .map_err(|e| CallFailure::Other(format!("the server's result is malformed: {e}")))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn server(value: serde_json::Value) -> ServerConfig {
        serde_json::from_value(value).expect("server")
    }

    #[test]
    fn isolation_changes_restart_only_isolated_stdio_servers() {
        let off = DockerIsolationConfig::default();
        let on: DockerIsolationConfig =
            serde_json::from_value(serde_json::json!({"enabled": true})).expect("on");
        let tighter: DockerIsolationConfig =
            serde_json::from_value(serde_json::json!({"enabled": true, "memory_limit": "128m"}))
                .expect("tighter");
        let stdio = server(serde_json::json!({"name": "s", "command": "npx"}));
        let http = server(serde_json::json!({"name": "h", "url": "http://127.0.0.1:1/mcp"}));
        assert!(isolation_differs(&stdio, &off, &stdio, &on));
        assert!(isolation_differs(&stdio, &on, &stdio, &tighter));
        assert!(!isolation_differs(&stdio, &on, &stdio, &on));
        assert!(!isolation_differs(&http, &off, &http, &on));
        assert!(!isolation_differs(&http, &on, &http, &tighter));
        let opted_out = server(
            serde_json::json!({"name": "s", "command": "npx", "isolation": {"enabled": false}}),
        );
        assert!(isolation_differs(&stdio, &on, &opted_out, &on));
    }
}
