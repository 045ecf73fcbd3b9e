//! Diagnostics (`GET /api/v1/diagnostics`, `/doctor`): every problem that needs a person —
//! upstream errors, servers waiting for login, referenced secrets that do not resolve,
//! quarantined servers, Docker unavailable while isolation is on, an invalid config file on
//! disk — each with a message and a suggested action. Also the cached Docker probe
//! (`GET /api/v1/docker/status`, at most one `docker info` every [`DOCKER_PROBE_EVERY`]) and
//! the update checker's answer for `/info`.
//!
//! Not covered yet: tools whose pinned description or schema changed and await approval
//! (tool pinning lands separately; it adds a category here).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::App;
use crate::docker::DockerStatus;
use crate::secrets::{SecretKind, SecretUsage};
use crate::sync::lock;
use crate::update::{UpdateChecker, UpdateInfo};
use crate::upstream::ConnectionState;

/// A cached Docker probe is reused for this long.
pub const DOCKER_PROBE_EVERY: Duration = Duration::from_secs(30);

/// The last Docker probe and when one last succeeded.
#[derive(Debug, Clone, Default)]
pub(super) struct DockerCache {
    pub status: Option<DockerStatus>,
    pub last_successful_at: Option<DateTime<Utc>>,
}

/// What kind of problem an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// A server failed to connect.
    UpstreamError,
    /// A server waits for a login.
    OauthRequired,
    /// A referenced secret does not resolve.
    MissingSecret,
    /// A server awaits approval.
    Quarantined,
    /// Tools changed since approval and are blocked.
    ChangedTools,
    /// Docker is needed but unavailable.
    Docker,
    /// The config file on disk is invalid.
    Config,
    /// A setting leaves the proxy more exposed than its defaults.
    Security,
}

/// How bad an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Something does not work.
    Error,
    /// Something needs attention.
    Warning,
}

/// One problem with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Its kind.
    pub category: Category,
    /// How bad.
    pub severity: Severity,
    /// The server concerned, if any.
    pub server: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The suggested fix.
    pub action: String,
}

/// A failing server (the Go original's `upstream_errors` entry).
#[derive(Debug, Clone)]
pub struct UpstreamFailure {
    /// Server name.
    pub server_name: String,
    /// Its last error.
    pub error_message: String,
    /// When the failing attempt started.
    pub timestamp: Option<DateTime<Utc>>,
}

/// Docker as `GET /api/v1/docker/status` reports it.
#[derive(Debug, Clone)]
pub struct DockerState {
    /// `docker_isolation.enabled`.
    pub isolation_enabled: bool,
    /// The last probe.
    pub status: DockerStatus,
    /// When a probe last reached an engine.
    pub last_successful_at: Option<DateTime<Utc>>,
}

/// Everything the doctor found.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    /// Every problem.
    pub issues: Vec<Issue>,
    /// Failing servers.
    pub upstream_errors: Vec<UpstreamFailure>,
    /// Servers waiting for a login: (server, state).
    pub oauth_required: Vec<(String, String)>,
    /// Referenced secrets that do not resolve.
    pub missing_secrets: Vec<SecretUsage>,
    /// Other warnings (an invalid config file).
    pub runtime_warnings: Vec<String>,
    /// Docker, when isolation is on.
    pub docker: Option<DockerStatus>,
    /// When the checks ran.
    pub timestamp: DateTime<Utc>,
}

fn issue(
    category: Category,
    severity: Severity,
    server: Option<&str>,
    message: String,
    action: String,
) -> Issue {
    Issue {
        category,
        severity,
        server: server.map(str::to_string),
        message,
        action,
    }
}

fn secret_issue(secret: &SecretUsage) -> Issue {
    let users = secret.used_by.join(", ");
    let action = match secret.kind {
        SecretKind::Env => format!(
            "Set the environment variable {} for mcpproxy and restart mcpproxy",
            secret.name
        ),
        SecretKind::Keyring => format!(
            "Store it: mcpproxy secrets set {} (or POST /api/v1/secrets); the servers using it restart",
            secret.name
        ),
    };
    issue(
        Category::MissingSecret,
        Severity::Error,
        secret.used_by.first().map(String::as_str),
        format!(
            "Missing secret: {} ({} used by {users})",
            secret.name, secret.reference
        ),
        action,
    )
}

impl App {
    /// Run every check.
    pub async fn diagnostics(&self) -> Diagnostics {
        let config = self.config();
        let mut issues = Vec::new();
        let mut upstream_errors = Vec::new();
        let mut oauth_required = Vec::new();
        for view in self.servers() {
            let name = view.config.name.as_str();
            if view.config.quarantined {
                issues.push(issue(
                    Category::Quarantined,
                    Severity::Warning,
                    Some(name),
                    format!("Server {name} is quarantined and awaits review"),
                    format!(
                        "Review its tools, then approve it: POST /api/v1/servers/{name}/unquarantine"
                    ),
                ));
                continue;
            }
            if !view.config.should_connect() || self.held_reason(name).is_some() {
                continue;
            }
            match (view.state, view.last_error) {
                (ConnectionState::PendingAuth, error) => {
                    oauth_required.push((name.to_string(), view.state.as_str().to_string()));
                    issues.push(issue(
                        Category::OauthRequired,
                        Severity::Warning,
                        Some(name),
                        format!(
                            "Server {name} waits for a login{}",
                            error.map(|e| format!(": {e}")).unwrap_or_default()
                        ),
                        format!(
                            "Log in: mcpproxy auth login --server={name} (the server reconnects once signed in)"
                        ),
                    ));
                }
                (ConnectionState::Ready, _) | (_, None) => {}
                (_, Some(error)) => {
                    let timestamp = self
                        .upstreams
                        .snapshot(name)
                        .and_then(|s| s.last_attempt_at);
                    issues.push(issue(
                        Category::UpstreamError,
                        Severity::Error,
                        Some(name),
                        format!("Server {name} failed: {error}"),
                        format!(
                            "Check its log (GET /api/v1/servers/{name}/logs), fix its configuration, then restart it (POST /api/v1/servers/{name}/restart)"
                        ),
                    ));
                    upstream_errors.push(UpstreamFailure {
                        server_name: name.to_string(),
                        error_message: error,
                        timestamp,
                    });
                }
            }
        }
        for (server, scans) in self.all_tool_scans() {
            let held: Vec<&str> = scans
                .iter()
                .filter(|(_, s)| s.held())
                .map(|(n, _)| n.as_str())
                .collect();
            let review: Vec<&str> = scans
                .iter()
                .filter(|(_, s)| !s.held() && !s.findings.is_empty())
                .map(|(n, _)| n.as_str())
                .collect();
            for (tools, severity, what) in [
                (
                    held,
                    Severity::Error,
                    "are held back: the tool-poisoning scanner found block-tier findings in",
                ),
                (
                    review,
                    Severity::Warning,
                    "have tool-poisoning scanner findings to review:",
                ),
            ] {
                if tools.is_empty() {
                    continue;
                }
                issues.push(issue(
                    Category::Security,
                    severity,
                    Some(&server),
                    format!("Tools of {server} {what} {}", tools.join(", ")),
                    format!(
                        "Review the findings (GET /api/v1/servers/{server}/tools); to offer a held tool anyway: POST /api/v1/servers/{server}/tools/approve with a reason"
                    ),
                ));
            }
        }
        for (server, tools) in self.blocked_tools() {
            // Held only by the scanner (unchanged since approval): reported above.
            let approvals = self.tool_approvals(&server);
            let tools: Vec<String> = tools
                .into_iter()
                .filter(|t| {
                    approvals
                        .get(t)
                        .is_some_and(|a| a.status == crate::storage::ApprovalStatus::Changed)
                })
                .collect();
            if tools.is_empty() {
                continue;
            }
            let list = tools.join(", ");
            issues.push(issue(
                Category::ChangedTools,
                Severity::Warning,
                Some(&server),
                format!("Tools of {server} changed since approval and are blocked: {list}"),
                format!(
                    "Compare both versions (GET /api/v1/servers/{server}/tools), then approve: POST /api/v1/servers/{server}/tools/approve"
                ),
            ));
        }
        let missing_secrets: Vec<SecretUsage> =
            crate::secrets::missing(&config, self.secret_store());
        issues.extend(missing_secrets.iter().map(secret_issue));
        let docker = match config.docker_isolation.enabled {
            true => Some(self.docker_state().await.status),
            false => None,
        };
        if let Some(status) = docker.as_ref().filter(|s| !s.available) {
            issues.push(issue(
                Category::Docker,
                Severity::Error,
                None,
                format!(
                    "Docker isolation is on but Docker is unavailable: {}",
                    status.last_error.as_deref().unwrap_or("no engine answered")
                ),
                "Start Docker (or install it and put `docker` on PATH), or turn docker_isolation.enabled off".into(),
            ));
        }
        let mut runtime_warnings = Vec::new();
        if let Some(problem) = self.config_file_problem() {
            runtime_warnings.push(problem.clone());
            issues.push(issue(
                Category::Config,
                Severity::Error,
                None,
                problem,
                format!(
                    "Fix {}; it is reloaded when saved (the running configuration is kept until then)",
                    self.config_path().display()
                ),
            ));
        }
        issues.extend(self.exposures().into_iter().map(|e| {
            issue(
                Category::Security,
                Severity::Warning,
                None,
                e.message,
                e.action,
            )
        }));
        Diagnostics {
            issues,
            upstream_errors,
            oauth_required,
            missing_secrets,
            runtime_warnings,
            docker,
            timestamp: Utc::now(),
        }
    }

    /// Docker's availability, probed at most every [`DOCKER_PROBE_EVERY`].
    pub async fn docker_state(&self) -> DockerState {
        let mut cache = self.docker.lock().await;
        let cached = cache.status.clone().filter(|s| {
            (Utc::now() - s.checked_at)
                .to_std()
                .is_ok_and(|age| age < DOCKER_PROBE_EVERY)
        });
        let status = match cached {
            Some(status) => status,
            None => {
                let status = crate::docker::probe().await.after(cache.status.as_ref());
                if status.available {
                    cache.last_successful_at = Some(status.checked_at);
                }
                cache.status = Some(status.clone());
                status
            }
        };
        DockerState {
            isolation_enabled: self.settings().docker.enabled,
            status,
            last_successful_at: cache.last_successful_at,
        }
    }

    /// Use `checker` for `/info` and stop it at shutdown; it starts checking now.
    pub fn start_update_checker(&self, checker: Arc<UpdateChecker>) {
        if self.update.set(checker.clone()).is_ok() {
            checker.spawn(self.background.clone());
        }
    }

    /// The last update check's answer; `None` until one has finished.
    pub fn update_info(&self) -> Option<UpdateInfo> {
        self.update.get().and_then(|c| c.latest())
    }

    /// Settings that leave the proxy more exposed than its defaults (logged at start).
    pub fn exposures(&self) -> Vec<crate::config::Exposure> {
        crate::config::exposures(&self.store, &self.config(), self.resolved())
    }

    /// Why the config file on disk was not applied, if it was not.
    pub fn config_file_problem(&self) -> Option<String> {
        lock(&self.reload.file_problem)
            .as_ref()
            .map(|p| p.message.clone())
    }
}
