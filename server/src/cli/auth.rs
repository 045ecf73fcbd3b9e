//! `mcpproxy auth login|logout|status [NAME]`: signing upstream servers in with OAuth
//! (and `auth client-metadata`, the document to host for URL client ids)
//! through the daemon. `login` prints the authorization URL (and opens a browser unless
//! `--no-browser`), then waits until the daemon says the server is signed in. On a machine
//! without a browser, open the URL elsewhere and paste the address the browser ended up at
//! (the `http://127.0.0.1:…/callback?…` one) back here: the command delivers it to the
//! daemon's loopback listener.

use std::time::Duration;

use clap::Subcommand;
use mcpproxy_client::{Client, types};

use super::commands::{FAILED, checked_name, describe, finish};
use super::output::{self, Format};

/// How often `login` asks whether the browser step is done.
const POLL: Duration = Duration::from_millis(500);

/// `mcpproxy auth …`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Sign a server in: print (and open) the authorization URL, wait for the browser.
    Login {
        #[command(flatten)]
        server: ServerArg,
        /// Do not open a browser; print the URL and accept the callback URL pasted back.
        #[arg(long)]
        no_browser: bool,
    },
    /// Sign a server out (revoke and delete its tokens).
    Logout {
        #[command(flatten)]
        server: ServerArg,
    },
    /// OAuth state of one server, or of every server.
    Status {
        #[command(flatten)]
        server: ServerArg,
    },
    /// Print this proxy's Client ID Metadata Document, to host at a public HTTPS address
    /// that servers' `oauth.client_metadata_url` then names.
    ClientMetadata {
        /// The address where the copy will be hosted (its `client_id`); by default where
        /// the daemon serves it.
        #[arg(long)]
        url: Option<String>,
    },
}

/// The server: `NAME`, or `--server NAME` as the Go original spells it.
#[derive(Debug, clap::Args)]
pub struct ServerArg {
    /// Server name.
    name: Option<String>,
    /// Server name (same as NAME).
    #[arg(long = "server", conflicts_with = "name")]
    server: Option<String>,
}

impl ServerArg {
    fn get(&self) -> Option<&str> {
        self.name.as_deref().or(self.server.as_deref())
    }

    /// The name, or the exit code after saying one is needed.
    fn required(&self) -> Result<&str, i32> {
        match self.get() {
            Some(name) => checked_name(name),
            None => {
                output::error("name the server: mcpproxy auth … NAME");
                Err(FAILED)
            }
        }
    }
}

/// Run an `auth` command; the exit code.
pub async fn run(client: &Client, command: &AuthCommand, format: Format) -> i32 {
    match command {
        AuthCommand::Login { server, no_browser } => match server.required() {
            Ok(name) => login(client, name, *no_browser, format).await,
            Err(code) => code,
        },
        AuthCommand::Logout { server } => {
            let name = match server.required() {
                Ok(name) => name,
                Err(code) => return code,
            };
            let result = client.server_logout(name).await.map(|r| r.into_inner());
            finish(result.map_err(describe), |done| match format {
                Format::Json => output::json(&done),
                Format::Table => println!("{}: signed out", done.data.server),
            })
        }
        AuthCommand::Status { server } => status(client, server.get(), format).await,
        AuthCommand::ClientMetadata { url } => {
            let result = client.oauth_client_metadata(url.as_deref()).await;
            // For people, the document as it is served: it is meant to be saved and hosted.
            finish(
                result.map(|r| r.into_inner()).map_err(describe),
                |doc| match format {
                    Format::Json => output::json(&doc),
                    Format::Table => output::document(&doc),
                },
            )
        }
    }
}

async fn login(client: &Client, name: &str, no_browser: bool, format: Format) -> i32 {
    let started = match client.server_login(name).await {
        Ok(r) => r.into_inner().data,
        Err(e) => {
            output::error(describe(e));
            return FAILED;
        }
    };
    let Some(url) = started.auth_url else {
        return show(client, name, format).await; // client credentials: done already
    };
    eprintln!("Open this URL in a browser to sign {name} in:\n\n  {url}\n");
    if no_browser {
        eprintln!(
            "Then paste the address the browser ends up at (http://127.0.0.1:…/callback?…) here, or wait."
        );
    } else if open_browser(&url).is_err() {
        eprintln!("(no browser could be opened; open the URL yourself)");
    }
    let mut pasted = if no_browser {
        pasted_lines()
    } else {
        tokio::sync::mpsc::unbounded_channel().1
    };
    let mut stdin_open = no_browser;
    loop {
        tokio::select! {
            line = pasted.recv(), if stdin_open => match line {
                Some(line) if line.trim().starts_with("http") => deliver(line.trim()).await,
                Some(_) => {}
                None => stdin_open = false,
            },
            () = tokio::time::sleep(POLL) => {
                let state = match client.server_auth(name).await {
                    Ok(r) => r.into_inner().data,
                    Err(e) => {
                        output::error(describe(e));
                        return FAILED;
                    }
                };
                if started.expires_at < chrono::Utc::now() {
                    output::error("the login expired before the browser step finished");
                    return FAILED;
                }
                match state.state {
                    types::ServerAuthState::Authenticated => return show(client, name, format).await,
                    types::ServerAuthState::Failed | types::ServerAuthState::NeedsLogin => {
                        output::error(state.last_error.unwrap_or_else(|| "signing in failed".into()));
                        return FAILED;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Lines typed on stdin, read on a thread of their own: a read still blocked when the
/// login ends must not keep the process (tokio's stdin would, at runtime shutdown).
fn pasted_lines() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { return };
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Hand a pasted callback URL to the daemon's loopback listener.
async fn deliver(url: &str) {
    match reqwest::get(url).await {
        Ok(response) => eprintln!("callback delivered (HTTP {})", response.status()),
        Err(e) => eprintln!("cannot deliver the callback: {e}"),
    }
}

fn open_browser(url: &str) -> std::io::Result<()> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(drop)
}

/// Print one server's state.
async fn show(client: &Client, name: &str, format: Format) -> i32 {
    status(client, Some(name), format).await
}

/// `mcpproxy auth status [NAME]`.
async fn status(client: &Client, name: Option<&str>, format: Format) -> i32 {
    let names = match name {
        Some(name) => match checked_name(name) {
            Ok(name) => vec![name.to_string()],
            Err(code) => return code,
        },
        None => match super::commands::server_names(client).await {
            Ok(names) => names,
            Err(e) => {
                output::error(e);
                return FAILED;
            }
        },
    };
    let mut views = Vec::new();
    for name in names {
        match client.server_auth(&name).await {
            Ok(r) => views.push(r.into_inner().data),
            Err(e) => {
                output::error(describe(e));
                return FAILED;
            }
        }
    }
    match format {
        Format::Json => output::json(&views),
        Format::Table => {
            let rows: Vec<Vec<String>> = views
                .into_iter()
                .map(|v| {
                    vec![
                        v.server,
                        v.state.to_string(),
                        v.issuer.unwrap_or_default(),
                        v.scopes.join(" "),
                        v.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                        v.last_error.unwrap_or_default(),
                    ]
                })
                .collect();
            output::table(
                &["name", "state", "issuer", "scopes", "expires", "last error"],
                &rows,
            );
        }
    }
    0
}
