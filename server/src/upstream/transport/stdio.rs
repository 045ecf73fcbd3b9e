//! The stdio transport: spawn `command` + `args` in `working_dir` with an environment built
//! from the allow-list, the custom variables and the server's own `env`; the child leads its
//! own process group; its stderr goes line by line into the server log; MCP runs over its
//! stdin/stdout. With Docker isolation on (`docker::should_isolate`), the program is the
//! docker client running `docker run --rm -i …` with the server's environment passed as
//! `-e` flags, and the container is removed when the process group is terminated.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::io::AsyncBufReadExt;

use super::{Connected, Context, lifecycle::Attempt, process::ProcessGroup};
use crate::{
    config::{DockerIsolation, EnvironmentConfig, ServerConfig},
    docker::WrappedCommand,
    upstream::{
        error::{UpstreamError, error_chain},
        logs::ServerLog,
    },
};

/// The environment a stdio server gets: allowed inherited variables, then `custom_vars`, then
/// the server's `env` (later wins).
pub(crate) fn environment(server: &ServerConfig, env: &EnvironmentConfig) -> Vec<(String, String)> {
    let mut out: std::collections::BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| env.allows(k))
        .collect();
    out.extend(env.custom_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    out.extend(server.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    out.into_iter().collect()
}

/// The server's command wrapped in `docker run` when isolation applies. The container gets
/// the custom variables and the server's own `env` (the server's wins), like a local child.
fn isolated(
    server: &ServerConfig,
    env: &EnvironmentConfig,
    docker: &DockerIsolation,
) -> Option<WrappedCommand> {
    if !crate::docker::should_isolate(server, docker) {
        return None;
    }
    let mut inside = server.clone();
    inside.env = env
        .custom_vars
        .iter()
        .chain(server.env.iter())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    crate::docker::wrap_command(&inside, docker)
}

/// Variables the docker client itself may need to reach the engine.
const DOCKER_CLIENT_VARS: [&str; 5] = [
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
];

/// The docker client's environment: the allow-listed variables and the `DOCKER_*` client
/// settings; the server's own variables travel as `-e` flags instead.
fn docker_client_environment(env: &EnvironmentConfig) -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| env.allows(k) || DOCKER_CLIENT_VARS.contains(&k.as_str()))
        .collect()
}

/// Spawn the server and run the MCP handshake over its stdio.
pub(crate) async fn connect(
    ctx: Context<'_>,
    attempt: Attempt,
) -> Result<Connected, UpstreamError> {
    let name = ctx.name;
    let transport_error = |message: String| UpstreamError::Transport {
        server: name.to_string(),
        message,
    };
    let own_program = ctx
        .config
        .command
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| transport_error("no command configured".into()))?;
    let wrapped = isolated(ctx.config, ctx.env, ctx.docker);
    let (program, args, envs) = match &wrapped {
        Some(wrapped) => {
            // Not the arguments: the server's own may hold resolved secrets.
            ctx.log.info(&format!(
                "isolating in Docker: container {}, image {} (runtime {})",
                wrapped.container_name,
                wrapped.image,
                wrapped.runtime.as_str()
            ));
            (
                wrapped.program.as_str(),
                wrapped.args.clone(),
                docker_client_environment(ctx.env),
            )
        }
        None => (
            own_program,
            ctx.config.args.clone(),
            environment(ctx.config, ctx.env),
        ),
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(&args)
        .env_clear()
        .envs(envs)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    if let Some(dir) = ctx.config.working_dir.as_deref().filter(|d| !d.is_empty()) {
        if !std::path::Path::new(dir).is_dir() {
            return Err(transport_error(format!(
                "working directory {dir} does not exist"
            )));
        }
        command.current_dir(dir);
    }
    let mut child = command
        .spawn()
        .map_err(|e| transport_error(format!("cannot start `{program}`: {e}")))?;
    let (Some(stdin), Some(stdout), stderr) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(transport_error("the child's stdio was not captured".into()));
    };
    let mut process = ProcessGroup::new(child).map_err(|e| transport_error(e.to_string()))?;
    if let Some(wrapped) = &wrapped {
        process = process.with_container(wrapped.container_name.clone());
    }
    ctx.log
        .info(&format!("started `{program}` (pid {})", process.pid()));
    let last_stderr = Arc::new(Mutex::new(None::<String>));
    if let Some(stderr) = stderr {
        tokio::spawn(copy_stderr(stderr, ctx.log.clone(), last_stderr.clone()));
    }
    let transport = super::lines::Lines::new(stdout, stdin);
    match super::serve(ctx.handler, transport, attempt, ctx.ct).await {
        Ok(client) => {
            let legacy = client
                .peer()
                .peer_info()
                .is_some_and(|info| super::lifecycle::is_legacy(info.protocol_version.as_str()));
            Ok(Connected {
                client,
                process: Some(process),
                transport: "stdio",
                direct: None,
                modern: legacy
                    .then(|| Arc::new(super::Modern::Inline(super::InlineProbe::default()))),
            })
        }
        Err(error) => {
            // Say why when the process died under us (the common case: it failed to start).
            let mut message = format!("initialize: {}", error_chain(&error));
            if let Some(status) = process.exit_within(Duration::from_millis(500)).await {
                message = format!("process exited ({status}) during the handshake");
                // Give the stderr reader a moment to see the last words.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let last = crate::sync::lock(&last_stderr).clone();
                if let Some(line) = last {
                    message.push_str(": ");
                    message.push_str(&line);
                }
            }
            process.terminate(Duration::from_millis(500)).await;
            Err(transport_error(message))
        }
    }
}

/// The longest stderr line kept; the rest of a longer one is dropped, so a child writing
/// megabytes without a newline can neither grow our memory nor push its log file past the
/// rotation limit in one line.
const MAX_STDERR_LINE: usize = 16 * 1024;

/// Copy stderr into the log, one line at a time, remembering the last non-empty line.
async fn copy_stderr(
    stderr: tokio::process::ChildStderr,
    log: ServerLog,
    last: Arc<Mutex<Option<String>>>,
) {
    let mut reader = tokio::io::BufReader::new(stderr);
    let mut buffer = Vec::new();
    let mut cut = false;
    loop {
        let chunk = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(chunk) => chunk,
        };
        let newline = chunk.iter().position(|&b| b == b'\n');
        let take = newline.map_or(chunk.len(), |i| i + 1);
        let room = MAX_STDERR_LINE.saturating_sub(buffer.len());
        cut |= take > room;
        buffer.extend_from_slice(&chunk[..take.min(room)]);
        reader.consume(take);
        if newline.is_some() {
            write_stderr_line(&log, &last, &buffer, cut);
            buffer.clear();
            cut = false;
        }
    }
    if !buffer.is_empty() {
        write_stderr_line(&log, &last, &buffer, cut);
    }
}

fn write_stderr_line(log: &ServerLog, last: &Mutex<Option<String>>, bytes: &[u8], cut: bool) {
    let line = String::from_utf8_lossy(bytes);
    let line = line.trim_end_matches(['\r', '\n']);
    if cut {
        log.write(
            "STDERR",
            &format!("{line} [... line cut at {MAX_STDERR_LINE} bytes]"),
        );
    } else {
        log.write("STDERR", line);
    }
    if !line.trim().is_empty() {
        *crate::sync::lock(last) = Some(line.chars().take(300).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_is_allow_list_then_custom_then_server() {
        let mut server: ServerConfig =
            serde_json::from_value(serde_json::json!({"name": "s"})).expect("server");
        server.env.insert("SHARED".into(), "server".into());
        server.env.insert("ONLY_SERVER".into(), "1".into());
        let mut env = EnvironmentConfig::default();
        env.custom_vars.insert("SHARED".into(), "custom".into());
        env.custom_vars.insert("ONLY_CUSTOM".into(), "2".into());
        let got: std::collections::BTreeMap<_, _> =
            environment(&server, &env).into_iter().collect();
        assert_eq!(got.get("SHARED").map(String::as_str), Some("server"));
        assert_eq!(got.get("ONLY_CUSTOM").map(String::as_str), Some("2"));
        assert_eq!(got.get("ONLY_SERVER").map(String::as_str), Some("1"));
        assert!(
            got.keys()
                .all(|k| env.allows(k) || k.starts_with("ONLY_") || k == "SHARED")
        );
        env.inherit_system_safe = false;
        let bare: Vec<String> = environment(&server, &env)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(bare, ["ONLY_CUSTOM", "ONLY_SERVER", "SHARED"]);
    }
}
