//! `mcpproxy activity list|show|summary|export|follow`: the activity log through the
//! daemon's REST API (the generated client). `export` writes the streamed body to stdout as
//! it arrives; `follow` reads `/events` (Server-Sent Events) and prints each `activity`
//! (management action) and `tool_call.recorded` event as it happens.

use clap::{Args, Subcommand};
use futures::StreamExt;
use mcpproxy_client::Client;
use tokio::io::AsyncWriteExt;

use super::commands::{FAILED, describe, finish};
use super::output::{self, Format};

/// Filters shared by `list` and `export`.
#[derive(Debug, Args)]
pub struct Filters {
    /// tool_call, server_change, approval, auth or config.
    #[arg(long = "type")]
    kind: Option<String>,
    /// Upstream server.
    #[arg(long)]
    server: Option<String>,
    /// Tool (bare name).
    #[arg(long)]
    tool: Option<String>,
    /// MCP session id.
    #[arg(long)]
    session: Option<String>,
    /// Agent token name.
    #[arg(long)]
    agent: Option<String>,
    /// success or error.
    #[arg(long)]
    status: Option<String>,
    /// Nothing before this (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Nothing after this (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Free text.
    #[arg(long)]
    q: Option<String>,
}

/// `mcpproxy activity …`.
#[derive(Debug, Subcommand)]
pub enum ActivityCommand {
    /// One page of the log, newest first (`--cursor` takes the printed next cursor).
    List {
        #[command(flatten)]
        filters: Filters,
        /// Page size (default 50, at most 100).
        #[arg(long)]
        limit: Option<u32>,
        /// Continue after this cursor.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// One entry.
    Show {
        /// Activity id (a tool call's id or an action's).
        id: String,
    },
    /// Per server and tool: calls, errors, p50/p95, bytes, over a window.
    Summary {
        /// `<n>m`, `<n>h` or `<n>d` (default 24h).
        #[arg(long)]
        window: Option<String>,
    },
    /// The whole (filtered) log to stdout.
    Export {
        #[command(flatten)]
        filters: Filters,
        /// json (default), jsonl or csv.
        #[arg(long)]
        format: Option<String>,
    },
    /// Print activity as it happens (until interrupted).
    Follow,
}

/// Run an activity command; returns the exit code.
pub async fn run(client: &Client, command: &ActivityCommand, format: Format) -> i32 {
    match command {
        ActivityCommand::List {
            filters: f,
            limit,
            cursor,
        } => {
            let result = client
                .activity_list(
                    f.agent.as_deref(),
                    cursor.as_deref(),
                    f.until.as_deref(),
                    *limit,
                    None,
                    f.q.as_deref(),
                    f.server.as_deref(),
                    f.session.as_deref(),
                    f.since.as_deref(),
                    f.status.as_deref(),
                    f.tool.as_deref(),
                    f.kind.as_deref(),
                )
                .await
                .map(|r| r.into_inner())
                .map_err(describe);
            finish(result, |page| match format {
                Format::Json => output::json(&page.data),
                Format::Table => {
                    let rows: Vec<Vec<String>> = page
                        .data
                        .activities
                        .iter()
                        .map(|r| {
                            vec![
                                r.timestamp.to_rfc3339(),
                                r.type_.clone(),
                                r.action.clone(),
                                r.status.clone(),
                                r.server.clone().unwrap_or_default(),
                                r.tool.clone().unwrap_or_default(),
                                r.actor.clone().unwrap_or_default(),
                                r.tokens.map(|t| t.to_string()).unwrap_or_default(),
                                r.id.clone(),
                            ]
                        })
                        .collect();
                    output::table(
                        &[
                            "TIME", "TYPE", "ACTION", "STATUS", "SERVER", "TOOL", "ACTOR",
                            "TOKENS", "ID",
                        ],
                        &rows,
                    );
                    if let Some(next) = &page.data.next_cursor {
                        eprintln!("more: --cursor {next}");
                    }
                }
            })
        }
        ActivityCommand::Show { id } => {
            let result = client
                .activity_get(id)
                .await
                .map(|r| r.into_inner())
                .map_err(describe);
            finish(result, |r| output::json(&r.data))
        }
        ActivityCommand::Summary { window } => {
            let result = client
                .activity_summary(window.as_deref())
                .await
                .map(|r| r.into_inner())
                .map_err(describe);
            finish(result, |s| match format {
                Format::Json => output::json(&s.data),
                Format::Table => {
                    let rows: Vec<Vec<String>> = s
                        .data
                        .tools
                        .iter()
                        .map(|t| {
                            vec![
                                t.server.clone(),
                                t.tool.clone(),
                                t.calls.to_string(),
                                t.errors.to_string(),
                                format!("{:.1}", t.p50_ms),
                                format!("{:.1}", t.p95_ms),
                                t.bytes_in.to_string(),
                                t.bytes_out.to_string(),
                            ]
                        })
                        .collect();
                    output::table(
                        &[
                            "SERVER",
                            "TOOL",
                            "CALLS",
                            "ERRORS",
                            "P50 MS",
                            "P95 MS",
                            "BYTES IN",
                            "BYTES OUT",
                        ],
                        &rows,
                    );
                }
            })
        }
        ActivityCommand::Export { filters: f, format } => {
            let result = client
                .activity_export(
                    f.agent.as_deref(),
                    f.until.as_deref(),
                    format.as_deref(),
                    f.q.as_deref(),
                    f.server.as_deref(),
                    f.session.as_deref(),
                    f.since.as_deref(),
                    f.status.as_deref(),
                    f.tool.as_deref(),
                    f.kind.as_deref(),
                )
                .await
                .map_err(describe);
            match result {
                Ok(body) => copy_out(body.into_inner().into_inner()).await,
                Err(e) => {
                    output::error(e);
                    FAILED
                }
            }
        }
        ActivityCommand::Follow => follow(client).await,
    }
}

/// Write a byte stream to stdout as it arrives.
async fn copy_out<S, E>(mut body: S) -> i32
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut out = tokio::io::stdout();
    while let Some(chunk) = body.next().await {
        let written = match chunk {
            Ok(bytes) => out.write_all(&bytes).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = written {
            output::error(format!("export interrupted: {e}"));
            return FAILED;
        }
    }
    let _ = out.flush().await;
    0
}

/// The events `follow` prints.
const FOLLOWED: [&str; 2] = ["activity", "tool_call.recorded"];

async fn follow(client: &Client) -> i32 {
    let stream = match client.events_stream(None).await {
        Ok(s) => s.into_inner().into_inner(),
        Err(e) => {
            output::error(format!("cannot follow events: {e}"));
            return FAILED;
        }
    };
    let mut stream = stream;
    let mut buf = String::new();
    while let Some(chunk) = stream.next().await {
        let Ok(bytes) = chunk else { break };
        buf.push_str(&String::from_utf8_lossy(&bytes));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let mut kind = "";
            let mut data = "";
            for line in frame.lines() {
                if let Some(k) = line.strip_prefix("event: ") {
                    kind = k;
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = d;
                }
            }
            if FOLLOWED.contains(&kind) {
                let payload = serde_json::from_str::<serde_json::Value>(data)
                    .map(|v| v["payload"].clone())
                    .unwrap_or_default();
                println!("{}", serde_json::json!({"event": kind, "data": payload}));
            }
        }
    }
    FAILED
}
