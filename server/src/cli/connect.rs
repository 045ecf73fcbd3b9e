//! Finding the running daemon: `--url` (with the API key from `--api-key` or
//! `MCPPROXY_API_KEY`), else the daemon's unix socket, which needs no key. The data directory
//! and socket come from the configuration's own resolver (`config::resolve_data_dir`,
//! `config::resolve_socket_path`), so the CLI looks where the daemon serves.

use std::path::PathBuf;

use super::Cli;
use crate::config::{
    CliOverrides, ConfigStore, EnvOverrides, SOCKET_FILE, default_config_path, resolve_data_dir,
    resolve_socket_path,
};

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

/// The daemon's socket as the daemon resolves it from the file (`--config`), `MCPPROXY_DATA`
/// and `--data-dir`: `tray_endpoint` when set, else the one in the data directory (`--data-dir`,
/// `MCPPROXY_DATA`, the file's `data_dir`, then `~/.mcpproxy`). An unreadable file is the
/// defaults.
fn socket_path(cli: &Cli) -> PathBuf {
    let path = cli.config.clone().unwrap_or_else(default_config_path);
    let config = ConfigStore::new(path).read().unwrap_or_default();
    let overrides = CliOverrides {
        listen: None,
        data_dir: cli.data_dir.clone(),
    };
    let dir = resolve_data_dir(&config, &EnvOverrides::from_env(), &overrides);
    resolve_socket_path(&config, &dir).unwrap_or_else(|| dir.join(SOCKET_FILE))
}

/// A client for the daemon.
pub fn client(cli: &Cli) -> Result<mcpproxy_client::Client, ConnectError> {
    if let Some(url) = &cli.url {
        let key = cli
            .api_key
            .clone()
            .or_else(|| EnvOverrides::from_env().api_key)
            .unwrap_or_default();
        return mcpproxy_client::Client::with_api_key(url.trim_end_matches('/'), &key)
            .map_err(|e| ConnectError::Client(e.to_string()));
    }
    let socket = socket_path(cli);
    if std::os::unix::net::UnixStream::connect(&socket).is_err() {
        return Err(ConnectError::NoDaemon(socket));
    }
    mcpproxy_client::Client::over_unix_socket(&socket)
        .map_err(|e| ConnectError::Client(e.to_string()))
}
