//! The live status of one server, shared between its supervisor and the manager's readers:
//! state, last error, tools, timestamps, the client peer while ready. Every state change goes
//! through here, so every change is published on the bus (`servers.changed`) and logged.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rmcp::{RoleClient, model::Tool, service::Peer};
use serde::Serialize;

use tokio::sync::broadcast;

use super::relay::{Notice, Relay};
use super::{ConnectionState, client::ServerIdentity, error::UpstreamError, logs::ServerLog};
use crate::{
    config::{DockerIsolation, EnvironmentConfig, ServerConfig},
    events::{Event, EventBus, ServerChange},
};

/// A point-in-time view of one upstream server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpstreamSnapshot {
    /// Configured name.
    pub name: String,
    /// Connection state.
    pub state: ConnectionState,
    /// The last error, until the next successful connection.
    pub last_error: Option<String>,
    /// Tools discovered on the current (or last) connection.
    pub tool_count: usize,
    /// Failed attempts since the last time it was ready.
    pub retry_count: u32,
    /// When the current connection became ready.
    pub connected_at: Option<DateTime<Utc>>,
    /// When the last connection attempt started.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next automatic attempt is due (in Error state).
    pub next_retry_at: Option<DateTime<Utc>>,
    /// `serverInfo.name` from the handshake.
    pub server_name: Option<String>,
    /// `serverInfo.version` from the handshake.
    pub server_version: Option<String>,
    /// Negotiated protocol version.
    pub protocol_version: Option<String>,
}

/// Where a server is on its way up: the few fields of [`UpstreamSnapshot`] a call looks at
/// before it is routed, copied without the snapshot's strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Connection state.
    pub state: ConnectionState,
    /// Failed attempts since the last time it was ready.
    pub retry_count: u32,
    /// Whether a connection was ever attempted.
    pub attempted: bool,
    /// Tools discovered on the current (or last) connection.
    pub tool_count: usize,
}

/// A live connection: rmcp's peer, and the direct lane for tool calls on streamable HTTP.
#[derive(Clone)]
pub(crate) struct Link {
    /// rmcp's client.
    pub peer: Peer<RoleClient>,
    /// `tools/call` on a pooled connection beside rmcp's client.
    pub direct: Option<Arc<super::transport::http_lane::HttpLane>>,
    /// How a 2025 session serves 2026-07-28 clients.
    pub modern: Option<Arc<super::transport::Modern>>,
}

/// The mutable part.
pub(crate) struct Status {
    pub state: ConnectionState,
    pub last_error: Option<String>,
    pub tools: Arc<Vec<Tool>>,
    pub retry_count: u32,
    pub connected_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub identity: ServerIdentity,
    /// The live client while ready, with the session number it belongs to.
    pub peer: Option<(Link, u64)>,
    /// Connection attempts made so far (never reset).
    pub attempts: u64,
    /// Incremented on every successful connection.
    pub session: u64,
}

/// One server's shared status, desired configuration and log.
pub(crate) struct Shared {
    pub name: String,
    pub log: ServerLog,
    /// The requests in flight and their clients.
    pub relay: Arc<Relay>,
    /// Where notices for every session go.
    pub notices: broadcast::Sender<Notice>,
    bus: EventBus,
    logger: slog::Logger,
    status: Mutex<Status>,
    desired: Mutex<Desired>,
}

/// What the next connection attempt uses: the server's (secret-resolved) configuration, the
/// stdio environment settings and the global Docker isolation settings.
#[derive(Debug, Clone)]
pub(crate) struct Desired {
    pub config: ServerConfig,
    pub env: EnvironmentConfig,
    pub docker: DockerIsolation,
    /// Supplies OAuth bearer tokens to HTTP transports (none in tests without OAuth).
    pub auth: Option<Arc<dyn crate::oauth::AuthProvider>>,
}

impl Shared {
    pub(crate) fn new(
        config: ServerConfig,
        env: EnvironmentConfig,
        bus: EventBus,
        notices: broadcast::Sender<Notice>,
        log: ServerLog,
        logger: slog::Logger,
    ) -> Self {
        let status = Status {
            state: ConnectionState::Disconnected,
            last_error: None,
            tools: Arc::new(Vec::new()),
            retry_count: 0,
            connected_at: None,
            last_attempt_at: None,
            next_retry_at: None,
            identity: ServerIdentity::default(),
            peer: None,
            attempts: 0,
            session: 0,
        };
        log.hide_secrets_of(&config);
        Self {
            name: config.name.clone(),
            log,
            relay: Arc::default(),
            notices,
            bus,
            logger,
            status: Mutex::new(status),
            desired: Mutex::new(Desired {
                config,
                env,
                docker: DockerIsolation::default(),
                auth: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Status> {
        crate::sync::lock(&self.status)
    }

    /// The configuration the next connection attempt uses.
    pub(crate) fn desired(&self) -> Desired {
        crate::sync::lock(&self.desired).clone()
    }

    /// Replace the desired configuration (takes effect on the next attempt).
    pub(crate) fn set_desired(&self, desired: Desired) {
        self.log.hide_secrets_of(&desired.config);
        *crate::sync::lock(&self.desired) = desired;
    }

    pub(crate) fn snapshot(&self) -> UpstreamSnapshot {
        let s = self.lock();
        UpstreamSnapshot {
            name: self.name.clone(),
            state: s.state,
            last_error: s.last_error.clone(),
            tool_count: s.tools.len(),
            retry_count: s.retry_count,
            connected_at: s.connected_at,
            last_attempt_at: s.last_attempt_at,
            next_retry_at: s.next_retry_at,
            server_name: s.identity.name.clone(),
            server_version: s.identity.version.clone(),
            protocol_version: s.identity.protocol_version.clone(),
        }
    }

    /// Where the server is on its way up.
    pub(crate) fn arrival(&self) -> Arrival {
        let s = self.lock();
        Arrival {
            state: s.state,
            retry_count: s.retry_count,
            attempted: s.last_attempt_at.is_some(),
            tool_count: s.tools.len(),
        }
    }

    /// The protocol revision the last successful handshake negotiated, if any.
    pub(crate) fn last_revision(&self) -> Option<String> {
        self.lock().identity.protocol_version.clone()
    }

    pub(crate) fn tools(&self) -> Arc<Vec<Tool>> {
        self.lock().tools.clone()
    }

    /// The live link and its session number, or why there is none.
    pub(crate) fn ready_peer(&self) -> Result<(Link, u64), ConnectionState> {
        let s = self.lock();
        match (&s.peer, s.state) {
            (Some((peer, session)), ConnectionState::Ready) => Ok((peer.clone(), *session)),
            (_, state) => Err(state),
        }
    }

    /// Apply `change` under the lock, then publish and log the new state.
    fn transition(&self, change: impl FnOnce(&mut Status)) {
        let (state, tool_count, last_error) = {
            let mut s = self.lock();
            change(&mut s);
            (s.state, s.tools.len(), s.last_error.clone())
        };
        slog::info!(self.logger, "upstream state"; "server" => &self.name, "state" => state.as_str(),
            "tools" => tool_count, "error" => last_error.as_deref().unwrap_or(""));
        self.bus
            .publish(Event::ServersChanged(ServerChange::StateChanged {
                server: self.name.clone(),
                state: state.as_str(),
                tool_count,
                last_error,
            }));
    }

    /// A connection attempt starts.
    pub(crate) fn connecting(&self) {
        let attempt = {
            let mut s = self.lock();
            s.attempts += 1;
            s.attempts
        };
        self.log.info(&format!("connecting (attempt {attempt})"));
        if attempt > 1 {
            crate::telemetry::metrics().record_reconnect(&self.name);
        }
        self.transition(|s| {
            s.state = ConnectionState::Connecting;
            s.last_attempt_at = Some(Utc::now());
            s.next_retry_at = None;
            s.peer = None;
        });
    }

    /// The handshake succeeded; tools are being listed.
    pub(crate) fn discovering(&self, identity: ServerIdentity) {
        self.transition(|s| {
            s.state = ConnectionState::Discovering;
            s.identity = identity;
        });
    }

    /// Connected with tools listed. Returns the new session number.
    pub(crate) fn ready(&self, peer: Link, tools: Vec<Tool>, transport: &str) -> u64 {
        let mut session = 0;
        let count = tools.len();
        self.transition(|s| {
            s.session += 1;
            session = s.session;
            s.state = ConnectionState::Ready;
            s.last_error = None;
            s.retry_count = 0;
            s.next_retry_at = None;
            s.connected_at = Some(Utc::now());
            s.tools = Arc::new(tools);
            s.peer = Some((peer, session));
        });
        let id = self.lock().identity.clone();
        self.log.info(&format!(
            "ready via {transport}: {count} tools (server {} {}, protocol {})",
            id.name.as_deref().unwrap_or("?"),
            id.version.as_deref().unwrap_or("?"),
            id.protocol_version.as_deref().unwrap_or("?"),
        ));
        session
    }

    /// The live session stopped serving; calls are refused from now on.
    pub(crate) fn drop_peer(&self) {
        self.lock().peer = None;
    }

    /// A refreshed tool list (after `notifications/tools/list_changed`).
    pub(crate) fn tools_refreshed(&self, tools: Vec<Tool>) {
        let count = tools.len();
        self.lock().tools = Arc::new(tools);
        self.log.info(&format!("tools refreshed: {count} tools"));
        self.bus
            .publish(Event::ServersChanged(ServerChange::ToolsChanged {
                server: self.name.clone(),
                tool_count: count,
            }));
    }

    /// A failure; the next attempt is due at `next_retry_at` (None = no automatic retry).
    pub(crate) fn failed(&self, error: &UpstreamError, next_retry_at: Option<DateTime<Utc>>) {
        // The error may quote the URL or a header: never keep or publish a secret in it.
        let message = self.log.redact(&error.detail());
        let state = if error.is_auth() {
            ConnectionState::PendingAuth
        } else {
            ConnectionState::Error
        };
        match next_retry_at {
            Some(at) => self.log.error(&format!(
                "{message} (retry at {})",
                at.format("%H:%M:%S%.3f")
            )),
            None => self.log.error(&format!("{message} (no automatic retry)")),
        }
        self.transition(|s| {
            s.state = state;
            s.last_error = Some(message);
            s.retry_count = s.retry_count.saturating_add(1);
            s.next_retry_at = next_retry_at;
            s.peer = None;
        });
    }

    /// Stopped (disabled, quarantined, removed or shutting down).
    pub(crate) fn stopped(&self) {
        self.log.info("disconnected");
        self.transition(|s| {
            s.state = ConnectionState::Disconnected;
            s.next_retry_at = None;
            s.connected_at = None;
            s.peer = None;
        });
    }
}
