//! `mcpproxy token create|list|revoke`: agent tokens through the daemon's REST API. The
//! secret is printed once, by `create`; nothing can show it again.

use clap::Subcommand;
use mcpproxy_client::{Client, types};

use super::commands::{describe, finish};
use super::output::{self, Format};

/// `mcpproxy token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown this once).
    Create {
        /// Token name (letters, digits, `_`, `-`).
        name: String,
        /// Servers it may reach, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        servers: Vec<String>,
        /// Tier: read, write or destructive (each includes those below it).
        #[arg(long, default_value = "read")]
        tier: String,
        /// Lifetime: `<n>d`, `<n>h` or `<n>m` (default 30d).
        #[arg(long = "expires-in")]
        expires_in: Option<String>,
    },
    /// Every token (never the secrets).
    List,
    /// Revoke a token: it is refused from now on.
    Revoke {
        /// Token name.
        name: String,
    },
}

/// Run a token command; returns the exit code.
pub async fn run(client: &Client, command: &TokenCommand, format: Format) -> i32 {
    match command {
        TokenCommand::Create {
            name,
            servers,
            tier,
            expires_in,
        } => create(client, name, servers, tier, expires_in.clone(), format).await,
        TokenCommand::List => list(client, format).await,
        TokenCommand::Revoke { name } => {
            let result = client.token_revoke(name).await.map_err(describe);
            finish(result, |_| match format {
                Format::Json => output::json(&serde_json::json!({"revoked": name})),
                Format::Table => println!("revoked token {name}"),
            })
        }
    }
}

/// The permission list of a tier name: every tier up to it.
fn permissions(tier: &str) -> Option<Vec<types::TokenPermission>> {
    use types::TokenPermission::{Destructive, Read, Write};
    match tier {
        "read" => Some(vec![Read]),
        "write" => Some(vec![Read, Write]),
        "destructive" => Some(vec![Read, Write, Destructive]),
        _ => None,
    }
}

async fn create(
    client: &Client,
    name: &str,
    servers: &[String],
    tier: &str,
    expires_in: Option<String>,
    format: Format,
) -> i32 {
    let Some(permissions) = permissions(tier) else {
        output::error(format!(
            "unknown tier {tier:?}: use read, write or destructive"
        ));
        return super::commands::FAILED;
    };
    let body = types::TokenCreateRequest {
        name: name.to_string(),
        allowed_servers: (!servers.is_empty()).then(|| servers.to_vec()),
        permissions: Some(permissions),
        expires_in,
    };
    let result = client
        .token_create(&body)
        .await
        .map(|r| r.into_inner())
        .map_err(describe);
    finish(result, |created| match format {
        Format::Json => output::json(&created.data),
        Format::Table => {
            let t = created.data;
            println!("{}", t.token);
            eprintln!(
                "token {} for {} ({}), expires {}; the secret above is shown only now",
                t.name,
                t.allowed_servers.join(", "),
                tier,
                t.expires_at.to_rfc3339()
            );
        }
    })
}

async fn list(client: &Client, format: Format) -> i32 {
    let result = client
        .token_list()
        .await
        .map(|r| r.into_inner())
        .map_err(describe);
    finish(result, |list| match format {
        Format::Json => output::json(&list.data),
        Format::Table => {
            let rows: Vec<Vec<String>> = list
                .data
                .tokens
                .into_iter()
                .map(|t| {
                    let state = if t.expired { "expired" } else { "active" };
                    vec![
                        t.name,
                        t.token_prefix,
                        t.allowed_servers.join(","),
                        t.permissions
                            .last()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        t.expires_at.to_rfc3339(),
                        state.to_string(),
                    ]
                })
                .collect();
            output::table(
                &["name", "prefix", "servers", "tier", "expires", "state"],
                &rows,
            );
        }
    })
}
