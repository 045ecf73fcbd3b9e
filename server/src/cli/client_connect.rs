//! `mcpproxy connect CLIENT [--dry-run] [--undo]`: point another MCP client at the proxy
//! through the daemon (`/api/v1/connect/{client}`), which knows its own `/mcp` URL. Shows
//! the entry and the file first; `--dry-run` stops there; `--undo` puts the backup back.
//! (`connect.rs` is how the CLI reaches the daemon; this is the client-connect feature.)

use clap::Args;
use mcpproxy_client::Client;

use super::commands::{describe, finish};
use super::output::{self, Format};

/// `mcpproxy connect …`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// claude-desktop, claude-code, cursor, vscode, codex or gemini.
    pub client: String,
    /// Show what would be written; change nothing.
    #[arg(long = "dry-run", conflicts_with = "undo")]
    pub dry_run: bool,
    /// Restore the client's file as it was before connecting.
    #[arg(long)]
    pub undo: bool,
}

/// Run the command; returns the exit code.
pub async fn run(client: &Client, args: &ConnectArgs, format: Format) -> i32 {
    let name = args.client.as_str();
    if args.undo {
        let result = client
            .connect_undo(name)
            .await
            .map(|r| r.into_inner())
            .map_err(describe);
        return finish(result, |undone| match format {
            Format::Json => output::json(&undone.data),
            Format::Table => println!(
                "{}: restored {}",
                undone.data.client,
                output::printable(&undone.data.path)
            ),
        });
    }
    let result = match args.dry_run {
        true => client.connect_preview(name).await,
        false => client.connect_apply(name).await,
    };
    finish(result.map(|r| r.into_inner()).map_err(describe), |done| {
        let plan = done.data;
        match format {
            Format::Json => output::json(&plan),
            Format::Table => {
                let p = output::printable;
                let what = match (plan.action.as_str(), plan.exists) {
                    ("already_connected", _) => "already connected; nothing written",
                    ("preview", true) => "would add this entry to",
                    ("preview", false) => "would create",
                    (_, true) => "added this entry to",
                    (_, false) => "created",
                };
                println!("{}: {what} {}", plan.client, p(&plan.path));
                println!("{}", plan.entry);
                if plan.action == "connected" {
                    println!(
                        "The original is kept as {}; `mcpproxy connect {} --undo` puts it back.",
                        p(&plan.backup),
                        plan.client
                    );
                }
            }
        }
    })
}
