//! `mcpproxy upstream import [--from CLIENT|FILE] [--dry-run] [--server NAME…]`: read another
//! MCP client's configuration file (Claude Desktop, Claude Code, Cursor, VS Code, Codex,
//! Gemini — or any file in one of their formats) and import its servers through the daemon
//! (`POST /api/v1/servers/import`). Without `--from`, every known client's file that exists is
//! read. Imported servers are quarantined; what was skipped is listed with the reason.

use std::path::PathBuf;

use clap::Args;
use mcpproxy_client::{Client, types};
use serde_json::json;

use super::commands::{FAILED, describe};
use super::output::{self, Format};
use crate::config::import::{CLIENTS, client_path};

/// `mcpproxy upstream import …`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A client (claude-desktop, claude-code, cursor, vscode, codex, gemini) or a file path.
    #[arg(long)]
    pub from: Option<String>,
    /// Show what would be imported and skipped; change nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Import only this entry (repeat for more).
    #[arg(long = "server", value_name = "NAME")]
    pub servers: Vec<String>,
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The files to read: (client or `file`, path).
fn sources(from: Option<&str>) -> Result<Vec<(String, PathBuf)>, String> {
    match from {
        Some(client) if CLIENTS.contains(&client) => {
            let path = client_path(client, &home()).map_err(|e| e.to_string())?;
            Ok(vec![(client.to_string(), path)])
        }
        Some(file) => Ok(vec![("file".to_string(), PathBuf::from(file))]),
        None => {
            let found: Vec<(String, PathBuf)> = CLIENTS
                .iter()
                .filter_map(|c| Some((c.to_string(), client_path(c, &home()).ok()?)))
                .filter(|(_, p)| p.exists())
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "no MCP client configuration found (looked for {}); name one with --from CLIENT|FILE",
                    CLIENTS.join(", ")
                ));
            }
            Ok(found)
        }
    }
}

/// Run the command; returns the exit code.
pub async fn run(client: &Client, args: &ImportArgs, format: Format) -> i32 {
    let sources = match sources(args.from.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            output::error(e);
            return FAILED;
        }
    };
    let mut reports = Vec::new();
    for (source, path) in sources {
        let content = match std::fs::read_to_string(&path) {
            Ok(c) => c,
            Err(e) => {
                output::error(format!("cannot read {}: {e}", path.display()));
                return FAILED;
            }
        };
        let body = types::ServersImportRequest {
            content: Some(content),
            format: (source != "file").then(|| source.clone()),
            server_names: (!args.servers.is_empty()).then(|| args.servers.clone()),
            preview: Some(args.dry_run),
        };
        match client.servers_bulk(types::BulkAction::Import, &body).await {
            Ok(r) => reports.push((path, r.into_inner().data)),
            Err(e) => {
                output::error(format!("{}: {}", path.display(), describe(e)));
                return FAILED;
            }
        }
    }
    match format {
        Format::Json => output::json(&json!({
            "preview": args.dry_run,
            "sources": reports.iter().map(|(path, r)| json!({
                "path": path,
                "format": r.format,
                "imported": r.imported,
                "skipped": r.skipped,
            })).collect::<Vec<_>>(),
        })),
        Format::Table => {
            for (path, report) in &reports {
                print_report(path, report, args.dry_run);
            }
        }
    }
    0
}

fn print_report(path: &std::path::Path, report: &types::BulkOperationResult, dry_run: bool) {
    let p = output::printable;
    let verb = if dry_run { "would import" } else { "imported" };
    println!(
        "{} ({}):",
        p(&path.display().to_string()),
        p(report.format.as_deref().unwrap_or("?"))
    );
    let mut rows: Vec<Vec<String>> = Vec::new();
    for s in report.imported.iter().flatten() {
        let what = match (&s.command, &s.url) {
            (Some(command), _) => std::iter::once(command)
                .chain(s.args.iter())
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
            (None, Some(url)) => url.clone(),
            (None, None) => String::new(),
        };
        rows.push(vec![s.name.clone(), format!("{verb} (quarantined)"), what]);
    }
    for s in report.skipped.iter().flatten() {
        rows.push(vec![s.name.clone(), "skipped".into(), s.reason.clone()]);
    }
    output::table(&["server", "result", "detail"], &rows);
    if !dry_run && report.successful > 0 {
        println!(
            "Review and approve each with `mcpproxy upstream inspect NAME` and `mcpproxy upstream approve NAME`."
        );
    }
}
