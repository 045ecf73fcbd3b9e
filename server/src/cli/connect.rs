//! Finding the running daemon: `--url` (with the API key from `--api-key` or
//! `MCPPROXY_API_KEY`), else the unix socket in the data directory, which needs no key.

use std::path::PathBuf;

use super::Cli;
use crate::config::{ConfigStore, default_config_path};

/// Why no daemon could be reached.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Nothing listens on the socket.
    #[error(
        "no mcpproxy daemon is running (no socket at {0}); start one with `mcpproxy serve`, or pass --url"
    )]
    NoDaemon(PathBuf),
    /// The client could not be built.
    #[error("cannot create the API client: {0}")]
    Client(String),
}

/// The data directory the CLI looks in: `--data-dir`, `MCPPROXY_DATA`, the config's
/// `data_dir`, then `~/.mcpproxy`.
pub fn data_dir(cli: &Cli) -> PathBuf {
    if let Some(dir) = cli.data_dir.clone().or_else(|| {
        std::env::var("MCPPROXY_DATA")
            .ok()
            .filter(|d| !d.is_empty())
    }) {
        return PathBuf::from(dir);
    }
    let path = cli.config.clone().unwrap_or_else(default_config_path);
    let from_file = ConfigStore::new(path)
        .read()
        .ok()
        .map(|c| c.data_dir)
        .filter(|d| !d.is_empty());
    from_file.map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".mcpproxy")
    })
}

/// A client for the daemon.
pub fn client(cli: &Cli) -> Result<mcpproxy_client::Client, ConnectError> {
    if let Some(url) = &cli.url {
        let key = cli
            .api_key
            .clone()
            .or_else(|| std::env::var("MCPPROXY_API_KEY").ok())
            .unwrap_or_default();
        return mcpproxy_client::Client::with_api_key(url.trim_end_matches('/'), &key)
            .map_err(|e| ConnectError::Client(e.to_string()));
    }
    let socket = data_dir(cli).join("mcpproxy.sock");
    if std::os::unix::net::UnixStream::connect(&socket).is_err() {
        return Err(ConnectError::NoDaemon(socket));
    }
    mcpproxy_client::Client::over_unix_socket(&socket)
        .map_err(|e| ConnectError::Client(e.to_string()))
}
