//! What a session is told without asking: `notifications/tools|resources|prompts/list_changed`
//! when what it can see changes (an upstream added, removed, quarantined, approved; a tool
//! pinned as changed; an upstream's own list_changed), `notifications/resources/updated` for
//! resources it subscribed to, and upstream log messages that belong to no request. A
//! 2025 session hears them on its standalone stream; a 2026-07-28 client through
//! `subscriptions/listen` (log messages have no place there).

#![expect(
    deprecated,
    reason = "logging is deprecated by SEP-2577 but today's servers use it"
)]

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use rmcp::RoleServer;
use rmcp::model::LoggingMessageNotificationParam;
use rmcp::service::{Peer, SubscriptionContext};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::client_link::SessionLevel;
use super::surface::Surface;
use crate::app::{App, CallOrigin};
use crate::events::Event;
use crate::upstream::Notice;

/// The resource URIs a session subscribed to.
#[derive(Debug, Default)]
pub struct Subscriptions(Mutex<HashSet<String>>);

impl Subscriptions {
    /// Subscribe to `uri`.
    pub fn add(&self, uri: &str) {
        if let Ok(mut set) = self.0.lock() {
            set.insert(uri.to_string());
        }
    }

    /// Unsubscribe from `uri`.
    pub fn remove(&self, uri: &str) {
        if let Ok(mut set) = self.0.lock() {
            set.remove(uri);
        }
    }

    fn contains(&self, uri: &str) -> bool {
        self.0.lock().is_ok_and(|set| set.contains(uri))
    }
}

/// Where a session's notifications go.
pub enum Sink<'a> {
    /// A 2025 session: its standalone stream.
    Session {
        /// The session's peer.
        peer: Peer<RoleServer>,
        /// Its logging level.
        level: Arc<SessionLevel>,
        /// Its resource subscriptions.
        subscriptions: Arc<Subscriptions>,
    },
    /// A 2026-07-28 `subscriptions/listen` request.
    Listen(&'a SubscriptionContext),
}

impl Sink<'_> {
    async fn tools_changed(&self) {
        match self {
            Self::Session { peer, .. } => drop(peer.notify_tool_list_changed().await),
            Self::Listen(listen) => drop(listen.sink().notify_tool_list_changed().await),
        }
    }

    async fn resources_changed(&self) {
        match self {
            Self::Session { peer, .. } => drop(peer.notify_resource_list_changed().await),
            Self::Listen(listen) => drop(listen.sink().notify_resource_list_changed().await),
        }
    }

    async fn prompts_changed(&self) {
        match self {
            Self::Session { peer, .. } => drop(peer.notify_prompt_list_changed().await),
            Self::Listen(listen) => drop(listen.sink().notify_prompt_list_changed().await),
        }
    }

    async fn resource_updated(&self, uri: &str) {
        match self {
            Self::Session {
                peer,
                subscriptions,
                ..
            } => {
                if subscriptions.contains(uri) {
                    let params = rmcp::model::ResourceUpdatedNotificationParam::new(uri);
                    drop(peer.notify_resource_updated(params).await);
                }
            }
            // The sink sends only what the client's filter accepted.
            Self::Listen(listen) => drop(listen.sink().notify_resource_updated(uri).await),
        }
    }

    async fn log(&self, message: LoggingMessageNotificationParam, by_default: bool) {
        if let Self::Session { peer, level, .. } = self
            && level.admits(message.level, by_default)
        {
            drop(peer.notify_logging_message(message).await);
        }
    }
}

/// A fingerprint of what a session sees: its tool names and definitions, and the servers
/// whose resources and prompts it gets.
fn seen(app: &App, surface: &Surface, origin: &CallOrigin) -> (u64, Vec<String>) {
    let grant = origin.token.as_deref();
    let servers: Vec<String> = app
        .reachable_servers(grant)
        .into_iter()
        .filter(|s| surface.shows(s) && app.capabilities_of(s, grant).is_some())
        .collect();
    let tools = match surface {
        Surface::Retrieve => Vec::new(),
        Surface::All => super::direct::list(app, origin),
        Surface::Server(name) => {
            if servers.contains(name) {
                app.offered_tools(name)
            } else {
                Vec::new()
            }
        }
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(&tools)
        .unwrap_or_default()
        .hash(&mut hasher);
    (hasher.finish(), servers)
}

/// Tell `sink` what changes for a session on `surface` until `stop`.
pub async fn follow(
    app: Arc<App>,
    surface: Surface,
    origin: CallOrigin,
    sink: Sink<'_>,
    stop: CancellationToken,
) {
    let mut notices = app.upstreams().notices();
    let mut events = app.bus().subscribe_changes();
    let mut before = seen(&app, &surface, &origin);
    let logs_by_default = matches!(surface, Surface::Server(_));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            notice = notices.recv() => match notice {
                Ok(notice) if surface.shows(notice.server()) && before.1.iter().any(|s| s == notice.server()) => {
                    match notice {
                        Notice::ResourcesChanged { .. } => sink.resources_changed().await,
                        Notice::PromptsChanged { .. } => sink.prompts_changed().await,
                        Notice::ResourceUpdated { uri, .. } => sink.resource_updated(&uri).await,
                        Notice::Log { message, .. } => sink.log(message, logs_by_default).await,
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            event = events.recv() => match event {
                Err(RecvError::Closed) => return,
                Ok(event) if !matches!(event.event, Event::ToolsIndexed { .. } | Event::ServersChanged(_) | Event::ConfigReloaded { .. } | Event::ConfigSaved { .. } | Event::ToolsChanged { .. }) => {}
                // A change, or so many that some were missed: compare.
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    let now = seen(&app, &surface, &origin);
                    if now.0 != before.0 {
                        sink.tools_changed().await;
                    }
                    if now.1 != before.1 {
                        sink.resources_changed().await;
                        sink.prompts_changed().await;
                    }
                    before = now;
                }
            },
        }
    }
}
