//! The state behind the operational features, kept in one place so `App` has one field for
//! them: the secret store and the servers held back for a missing secret (`secrets`), the
//! cached Docker probe (`diagnostics`), the update checker, and what the config file watcher
//! needs to know (`reload`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::docker::DockerStatus;
use crate::secrets::SecretStore;
use crate::update::UpdateChecker;

/// The last Docker probe and when one last succeeded.
#[derive(Debug, Clone, Default)]
pub(super) struct DockerCache {
    pub status: Option<DockerStatus>,
    pub last_successful_at: Option<DateTime<Utc>>,
}

/// A configuration file on disk that could not be applied.
#[derive(Debug, Clone)]
pub(super) struct FileProblem {
    /// One line for people.
    pub message: String,
}

/// See the module docs.
pub(super) struct OpsState {
    /// Where `${keyring:…}` secrets live.
    pub secrets: Arc<dyn SecretStore>,
    /// Servers that should connect but are held back, with the reason
    /// (`Missing secret: NAME`). Also serializes reconciliation.
    pub held: Mutex<BTreeMap<String, String>>,
    /// The cached Docker probe; the async lock makes concurrent callers share one probe.
    pub docker: tokio::sync::Mutex<DockerCache>,
    /// The update checker, once serve has started it.
    pub update: OnceLock<Arc<UpdateChecker>>,
    /// SHA-256 of the config file as the proxy last wrote it (its own writes are not reloads).
    pub written: Mutex<Option<[u8; 32]>>,
    /// SHA-256 of the file content the watcher last handled.
    pub seen: Mutex<Option<[u8; 32]>>,
    /// The config file on disk is invalid (the running configuration was kept).
    pub file_problem: Mutex<Option<FileProblem>>,
    /// Cancelled at shutdown: ends the update checker and the file watcher.
    pub cancel: CancellationToken,
}

impl OpsState {
    pub(super) fn new(secrets: Arc<dyn SecretStore>) -> Self {
        Self {
            secrets,
            held: Mutex::new(BTreeMap::new()),
            docker: tokio::sync::Mutex::new(DockerCache::default()),
            update: OnceLock::new(),
            written: Mutex::new(None),
            seen: Mutex::new(None),
            file_problem: Mutex::new(None),
            cancel: CancellationToken::new(),
        }
    }
}
