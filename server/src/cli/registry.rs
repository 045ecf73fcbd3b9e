//! `mcpproxy registry list|search|add`: the configured MCP server registries through the
//! daemon (`/api/v1/registries`). `add` lands the server quarantined for review.

use clap::Subcommand;
use mcpproxy_client::Client;

use super::commands::{ask, finish};
use super::output::{self, Format};

/// `mcpproxy registry …`.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// The registries of the configuration.
    List,
    /// Search a registry's servers.
    Search {
        /// Registry id.
        registry: String,
        /// What to look for.
        query: Option<String>,
        /// Only servers with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Add a server a registry lists (quarantined until approved).
    Add {
        /// Registry id.
        registry: String,
        /// The server's registry name (or the short name `search` shows).
        server: String,
    },
}

/// Run a registry command; returns the exit code.
pub async fn run(client: &Client, command: &RegistryCommand, format: Format) -> i32 {
    match command {
        RegistryCommand::List => {
            let result = ask(client.registry_list()).await;
            finish(result, |list| match format {
                Format::Json => output::json(&list.data),
                Format::Table => {
                    let rows: Vec<Vec<String>> = list
                        .data
                        .registries
                        .into_iter()
                        .map(|r| vec![r.id, r.name, r.servers_url, r.description])
                        .collect();
                    output::table(&["id", "name", "servers url", "description"], &rows);
                }
            })
        }
        RegistryCommand::Search {
            registry,
            query,
            tag,
            limit,
        } => {
            let result = ask(client.registry_servers(
                registry,
                Some(*limit),
                query.as_deref(),
                tag.as_deref(),
            ))
            .await;
            finish(result, |found| match format {
                Format::Json => output::json(&found.data),
                Format::Table => {
                    let rows: Vec<Vec<String>> = found
                        .data
                        .servers
                        .into_iter()
                        .map(|s| {
                            let runs = match (&s.command, &s.url) {
                                (Some(c), _) => std::iter::once(c.clone())
                                    .chain(s.args.iter().cloned())
                                    .collect::<Vec<_>>()
                                    .join(" "),
                                (None, Some(url)) => url.clone(),
                                _ => String::new(),
                            };
                            vec![s.name, s.id, runs, s.description.chars().take(60).collect()]
                        })
                        .collect();
                    output::table(&["name", "registry name", "runs", "description"], &rows);
                }
            })
        }
        RegistryCommand::Add { registry, server } => {
            let result = ask(client.registry_server_add(registry, server)).await;
            finish(result, |added| match format {
                Format::Json => output::json(&added.data),
                Format::Table => println!(
                    "{}: added, quarantined: review it with `mcpproxy upstream inspect {0}` and approve it with `mcpproxy upstream approve {0}`",
                    added.data.server
                ),
            })
        }
    }
}
