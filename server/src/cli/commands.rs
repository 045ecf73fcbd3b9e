//! The client-side commands: each asks the daemon through the generated client and prints
//! the answer as a table or as JSON. Returns the process exit code.

use mcpproxy_client::{Client, types};
use serde_json::Value;

use super::output::{self, Format};

/// Exit code of a failed command.
pub(super) const FAILED: i32 = 1;

/// A readable message for a failed API call.
pub fn describe(e: mcpproxy_client::Error<types::ErrorResponse>) -> String {
    match e {
        mcpproxy_client::Error::ErrorResponse(resp) => {
            let status = resp.status();
            let body = resp.into_inner();
            let mut message = format!("{} ({}, HTTP {})", body.error, body.code, status.as_u16());
            for problem in body.errors.unwrap_or_default() {
                message.push_str(&format!("\n  {}: {}", problem.field, problem.message));
            }
            message
        }
        mcpproxy_client::Error::CommunicationError(e) => format!("cannot reach the daemon: {e}"),
        other => other.to_string(),
    }
}

/// The names of every configured server.
pub async fn server_names(client: &Client) -> Result<Vec<String>, String> {
    let list = client.server_list().await.map_err(describe)?.into_inner();
    Ok(list.data.servers.into_iter().map(|s| s.name).collect())
}

/// The answer of one API call, or its error described for a person.
pub(super) async fn ask<T>(
    call: impl std::future::Future<
        Output = Result<
            mcpproxy_client::ResponseValue<T>,
            mcpproxy_client::Error<types::ErrorResponse>,
        >,
    >,
) -> Result<T, String> {
    call.await.map(|r| r.into_inner()).map_err(describe)
}

/// Print the result of a call, or report its error; returns the exit code.
pub(super) fn finish<T>(result: Result<T, String>, print: impl FnOnce(T)) -> i32 {
    match result {
        Ok(value) => {
            print(value);
            0
        }
        Err(message) => {
            output::error(message);
            FAILED
        }
    }
}

/// `mcpproxy status`.
/// `mcpproxy version`: this binary's version (no daemon needed).
pub fn version(format: Format) {
    let version = env!("CARGO_PKG_VERSION");
    match format {
        Format::Json => output::json(&serde_json::json!({ "version": version })),
        Format::Table => println!("mcpproxy {version}"),
    }
}

pub async fn status(client: &Client, format: Format) -> i32 {
    let result = client
        .status_get()
        .await
        .map(|r| r.into_inner())
        .map_err(describe);
    finish(result, |s| match format {
        // The seed's fields and the Go `data`, without a second `success`.
        Format::Json => {
            let mut value = serde_json::to_value(&s).unwrap_or_default();
            if let Some(map) = value.as_object_mut() {
                map.remove("success");
            }
            output::json(&value)
        }
        Format::Table => output::table(
            &[
                "status",
                "version",
                "uptime",
                "servers",
                "connected",
                "quarantined",
                "tools",
            ],
            &[vec![
                s.status,
                s.version,
                format!("{}s", s.uptime),
                s.servers.total.to_string(),
                s.servers.connected.to_string(),
                s.servers.quarantined.to_string(),
                s.tools.total.to_string(),
            ]],
        ),
    })
}

/// `mcpproxy info`.
pub async fn info(client: &Client, format: Format) -> i32 {
    let result = client
        .info_get()
        .await
        .map(|r| r.into_inner())
        .map_err(describe);
    finish(result, |i| match format {
        Format::Json => output::json(&i.data),
        Format::Table => {
            let update = match &i.data.update {
                Some(u) if u.available => {
                    format!("{} available", u.latest_version.clone().unwrap_or_default())
                }
                Some(u) => u
                    .check_error
                    .clone()
                    .map_or("up to date".into(), |e| format!("check failed: {e}")),
                None => "not checked yet".into(),
            };
            output::table(
                &["version", "listen", "socket", "web ui", "update"],
                &[vec![
                    i.data.version,
                    i.data.listen_addr,
                    i.data.endpoints.socket,
                    i.data.web_ui_url,
                    update,
                ]],
            )
        }
    })
}

/// `mcpproxy upstream list`.
pub async fn upstream_list(client: &Client, format: Format) -> i32 {
    let result = client
        .server_list()
        .await
        .map(|r| r.into_inner())
        .map_err(describe);
    finish(result, |list| match format {
        Format::Json => output::json(&list.data),
        Format::Table => {
            let rows: Vec<Vec<String>> = list
                .data
                .servers
                .into_iter()
                .map(|s| {
                    vec![
                        s.name,
                        s.protocol,
                        s.health.admin_state.to_string(),
                        s.status,
                        s.tool_count.to_string(),
                        s.health.summary,
                        s.health.action,
                    ]
                })
                .collect();
            output::table(
                &[
                    "name", "protocol", "admin", "state", "tools", "health", "action",
                ],
                &rows,
            );
        }
    })
}

/// `name` if it follows the naming rule; else the error is reported.
pub fn checked_name(name: &str) -> Result<&str, i32> {
    crate::config::check_server_name(name)
        .map(|()| name)
        .map_err(|e| {
            output::error(e);
            FAILED
        })
}

/// `mcpproxy upstream enable|disable|restart NAME`.
pub async fn upstream_action(client: &Client, action: &str, name: &str, format: Format) -> i32 {
    let name = match checked_name(name) {
        Ok(name) => name,
        Err(code) => return code,
    };
    let result = match action {
        "enable" => client.server_enable(name).await,
        "disable" => client.server_disable(name).await,
        _ => output::with_spinner(&format!("restarting {name}"), client.server_restart(name)).await,
    };
    finish(
        result.map(|r| r.into_inner()).map_err(describe),
        |done| match format {
            Format::Json => output::json(&done.data),
            Format::Table => println!("{}: {} done", done.data.server, done.data.action),
        },
    )
}

/// `mcpproxy upstream logs NAME [--tail N] [--follow]`. Following polls with the cursor of
/// the previous answer, so every line written is printed once, across rotations; a loss the
/// daemon reports (the log rotated twice between two polls) is said on stderr.
pub async fn upstream_logs(
    client: &Client,
    name: &str,
    tail: u32,
    follow: bool,
    format: Format,
) -> i32 {
    if let Err(code) = checked_name(name) {
        return code;
    }
    let mut after: Option<String> = None;
    loop {
        // The first read is the tail; each next one asks for everything after it.
        let limit = if after.is_some() {
            crate::upstream::MAX_LINES_PER_READ as u32
        } else {
            tail
        };
        let result = client
            .server_logs(name, after.as_deref(), Some(limit))
            .await
            .map(|r| r.into_inner())
            .map_err(describe);
        let logs = match result {
            Ok(l) => l.data,
            Err(message) => {
                output::error(message);
                return FAILED;
            }
        };
        if logs.gap {
            eprintln!(
                "mcpproxy: some lines of {name}'s log were rotated away before they could be read"
            );
        }
        for line in &logs.logs {
            match format {
                Format::Json => output::json_line(line),
                Format::Table => println!(
                    "{} {:<6} {}",
                    line.timestamp.to_rfc3339(),
                    line.level,
                    line.message
                ),
            }
        }
        if !follow {
            return 0;
        }
        // A full page after a cursor means more is waiting: read on at once.
        let more_waiting = after.is_some() && logs.logs.len() == limit as usize;
        after = Some(logs.cursor);
        if !more_waiting {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                _ = tokio::signal::ctrl_c() => return 0,
            }
        }
    }
}

/// `mcpproxy tools search QUERY`.
pub async fn tools_search(client: &Client, query: &str, limit: u32, format: Format) -> i32 {
    let result = client
        .tool_search(Some(limit), Some(query))
        .await
        .map(|r| r.into_inner())
        .map_err(describe);
    finish(result, |found| match format {
        Format::Json => output::json(&found),
        Format::Table => {
            let rows: Vec<Vec<String>> = found
                .tools
                .into_iter()
                .map(|t| {
                    vec![
                        t.name,
                        format!("{:.2}", t.score),
                        t.description.chars().take(80).collect(),
                    ]
                })
                .collect();
            output::table(&["tool", "score", "description"], &rows);
        }
    })
}

/// `mcpproxy call tool --tool-name server:tool --json_args '{…}'`.
pub async fn call_tool(client: &Client, tool_name: &str, json_args: &str, format: Format) -> i32 {
    let arguments = match serde_json::from_str::<Value>(json_args) {
        Ok(Value::Object(map)) => Some(map),
        Ok(Value::Null) => None,
        Ok(_) => {
            output::error("--json_args must be a JSON object");
            return FAILED;
        }
        Err(e) => {
            output::error(format!("--json_args is not valid JSON: {e}"));
            return FAILED;
        }
    };
    let body = types::ToolCallRequest {
        tool_name: tool_name.to_string(),
        arguments,
    };
    let result = output::with_spinner(&format!("calling {tool_name}"), client.tool_call(&body))
        .await
        .map(|r| r.into_inner())
        .map_err(describe);
    let mut code = 0;
    let printed = finish(result, |called| {
        if called.data.get("isError") == Some(&Value::Bool(true)) {
            code = FAILED;
        }
        match format {
            Format::Json => output::json(&called.data),
            Format::Table => {
                let content = called
                    .data
                    .get("content")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for item in content {
                    match item.get("text").and_then(Value::as_str) {
                        Some(text) => println!("{text}"),
                        None => println!("{item}"),
                    }
                }
                if let Some(structured) = called.data.get("structuredContent") {
                    println!("{structured}");
                }
            }
        }
    });
    printed.max(code)
}

/// `mcpproxy config validate [FILE]`: with a daemon, its validator; otherwise, or for a
/// file, the same rules locally.
pub async fn config_validate(
    client: Option<&Client>,
    file: Option<&std::path::Path>,
    config_path: &std::path::Path,
    format: Format,
) -> i32 {
    let path = file.unwrap_or(config_path);
    let problems: Vec<(String, String)> = match (client, file) {
        (Some(client), None) => {
            let Ok(bytes) = std::fs::read(path) else {
                output::error(format!("cannot read {}", path.display()));
                return FAILED;
            };
            let document: types::ConfigDocument = match serde_json::from_slice(&bytes) {
                Ok(d) => d,
                Err(e) => {
                    output::error(format!("{} is not JSON: {e}", path.display()));
                    return FAILED;
                }
            };
            match client.config_validate(&document).await {
                Ok(r) => r
                    .into_inner()
                    .data
                    .errors
                    .into_iter()
                    .map(|e| (e.field, e.message))
                    .collect(),
                Err(e) => {
                    output::error(describe(e));
                    return FAILED;
                }
            }
        }
        _ => match crate::config::ConfigStore::new(path.to_path_buf()).read() {
            Ok(config) => crate::config::validate(&config)
                .into_iter()
                .map(|p| (p.field, p.message))
                .collect(),
            Err(e) => vec![("(document)".to_string(), e.to_string())],
        },
    };
    match format {
        Format::Json => output::json(&serde_json::json!({
            "valid": problems.is_empty(),
            "errors": problems.iter().map(|(f, m)| serde_json::json!({"field": f, "message": m})).collect::<Vec<_>>(),
        })),
        Format::Table if problems.is_empty() => println!("{}: valid", path.display()),
        Format::Table => {
            let rows: Vec<Vec<String>> = problems
                .iter()
                .map(|(f, m)| vec![f.clone(), m.clone()])
                .collect();
            output::table(&["field", "problem"], &rows);
        }
    }
    if problems.is_empty() { 0 } else { FAILED }
}

/// `mcpproxy doctor`: the daemon's diagnostics. Exit code 1 when there are issues.
pub async fn doctor(client: &Client, format: Format) -> i32 {
    let result = output::with_spinner("running checks", client.doctor_get())
        .await
        .map(|r| r.into_inner())
        .map_err(describe);
    let mut issues = 0;
    let code = finish(result, |report| {
        issues = report.data.total_issues;
        match format {
            Format::Json => output::json(&report.data),
            Format::Table if report.data.issues.is_empty() => println!("No issues found."),
            Format::Table => {
                for issue in &report.data.issues {
                    let server = issue
                        .server
                        .as_deref()
                        .map(|s| format!(" [{s}]"))
                        .unwrap_or_default();
                    println!(
                        "{} {}{server}: {}\n    → {}",
                        issue.severity, issue.category, issue.message, issue.action
                    );
                }
                println!("{} issue(s)", report.data.total_issues);
            }
        }
    });
    if code == 0 && issues > 0 {
        FAILED
    } else {
        code
    }
}

/// `mcpproxy secrets list`.
pub async fn secrets_list(client: &Client, format: Format) -> i32 {
    let result = client
        .secret_list()
        .await
        .map(|r| r.into_inner())
        .map_err(describe);
    finish(result, |list| match format {
        Format::Json => output::json(&list.data),
        Format::Table => {
            let rows: Vec<Vec<String>> = list
                .data
                .secrets
                .into_iter()
                .map(|s| vec![s.name, s.type_, s.is_set.to_string(), s.used_by.join(", ")])
                .collect();
            output::table(&["name", "type", "set", "used by"], &rows);
        }
    })
}

/// `mcpproxy secrets get NAME`: metadata only, never the value.
pub async fn secrets_get(client: &Client, name: &str, format: Format) -> i32 {
    let result = client
        .secret_get(name)
        .await
        .map(|r| r.into_inner())
        .map_err(describe);
    finish(result, |s| match format {
        Format::Json => output::json(&s.data),
        Format::Table => output::table(
            &["name", "type", "reference", "set", "used by"],
            &[vec![
                s.data.name,
                s.data.type_,
                s.data.reference,
                s.data.is_set.to_string(),
                s.data.used_by.join(", "),
            ]],
        ),
    })
}

/// `mcpproxy secrets set NAME [VALUE]` (the value is read from stdin when absent, so it
/// stays out of shell history).
pub async fn secrets_set(client: &Client, name: &str, value: Option<&str>, format: Format) -> i32 {
    let value = match value {
        Some(v) => v.to_string(),
        None => {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() {
                output::error("cannot read the secret value from stdin");
                return FAILED;
            }
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let body = types::SecretStoreRequest {
        name: name.to_string(),
        value,
        type_: None,
    };
    let result = client
        .secret_store(&body)
        .await
        .map(|r| r.into_inner())
        .map_err(describe);
    finish(result, |stored| match format {
        Format::Json => output::json(&stored.data),
        Format::Table => println!("stored secret {name}; reference it as ${{keyring:{name}}}"),
    })
}

/// `mcpproxy secrets del NAME`.
pub async fn secrets_delete(client: &Client, name: &str, format: Format) -> i32 {
    let result = client
        .secret_delete(name)
        .await
        .map(|r| r.into_inner())
        .map_err(describe);
    finish(result, |deleted| match format {
        Format::Json => output::json(&deleted.data),
        Format::Table => println!("deleted secret {name}"),
    })
}
