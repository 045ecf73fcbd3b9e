//! Server views and the per-server management actions (enable, disable, quarantine, bulk).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{App, AppError};
use crate::config::{
    Config, ConnectionSettings, ServerConfig, check_server_name, escaped, mask_server, redact,
};
use crate::events::{Event, ServerChange};
use crate::upstream::{ConnectionState, Health, HealthInput, health};

/// A configured server with its live state and health, as it may be shown (REST, agents,
/// diagnostics): its configuration masked, its error redacted.
#[derive(Debug, Clone)]
pub struct ServerView {
    /// The configuration entry, secrets masked.
    pub config: ServerConfig,
    /// Connection state.
    pub state: ConnectionState,
    /// Last connection error.
    pub last_error: Option<String>,
    /// Tools discovered.
    pub tool_count: usize,
    /// Reconnect attempts since the last ready.
    pub reconnect_count: u32,
    /// Unified health.
    pub health: Health,
    /// The protocol revision negotiated on the current connection.
    pub protocol_version: Option<String>,
}

/// Counters for `/status` and the servers list.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatusCounts {
    /// Configured servers.
    pub total: usize,
    /// Servers in state ready.
    pub connected: usize,
    /// Servers connecting or discovering.
    pub connecting: usize,
    /// Quarantined servers.
    pub quarantined: usize,
    /// Tools over all ready servers.
    pub tools: usize,
}

/// Result of a bulk operation.
#[derive(Debug, Clone, Default)]
pub struct BulkOutcome {
    /// Servers the operation applied to.
    pub total: usize,
    /// Those that succeeded.
    pub successful: usize,
    /// Error per failed server.
    pub errors: Vec<(String, String)>,
}

impl App {
    /// Every configured server with its live state, in configuration order.
    pub fn servers(&self) -> Vec<ServerView> {
        self.config().servers.iter().map(|s| self.view(s)).collect()
    }

    fn view(&self, config: &ServerConfig) -> ServerView {
        let snapshot = self
            .upstreams
            .snapshot(&config.name)
            .filter(|_| config.should_connect());
        let held = self
            .held_reason(&config.name)
            .filter(|_| config.should_connect());
        let (state, last_error, tool_count, reconnect_count, protocol_version) =
            match (held, snapshot) {
                (Some(reason), _) => (ConnectionState::Error, Some(reason), 0, 0, None),
                (None, Some(s)) => {
                    // Only a live connection has a negotiated revision.
                    let live = matches!(
                        s.state,
                        ConnectionState::Discovering | ConnectionState::Ready
                    );
                    let version = s.protocol_version.filter(|_| live);
                    (s.state, s.last_error, s.tool_count, s.retry_count, version)
                }
                (None, None) => (ConnectionState::Disconnected, None, 0, 0, None),
            };
        // Views leave the process: secrets masked, and hidden in the error text too.
        let last_error = last_error.map(|e| redact(&e, config));
        let health = health(HealthInput {
            enabled: config.enabled,
            quarantined: config.quarantined,
            state,
            last_error: last_error.as_deref(),
            tool_count,
        });
        ServerView {
            config: mask_server(config),
            state,
            last_error,
            tool_count,
            reconnect_count,
            health,
            protocol_version,
        }
    }

    /// Counters over all servers.
    pub fn counts(&self) -> StatusCounts {
        let servers = self.servers();
        StatusCounts {
            total: servers.len(),
            connected: servers
                .iter()
                .filter(|s| s.state == ConnectionState::Ready)
                .count(),
            connecting: servers.iter().filter(|s| s.state.is_connecting()).count(),
            quarantined: servers.iter().filter(|s| s.config.quarantined).count(),
            tools: servers
                .iter()
                .filter(|s| s.state == ConnectionState::Ready)
                .map(|s| s.tool_count)
                .sum(),
        }
    }

    /// Set `enabled` on one server and persist it.
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), AppError> {
        self.edit_server(name, |s| {
            s.enabled = enabled;
            Ok(())
        })
        .await?;
        self.bus
            .publish(Event::ServersChanged(ServerChange::EnableToggle {
                server: name.to_string(),
                enabled,
            }));
        Ok(())
    }

    /// Set `quarantined` on one server and persist it.
    pub async fn set_quarantined(&self, name: &str, quarantined: bool) -> Result<(), AppError> {
        self.set_quarantined_reviewed(name, quarantined, None).await
    }

    /// [`set_quarantined`](Self::set_quarantined); an approval with `reviewed` (the
    /// fingerprint of the plan a person reviewed) is refused, atomically with the write, when
    /// the connection settings no longer match it.
    pub async fn set_quarantined_reviewed(
        &self,
        name: &str,
        quarantined: bool,
        reviewed: Option<&str>,
    ) -> Result<(), AppError> {
        self.edit_server(name, |s| {
            if !quarantined {
                super::inspect::check_reviewed(s, reviewed)?;
            }
            s.quarantined = quarantined;
            Ok(())
        })
        .await?;
        if !quarantined {
            // Approved as it is now: the earlier approval and inspection are history.
            self.forget_review(name, true);
        }
        self.bus
            .publish(Event::ServersChanged(ServerChange::QuarantineToggle {
                server: name.to_string(),
                quarantined,
            }));
        Ok(())
    }

    /// Change server `name` with `edit` (validated, saved); the configurations before and
    /// after.
    async fn edit_server(
        &self,
        name: &str,
        edit: impl FnOnce(&mut ServerConfig) -> Result<(), AppError>,
    ) -> Result<(Arc<Config>, Arc<Config>), AppError> {
        existing_name(name)?;
        let now = now();
        let ((), old, new) = self
            .update_config(|config| {
                let server = config
                    .servers
                    .iter_mut()
                    .find(|s| s.name == name)
                    .ok_or_else(|| {
                        AppError::not_found(super::Resource::Server, name.to_string())
                    })?;
                edit(server)?;
                server.updated = Some(now);
                Ok(())
            })
            .await?;
        Ok((old, new))
    }

    /// Enable (or disable) every server that is not already so, in one atomic write.
    pub async fn set_all_enabled(&self, enabled: bool) -> Result<BulkOutcome, AppError> {
        let now = now();
        let (changed, _, _) = self
            .update_config(|config| {
                let mut changed = Vec::new();
                for server in config.servers.iter_mut().filter(|s| s.enabled != enabled) {
                    server.enabled = enabled;
                    server.updated = Some(now);
                    changed.push(server.name.clone());
                }
                Ok(changed)
            })
            .await?;
        self.bus
            .publish(Event::ServersChanged(ServerChange::BulkEnableToggle {
                enabled,
                count: changed.len(),
            }));
        Ok(BulkOutcome {
            total: changed.len(),
            successful: changed.len(),
            errors: Vec::new(),
        })
    }
}

impl App {
    /// The configuration entry of `name` (secrets in the clear: not for display).
    pub fn configured(&self, name: &str) -> Result<ServerConfig, AppError> {
        existing_name(name)?;
        self.config()
            .servers
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| AppError::not_found(super::Resource::Server, name.to_string()))
    }

    /// Reconnect one server now (resets backoff and a pending-auth wait).
    pub async fn restart(&self, name: &str) -> Result<(), AppError> {
        if !self.configured(name)?.should_connect() {
            return Err(AppError::NotRunning(name.to_string()));
        }
        // A secret may have been set meanwhile (e.g. the store edited by hand).
        self.reconcile();
        if let Some(reason) = self.held_reason(name) {
            return Err(AppError::Held {
                server: name.to_string(),
                reason,
            });
        }
        self.upstreams.restart(name).await?;
        self.bus
            .publish(Event::ServersChanged(ServerChange::Restart {
                server: name.to_string(),
            }));
        Ok(())
    }

    /// Reconnect every server that should be connected, in parallel.
    pub async fn restart_all(&self) -> BulkOutcome {
        let results = self.upstreams.reconnect_all().await;
        let mut outcome = BulkOutcome {
            total: results.len(),
            ..Default::default()
        };
        for (name, result) in results {
            match result {
                Ok(()) => outcome.successful += 1,
                Err(e) => outcome.errors.push((name, e.to_string())),
            }
        }
        self.bus
            .publish(Event::ServersChanged(ServerChange::RestartAll {
                count: outcome.total,
            }));
        outcome
    }

    /// The tools a configured server offered on its last connection.
    pub fn server_tools(&self, name: &str) -> Result<Vec<rmcp::model::Tool>, AppError> {
        let config = self.configured(name)?;
        Ok(if config.should_connect() {
            self.upstreams.tools(name).unwrap_or_default()
        } else {
            Vec::new()
        })
    }

    /// At most `n` lines of a server's log from `start` (none when it never ran).
    pub fn server_logs(
        &self,
        name: &str,
        start: crate::upstream::LogStart,
        n: usize,
    ) -> Result<crate::upstream::LogRead, AppError> {
        self.configured(name)?;
        match self.upstreams.logs(name, start, n) {
            // Never started: an empty log, whose cursor reads it from its first line.
            Err(crate::upstream::UpstreamError::NotFound { .. }) => Ok(Default::default()),
            other => Ok(other?),
        }
    }
}

/// A name that breaks the naming rule can name no configured server: not found, shown
/// escaped (a lookup answers 404, never echoes control characters).
pub(super) fn existing_name(name: &str) -> Result<(), AppError> {
    check_server_name(name).map_err(|_| AppError::not_found(super::Resource::Server, escaped(name)))
}

/// Server `name`'s entry in `config`.
fn saved_entry(config: &Config, name: &str) -> Result<ServerConfig, AppError> {
    config
        .servers
        .iter()
        .find(|s| s.name == name)
        .cloned()
        .ok_or_else(|| AppError::not_found(super::Resource::Server, name.to_string()))
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

impl App {
    /// Add a server (refused when the name exists or the result is invalid).
    pub async fn add_server(&self, mut server: ServerConfig) -> Result<(), AppError> {
        check_server_name(&server.name)?;
        let now = now();
        server.created = Some(now);
        server.updated = Some(now);
        let name = server.name.clone();
        self.update_config(|config| {
            if config.servers.iter().any(|s| s.name == server.name) {
                return Err(AppError::ServerExists(server.name.clone()));
            }
            config.servers.push(server);
            Ok(())
        })
        .await?;
        // Notes of an earlier server of that name say nothing about this one.
        self.forget_review(&name, true);
        self.forget_overrides(&name);
        self.bus.publish(Event::ServersChanged(ServerChange::Added {
            server: name.to_string(),
        }));
        Ok(())
    }

    /// Remove a server; its connection stops.
    pub async fn remove_server(&self, name: &str) -> Result<(), AppError> {
        existing_name(name)?;
        self.update_config(|config| {
            let before = config.servers.len();
            config.servers.retain(|s| s.name != name);
            if config.servers.len() == before {
                return Err(AppError::not_found(
                    super::Resource::Server,
                    name.to_string(),
                ));
            }
            Ok(())
        })
        .await?;
        self.forget_review(name, true);
        self.forget_overrides(name);
        self.bus
            .publish(Event::ServersChanged(ServerChange::Removed {
                server: name.to_string(),
            }));
        Ok(())
    }

    /// Change one server with `edit` (validated, persisted); returns the new entry as saved
    /// (masks sent back restored to the real values).
    pub async fn edit_server_with(
        &self,
        name: &str,
        edit: impl FnOnce(&mut ServerConfig) -> Result<(), AppError>,
    ) -> Result<ServerConfig, AppError> {
        let (_, new) = self.edit_server(name, edit).await?;
        let updated = saved_entry(&new, name)?;
        self.bus
            .publish(Event::ServersChanged(ServerChange::Updated {
                server: name.to_string(),
                changed: None,
            }));
        Ok(updated)
    }
}

impl App {
    /// A person's change of one server (REST, CLI): `edit` applies, the result is validated
    /// and saved, and only this server restarts, only when what it runs or contacts changed.
    /// The quarantine flag stays as `edit` leaves it (a person is trusted); notes of an
    /// earlier inspection no longer describe the server when its connection changed.
    /// Returns the new entry and the connection settings that changed.
    pub async fn update_server(
        &self,
        name: &str,
        edit: impl FnOnce(&mut ServerConfig) -> Result<(), AppError>,
    ) -> Result<(ServerConfig, Vec<&'static str>), AppError> {
        let (old, new) = self.edit_server(name, edit).await?;
        // Compared as saved: masks sent back were restored to the real values by then.
        let entry = |config: &Config| config.servers.iter().find(|s| s.name == name).cloned();
        let (Some(before), Some(after)) = (entry(&old), entry(&new)) else {
            return Err(AppError::not_found(
                super::Resource::Server,
                name.to_string(),
            ));
        };
        let changed =
            ConnectionSettings::of(&before).changed_fields(&ConnectionSettings::of(&after));
        if !changed.is_empty() {
            self.forget_review(name, false);
        }
        self.bus
            .publish(Event::ServersChanged(ServerChange::Updated {
                server: name.to_string(),
                changed: Some(changed.clone()),
            }));
        Ok((after, changed))
    }
}
