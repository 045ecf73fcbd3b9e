//! The application core: owns the running configuration and carries out every management
//! action (enable, disable, quarantine, bulk operations, config validate/apply), persisting
//! each change atomically before it takes effect and announcing it on the event bus.
//!
//! `api` calls into this module and never touches the config file itself; this module hands
//! the desired server set to `upstream` and never reaches into its internals.

mod activity;
mod apply;
mod builtin;
mod calls;
mod catalog;
mod diagnostics;
mod forward;
mod gauges;
mod history;
mod import;
mod indexer;
mod inspect;
mod overview;
mod registries;
mod reload;
mod scan;
mod secrets;
mod servers;
mod settle;
mod token_stats;
mod tokens;
mod upstream_auth;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::config::{Config, ConfigError, ConfigStore, Problem, Resolved, Settings};
use crate::events::{Event, EventBus};
use crate::security::ToolPinning;
use crate::storage::Storage;
use crate::upstream::{UpstreamError, UpstreamManager};

pub use activity::ToolSummary;
pub use apply::{ApplyOutcome, ApplySource, changed_fields};
pub use builtin::{Builtin, UnknownBuiltin};
pub use calls::{CallError, CallOrigin, Intent, split_name, tool_kind};
pub use diagnostics::{Category, Diagnostics, DockerState, Issue, Severity};
pub use history::{PendingRecord, RecordedCall, RecordedResponse};
pub use import::ImportOutcome;
pub use inspect::{Approval, Inspection, InspectionPlan, KnownTool};
pub use overview::{
    EndpointServer, Endpoints, InfoOverview, ServerList, StatusOverview, ToolCounts,
};
pub use registries::{Registry, RegistryError, RegistryServer};
pub use scan::{ScanOverride, ToolScan, scan_key};
pub use secrets::SecretView;
pub use servers::{BulkOutcome, ServerView, StatusCounts};
pub use settle::SEARCH_WAIT;
pub use token_stats::{QuerySizeSource, TokenStats};
pub use tokens::{
    ALL_SERVERS, CreatedToken, Grant, NewToken, TOKEN_PREFIX, Tier, TokenError, TokenRecord,
    TokenRefusal, permissions_of,
};

/// Why a management action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// No such server, secret, recorded call or session.
    #[error("{kind} not found: {name}")]
    NotFound {
        /// What was looked for.
        kind: Resource,
        /// The name or id asked for.
        name: String,
    },
    /// A server by that name exists already.
    #[error("a server named {0} already exists")]
    ServerExists(String),
    /// The resulting configuration would be invalid.
    #[error("configuration is invalid")]
    Invalid(Vec<Problem>),
    /// The document is not a configuration at all.
    #[error("invalid configuration document: {0}")]
    Malformed(String),
    /// The server duplicates one configured already (same name, command or URL).
    #[error("{server}: {reason}")]
    Duplicate {
        /// The server refused.
        server: String,
        /// Which configured server it duplicates.
        reason: String,
    },
    /// A secret must have a value.
    #[error("secret value is required")]
    EmptySecret,
    /// An agent's arguments to a management tool do not describe a server change.
    #[error("invalid arguments: {0}")]
    BadArguments(String),
    /// Reading or writing the configuration failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A server name that breaks the naming rule.
    #[error(transparent)]
    InvalidName(#[from] crate::config::NameError),
    /// The server is disabled or quarantined, so it has no connection to act on.
    #[error("server {0} is disabled or quarantined; enable or approve it first")]
    NotRunning(String),
    /// An upstream operation failed.
    #[error(transparent)]
    Upstream(UpstreamError),
    /// The server's connection settings changed since the plan a person reviewed.
    #[error(
        "the connection settings of {0} changed since the plan you reviewed (an agent may have edited them); nothing was done: get the plan again (GET /api/v1/servers/{0}/inspect), review it and retry with its fingerprint"
    )]
    ReviewOutdated(String),
    /// Inspecting a quarantined server failed.
    #[error("{0}")]
    Inspection(String),
    /// The history database failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    /// Approving tools failed.
    #[error(transparent)]
    Security(#[from] crate::security::SecurityError),
    /// The tool-poisoning scanner holds tools back and no reason to override was given.
    #[error(
        "the tool-poisoning scanner found block-tier findings in {} of {server}; review them (GET /api/v1/servers/{server}/tools or /inspect) and approve again with a reason to override",
        .tools.join(", ")
    )]
    ScanBlocked {
        /// The server.
        server: String,
        /// The tools held back.
        tools: Vec<String>,
    },
    /// The server cannot start: a secret it references does not resolve.
    #[error("server {server} cannot start: {reason}")]
    Held {
        /// The server.
        server: String,
        /// Why, e.g. `Missing secret: github-token`.
        reason: String,
    },
    /// The secret store refused or failed.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    /// An agent token could not be created, found or revoked.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Signing a server in or out failed.
    #[error(transparent)]
    OAuth(#[from] crate::oauth::OAuthError),
}

/// What an [`AppError::NotFound`] looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A configured server.
    Server,
    /// A stored secret.
    Secret,
    /// A recorded tool call.
    ToolCall,
    /// A recorded MCP session.
    Session,
    /// An entry of the activity log.
    Activity,
}

impl Resource {
    /// The lower-case name, as in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Secret => "secret",
            Self::ToolCall => "tool call",
            Self::Session => "session",
            Self::Activity => "activity",
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AppError {
    /// No such `kind` named `name`.
    pub fn not_found(kind: Resource, name: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            name: name.into(),
        }
    }
}

/// An upstream that names no configured server is the one not-found error.
impl From<UpstreamError> for AppError {
    fn from(e: UpstreamError) -> Self {
        match e {
            UpstreamError::NotFound { server } => Self::not_found(Resource::Server, server),
            other => Self::Upstream(other),
        }
    }
}

/// The running document and the settings resolved from it (once per change).
struct Running {
    config: Arc<Config>,
    settings: Arc<Settings>,
}

impl Running {
    fn of(config: Config) -> Self {
        let settings = Arc::new(Settings::resolve(&config));
        Self {
            config: Arc::new(config),
            settings,
        }
    }
}

/// The running proxy's state.
pub struct App {
    bus: EventBus,
    store: ConfigStore,
    /// The running configuration and its settings, swapped together.
    config: RwLock<Running>,
    resolved: Resolved,
    started: Instant,
    ready: AtomicBool,
    /// The address the TCP listener bound, once it did (`listen` may say port 0).
    bound_listen: std::sync::OnceLock<String>,
    /// Serializes read-modify-write cycles of the configuration.
    writer: tokio::sync::Mutex<()>,
    upstreams: UpstreamManager,
    storage: Arc<Storage>,
    pinning: ToolPinning,
    /// What the tool-poisoning scanner found at the last cataloguing, by server.
    scans: scan::ScanState,
    /// Live MCP sessions.
    sessions: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The search index, the offered tools and the tools held back.
    catalog: catalog::Catalog,
    log: slog::Logger,
    /// The secret store and the servers held back for a missing secret.
    secrets: secrets::SecretState,
    /// The cached Docker probe; the async lock makes concurrent callers share one probe.
    docker: tokio::sync::Mutex<diagnostics::DockerCache>,
    /// The update checker, once serve has started it.
    update: std::sync::OnceLock<Arc<crate::update::UpdateChecker>>,
    /// What the config file watcher needs to know.
    reload: reload::ReloadState,
    /// Cancelled at shutdown: ends the update checker and the file watcher.
    background: tokio_util::sync::CancellationToken,
    /// Agent tokens for `/mcp`.
    tokens: tokens::TokenStore,
    /// Token accounting of what agents receive (not to be confused with agent tokens).
    meter: crate::tokens::TokenMeter,
    /// The OAuth client of the upstream servers.
    oauth: Arc<crate::oauth::OAuth>,
    /// Servers to reconnect after a login or logout (taken by `start`).
    oauth_reconnects: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<String>>>,
}

impl App {
    /// The core over a loaded configuration.
    pub fn new(
        bus: EventBus,
        store: ConfigStore,
        config: Config,
        resolved: Resolved,
        storage: Arc<Storage>,
        log: slog::Logger,
    ) -> Self {
        let upstreams = UpstreamManager::new(
            bus.clone(),
            resolved.log_dir.clone(),
            log.new(slog::o!("component" => "upstream")),
        );
        let secret_store = crate::secrets::default_store(&resolved.data_dir);
        let (oauth, oauth_reconnects) = crate::oauth::OAuth::new(secret_store.clone(), bus.clone());
        upstreams.set_auth(Arc::new(oauth.clone()));
        let tokens = tokens::TokenStore::new(storage.tokens().unwrap_or_else(|e| {
            // Fail closed: no token is accepted until the database reads again.
            slog::error!(log, "cannot read agent tokens"; "error" => %e);
            Vec::new()
        }));
        let meter = crate::tokens::TokenMeter::start(
            storage.clone(),
            log.new(slog::o!("component" => "tokens")),
        );
        Self {
            tokens,
            meter,
            bus,
            store,
            config: RwLock::new(Running::of(config)),
            started: Instant::now(),
            ready: AtomicBool::new(false),
            bound_listen: std::sync::OnceLock::new(),
            writer: tokio::sync::Mutex::new(()),
            upstreams,
            catalog: catalog::Catalog::default(),
            pinning: ToolPinning::new(storage.clone()),
            storage,
            scans: scan::ScanState::default(),
            sessions: std::sync::Mutex::default(),
            secrets: secrets::SecretState::new(secret_store),
            docker: tokio::sync::Mutex::default(),
            update: std::sync::OnceLock::new(),
            reload: reload::ReloadState::default(),
            background: tokio_util::sync::CancellationToken::new(),
            oauth,
            oauth_reconnects: std::sync::Mutex::new(Some(oauth_reconnects)),
            resolved,
            log,
        }
    }

    /// Start the background work: connect the configured servers (in parallel; this does not
    /// wait for them) and keep the tool index in step with their tools.
    pub fn start(self: &Arc<Self>) {
        indexer::spawn(self.clone());
        self.spawn_auth_reconnects();
        self.reconcile();
    }

    /// Stop every upstream connection and child process and the background checks, close
    /// sessions, and make the history durable.
    pub async fn shutdown(&self) {
        self.background.cancel();
        self.upstreams.shutdown().await;
        self.close_all_sessions();
        self.meter.flush().await;
        self.storage.flush().await;
    }

    /// The upstream connections.
    pub fn upstreams(&self) -> &UpstreamManager {
        &self.upstreams
    }

    /// Token accounting of what agents receive.
    pub fn meter(&self) -> &crate::tokens::TokenMeter {
        &self.meter
    }

    /// The event bus.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// The running configuration with every secret masked, as REST and MCP show it.
    pub fn masked_config(&self) -> Config {
        crate::config::mask_config(&self.config())
    }

    /// The running configuration (a cheap snapshot).
    pub fn config(&self) -> Arc<Config> {
        crate::sync::read(&self.config).config.clone()
    }

    /// The running settings, typed (a cheap snapshot; resolved once per change). A call reads
    /// one snapshot instead of the document.
    pub fn settings(&self) -> Arc<Settings> {
        crate::sync::read(&self.config).settings.clone()
    }

    /// The document and its settings, from the same change.
    pub(crate) fn running(&self) -> (Arc<Config>, Arc<Settings>) {
        let running = crate::sync::read(&self.config);
        (running.config.clone(), running.settings.clone())
    }

    /// Runtime values (listen address, data dir, socket, API key).
    pub fn resolved(&self) -> &Resolved {
        &self.resolved
    }

    /// The configuration file's path.
    pub fn config_path(&self) -> &std::path::Path {
        self.store.path()
    }

    /// Seconds since start.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Whether config is loaded and every listener is up (and we are not stopping).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Record the address the TCP listener bound (`listen` may ask for port 0).
    pub fn set_bound_listen(&self, addr: String) {
        let _ = self.bound_listen.set(addr);
    }

    /// Where clients reach the proxy: the bound address once listening, else `listen`.
    pub fn listen_addr(&self) -> String {
        self.bound_listen
            .get()
            .cloned()
            .unwrap_or_else(|| self.resolved.listen.clone())
    }

    /// Mark the proxy ready (listeners up) or not (shutting down).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Change the configuration with `edit`, validate the result, save it atomically, then
    /// make it the running configuration. Nothing changes when `edit` or validation fails.
    pub(crate) async fn update_config<T>(
        &self,
        edit: impl FnOnce(&mut Config) -> Result<T, AppError>,
    ) -> Result<(T, Arc<Config>, Arc<Config>), AppError> {
        self.change_config(edit, true).await
    }

    /// [`update_config`](Self::update_config), saving the file only when `save` (a reload
    /// from the file itself does not write it back). The upstreams are reconciled with the
    /// result: only servers whose connection settings changed restart.
    async fn change_config<T>(
        &self,
        edit: impl FnOnce(&mut Config) -> Result<T, AppError>,
        save: bool,
    ) -> Result<(T, Arc<Config>, Arc<Config>), AppError> {
        let _guard = self.writer.lock().await;
        let old = self.config();
        let mut new = (*old).clone();
        let out = edit(&mut new)?;
        // Whoever edited (an agent patching the env it was shown, a REST client) may have
        // passed masks along: the real values go back in, or nothing is saved.
        let unresolved = crate::config::unmask(&mut new, &old);
        if save && !unresolved.is_empty() {
            return Err(AppError::Invalid(unresolved));
        }
        let problems = crate::config::validate(&new);
        if !problems.is_empty() {
            return Err(AppError::Invalid(problems));
        }
        if save {
            self.store.ensure_overwritable()?;
            self.store.save(&new)?;
            self.remember_own_write();
        }
        let running = Running::of(new);
        let new = running.config.clone();
        *crate::sync::write(&self.config) = running;
        if save {
            self.bus.publish(Event::ConfigSaved {
                path: self.store.path().to_path_buf(),
            });
        }
        self.reconcile();
        Ok((out, old, new))
    }
}
