//! The `mcpproxy` command line: argument parsing and dispatch. `mcpproxy serve` runs the
//! server (bare `mcpproxy` prints help: starting a daemon by accident is not a default);
//! `version` answers locally; every other command talks to the running daemon through the
//! generated client, over the unix socket (no key) or `--url` with an API key.

mod activity;
mod approve;
mod auth;
mod client_connect;
mod commands;
mod connect;
mod import;
mod inspect;
mod local;
mod manage;
mod output;
mod registry;
mod serve;
mod tokens;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use output::Format;

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
    /// Talk to a daemon at this URL (e.g. http://127.0.0.1:8080) instead of the unix socket.
    /// Given before the command (`mcpproxy --url URL status`): after it, `--url` is the
    /// command's own (`upstream add NAME --url URL` is the server's URL).
    #[arg(long)]
    pub url: Option<String>,
    /// API key for --url (default: MCPPROXY_API_KEY).
    #[arg(long = "api-key", global = true)]
    pub api_key: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the proxy.
    Serve(serve::ServeArgs),
    /// This binary's version.
    Version,
    /// The daemon's status and counters.
    Status,
    /// Version, endpoints and update availability.
    Info,
    /// Upstream servers.
    #[command(subcommand)]
    Upstream(UpstreamCommand),
    /// Tools across all servers.
    #[command(subcommand)]
    Tools(ToolsCommand),
    /// Call things.
    #[command(subcommand)]
    Call(CallCommand),
    /// The configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check for problems and say what to do about them.
    Doctor,
    /// Stored secrets (referenced as `${keyring:NAME}`).
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Agent tokens for `/mcp`, limited to servers and a permission tier.
    #[command(subcommand)]
    Token(tokens::TokenCommand),
    /// The activity log: tool calls and audited management actions.
    #[command(subcommand)]
    Activity(activity::ActivityCommand),
    /// Sign upstream servers in and out with OAuth.
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// MCP server registries: list, search, add (quarantined).
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Point another MCP client (Claude, Cursor, VS Code, Codex, Gemini) at the proxy.
    Connect(client_connect::ConnectArgs),
    /// Print a shell completion script.
    Completion {
        /// bash, zsh or fish.
        #[arg(value_enum)]
        shell: local::Shell,
    },
}

/// `mcpproxy secrets …`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Store a secret (the value is read from stdin when not given).
    Set {
        /// Secret name.
        name: String,
        /// The value (prefer stdin, which keeps it out of shell history).
        value: Option<String>,
    },
    /// A secret's metadata (never its value).
    Get {
        /// Secret name.
        name: String,
    },
    /// Delete a secret.
    Del {
        /// Secret name.
        name: String,
    },
    /// Every secret the config references or the store holds.
    List,
}

/// `mcpproxy upstream …`.
#[derive(Debug, Subcommand)]
pub enum UpstreamCommand {
    /// List servers with their health.
    List,
    /// Add a server: `add NAME -- COMMAND ARGS…` (stdio) or `add NAME --url URL` (HTTP).
    Add(manage::AddArgs),
    /// Import the servers of another MCP client's configuration (quarantined for review).
    Import(import::ImportArgs),
    /// Remove a server (it stops).
    Remove {
        /// Server name.
        name: String,
    },
    /// Enable a server.
    Enable {
        /// Server name.
        name: String,
    },
    /// Disable a server.
    Disable {
        /// Server name.
        name: String,
    },
    /// Show what inspecting a server would run, confirm, then connect once and list its
    /// tools with warnings (it stays quarantined).
    Inspect {
        /// Server name.
        name: String,
        /// Do not ask: the person already decided (required without a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Approve a quarantined server as it is configured now, or some of its tools;
    /// `--reason` overrides the tool-poisoning scanner's block-tier findings (recorded
    /// with them).
    #[command(alias = "unquarantine")]
    Approve {
        /// Server name.
        name: String,
        /// Approve this tool (repeatable) instead of the server.
        #[arg(long = "tool")]
        tools: Vec<String>,
        /// Approve every changed or held tool of the server.
        #[arg(long, conflicts_with = "tools")]
        all_tools: bool,
        /// Why the scanner's block-tier findings are overridden.
        #[arg(long)]
        reason: Option<String>,
        /// The fingerprint of the inspection plan you reviewed (server approval).
        #[arg(long)]
        fingerprint: Option<String>,
    },
    /// Reconnect a server now.
    Restart {
        /// Server name.
        name: String,
    },
    /// A server's log.
    Logs {
        /// Server name.
        name: String,
        /// How many lines.
        #[arg(long, short = 'n', default_value_t = 100)]
        tail: u32,
        /// Keep printing new lines until interrupted.
        #[arg(long, short = 'f')]
        follow: bool,
    },
}

/// `mcpproxy tools …`.
#[derive(Debug, Subcommand)]
pub enum ToolsCommand {
    /// Ranked search over every tool.
    Search {
        /// What you want to do.
        query: String,
        /// Maximum results.
        #[arg(long, default_value_t = 15)]
        limit: u32,
    },
    /// Pinning: list, approve and diff a server's tools.
    #[command(flatten)]
    Manage(manage::ToolsManageCommand),
}

/// `mcpproxy call …`.
#[derive(Debug, Subcommand)]
pub enum CallCommand {
    /// Call an upstream tool.
    Tool {
        /// `server:tool`.
        #[arg(long = "tool-name", short = 't')]
        tool_name: String,
        /// Arguments as a JSON object.
        #[arg(long = "json_args", short = 'j', default_value = "{}")]
        json_args: String,
    },
}

/// `mcpproxy config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file (default: the daemon's, checked by the daemon).
    Validate {
        /// The file to check locally.
        file: Option<PathBuf>,
    },
    /// The running configuration, secrets masked.
    Show,
    /// Where the configuration file is.
    Path,
    /// Write the default configuration file (an existing one is kept).
    Init,
}

/// Parse the command line, run it, and return the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    output::set_format(cli.output);
    match &cli.command {
        Some(Command::Serve(args)) => serve::run(&cli, args),
        None => {
            use clap::CommandFactory;
            match Cli::command().print_help() {
                Ok(()) => 0,
                Err(_) => exit::GENERAL,
            }
        }
        Some(Command::Version) => {
            commands::version(cli.output);
            0
        }
        Some(Command::Completion { shell }) => local::completion(*shell),
        Some(Command::Config(ConfigCommand::Path)) => {
            local::config_path(&config_path(&cli), cli.output)
        }
        Some(Command::Config(ConfigCommand::Init)) => {
            local::config_init(&config_path(&cli), cli.output)
        }
        Some(command) => {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    output::error(format!("cannot start the async runtime: {e}"));
                    return exit::GENERAL;
                }
            };
            runtime.block_on(client_command(&cli, command))
        }
    }
}

/// The configuration file this command line means: `--config`, else the default.
fn config_path(cli: &Cli) -> PathBuf {
    cli.config
        .clone()
        .unwrap_or_else(crate::config::default_config_path)
}

async fn client_command(cli: &Cli, command: &Command) -> i32 {
    let format = cli.output;
    if let Command::Config(ConfigCommand::Validate { file }) = command {
        let client = connect::client(cli).ok();
        return commands::config_validate(
            client.as_ref(),
            file.as_deref(),
            &config_path(cli),
            format,
        )
        .await;
    }
    if let Command::Config(ConfigCommand::Show) = command {
        let client = connect::client(cli).ok();
        return local::config_show(client.as_ref(), &config_path(cli), format).await;
    }
    let client = match connect::client(cli) {
        Ok(c) => c,
        Err(e) => {
            output::error(e);
            return exit::GENERAL;
        }
    };
    match command {
        Command::Status => commands::status(&client, format).await,
        Command::Info => commands::info(&client, format).await,
        Command::Upstream(UpstreamCommand::List) => commands::upstream_list(&client, format).await,
        Command::Upstream(UpstreamCommand::Add(args)) => manage::add(&client, args, format).await,
        Command::Upstream(UpstreamCommand::Import(args)) => {
            import::run(&client, args, format).await
        }
        Command::Upstream(UpstreamCommand::Remove { name }) => {
            manage::remove(&client, name, format).await
        }
        Command::Upstream(UpstreamCommand::Enable { name }) => {
            commands::upstream_action(&client, "enable", name, format).await
        }
        Command::Upstream(UpstreamCommand::Disable { name }) => {
            commands::upstream_action(&client, "disable", name, format).await
        }
        Command::Upstream(UpstreamCommand::Restart { name }) => {
            commands::upstream_action(&client, "restart", name, format).await
        }
        Command::Upstream(UpstreamCommand::Approve {
            name,
            tools,
            all_tools,
            reason,
            fingerprint,
        }) => {
            let what = approve::Approve {
                name,
                tools,
                all_tools: *all_tools,
                reason: reason.as_deref(),
                fingerprint: fingerprint.as_deref(),
            };
            approve::run(&client, what, format).await
        }
        Command::Upstream(UpstreamCommand::Inspect { name, yes }) => {
            inspect::run(&client, name, *yes, format).await
        }
        Command::Upstream(UpstreamCommand::Logs { name, tail, follow }) => {
            commands::upstream_logs(&client, name, *tail, *follow, format).await
        }
        Command::Tools(ToolsCommand::Search { query, limit }) => {
            commands::tools_search(&client, query, *limit, format).await
        }
        Command::Tools(ToolsCommand::Manage(command)) => {
            manage::tools(&client, command, format).await
        }
        Command::Call(CallCommand::Tool {
            tool_name,
            json_args,
        }) => commands::call_tool(&client, tool_name, json_args, format).await,
        Command::Doctor => commands::doctor(&client, format).await,
        Command::Secrets(SecretsCommand::List) => commands::secrets_list(&client, format).await,
        Command::Secrets(SecretsCommand::Get { name }) => {
            commands::secrets_get(&client, name, format).await
        }
        Command::Secrets(SecretsCommand::Set { name, value }) => {
            commands::secrets_set(&client, name, value.as_deref(), format).await
        }
        Command::Secrets(SecretsCommand::Del { name }) => {
            commands::secrets_delete(&client, name, format).await
        }
        Command::Token(command) => tokens::run(&client, command, format).await,
        Command::Activity(command) => activity::run(&client, command, format).await,
        Command::Auth(command) => auth::run(&client, command, format).await,
        Command::Connect(args) => client_connect::run(&client, args, format).await,
        Command::Registry(command) => registry::run(&client, command, format).await,
        Command::Serve(_) | Command::Version | Command::Config(_) | Command::Completion { .. } => {
            exit::GENERAL
        }
    }
}
