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
    model::{CallToolRequestParams, CallToolResponse, CallToolResult, Tool},
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    error::UpstreamError,
    logs::{self, LogLine, ServerLog},
    status::{Desired, Shared, UpstreamSnapshot},
    supervisor::{CONNECT_TIMEOUT, Control, LIST_TIMEOUT, Supervisor},
    transport::http_lane::{HttpLane, LaneError},
};
use crate::{
    config::{DockerIsolationConfig, EnvironmentConfig, ServerConfig},
    events::EventBus,
};

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
    log_dir: PathBuf,
    logger: slog::Logger,
    servers: Mutex<BTreeMap<String, Entry>>,
    /// Supervisors of removed servers that may still be stopping, by name.
    removed: Mutex<BTreeMap<String, tokio::task::JoinHandle<()>>>,
    /// Parent of every supervisor's token.
    root: CancellationToken,
    tracker: TaskTracker,
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
            log_dir,
            logger,
            servers: Mutex::new(BTreeMap::new()),
            removed: Mutex::new(BTreeMap::new()),
            root: CancellationToken::new(),
            tracker: TaskTracker::new(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    fn servers(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.inner.servers.lock().unwrap_or_else(|e| e.into_inner())
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
            let mut stopping = self.inner.removed.lock().unwrap_or_else(|e| e.into_inner());
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
                    ServerLog::open(
                        logs::log_path(&self.inner.log_dir, &config.name),
                        self.inner.logger.clone(),
                    ),
                    self.inner
                        .logger
                        .new(slog::o!("server" => config.name.clone())),
                )),
                runner: None,
                stopping: self
                    .inner
                    .removed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&config.name),
            });
            let reconnect = entry.config.connection_differs(config)
                || isolation_differs(&entry.config, &entry.docker, config, docker);
            entry.config = config.clone();
            entry.docker = docker.clone();
            entry.shared.set_desired(Desired {
                config: config.clone(),
                env: environment.clone(),
                docker: docker.clone(),
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

    /// Call a tool on a ready server, with a timeout.
    pub async fn call_tool(
        &self,
        server: &str,
        tool: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
        timeout: Duration,
    ) -> Result<CallToolResult, UpstreamError> {
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
        // Errors go back to the agent and into the call history: no secret of the server in them.
        let failure = |message: String, code: Option<i32>| UpstreamError::ToolCall {
            server: server.to_string(),
            tool: tool.to_string(),
            message: shared.log.redact(&message),
            code,
        };
        let attempt = async {
            match &link.direct {
                Some(lane) => call_direct(lane, &link.peer, tool, arguments).await,
                None => call_via_rmcp(&link.peer, tool, arguments).await,
            }
        };
        match tokio::time::timeout(timeout, attempt).await {
            Err(_) => Err(UpstreamError::Timeout {
                server: server.to_string(),
                tool: tool.to_string(),
                after: timeout,
            }),
            Ok(Ok(result)) => Ok(result),
            Ok(Err(CallFailure::NeedsInput)) => Err(failure(
                "the server asked for input or started a task, which the proxy does not support"
                    .into(),
                None,
            )),
            Ok(Err(CallFailure::Rpc { code, message })) => Err(failure(message, Some(code))),
            Ok(Err(CallFailure::Other(message))) => Err(failure(message, None)),
            Ok(Err(CallFailure::Lost(cause))) => {
                let message = shared
                    .log
                    .redact(&format!("connection lost during the call: {cause}"));
                let _ = control.send(Control::Broken {
                    session,
                    message: message.clone(),
                });
                Err(UpstreamError::Transport {
                    server: server.to_string(),
                    message,
                })
            }
        }
    }

    /// The last `tail` lines of a server's log, oldest first.
    pub fn logs(&self, name: &str, tail: usize) -> Result<Vec<LogLine>, UpstreamError> {
        let path = {
            let map = self.servers();
            let entry = map.get(name).ok_or_else(|| UpstreamError::NotFound {
                server: name.to_string(),
            })?;
            entry.shared.log.path().to_path_buf()
        };
        logs::tail(&path, tail).map_err(|e| UpstreamError::Log {
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

/// Why a call to an upstream failed, whichever lane it took.
enum CallFailure {
    /// The server answered with something other than a complete result.
    NeedsInput,
    /// A JSON-RPC error from the server.
    Rpc { code: i32, message: String },
    /// The connection went away.
    Lost(String),
    /// Anything else.
    Other(String),
}

/// `tools/call` parameters, borrowed for the direct lane.
#[derive(serde::Serialize)]
struct LaneCallParams<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// `tools/call` on the direct lane (streamable HTTP); through rmcp when the lane cannot
/// be sure the server saw it.
async fn call_direct(
    lane: &HttpLane,
    peer: &rmcp::service::Peer<rmcp::RoleClient>,
    tool: &str,
    arguments: Option<serde_json::Map<String, serde_json::Value>>,
) -> Result<CallToolResult, CallFailure> {
    let params = LaneCallParams {
        name: tool,
        arguments: arguments.as_ref(),
    };
    match lane.request("tools/call", &params).await {
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
        Err(LaneError::Rpc { code, message }) => Err(CallFailure::Rpc { code, message }),
        Err(LaneError::Transport(message)) => Err(CallFailure::Lost(message)),
        Err(LaneError::Fallback) => call_via_rmcp(peer, tool, arguments).await,
    }
}

/// `tools/call` through rmcp's client (network transports).
async fn call_via_rmcp(
    peer: &rmcp::service::Peer<rmcp::RoleClient>,
    tool: &str,
    arguments: Option<serde_json::Map<String, serde_json::Value>>,
) -> Result<CallToolResult, CallFailure> {
    let mut params = CallToolRequestParams::new(tool.to_string());
    if let Some(arguments) = arguments {
        params = params.with_arguments(arguments);
    }
    match peer.call_tool_once(params).await {
        Ok(CallToolResponse::Complete(result)) => Ok(result),
        Ok(_) => Err(CallFailure::NeedsInput),
        Err(ServiceError::McpError(error)) => Err(CallFailure::Rpc {
            code: error.code.0,
            message: error.message.to_string(),
        }),
        Err(
            error @ (ServiceError::TransportClosed
            | ServiceError::TransportSend(_)
            | ServiceError::Cancelled { .. }),
        ) => Err(CallFailure::Lost(super::error::error_chain(&error))),
        Err(error) => Err(CallFailure::Other(super::error::error_chain(&error))),
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
