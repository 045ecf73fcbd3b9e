//! Talking to the docker client: is an engine there ([`DockerCli::probe`]), and removing a
//! container ([`DockerCli::remove_container`]). Every call is bounded in time and the child
//! is killed when the time is up; the docker client program is `docker` from `PATH` unless
//! `MCPPROXY_DOCKER_BIN` names another (tests use a stand-in script).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::DockerError;

/// `MCPPROXY_DOCKER_BIN` replaces the `docker` client program.
pub const ENV_DOCKER_BIN: &str = "MCPPROXY_DOCKER_BIN";
/// Timeout of `docker info` (the Go original's 2 s).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Timeout of other docker commands (`rm -f`).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The docker client program: `MCPPROXY_DOCKER_BIN` if set and non-empty, else `docker`.
pub fn docker_bin() -> String {
    std::env::var(ENV_DOCKER_BIN)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "docker".to_string())
}

/// What the last probe found (`GET /api/v1/docker/status`, the doctor's `docker_status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DockerStatus {
    /// An engine answered.
    pub available: bool,
    /// The engine's version (`{{.ServerVersion}}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why it is not available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the probe ran.
    pub checked_at: DateTime<Utc>,
    /// Isolated servers are waiting for Docker to come back (kept by the caller).
    pub recovery_mode: bool,
    /// Failed probes in a row (kept by the caller).
    pub failure_count: u32,
}

impl DockerStatus {
    /// `self` as the next probe after `previous`: failures in a row are counted, and recovery
    /// mode is on while Docker stays unavailable after having failed.
    pub fn after(mut self, previous: Option<&DockerStatus>) -> Self {
        if self.available {
            self.failure_count = 0;
            self.recovery_mode = false;
        } else {
            self.failure_count = previous.map_or(0, |p| p.failure_count).saturating_add(1);
            self.recovery_mode = true;
        }
        self
    }
}

/// A docker client program and the time limits of its calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerCli {
    /// The program (`docker`, or a path).
    pub bin: PathBuf,
    /// Timeout of `docker info`.
    pub probe_timeout: Duration,
    /// Timeout of `docker rm -f`.
    pub command_timeout: Duration,
}

impl DockerCli {
    /// The client `bin` with the default timeouts.
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        Self {
            bin: bin.into(),
            probe_timeout: PROBE_TIMEOUT,
            command_timeout: COMMAND_TIMEOUT,
        }
    }

    /// The client from [`docker_bin`].
    pub fn from_env() -> Self {
        Self::new(docker_bin())
    }

    /// Run `docker <args>` within `timeout`; stdout on success.
    async fn run(&self, args: &[&str], timeout: Duration) -> Result<String, DockerError> {
        let command = format!("docker {}", args.join(" "));
        let child = tokio::process::Command::new(&self.bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => DockerError::NotFound {
                    bin: self.bin.display().to_string(),
                },
                _ => DockerError::Spawn {
                    bin: self.bin.display().to_string(),
                    source,
                },
            })?;
        let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
            Ok(result) => result.map_err(|source| DockerError::Spawn {
                bin: self.bin.display().to_string(),
                source,
            })?,
            Err(_) => {
                return Err(DockerError::Timeout {
                    command,
                    after: timeout,
                });
            }
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stdout = String::from_utf8_lossy(&output.stdout);
            let message = [stderr.trim(), stdout.trim()]
                .into_iter()
                .find(|s| !s.is_empty())
                .unwrap_or_default();
            let message: String = message.chars().take(500).collect();
            return Err(DockerError::Failed {
                command,
                status: output.status.code(),
                message,
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// `docker info --format {{.ServerVersion}}`: is an engine reachable, and its version.
    /// `recovery_mode` and `failure_count` are left at their defaults; see
    /// [`DockerStatus::after`].
    pub async fn probe(&self) -> DockerStatus {
        let result = self
            .run(
                &["info", "--format", "{{.ServerVersion}}"],
                self.probe_timeout,
            )
            .await;
        let (available, version, last_error) = match result {
            Ok(version) if !version.is_empty() && version != "<no value>" => {
                (true, Some(version), None)
            }
            Ok(_) => (
                false,
                None,
                Some("docker info reported no server version".to_string()),
            ),
            Err(e) => (false, None, Some(e.to_string())),
        };
        DockerStatus {
            available,
            version,
            last_error,
            checked_at: Utc::now(),
            recovery_mode: false,
            failure_count: 0,
        }
    }

    /// `docker rm -f <name>`; a container that is already gone is not an error.
    pub async fn remove_container(&self, name: &str) -> Result<(), DockerError> {
        match self.run(&["rm", "-f", name], self.command_timeout).await {
            Ok(_) => Ok(()),
            Err(DockerError::Failed { message, .. }) if message.contains("No such container") => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// [`DockerCli::probe`] with the client from the environment.
pub async fn probe() -> DockerStatus {
    DockerCli::from_env().probe().await
}

/// [`DockerCli::remove_container`] with the client from the environment.
pub async fn remove_container(name: &str) -> Result<(), DockerError> {
    DockerCli::from_env().remove_container(name).await
}
