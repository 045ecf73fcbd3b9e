//! A person managing servers and tools from the command line, through the daemon's REST API:
//! `upstream add|remove|approve|unquarantine`, `tools list|approve|diff`.
//!
//! `upstream add NAME -- COMMAND ARGS…` adds a stdio server, `upstream add NAME --url URL`
//! an HTTP one; `--env K=V` and `--header K=V` repeat. A person's add is not quarantined
//! unless `--quarantined` is given. `approve` (= `unquarantine`) approves exactly the
//! settings the plan shows: it sends the plan's fingerprint, so an agent's edit in between is
//! refused (409) instead of approved unseen.

use std::collections::HashMap;

use clap::{Args, Subcommand};
use mcpproxy_client::{Client, types};
use serde_json::json;

use super::commands::{FAILED, ask, checked_name, describe, finish};
use super::output::{self, Format};

/// `mcpproxy upstream add …`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Server name (`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`).
    pub name: String,
    /// URL of an HTTP (streamable HTTP or SSE) server (also `add NAME URL`, the Go form).
    #[arg(long = "url", value_name = "URL")]
    pub url: Option<String>,
    /// The server's URL, as a second word (the Go original's `upstream add NAME URL`).
    #[arg(value_name = "URL", conflicts_with = "url")]
    pub location: Option<String>,
    /// An HTTP header, `KEY=VALUE` (repeat for more).
    #[arg(long = "header", value_name = "KEY=VALUE")]
    pub headers: Vec<String>,
    /// An environment variable of a stdio server, `KEY=VALUE` (repeat for more).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// stdio, http, sse, streamable-http or auto (default: from the command or URL).
    #[arg(long)]
    pub protocol: Option<String>,
    /// Working directory of a stdio server.
    #[arg(long = "working-dir")]
    pub working_dir: Option<String>,
    /// Keep it quarantined until approved (`upstream approve NAME`).
    #[arg(long)]
    pub quarantined: bool,
    /// Add it disabled.
    #[arg(long)]
    pub disabled: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `mcpproxy tools …` commands on one server's tools.
#[derive(Debug, Subcommand)]
pub enum ToolsManageCommand {
    /// Every tool of one server, or of every server, with its pinning state.
    List {
        /// Only this server.
        server: Option<String>,
    },
    /// Approve a server's changed tools (one, or all of them).
    Approve {
        /// Server name.
        server: String,
        /// Only this tool.
        tool: Option<String>,
    },
    /// What changed in a server's tools since they were approved.
    Diff {
        /// Server name.
        server: String,
        /// Only this tool.
        tool: Option<String>,
    },
}

/// `KEY=VALUE` pairs as a map; a pair without `=` is an error naming `flag`.
fn pairs(flag: &str, items: &[String]) -> Result<HashMap<String, String>, String> {
    items
        .iter()
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("--{flag} takes KEY=VALUE, got {item:?}")),
        })
        .collect()
}

/// `mcpproxy upstream add`.
pub async fn add(client: &Client, args: &AddArgs, format: Format) -> i32 {
    if let Err(code) = checked_name(&args.name) {
        return code;
    }
    let (command, rest) = match args.command.split_first() {
        Some((c, rest)) => (Some(c.clone()), rest.to_vec()),
        None => (None, Vec::new()),
    };
    let url = args.url.clone().or_else(|| args.location.clone());
    if command.is_none() == url.is_none() {
        output::error(
            "give either a command (`upstream add NAME -- COMMAND ARGS…`) or --url URL, not both",
        );
        return FAILED;
    }
    let (env, headers) = match (pairs("env", &args.env), pairs("header", &args.headers)) {
        (Ok(env), Ok(headers)) => (env, headers),
        (Err(e), _) | (_, Err(e)) => {
            output::error(e);
            return FAILED;
        }
    };
    let body = types::ServerAddRequest {
        name: args.name.clone(),
        command,
        args: (!rest.is_empty()).then_some(rest),
        env: (!env.is_empty()).then_some(env),
        headers: (!headers.is_empty()).then_some(headers),
        url,
        protocol: args.protocol.clone(),
        working_dir: args.working_dir.clone(),
        handshake: None,
        isolation: None,
        enabled: Some(!args.disabled),
        quarantined: Some(args.quarantined),
    };
    let result = ask(client.server_add(&body)).await;
    finish(result, |added| print_change(&added, format))
}

/// `mcpproxy upstream remove NAME`.
pub async fn remove(client: &Client, name: &str, format: Format) -> i32 {
    if let Err(code) = checked_name(name) {
        return code;
    }
    let result = ask(client.server_delete(name)).await;
    finish(result, |removed| print_change(&removed, format))
}

fn print_change(change: &types::ServerChangeResponse, format: Format) {
    match format {
        Format::Json => output::json(&change.data),
        Format::Table => {
            let d = &change.data;
            let state = match (d.action.as_str(), d.quarantined, d.enabled) {
                ("remove", _, _) => String::new(),
                (_, true, _) => {
                    " (quarantined: approve it with `mcpproxy upstream approve NAME`)".into()
                }
                (_, false, false) => " (disabled)".into(),
                _ => " (connecting)".into(),
            };
            println!("{}: {} done{state}", d.server, d.action);
        }
    }
}

/// Run a `tools list|approve|diff` command.
pub async fn tools(client: &Client, command: &ToolsManageCommand, format: Format) -> i32 {
    match command {
        ToolsManageCommand::List { server } => list(client, server.as_deref(), format).await,
        ToolsManageCommand::Approve { server, tool } => {
            approve_tools(client, server, tool.as_deref(), format).await
        }
        ToolsManageCommand::Diff { server, tool } => {
            diff(client, server, tool.as_deref(), format).await
        }
    }
}

/// The tools of `server`, or of every server.
async fn tools_of(client: &Client, server: Option<&str>) -> Result<Vec<types::Tool>, String> {
    let servers = match server {
        Some(name) => vec![name.to_string()],
        None => super::commands::server_names(client).await?,
    };
    let mut tools = Vec::new();
    for name in servers {
        let found = client.server_tools(&name).await.map_err(describe)?;
        tools.extend(found.into_inner().data.tools);
    }
    Ok(tools)
}

fn status(tool: &types::Tool) -> String {
    tool.approval
        .as_ref()
        .map_or_else(|| "new".to_string(), |a| a.status.clone())
}

async fn list(client: &Client, server: Option<&str>, format: Format) -> i32 {
    if let Some(Err(code)) = server.map(checked_name) {
        return code;
    }
    finish(tools_of(client, server).await, |tools| match format {
        Format::Json => output::json(&json!({"total": tools.len(), "tools": tools})),
        Format::Table => {
            let rows: Vec<Vec<String>> = tools
                .iter()
                .map(|t| {
                    vec![
                        t.id.clone(),
                        status(t),
                        t.description.chars().take(80).collect(),
                    ]
                })
                .collect();
            output::table(&["tool", "status", "description"], &rows);
        }
    })
}

async fn approve_tools(client: &Client, server: &str, tool: Option<&str>, format: Format) -> i32 {
    if let Err(code) = checked_name(server) {
        return code;
    }
    let body = types::ApproveToolsRequest {
        reason: None,
        tools: tool.map(|t| vec![t.to_string()]),
        approve_all: Some(tool.is_none()),
    };
    let result = ask(client.server_tools_approve(server, &body)).await;
    finish(result, |done| match format {
        Format::Json => output::json(&done.data),
        Format::Table => println!(
            "{}: approved {} tool(s){}",
            done.data.server_name,
            done.data.approved.len(),
            match done.data.approved.is_empty() {
                true => String::new(),
                false => format!(": {}", output::printable(&done.data.approved.join(", "))),
            }
        ),
    })
}

/// One changed tool: what was approved and what it says now.
#[derive(serde::Serialize)]
struct ToolDiff {
    tool: String,
    status: String,
    approved_description: String,
    current_description: String,
    approved_input_schema: serde_json::Value,
    current_input_schema: serde_json::Value,
}

async fn diff(client: &Client, server: &str, tool: Option<&str>, format: Format) -> i32 {
    if let Err(code) = checked_name(server) {
        return code;
    }
    let tools = match tools_of(client, Some(server)).await {
        Ok(tools) => tools,
        Err(e) => {
            output::error(e);
            return FAILED;
        }
    };
    if let Some(wanted) = tool
        && !tools.iter().any(|t| t.name == wanted)
    {
        output::error(format!("server {server} has no tool {wanted:?}"));
        return FAILED;
    }
    let diffs: Vec<ToolDiff> = tools
        .into_iter()
        .filter(|t| tool.is_none_or(|wanted| t.name == wanted))
        .filter_map(|t| {
            let approval = t.approval.clone()?;
            (approval.status == "changed").then(|| ToolDiff {
                tool: t.name.clone(),
                status: approval.status,
                approved_description: approval.approved_description,
                current_description: t.description.clone(),
                approved_input_schema: approval.approved_input_schema.into(),
                current_input_schema: t.input_schema.clone().into(),
            })
        })
        .collect();
    match format {
        Format::Json => output::json(&json!({"server": server, "changed": diffs})),
        Format::Table if diffs.is_empty() => println!("{server}: no tool changed since approval"),
        Format::Table => {
            for d in &diffs {
                println!("{server}:{}", output::printable(&d.tool));
                if d.approved_description != d.current_description {
                    println!("- {}", output::printable(&d.approved_description));
                    println!("+ {}", output::printable(&d.current_description));
                }
                if d.approved_input_schema != d.current_input_schema {
                    println!("- schema {}", d.approved_input_schema);
                    println!("+ schema {}", d.current_input_schema);
                }
            }
        }
    }
    0
}
