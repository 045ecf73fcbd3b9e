//! Config hot reload: a watcher on the configuration file's directory (editors often replace
//! the file rather than write it, which a watch on the file itself would lose), debounced by
//! [`DEBOUNCE`], that validates the file and applies it through the same path as
//! `config/apply` ([`App::apply_config`] with [`ApplySource::File`]): only the affected
//! upstreams restart, and `config.reloaded` carries `{path, changed_fields, source: "file"}`.
//!
//! An invalid file (unparsable, empty, or failing validation) is announced as
//! `config.invalid` (`{path, error, errors: [{field, message}]}`), shows up in diagnostics,
//! and the running configuration is kept. The proxy's own writes are recognised by the
//! SHA-256 of what it last wrote and never reloaded, so saving cannot loop.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::apply::ApplySource;
use super::{App, AppError};
use crate::config::Problem;
use crate::events::{Event, FieldError};
use crate::sync::lock;

/// Quiet time after the last file event before the file is read.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// A configuration file on disk that could not be applied.
#[derive(Debug, Clone)]
pub(super) struct FileProblem {
    /// One line for people.
    pub message: String,
}

/// What the watcher needs to know about the file.
#[derive(Default)]
pub(super) struct ReloadState {
    /// SHA-256 of the config file as the proxy last wrote it (its own writes are not reloads).
    pub written: Mutex<Option<[u8; 32]>>,
    /// SHA-256 of the file content the watcher last handled.
    pub seen: Mutex<Option<[u8; 32]>>,
    /// The config file on disk is invalid (the running configuration was kept).
    pub file_problem: Mutex<Option<FileProblem>>,
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Why a file on disk cannot be applied.
struct Invalid {
    error: String,
    problems: Vec<Problem>,
}

impl App {
    /// Remember the file as the proxy just wrote it, so the watcher does not reload it.
    pub(crate) fn remember_own_write(&self) {
        if let Ok(bytes) = std::fs::read(self.config_path()) {
            *lock(&self.reload.written) = Some(digest(&bytes));
        }
    }

    /// Start the background operations of a serving proxy: the update check (`checker`) and
    /// the config file watcher. Both end at [`App::shutdown`]. A watcher that cannot start is
    /// logged; the proxy runs on without hot reload.
    pub fn start_operations(self: &Arc<Self>, checker: Arc<crate::update::UpdateChecker>) {
        self.start_update_checker(checker);
        if let Err(error) = self.watch_config() {
            slog::warn!(self.log, "config file watcher unavailable; edits need a restart"; "error" => %error);
        }
    }

    /// Watch the config file and reload it on change until shutdown.
    pub fn watch_config(self: &Arc<Self>) -> Result<(), notify::Error> {
        let path = self.config_path().to_path_buf();
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let file_name = path.file_name().map(|n| n.to_os_string());
        let (sender, mut events) = mpsc::unbounded_channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && event
                        .paths
                        .iter()
                        .any(|p| p.file_name().map(|n| n.to_os_string()) == file_name)
                    && !event.kind.is_access()
                {
                    let _ = sender.send(());
                }
            })?;
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;
        // Remember what is on disk now, so the first event compares against it.
        if let Ok(bytes) = std::fs::read(&path) {
            *lock(&self.reload.seen) = Some(digest(&bytes));
        }
        let app = self.clone();
        let cancel = self.background.clone();
        tokio::spawn(async move {
            let _watcher = watcher;
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    event = events.recv() => if event.is_none() { return },
                }
                // Debounce: wait until the file has been quiet for DEBOUNCE.
                loop {
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        more = tokio::time::timeout(DEBOUNCE, events.recv()) => match more {
                            Ok(Some(())) => continue,
                            Ok(None) => return,
                            Err(_) => break,
                        },
                    }
                }
                app.reload_from_file().await;
            }
        });
        Ok(())
    }

    /// Read the config file and apply it if it changed and is not the proxy's own write.
    pub async fn reload_from_file(&self) {
        let path = self.config_path().to_path_buf();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                slog::warn!(self.log, "config file removed; keeping the running configuration"; "path" => %path.display());
                return;
            }
            Err(error) => {
                self.file_invalid(Invalid {
                    error: format!("cannot read the file: {error}"),
                    problems: Vec::new(),
                });
                return;
            }
        };
        let hash = digest(&bytes);
        let own = *lock(&self.reload.written) == Some(hash);
        let seen = lock(&self.reload.seen).replace(hash) == Some(hash);
        if own || seen {
            if own {
                *lock(&self.reload.file_problem) = None;
            }
            return;
        }
        match self.apply_file(&bytes).await {
            Ok(fields) => {
                *lock(&self.reload.file_problem) = None;
                slog::info!(self.log, "configuration reloaded from file"; "path" => %path.display(), "changed_fields" => fields.join(","));
            }
            Err(invalid) => self.file_invalid(invalid),
        }
    }

    async fn apply_file(&self, bytes: &[u8]) -> Result<Vec<String>, Invalid> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Invalid {
                error: "the file is empty".into(),
                problems: Vec::new(),
            });
        }
        let config = serde_json::from_slice(bytes).map_err(|e| Invalid {
            error: format!(
                "not a valid configuration: {}",
                crate::config::mask_parse_error(&e.to_string())
            ),
            problems: Vec::new(),
        })?;
        match self.apply_config(config, ApplySource::File).await {
            Ok(outcome) => Ok(outcome.changed_fields),
            Err(AppError::Invalid(problems)) => Err(Invalid {
                error: problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                problems,
            }),
            Err(other) => Err(Invalid {
                error: other.to_string(),
                problems: Vec::new(),
            }),
        }
    }

    fn file_invalid(&self, invalid: Invalid) {
        let path = self.config_path();
        let message = format!(
            "The configuration file {} is invalid ({}); the running configuration is kept",
            path.display(),
            invalid.error
        );
        slog::warn!(self.log, "config file not applied"; "path" => %path.display(), "error" => &invalid.error);
        let errors = invalid
            .problems
            .iter()
            .map(|p| FieldError {
                field: p.field.clone(),
                message: p.message.clone(),
            })
            .collect();
        self.bus.publish(Event::ConfigInvalid {
            path: path.to_path_buf(),
            error: invalid.error.clone(),
            errors,
        });
        *lock(&self.reload.file_problem) = Some(FileProblem { message });
    }
}
