//! Docker isolation of stdio servers: building the `docker run` command that wraps a server
//! ([`wrap_command`]), removing its container ([`remove_container`]) and probing the engine
//! ([`probe`], for `GET /api/v1/docker/status` and the doctor).
//!
//! This module builds commands and runs the docker *client*; it never starts the server
//! process itself — the stdio transport spawns [`WrappedCommand::program`] with
//! [`WrappedCommand::args`] exactly as it would spawn the server's own command, and calls
//! [`remove_container`] with [`WrappedCommand::container_name`] when the connection ends
//! (`--rm` covers a clean exit; `rm -f` covers a killed client). Runtime detection and the
//! default images are the Go original's table (contract §6.5). The docker client is `docker`
//! from `PATH`, or `MCPPROXY_DOCKER_BIN`.

mod cli;
mod command;
mod runtime;

use std::time::Duration;

pub use cli::{
    COMMAND_TIMEOUT, DockerCli, DockerStatus, ENV_DOCKER_BIN, PROBE_TIMEOUT, docker_bin, probe,
    remove_container,
};
pub use command::{
    LABEL_MANAGED, LABEL_SERVER, WrappedCommand, container_name, sanitize_name, should_isolate,
    wrap_command, wrap_command_with,
};
pub use runtime::{Runtime, detect_runtime, runtime_key};

/// Why a docker command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DockerError {
    /// The docker client program does not exist.
    #[error("docker client {bin:?} not found (is Docker installed and on PATH?)")]
    NotFound {
        /// The program.
        bin: String,
    },
    /// The docker client could not be started or waited for.
    #[error("cannot run docker client {bin:?}: {source}")]
    Spawn {
        /// The program.
        bin: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The command did not finish in time (the client was killed).
    #[error("`{command}` timed out after {after:?}")]
    Timeout {
        /// The command, e.g. `docker info --format {{.ServerVersion}}`.
        command: String,
        /// The limit.
        after: Duration,
    },
    /// The command exited unsuccessfully.
    #[error("`{command}` failed ({}): {message}", exit_text(*.status))]
    Failed {
        /// The command.
        command: String,
        /// Its exit code; `None` when killed by a signal.
        status: Option<i32>,
        /// What it printed (stderr, else stdout), trimmed, at most 500 characters.
        message: String,
    },
}

fn exit_text(status: Option<i32>) -> String {
    match status {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    use serde_json::json;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    use super::*;

    /// A stand-in `docker` client: records its arguments (one per line, `--` after each
    /// call) and plays `info`, `rm` and `run` (which execs the wrapped command itself).
    struct FakeDocker {
        _dir: tempfile::TempDir,
        bin: PathBuf,
        record: PathBuf,
    }

    const SCRIPT: &str = r#"#!/bin/sh
[ "$1" = warmup ] && exit 0
{ printf '%s\n' "$@"; printf -- '--\n'; } >> "__RECORD__"
case "$1" in
  info) __INFO__ ;;
  rm)
    case "$3" in
      gone*) echo "Error response from daemon: No such container: $3" >&2; exit 1 ;;
      stuck*) echo "Error response from daemon: removal of container $3 is already in progress" >&2; exit 1 ;;
    esac
    exit 0 ;;
  run) shift ;;
  *) echo "unknown command: $1" >&2; exit 125 ;;
esac
while [ $# -gt 0 ]; do
  case "$1" in
    --rm|-i) shift ;;
    -e) export "$2"; shift 2 ;;
    --name|--label|--log-driver|--log-opt|--network|--memory|--cpus|--workdir) shift 2 ;;
    *) break ;;
  esac
done
shift
exec "$@"
"#;

    impl FakeDocker {
        fn new(info: &str) -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let bin = dir.path().join("docker");
            let record = dir.path().join("calls.txt");
            let script = SCRIPT
                .replace("__RECORD__", &record.display().to_string())
                .replace("__INFO__", info);
            std::fs::write(&bin, script).expect("write script");
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            wait_until_executable(&bin);
            Self {
                _dir: dir,
                bin,
                record,
            }
        }

        fn cli(&self) -> DockerCli {
            DockerCli::new(&self.bin)
        }

        fn calls(&self) -> Vec<Vec<String>> {
            let text = std::fs::read_to_string(&self.record).unwrap_or_default();
            text.split("--\n")
                .filter(|c| !c.is_empty())
                .map(|c| c.lines().map(str::to_string).collect())
                .collect()
        }
    }

    /// A script just written may still be open for writing in a child forked meanwhile by
    /// another test thread (ETXTBSY); wait until it runs.
    fn wait_until_executable(bin: &Path) {
        for _ in 0..100 {
            match std::process::Command::new(bin).arg("warmup").status() {
                Ok(_) => return,
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("stand-in docker does not run: {e}"),
            }
        }
    }

    #[tokio::test]
    async fn probe_reports_the_stand_in_version() {
        let fake = FakeDocker::new("echo 27.0.1; exit 0");
        let status = fake.cli().probe().await;
        assert!(status.available, "{status:?}");
        assert_eq!(status.version.as_deref(), Some("27.0.1"));
        assert_eq!(status.last_error, None);
        assert_eq!(
            fake.calls(),
            vec![vec!["info", "--format", "{{.ServerVersion}}"]]
        );
        let json = serde_json::to_value(&status).expect("json");
        assert_eq!(json["available"], true);
        assert_eq!(json["version"], "27.0.1");
        assert_eq!(json["failure_count"], 0);
    }

    #[tokio::test]
    async fn probe_without_an_engine_explains_why() {
        let fake = FakeDocker::new(
            "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit 1",
        );
        let status = fake.cli().probe().await;
        assert!(!status.available);
        assert_eq!(
            status.last_error.as_deref(),
            Some(
                "`docker info --format {{.ServerVersion}}` failed (exit status 1): Cannot connect to the Docker daemon at \
                 unix:///var/run/docker.sock. Is the docker daemon running?"
            )
        );

        let hung = FakeDocker::new("exec sleep 30");
        let cli = DockerCli {
            probe_timeout: Duration::from_millis(300),
            ..hung.cli()
        };
        let started = std::time::Instant::now();
        let status = cli.probe().await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(!status.available);
        assert!(
            status
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("timed out after 300ms")),
            "{status:?}"
        );

        let empty = FakeDocker::new("exit 0");
        assert_eq!(
            empty.cli().probe().await.last_error.as_deref(),
            Some("docker info reported no server version")
        );
    }

    #[tokio::test]
    async fn probe_with_a_missing_binary() {
        let status = DockerCli::new("/nonexistent/mcpproxy-test/docker")
            .probe()
            .await;
        assert!(!status.available);
        assert_eq!(
            status.last_error.as_deref(),
            Some(
                "docker client \"/nonexistent/mcpproxy-test/docker\" not found (is Docker installed and on PATH?)"
            )
        );
    }

    /// The machine's own docker client: here it has no engine, so the probe must say why;
    /// on a machine with a running engine it must report a version.
    #[tokio::test]
    async fn probe_on_this_machine() {
        let status = DockerCli::new("docker").probe().await;
        eprintln!("docker status on this machine: {status:?}");
        if status.available {
            assert!(status.version.is_some());
        } else {
            let error = status.last_error.expect("an explanation");
            assert!(!error.is_empty());
            assert!(
                error.contains("Cannot connect to the Docker daemon")
                    || error.contains("not found")
                    || error.contains("timed out"),
                "{error}"
            );
        }
    }

    #[tokio::test]
    async fn remove_container_is_bounded_and_idempotent() {
        let fake = FakeDocker::new("exit 0");
        let cli = fake.cli();
        cli.remove_container("mcpproxy-a-0001")
            .await
            .expect("removed");
        cli.remove_container("gone-0002")
            .await
            .expect("already gone is fine");
        let err = cli
            .remove_container("stuck-0003")
            .await
            .expect_err("real failure");
        assert!(
            matches!(
                err,
                DockerError::Failed {
                    status: Some(1),
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(fake.calls()[0], vec!["rm", "-f", "mcpproxy-a-0001"]);
        assert!(matches!(
            DockerCli::new("/nonexistent/docker")
                .remove_container("x")
                .await,
            Err(DockerError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn wrapped_command_runs_a_real_stdio_process() {
        let fake = FakeDocker::new("exit 0");
        let server: crate::config::ServerConfig = serde_json::from_value(json!({
            "name": "echo server!", "command": "sh", "enabled": true,
            "args": ["-c", "read line; echo \"got $line $GREETING\""],
            "env": {"GREETING": "hello world"}
        }))
        .expect("server");
        let global = crate::config::DockerIsolation::of(
            &serde_json::from_value(json!({"enabled": true})).expect("global"),
        );
        let wrapped =
            wrap_command_with(&server, &global, &fake.bin.display().to_string()).expect("isolated");
        assert_eq!(wrapped.image, "alpine:3.18");
        assert!(
            wrapped.container_name.starts_with("mcpproxy-echo-server-"),
            "{}",
            wrapped.container_name
        );

        let mut child = tokio::process::Command::new(&wrapped.program)
            .args(&wrapped.args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"ping\n").await.expect("write");
        drop(stdin);
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        tokio::time::timeout(Duration::from_secs(10), stdout.read_line(&mut line))
            .await
            .expect("in time")
            .expect("read");
        assert_eq!(line, "got ping hello world\n");
        let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .expect("exits")
            .expect("wait");
        assert!(status.success());

        let calls = fake.calls();
        let run = &calls[0];
        assert_eq!(run[..3], ["run", "--rm", "-i"]);
        assert!(
            run.windows(2)
                .any(|w| w == ["--name", wrapped.container_name.as_str()])
        );
        assert!(
            run.windows(2)
                .any(|w| w == ["--label", "mcpproxy.server=echo server!"])
        );
        assert!(run.windows(2).any(|w| w == ["-e", "GREETING=hello world"]));
        assert!(run.ends_with(&[
            "alpine:3.18".into(),
            "sh".into(),
            "-c".into(),
            server.args[1].clone()
        ]));

        fake.cli()
            .remove_container(&wrapped.container_name)
            .await
            .expect("rm");
        assert_eq!(
            fake.calls()[1],
            vec![
                "rm".to_string(),
                "-f".into(),
                wrapped.container_name.clone()
            ]
        );
    }

    #[test]
    fn status_history() {
        let base = DockerStatus {
            available: false,
            version: None,
            last_error: Some("down".into()),
            checked_at: chrono::Utc::now(),
            recovery_mode: false,
            failure_count: 0,
        };
        let first = base.clone().after(None);
        assert_eq!((first.failure_count, first.recovery_mode), (1, true));
        let second = base.clone().after(Some(&first));
        assert_eq!(second.failure_count, 2);
        let up = DockerStatus {
            available: true,
            version: Some("27".into()),
            last_error: None,
            ..base
        }
        .after(Some(&second));
        assert_eq!((up.failure_count, up.recovery_mode), (0, false));
    }

    #[test]
    fn docker_bin_defaults_to_docker() {
        if std::env::var_os(ENV_DOCKER_BIN).is_none() {
            assert_eq!(docker_bin(), "docker");
        }
    }
}
