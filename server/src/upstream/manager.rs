//! `UpstreamManager`: the registry of configured servers and the one public face of the
//! upstream layer — reconcile with the config (`apply`), read status and tools, restart,
//! route tool calls to live clients (`route`), read logs, and shut everything down.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use rmcp::model::{ServerCapabilities, Tool};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    error::UpstreamError,
    log_feed::LogFeed,
    logs::{self, LogRead, LogStart, ServerLog},
    relay::Notice,
    route::Ready,
    status::{Arrival, Desired, Shared, UpstreamSnapshot},
    supervisor::{CONNECT_TIMEOUT, Control, LIST_TIMEOUT, Supervisor},
};
use crate::{
    config::{DockerIsolation, EnvironmentConfig, ServerConfig},
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
    old_docker: &DockerIsolation,
    new: &ServerConfig,
    new_docker: &DockerIsolation,
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
    docker: DockerIsolation,
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
        self.apply_with(servers, environment, &DockerIsolation::default());
    }

    /// [`apply`](Self::apply) with Docker isolation settings: stdio servers that
    /// `docker::should_isolate` run inside `docker run`, and a server whose isolation changes
    /// (on/off, or the settings while isolated) restarts.
    pub fn apply_with(
        &self,
        servers: &[ServerConfig],
        environment: &EnvironmentConfig,
        docker: &DockerIsolation,
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

    /// Where one configured server is on its way up (a call's cheap look before routing).
    pub fn arrival(&self, name: &str) -> Option<Arrival> {
        self.servers().get(name).map(|e| e.shared.arrival())
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
    pub(super) fn ready(&self, server: &str) -> Result<Ready, UpstreamError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn server(value: serde_json::Value) -> ServerConfig {
        serde_json::from_value(value).expect("server")
    }

    #[test]
    fn isolation_changes_restart_only_isolated_stdio_servers() {
        let off = DockerIsolation::default();
        let typed =
            |value| DockerIsolation::of(&serde_json::from_value(value).expect("docker_isolation"));
        let on = typed(serde_json::json!({"enabled": true}));
        let tighter = typed(serde_json::json!({"enabled": true, "memory_limit": "128m"}));
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
