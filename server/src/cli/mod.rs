//! The `mcpproxy` command line: argument parsing and dispatch. `mcpproxy` with no
//! subcommand runs the server.

mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Exit codes shared with the Go original.
pub mod exit {
    /// Anything else went wrong.
    pub const GENERAL: i32 = 1;
    /// The listen port is taken.
    pub const PORT_IN_USE: i32 = 2;
    /// The database is locked by another process.
    pub const DB_LOCKED: i32 = 3;
    /// The configuration cannot be loaded or is invalid.
    pub const CONFIG: i32 = 4;
    /// Ownership or permission problem (data dir, socket).
    pub const PERMISSION: i32 = 5;
}

/// mcpproxy: one MCP endpoint in front of many upstream MCP servers.
#[derive(Debug, Parser)]
#[command(name = "mcpproxy", version, about)]
pub struct Cli {
    /// Configuration file (default ~/.mcpproxy/mcp_config.json).
    #[arg(short = 'c', long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (default ~/.mcpproxy); overrides the file and MCPPROXY_DATA.
    #[arg(short = 'd', long = "data-dir", global = true)]
    pub data_dir: Option<String>,
    /// trace, debug, info, warn or error.
    #[arg(long = "log-level", global = true)]
    pub log_level: Option<String>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the proxy.
    Serve(serve::ServeArgs),
}

/// Parse the command line, run it, and return the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(ref args)) => serve::run(&cli, args),
        None => serve::run(&cli, &serve::ServeArgs::default()),
    }
}
