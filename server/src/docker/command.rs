//! Building the `docker run` command that wraps a stdio server ([`wrap_command`]).
//!
//! Isolation applies when `docker_isolation.enabled` is true, the server is a stdio server
//! with a command, that command is not docker itself, and the server's own
//! `isolation.enabled` is not explicitly `false`. The global settings come typed, with their
//! defaults, from [`DockerIsolation`] (resolved once per configuration change as part of
//! `config::Settings`); a server's own `isolation` ([`IsolationOverrides`]) may override
//! `image`, `network_mode`, `working_dir`, `extra_args`, `memory_limit`, `cpu_limit`,
//! `log_driver`, `log_max_size` and `log_max_files`. An empty global value leaves the flag
//! out.
//!
//! The server's `env` goes in as `-e K=V`, so pass a server whose secrets are already
//! resolved — and log [`WrappedCommand::display_args`], never the raw arguments, since they
//! hold those values.

use super::runtime::{container_command, detect_runtime, runtime_key};
use super::{Runtime, docker_bin};
use crate::config::{DockerIsolation, IsolationOverrides, ServerConfig, Transport};

/// Label every isolation container carries (`true`), for finding leftovers.
pub const LABEL_MANAGED: &str = "mcpproxy.managed";
/// Label holding the server's name.
pub const LABEL_SERVER: &str = "mcpproxy.server";

/// A stdio server's command rewritten to run in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedCommand {
    /// The docker client to run (`docker`, or `MCPPROXY_DOCKER_BIN`).
    pub program: String,
    /// Its arguments, starting with `run`.
    pub args: Vec<String>,
    /// `--name` of the container, for `docker rm -f` on shutdown or failure.
    pub container_name: String,
    /// The image used.
    pub image: String,
    /// The runtime detected from the server's command.
    pub runtime: Runtime,
}

impl WrappedCommand {
    /// The arguments as they may be logged: the values of `-e K=V`, of secret-looking flags
    /// and URL credentials masked (the configuration's one masking rule).
    pub fn display_args(&self) -> Vec<String> {
        crate::config::mask_args(&self.args)
    }
}

/// A flag's value: the server's override if it has one, else the global value (which has
/// its default applied); `None` when that is empty (flag left out).
fn setting(own: Option<&str>, global: &str) -> Option<String> {
    Some(own.unwrap_or(global))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Whether `server` runs inside Docker under `global`.
pub fn should_isolate(server: &ServerConfig, global: &DockerIsolation) -> bool {
    let Some(command) = server
        .command
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    else {
        return false;
    };
    let basename = std::path::Path::new(command)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(command);
    let opted_out = IsolationOverrides::of(server).enabled == Some(false);
    global.enabled
        && server.transport() == Transport::Stdio
        && !basename.starts_with("docker")
        && !opted_out
}

/// The container name for `server_name`: `mcpproxy-<sanitized>-<4 random hex digits>`.
pub fn container_name(server_name: &str) -> String {
    format!(
        "mcpproxy-{}-{:04x}",
        sanitize_name(server_name),
        rand::random::<u16>()
    )
}

/// `name` made valid for a container name (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), as the Go
/// original does it: runs of other characters become one `-`, a leading non-alphanumeric
/// gets `server-` in front, trailing `-`/`.` go, at most 200 characters, never empty.
pub fn sanitize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            c
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    if out
        .chars()
        .next()
        .is_some_and(|c| !c.is_ascii_alphanumeric())
    {
        out = format!("server-{}", out.trim_start_matches('-'));
    }
    out.truncate(200);
    let out = out.trim_end_matches(['-', '.']);
    if out.is_empty() {
        "server".to_string()
    } else {
        out.to_string()
    }
}

/// The image for `server`: its `isolation.image`, else `default_images[<runtime key>]`, else
/// `default_images[<runtime family>]`, else the built-in default; with `registry` in front
/// of official images (no `/`) when one is configured.
fn image_for(
    own: &IsolationOverrides,
    global: &DockerIsolation,
    command: &str,
    runtime: Runtime,
) -> String {
    let image = own
        .image
        .clone()
        .or_else(|| global.default_images.get(runtime_key(command)).cloned())
        .or_else(|| global.default_images.get(runtime.as_str()).cloned())
        .unwrap_or_else(|| runtime.default_image().to_string());
    match &global.registry {
        Some(registry) if !image.contains('/') => {
            format!("{}/library/{image}", registry.trim_end_matches('/'))
        }
        _ => image,
    }
}

/// `server`'s command wrapped in `docker run`, or `None` when isolation does not apply.
/// The program is the docker client from [`docker_bin`].
pub fn wrap_command(server: &ServerConfig, global: &DockerIsolation) -> Option<WrappedCommand> {
    wrap_command_with(server, global, &docker_bin())
}

/// [`wrap_command`] with an explicit docker client `program`.
pub fn wrap_command_with(
    server: &ServerConfig,
    global: &DockerIsolation,
    program: &str,
) -> Option<WrappedCommand> {
    if !should_isolate(server, global) {
        return None;
    }
    let command = server.command.as_deref()?.trim();
    let own = IsolationOverrides::of(server);
    let runtime = detect_runtime(command);
    let image = image_for(&own, global, command, runtime);
    let name = container_name(&server.name);

    let mut args: Vec<String> = ["run", "--rm", "-i", "--name"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(name.clone());
    args.extend([
        "--label".into(),
        format!("{LABEL_MANAGED}=true"),
        "--label".into(),
        format!("{LABEL_SERVER}={}", server.name),
    ]);
    let mut flag = |flag: &str, value: Option<String>| {
        if let Some(value) = value {
            args.push(flag.to_string());
            args.push(value);
        }
    };
    flag(
        "--log-driver",
        setting(own.log_driver.as_deref(), &global.log_driver),
    );
    flag(
        "--log-opt",
        setting(own.log_max_size.as_deref(), &global.log_max_size).map(|v| format!("max-size={v}")),
    );
    flag(
        "--log-opt",
        setting(own.log_max_files.as_deref(), &global.log_max_files)
            .map(|v| format!("max-file={v}")),
    );
    flag(
        "--network",
        setting(own.network_mode.as_deref(), &global.network_mode),
    );
    flag(
        "--memory",
        setting(own.memory_limit.as_deref(), &global.memory_limit),
    );
    flag(
        "--cpus",
        setting(own.cpu_limit.as_deref(), &global.cpu_limit),
    );
    flag("--workdir", own.working_dir.clone());
    for (key, value) in &server.env {
        args.push("-e".into());
        args.push(format!("{key}={value}"));
    }
    args.extend(global.extra_args.iter().cloned());
    args.extend(own.extra_args);
    args.push(image.clone());
    args.extend(container_command(command, &server.args));
    Some(WrappedCommand {
        program: program.to_string(),
        args,
        container_name: name,
        image,
        runtime,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn server(value: Value) -> ServerConfig {
        serde_json::from_value(value).expect("server")
    }

    fn global(value: Value) -> DockerIsolation {
        DockerIsolation::of(&serde_json::from_value(value).expect("docker_isolation"))
    }

    /// The arguments with the random container name replaced by `NAME`.
    fn args_of(wrapped: &WrappedCommand) -> Vec<String> {
        wrapped
            .args
            .iter()
            .map(|a| {
                if *a == wrapped.container_name {
                    "NAME".to_string()
                } else {
                    a.clone()
                }
            })
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_wrapping() {
        let srv = server(
            json!({"name": "fs", "command": "/usr/local/bin/npx", "args": ["-y", "@mcp/fs", "/data"],
                                "env": {"B": "2", "A": "x=y"}, "working_dir": "/host/only"}),
        );
        let wrapped =
            wrap_command_with(&srv, &global(json!({"enabled": true})), "docker").expect("isolated");
        assert_eq!(wrapped.program, "docker");
        assert_eq!(wrapped.image, "node:20");
        assert_eq!(wrapped.runtime, Runtime::Node);
        assert_eq!(
            args_of(&wrapped),
            strings(&[
                "run",
                "--rm",
                "-i",
                "--name",
                "NAME",
                "--label",
                "mcpproxy.managed=true",
                "--label",
                "mcpproxy.server=fs",
                "--log-opt",
                "max-size=100m",
                "--log-opt",
                "max-file=3",
                "--network",
                "bridge",
                "--memory",
                "512m",
                "--cpus",
                "1.0",
                "-e",
                "A=x=y",
                "-e",
                "B=2",
                "node:20",
                "npx",
                "-y",
                "@mcp/fs",
                "/data",
            ])
        );
        let name = &wrapped.container_name;
        assert!(
            name.starts_with("mcpproxy-fs-") && name.len() == "mcpproxy-fs-".len() + 4,
            "{name}"
        );
        assert!(
            name["mcpproxy-fs-".len()..]
                .chars()
                .all(|c| c.is_ascii_hexdigit()),
            "{name}"
        );
        assert_eq!(
            wrapped
                .display_args()
                .iter()
                .filter(|a| a.contains(crate::config::MASK))
                .cloned()
                .collect::<Vec<_>>(),
            vec!["A=********", "B=********"]
        );
    }

    #[test]
    fn when_isolation_applies() {
        let on = global(json!({"enabled": true}));
        let table = [
            (
                json!({"name": "a", "command": "python", "args": ["-m", "x"]}),
                true,
            ),
            (
                json!({"name": "a", "command": "python", "isolation": {"enabled": true}}),
                true,
            ),
            (
                json!({"name": "a", "command": "python", "isolation": {"image": "custom:1"}}),
                true,
            ),
            (
                json!({"name": "a", "command": "python", "isolation": {"enabled": false}}),
                false,
            ),
            (
                json!({"name": "a", "command": "docker", "args": ["run", "-i", "img"]}),
                false,
            ),
            (json!({"name": "a", "command": "/usr/bin/docker"}), false),
            (json!({"name": "a", "url": "http://127.0.0.1:1/mcp"}), false),
            (json!({"name": "a", "command": "  "}), false),
            (
                json!({"name": "a", "command": "x", "protocol": "http", "url": "http://127.0.0.1:1/mcp"}),
                false,
            ),
        ];
        for (srv, expected) in table {
            let srv = server(srv);
            assert_eq!(
                wrap_command_with(&srv, &on, "docker").is_some(),
                expected,
                "{srv:?}"
            );
            assert!(
                wrap_command_with(&srv, &global(json!({})), "docker").is_none(),
                "globally off: {srv:?}"
            );
        }
    }

    #[test]
    fn global_and_server_settings() {
        let glob = global(json!({
            "enabled": true, "memory_limit": "1g", "cpu_limit": 2, "network_mode": "none", "registry": "mirror.test",
            "default_images": {"uvx": "ghcr.io/astral-sh/uv:python3.12", "python": "python:3.12-slim"},
            "extra_args": ["--read-only"], "log_driver": "local", "log_max_files": ""
        }));
        let plain = wrap_command_with(
            &server(json!({"name": "p", "command": "python3", "args": ["s.py"]})),
            &glob,
            "d",
        )
        .expect("isolated");
        assert_eq!(plain.image, "mirror.test/library/python:3.12-slim");
        assert_eq!(
            args_of(&plain),
            strings(&[
                "run",
                "--rm",
                "-i",
                "--name",
                "NAME",
                "--label",
                "mcpproxy.managed=true",
                "--label",
                "mcpproxy.server=p",
                "--log-driver",
                "local",
                "--log-opt",
                "max-size=100m",
                "--network",
                "none",
                "--memory",
                "1g",
                "--cpus",
                "2",
                "--read-only",
                "mirror.test/library/python:3.12-slim",
                "python",
                "s.py",
            ])
        );

        let uvx = wrap_command_with(
            &server(json!({"name": "u", "command": "uvx", "args": ["mcp-fetch"]})),
            &glob,
            "d",
        )
        .expect("isolated");
        assert_eq!(
            uvx.image, "ghcr.io/astral-sh/uv:python3.12",
            "key lookup first; registry only for official images"
        );

        let custom = server(json!({"name": "c", "command": "./bin/srv", "isolation": {
            "image": "my/img:2", "network_mode": "host", "working_dir": "/work", "extra_args": ["--cap-drop", "ALL"],
            "memory_limit": "256m"
        }}));
        let wrapped = wrap_command_with(&custom, &glob, "d").expect("isolated");
        assert_eq!(
            args_of(&wrapped)[9..],
            strings(&[
                "--log-driver",
                "local",
                "--log-opt",
                "max-size=100m",
                "--network",
                "host",
                "--memory",
                "256m",
                "--cpus",
                "2",
                "--workdir",
                "/work",
                "--read-only",
                "--cap-drop",
                "ALL",
                "my/img:2",
                "./bin/srv",
            ])
        );
    }

    #[test]
    fn images_per_runtime() {
        let on = global(json!({"enabled": true}));
        for (command, image) in [
            ("python3", "python:3.11"),
            ("uvx", "python:3.11"),
            ("npx", "node:20"),
            ("go", "golang:1.21-alpine"),
            ("cargo", "rust:1.75-slim"),
            ("gem", "ruby:3.2-alpine"),
            ("composer", "php:8.2-cli-alpine"),
            ("bash", "alpine:3.18"),
            ("/opt/server", "alpine:3.18"),
        ] {
            let wrapped = wrap_command_with(
                &server(json!({"name": "s", "command": command})),
                &on,
                "docker",
            );
            assert_eq!(
                wrapped.map(|w| w.image).as_deref(),
                Some(image),
                "{command}"
            );
        }
    }

    #[test]
    fn names_are_sanitized() {
        let long = "a".repeat(250);
        let table = [
            ("github", "github"),
            ("my server!", "my-server"),
            ("a  b//c", "a-b-c"),
            ("_private", "server-_private"),
            ("-dash", "server-dash"),
            ("ünïcode", "server-n-code"),
            ("trail.", "trail"),
            ("!!!", "server"),
            ("", "server"),
            (long.as_str(), &long[..200]),
        ];
        for (name, expected) in table {
            assert_eq!(sanitize_name(name), expected, "{name:?}");
        }
    }
}
